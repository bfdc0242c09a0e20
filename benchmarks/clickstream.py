"""Clickstream throughput: a million generated events through ingestion, the hours and the days, and the latency
from an event file landing to its hour in `analytics.funnel_hourly`, through the sensors and the daemon.

Part of `python -m benchmarks.benchmark --parts clickstream` (see that module), on the benchmark's
PostgreSQL instance.
"""

import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from dagster import AssetKey, DagsterInstance, DagsterRunStatus, RunsFilter
from deltalake import DeltaTable

from ecom_assets.clickstream.jobs import clickstream_ingest_job
from ecom_assets.clickstream.sample_data import hour_folder, write_clickstream
from ecom_assets.clickstream.tables import CLICKSTREAM_EVENTS_RAW, FUNNEL_HOURLY
from ecom_assets.clickstream.transforms import RAW_EVENT_COLUMNS
from ecom_assets.platform.dates import DateRange, hour_key

BIN = Path(sys.executable).parent
FIRST_DAY = date(2019, 10, 1)
SESSIONS_PER_DAY = 40_000
LATENCY_TARGET_SECONDS = 120
LATENCY_TIMEOUT_SECONDS = 600
SENSORS = ("clickstream_file_sensor", "clickstream_hours_sensor")


@dataclass
class ClickstreamFigures:
    """What the clickstream part measured."""

    events: int
    files: int
    days: DateRange
    ingestion: Any
    hours: Any
    daily: Any
    """The three runs' `benchmark.Measurement`s."""
    latencies: list[float]


def generate_events(landing: Path, target_events: int) -> tuple[int, int, DateRange]:
    """Land generated days of events until at least `target_events` lines; returns lines, files and the days."""
    events = files = 0
    day = FIRST_DAY
    sessions_per_day = max(100, min(SESSIONS_PER_DAY, target_events // 10))  # a small target: a few days still
    while events < target_events:
        for path in write_clickstream(landing, DateRange(day, day), sessions_per_day=sessions_per_day):
            files += 1
            with path.open() as handle:
                events += sum(1 for _ in handle) - 1
        day += timedelta(days=1)
    return events, files, DateRange(FIRST_DAY, day - timedelta(days=1))


def measure_clickstream(
    work: Path, env: dict, target_events: int, run_once: Callable, materialize: list
) -> ClickstreamFigures:
    """Generate, then time ingestion, the hours and the days as one run each (`run_once`: the benchmark's timer,
    `materialize`: the `dagster asset materialize ... --select` command), then the sensor-driven latency."""
    landing = Path(env["ECOM_LANDING_ROOT"])
    events, files, days = generate_events(landing, target_events)
    first_hour, last_hour = f"{days.start}-00:00", f"{days.end}-23:00"
    ingestion = run_once(
        f"clickstream ingestion, {events:,} events", [*materialize, "group:clickstream_ingest"], env, work
    )
    hours = run_once(
        "clickstream hours (silver, items, hourly funnel)",
        [*materialize, "group:clickstream", "--partition-range", f"{first_hour}...{last_hour}"],
        env,
        work,
    )
    daily = run_once(
        "clickstream days",
        [*materialize, "group:clickstream_daily", "--partition-range", f"{days.start}...{days.end}"],
        env,
        work,
    )
    next_hour = datetime.combine(days.end + timedelta(days=2), datetime.min.time())  # after the last day's spill-over
    latencies = sensor_latencies(work, env, landing, next_hour, repeat=3)
    return ClickstreamFigures(events, files, days, ingestion, hours, daily, latencies)


def sensor_latencies(work: Path, env: dict, landing: Path, first_hour: datetime, repeat: int) -> list[float]:
    """Seconds from an event file landing in a new hour to that hour's row in `funnel_hourly`, `repeat` times.

    The daemon (`dagster-daemon run`) runs the file sensor (→ ingestion run) and the hours sensor
    (→ hourly run), each a new run process, as in production.
    """
    root = Path(__file__).resolve().parents[1]
    workspace = ["-w", str(root / "workspace.yaml")]
    instance = DagsterInstance.from_config(env["DAGSTER_HOME"])
    latest = instance.fetch_materializations(AssetKey(CLICKSTREAM_EVENTS_RAW.parts), limit=1).records
    dagster = BIN / "dagster"
    subprocess.run(
        [dagster, "sensor", "cursor", *workspace, SENSORS[1], "--set", str(latest[0].storage_id)],
        env=env,
        cwd=root,
        check=True,
        capture_output=True,
    )
    for sensor in SENSORS:
        subprocess.run(
            [dagster, "sensor", "start", *workspace, sensor], env=env, cwd=root, check=True, capture_output=True
        )
    log = (work / "daemon.log").open("wb")
    daemon = subprocess.Popen(
        [BIN / "dagster-daemon", "run", *workspace],
        env=env,
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_for_first_ingestion(instance)
        table = Path(env["ECOM_WAREHOUSE_ROOT"]) / Path(*FUNNEL_HOURLY.parts)
        return [_one_latency(landing, table, first_hour + timedelta(hours=offset)) for offset in range(repeat)]
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=60)
        log.close()


def _wait_for_first_ingestion(instance: DagsterInstance) -> None:
    """The file sensor's first tick sees every file as new and starts an ingestion that appends nothing: wait it out."""
    deadline = time.monotonic() + LATENCY_TIMEOUT_SECONDS
    finished = [DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED]
    while not instance.get_runs(RunsFilter(job_name=clickstream_ingest_job.name, statuses=finished), limit=1):
        if time.monotonic() > deadline:
            raise SystemExit("the clickstream file sensor started no ingestion run")
        time.sleep(1)


def _one_latency(landing: Path, table: Path, hour: datetime) -> float:
    """Land one file of events in `hour` (written aside, then renamed in), and time until its funnel row shows."""
    folder = landing / hour_folder(hour)
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        f"{hour:%Y-%m-%d %H}:{minute:02d}:00 UTC,view,1005{minute:03d},2053013555631882655,electronics.smartphone,"
        f"acme,100.00,{900000 + minute},bench-{hour:%Y%m%d%H}-{minute}"
        for minute in range(30)
    ]
    aside = landing / f".landing-{hour:%Y%m%d%H}.tmp"
    aside.write_text("\n".join([",".join(RAW_EVENT_COLUMNS), *lines]) + "\n", encoding="utf-8")
    started = time.monotonic()
    os.replace(aside, folder / f"late_{hour:%Y%m%d_%H}.csv")
    while time.monotonic() - started < LATENCY_TIMEOUT_SECONDS:
        if _hour_sessions(table, hour) == len(lines):
            return time.monotonic() - started
        time.sleep(1)
    raise SystemExit(f"{hour_key(hour)} did not reach funnel_hourly within {LATENCY_TIMEOUT_SECONDS} s")


def _hour_sessions(table: Path, hour: datetime) -> int | None:
    """The hour's sessions as `funnel_hourly` holds them now (none before its row exists)."""
    if not (table / "_delta_log").is_dir():
        return None
    rows = DeltaTable(str(table)).to_pyarrow_table(columns=["hour", "sessions"]).to_pylist()
    for row in rows:
        if row["hour"].replace(tzinfo=None) == hour:
            return row["sessions"]
    return None


def print_clickstream(figures: ClickstreamFigures) -> None:
    """The clickstream figures, with the latency target."""
    print(f"\nClickstream: {figures.events:,} generated events in {figures.files} files, {figures.days}")
    for label, measured, step in (
        ("ingestion (Structured Streaming into bronze)", figures.ingestion, "raw.clickstream_events"),
        ("hours: silver + catalog items + hourly funnel", figures.hours, None),
        ("days: daily, product and category funnels", figures.daily, None),
    ):
        step_seconds = measured.step_seconds.get(step) if step else sum(measured.step_seconds.values())
        print(
            f"  {label}: {measured.seconds:.1f} s wall ({figures.events / measured.seconds:,.0f} events/s),"
            f" steps {step_seconds:.1f} s ({figures.events / step_seconds:,.0f} events/s),"
            f" peak {measured.peak_rss_mb:,.0f} MB"
        )
    median = statistics.median(figures.latencies)
    verdict = "met" if median < LATENCY_TARGET_SECONDS else "NOT met"
    print(
        f"  file landing → funnel_hourly through the sensors and the daemon: median {median:.0f} s"
        f" ({', '.join(f'{seconds:.0f}' for seconds in figures.latencies)} s); target < {LATENCY_TARGET_SECONDS} s:"
        f" {verdict}"
    )
