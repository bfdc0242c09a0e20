"""Benchmark: the real data set through Dagster against a plain PySpark script.

Prints, for the shared Online Retail days (245 files, 2010-12-01 .. 2011-09-30):
  1. the plain PySpark script doing the pipeline's work without Dagster (baseline), and the
     start of its Spark session (the pipeline's own local settings);
  2. a full backfill through `dagster asset materialize --partition-range` as one run, with the
     Dagster instance a team runs in production, PostgreSQL (`instance/postgres.yaml`, on a
     server the benchmark starts on 127.0.0.1 and stops), judged against 1.5x the plain script;
     and, reported beside, with the embedded default, SQLite on disk;
  3. one day (the last one) materialized on top of that history, Spark start included, and the
     same day without the local Spark class-data archive, to show whether that archive (a
     local-only start-up tuning, never used on a cluster) earns its keep; judged against 1.5x the
     plain script doing the same day from a cold start on the same history (`--on-history`: the
     day replaced in its tables holding every other day, no checks); beside it, the plain
     script's day on fresh tables, and the pipeline's day run three times in one process
     (`warm_one_day.py`: the third run has no Spark start and finds the JVM's classes loaded and
     compiled);
  4. the whole asset graph (dimensions, business metrics and the operational feeds too, with a
     feed batch derived from each day's sales in the landing): day 10 on 9 days of history
     against day 245 on 244 days, with each asset's step time (its median over the runs), to
     show what a new day costs as history grows; and the whole-graph backfill of the days
     between.
  5. scale (`--parts scale`): a generated shop with ten times the shared data's rows over the same
     days, the plain script against the one-run backfill on PostgreSQL, judged against 1.2x:
     bookkeeping per partition must not grow with the data.
  6. fixed costs per step (`--parts steps`, in the default; see `step_costs.py`): the whole daily job for day 10
     of a tiny generated shop, cold and warm, each step's time and Spark jobs, and the Delta commits per table
     that change nothing;
  7. clickstream (`--parts clickstream`, in the default): a million generated web-shop events
     ingested, built into hours and days (one run each, events per second), and the latency from
     an event file landing to its hour in `funnel_hourly` through the sensors and the daemon
     (target under two minutes).
  8. flat daily cost (`--parts history`, in the default; about 50 minutes): a generated shop's three years
     (`--history-days`, 1,100 by default, with a feed batch every day), built a year per run with the weekly
     maintenance after each; the whole daily job on day 10 against the last day, in total and per step, each
     judged against 1.1x.
Measurements 1-3 and 5 select bronze, silver and gold only, the work the plain script does. Each
Dagster run is broken down: its steps and, inside them, the time computing check figures (each
step logs it), the events it stored times what storing one costs on that instance (timed on it
afterwards), and the rest (process start, planning, between steps).
Each is a fresh process, timed from launch to exit (median of --repeat runs), with the peak
resident memory of its whole process tree, Spark JVM included (sampled from /proc, so Linux).
The runs of the figures judged against each other take turns (plain, minimal, backfill, plain,
...; the one-day runs likewise), so a slow spell of the machine does not fall on one side only.

    python -m benchmarks.benchmark [--source ../shared/data/online-retail/by-day]
"""

import argparse
import contextlib
import functools
import logging
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetKey,
    AssetMaterialization,
    DagsterEvent,
    DagsterEventType,
    DagsterInstance,
    EventLogEntry,
)
from dagster._core.test_utils import create_run_for_test

from benchmarks.clickstream import measure_clickstream, print_clickstream
from benchmarks.step_costs import DAILY_JOB, measure_step_costs, print_step_costs
from ecom_assets.cli.ui import process_tree
from ecom_assets.feeds.sample_data import write_feeds_for_sales
from ecom_assets.platform.dates import DateRange
from ecom_assets.sales.sample_data import generate, import_days
from ecom_assets_tests.servers import postgres_server
from resources.landing import landing_day
from resources.spark import CLASS_ARCHIVE_ENV

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "online-retail" / "by-day"
CORE_ASSETS = ",".join(
    ["ecommerce_catalog/raw/order_transactions", "ecommerce_catalog/processed/orders_cleaned"]
    + ["ecommerce_catalog/analytics/sales_metrics"]
)
MAINTENANCE_JOB = [
    *(BIN / "dagster", "job", "execute", "-m", "ecom_assets.definitions"),
    *("-j", "lakehouse_maintenance_job"),
]
MAINTENANCE_CONFIG = '{"ops": {"compact_and_vacuum_tables": {"config": {"retention_hours": 0}}}}'
"""The history is built in minutes, not years: with the default week of retention every file it replaced would still
be held (and listed in each table's log), which a shop's tables in their third year never are. The last maintenance
of a history then runs with the default week, which sets the tables' retention back to what a shop's tables have
(with none, Delta refuses to read a table's change feed before its latest version)."""
POSTGRES_INSTANCE_CONFIG = ROOT / "instance" / "postgres.yaml"
PLAIN_SPARK_START = re.compile(r"spark_start=([0-9.]+)")
BACKFILL_TARGET = 1.5
"""The one-run backfill on PostgreSQL against the plain script, and against the minimal script."""
ONE_DAY_TARGET = 1.5
"""One day on the full history, cold, against the plain script doing the same day cold."""
GROWTH_TARGET = 1.1
"""The whole daily job on the last day of a history against day 10, and each of its steps."""
HISTORY_DAYS = 1100
"""Measurement 8's generated history: about three years."""
HISTORY_CHUNK_DAYS = 365
"""Measurement 8 builds its history a year per run, as a shop backfilling it would (memory stays bounded)."""
SCALE_FACTOR = 10
SCALE_TARGET = 1.2
ARCHIVE_KEEP_SECONDS = 1.0
"""The class archive stays the local default only if it saves at least this much on a one-day run."""
WARM_RUNS = 3
WARM_SECONDS = re.compile(r"warm_one_day seconds=([0-9.,]+)")
STEP_FINISHED = re.compile(r'Finished execution of step "ecommerce_catalog__(\w+?)__(\w+)" in ([0-9hms.]+)\.')
CHECKS_COMPUTED = re.compile(r"checks of ecommerce_catalog\.(\w+)\.(\w+) computed in ([0-9.]+) s")
DURATION_PART = re.compile(r"([0-9.]+)(h|ms|m|s)")
UNIT_SECONDS = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}


@dataclass
class Measurement:
    """Wall time and peak memory of one command."""

    label: str
    seconds: float
    peak_rss_mb: float
    step_seconds: dict[str, float] = field(default_factory=dict)
    spark_start_seconds: float | None = None
    check_seconds: dict[str, float] = field(default_factory=dict)
    """Per step, its time computing check figures (inside its step time), as the step logs it."""
    step_median_seconds: dict[str, float] = field(default_factory=dict)
    """Per step, its median time over all the runs measured (a single run's noise kept out of per-step ratios)."""
    run_seconds: tuple[float, ...] = ()
    """The wall time of every run measured, in the order they ran (so the median's spread is visible)."""

    def runs_text(self) -> str:
        """Every run's wall time, e.g. "41.2, 39.8, 44.0"."""
        return ", ".join(f"{seconds:.1f}" for seconds in self.run_seconds)


def _tree_rss(root_pid: int) -> int:
    """Resident bytes of a process and all its descendants, read from /proc (Linux)."""
    resident = 0
    for pid in {root_pid, *process_tree(root_pid)}:
        with contextlib.suppress(OSError, ValueError, IndexError):
            resident += int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[21]) * PAGE_SIZE
    return resident


def run_once(label: str, command: list, env: dict, cwd: Path) -> Measurement:
    """Run a command to completion, sampling the memory of its whole process tree (JVM included)."""
    log = cwd / "last_command.log"
    started = time.perf_counter()
    with log.open("wb") as output:
        process = subprocess.Popen([str(part) for part in command], env=env, cwd=cwd, stdout=output, stderr=output)
        peak = 0
        while process.poll() is None:
            peak = max(peak, _tree_rss(process.pid))
            time.sleep(0.2)
    seconds = time.perf_counter() - started
    output_text = log.read_text(errors="replace")
    if process.returncode != 0:
        sys.stderr.write(output_text[-5000:])
        raise SystemExit(f"{label} failed")
    steps, checks = step_and_check_seconds(output_text)
    spark_start = PLAIN_SPARK_START.search(output_text)
    start_seconds = float(spark_start.group(1)) if spark_start else None
    return Measurement(
        label,
        seconds,
        peak / 2**20,
        step_seconds=steps,
        spark_start_seconds=start_seconds,
        check_seconds=checks,
        step_median_seconds=steps,
        run_seconds=(seconds,),
    )


def step_and_check_seconds(run_log: str) -> tuple[dict[str, float], dict[str, float]]:
    """Per step (`schema.table`), from a Dagster run's log: its time, and its time computing check figures."""
    steps = {
        f"{schema}.{table}": _duration_seconds(duration) for schema, table, duration in STEP_FINISHED.findall(run_log)
    }
    checks = Counter()
    for schema, table, computed in CHECKS_COMPUTED.findall(run_log):
        checks[f"{schema}.{table}"] += float(computed)
    return steps, dict(checks)


def _duration_seconds(text: str) -> float:
    """Seconds in a duration as Dagster's run log writes it: `500ms`, `12.34s`, `2m5s`, `1h1m`."""
    return sum(float(value) * UNIT_SECONDS[unit] for value, unit in DURATION_PART.findall(text))


def per_step_medians(runs: list[Measurement]) -> dict[str, float]:
    """Each step's median time over the runs that ran it."""
    steps = {step for run in runs for step in run.step_seconds}
    return {
        step: statistics.median(run.step_seconds[step] for run in runs if step in run.step_seconds) for step in steps
    }


@dataclass(frozen=True)
class Command:
    """A command to measure: its label, arguments and environment, and what to do before each of its runs."""

    label: str
    command: list
    env: dict
    before_each: Callable[[], None] | None = None


def measure_in_turns(commands: list[Command], cwd: Path, repeat: int) -> list[Measurement]:
    """Each command's run with the median wall time (its peak memory, steps and checks), with each step's median
    over its `repeat` runs.

    The commands take turns (a, b, c, a, b, c, ...), so a slow spell of the machine falls on each of
    the commands compared, not on one of them.
    """
    runs: list[list[Measurement]] = [[] for _ in commands]
    for _ in range(repeat):
        for command, measured in zip(commands, runs, strict=True):
            if command.before_each:
                command.before_each()
            measured.append(run_once(command.label, command.command, command.env, cwd))
    return [_median_run(command.label, measured) for command, measured in zip(commands, runs, strict=True)]


def measure(label: str, command: list, env: dict, cwd: Path, repeat: int, before_each=None) -> Measurement:
    """One command measured `repeat` times (see `measure_in_turns`)."""
    return measure_in_turns([Command(label, command, env, before_each)], cwd, repeat)[0]


def _median_run(label: str, runs: list[Measurement]) -> Measurement:
    """The run with the median wall time, with each step's median and every run's time; printed."""
    median = replace(
        sorted(runs, key=lambda m: m.seconds)[len(runs) // 2],
        step_median_seconds=per_step_medians(runs),
        run_seconds=tuple(m.seconds for m in runs),
    )
    print(f"measured: {label}: {median.seconds:.1f} s ({median.runs_text()}), {median.peak_rss_mb:.0f} MB", flush=True)
    return median


@dataclass
class EventLogCost:
    """What a run's events cost in a Dagster instance's event log."""

    events_by_type: dict[str, int]
    materialization_ms: float
    check_evaluation_ms: float

    @property
    def seconds(self) -> float:
        """The run's time spent storing its asset and check events, at the measured cost of one (logging, step
        and run events counted as materializations)."""
        checks = self.events_by_type.get(DagsterEventType.ASSET_CHECK_EVALUATION.value, 0)
        others = sum(self.events_by_type.values()) - checks
        return (checks * self.check_evaluation_ms + others * self.materialization_ms) / 1000

    def summary(self) -> str:
        """The events by type, most frequent first."""
        counted = sorted(self.events_by_type.items(), key=lambda item: -item[1])
        parts = [f"{count:,} {kind}" for kind, count in counted if count >= 100]
        return ", ".join([*parts, f"{sum(count for _, count in counted if count < 100)} other"])


def event_log_cost(dagster_home: Path, samples: int = 300) -> EventLogCost:
    """Count the instance's latest run's events by type, then time storing such events in the same instance.

    Materializations are timed as runless events, one at a time (an upper bound: a partitioned
    step's are stored in batches). Check evaluations are timed as a run reports them: attached to a
    run, in a burst closed by one more event, so a storage that stores a run's evaluations together
    (the PostgreSQL instance's) is timed doing so. Dagster's logging machinery is left out.
    """
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        run = instance.get_runs(limit=1)[0]
        events = Counter(
            entry.dagster_event.event_type_value for entry in instance.all_logs(run.run_id) if entry.dagster_event
        )
        key = AssetKey(["benchmark", f"probe_{time.time_ns()}"])  # a new key per probe: partitions never repeat
        started = time.perf_counter()
        for i in range(samples):
            instance.report_runless_asset_event(AssetMaterialization(key, partition=f"p{i}", metadata={"rows": i}))
        materialization_ms = (time.perf_counter() - started) * 1000 / samples
        probe_run = create_run_for_test(instance, job_name="benchmark_probe")
        started = time.perf_counter()
        for i in range(samples):
            evaluation = AssetCheckEvaluation(key, "check", passed=True, partition=f"p{i}", metadata={"rows": i})
            instance.handle_new_event(_run_event(probe_run.run_id, DagsterEventType.ASSET_CHECK_EVALUATION, evaluation))
        instance.report_engine_event("probe evaluations reported", probe_run)  # what follows them stores them
        check_evaluation_ms = (time.perf_counter() - started) * 1000 / samples
    return EventLogCost(dict(events), materialization_ms, check_evaluation_ms)


def _run_event(run_id: str, event_type: DagsterEventType, data: Any) -> EventLogEntry:
    """An event of a run, as a step of it would report one."""
    event = DagsterEvent(event_type.value, job_name="benchmark_probe", event_specific_data=data)
    return EventLogEntry(
        error_info=None, level=logging.DEBUG, user_message="", run_id=run_id, timestamp=time.time(), dagster_event=event
    )


@dataclass
class DagsterRun:
    """A measured Dagster run and what its events cost on its instance."""

    measurement: Measurement
    events: EventLogCost


def main() -> None:
    """Stage the data, run the three measurements, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--start", default="2010-12-01")
    parser.add_argument("--end", default="2011-09-30")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is reported")
    parser.add_argument(
        "--parts",
        default="core,graph,steps,clickstream,history",
        help="core: measurements 1-3 (bronze, silver, gold against the plain script); graph: measurement 4;"
        " scale: measurement 5 (not in the default: it generates and runs ten times the data); steps: measurement 6;"
        " clickstream: measurement 7; history: measurement 8",
    )
    parser.add_argument("--history-days", type=int, default=HISTORY_DAYS, help="days generated for measurement 8")
    parser.add_argument(
        "--keep-history",
        type=Path,
        help="keep measurement 8's landing and warehouse in this new folder (to profile its last day without"
        " building the history again; run there with ECOM_LANDING_ROOT and ECOM_WAREHOUSE_ROOT)",
    )
    parser.add_argument("--clickstream-events", type=int, default=1_000_000, help="events generated for measurement 7")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    if args.keep_history and args.keep_history.exists():
        raise SystemExit(f"--keep-history wants a new folder: {args.keep_history} exists")
    if args.keep_history and "history" not in parts:
        raise SystemExit("--keep-history keeps measurement 8's history: add history to --parts")
    sales_parts = parts - {"clickstream", "steps", "history"}
    if sales_parts and not args.source.is_dir():
        raise SystemExit(f"no daily files at {args.source}")

    with tempfile.TemporaryDirectory(prefix="ecom-bench-") as scratch, postgres_server() as credentials:
        work = Path(scratch)
        first, last = date.fromisoformat(args.start), date.fromisoformat(args.end)
        staged = import_days(args.source, work / "landing") if sales_parts else []
        files = [path for path in staged if first <= landing_day(str(path)) <= last]
        rows = _data_rows(files)
        os.environ.update(credentials)  # the benchmark's own reads of the PostgreSQL instance
        env = {**os.environ, "ECOM_LANDING_ROOT": str(work / "landing"), "ECOM_WAREHOUSE_ROOT": str(work / "warehouse")}
        postgres_env = {**env, "DAGSTER_HOME": str(_dagster_home(work / "postgres_home", POSTGRES_INSTANCE_CONFIG))}
        sqlite_env = {**env, "DAGSTER_HOME": str(_dagster_home(work / "sqlite_home", None))}
        for instance_env in (postgres_env, sqlite_env):
            run_once("instance set-up (not timed)", [BIN / "dagster", "instance", "migrate"], instance_env, work)
        materialize_graph = [BIN / "dagster", "asset", "materialize", "-m", "ecom_assets.definitions", "--select"]
        materialize = [*materialize_graph, CORE_ASSETS]
        materialize_all = [*materialize_graph, DAILY_JOB]

        def fresh_warehouse() -> None:
            shutil.rmtree(work / "warehouse", ignore_errors=True)

        def with_event_cost(measured: Measurement, instance_env: dict) -> DagsterRun:
            """A measured Dagster command with the cost of its events, from the instance's latest run (its own)."""
            return DagsterRun(measured, event_log_cost(Path(instance_env["DAGSTER_HOME"])))

        plain = backfill = sqlite_backfill = one_day = one_day_without_archive = graph = scale = clickstream = None
        history = None
        minimal = step_costs = None
        one_day_floors = None
        backfill_range = [*materialize, "--partition-range", f"{args.start}...{args.end}"]

        def plain_command(
            landing: Path, start: str, warehouse: str, script: str = "plain_pyspark.py", on_history: bool = False
        ) -> list:
            """The command running the plain script (or `script`) over `landing`, `start` to the run's end, into
            `warehouse`; `on_history`: replacing those days in the tables it holds."""
            command = [sys.executable, ROOT / "benchmarks" / script, "--landing-root", landing]
            command += ["--warehouse-root", work / warehouse, "--start", start, "--end", args.end]
            return [*command, "--on-history"] if on_history else command

        def plain_script(
            label: str,
            landing: Path,
            start: str = args.start,
            warehouse: str = "plain_warehouse",
            script: str = "plain_pyspark.py",
            on_history: bool = False,
        ) -> Command:
            """`plain_command` to measure, writing fresh tables each run as each backfill does, unless `on_history`."""
            command = plain_command(landing, start, warehouse, script, on_history)
            fresh_tables = functools.partial(shutil.rmtree, work / warehouse, ignore_errors=True)
            before_each = None if on_history else fresh_tables
            return Command(label, command, {**env, "ECOM_LANDING_ROOT": str(landing)}, before_each)

        if "core" in parts:
            landing = work / "landing"
            sqlite_backfill = with_event_cost(
                measure(
                    "backfill, one run, SQLite instance", backfill_range, sqlite_env, work, args.repeat, fresh_warehouse
                ),
                sqlite_env,
            )
            plain, minimal, postgres_backfill = measure_in_turns(
                [
                    plain_script("plain PySpark script, full range", landing),
                    plain_script("minimal PySpark script, full range", landing, script="minimal_pyspark.py"),
                    Command("backfill, one run, PostgreSQL instance", backfill_range, postgres_env, fresh_warehouse),
                ],
                work,
                args.repeat,
            )
            backfill = with_event_cost(postgres_backfill, postgres_env)
            run_once(
                "the plain script's history (not timed)", plain_command(landing, args.start, "plain_history"), env, work
            )
            one_day_command = [*materialize, "--partition", args.end]
            one_day_without_archive, plain_day_on_history, plain_day_fresh, pipeline_day = measure_in_turns(
                [
                    Command(
                        "one day, no Spark class archive", one_day_command, {**postgres_env, CLASS_ARCHIVE_ENV: ""}
                    ),
                    plain_script(
                        f"plain PySpark script, one day ({args.end}) on history",
                        landing,
                        args.end,
                        "plain_history",
                        on_history=True,
                    ),
                    plain_script("plain PySpark script, one day, fresh tables", landing, args.end, "plain_day"),
                    Command(f"one day ({args.end}) on full history", one_day_command, postgres_env),
                ],
                work,
                args.repeat,
            )
            one_day = with_event_cost(pipeline_day, postgres_env)  # the instance's last run of each turn
            one_day_floors = (
                plain_day_on_history,
                plain_day_fresh,
                _warm_one_day(args.end, postgres_env, work, args.repeat),
            )
        if "graph" in parts:
            graph = _shared_graph_growth(materialize_all, postgres_env, work, args, fresh_warehouse)
        if "scale" in parts:
            scaled_landing = work / "scaled_landing"
            scaled_rows = _generate_scaled(scaled_landing, DateRange(first, last), SCALE_FACTOR * rows)
            scaled_env = {**postgres_env, "ECOM_LANDING_ROOT": str(scaled_landing)}
            scaled_plain, scaled_backfill = measure_in_turns(
                [
                    plain_script(f"plain PySpark script, {SCALE_FACTOR}x data", scaled_landing),
                    Command(
                        f"backfill, one run, PostgreSQL, {SCALE_FACTOR}x data",
                        backfill_range,
                        scaled_env,
                        fresh_warehouse,
                    ),
                ],
                work,
                args.repeat,
            )
            scale = (scaled_rows, scaled_plain, with_event_cost(scaled_backfill, scaled_env))
        if "steps" in parts:
            step_costs = measure_step_costs(work / "step_costs")
        if "history" in parts:
            history = _generated_graph_growth(materialize_all, postgres_env, work, args.history_days, args.repeat)
            if args.keep_history:
                _keep_history(work, args.keep_history)
        if "clickstream" in parts:
            clickstream_env = {
                **postgres_env,
                "ECOM_LANDING_ROOT": str(work / "clickstream_landing"),
                "ECOM_WAREHOUSE_ROOT": str(work / "clickstream_warehouse"),
            }
            clickstream = measure_clickstream(
                work, clickstream_env, args.clickstream_events, run_once, materialize_graph
            )

    sales_data = f"{len(files)} daily files, {rows:,} rows, {args.start} .. {args.end}; " if sales_parts else ""
    print(f"\nData: {sales_data}{os.cpu_count()} cores; median of {args.repeat} run(s); memory = whole process tree")
    if plain:
        _print_core(plain, minimal, backfill, sqlite_backfill, one_day, rows)
        _print_one_day_floors(one_day.measurement, *one_day_floors)
        _print_class_archive(one_day.measurement, one_day_without_archive)
    if graph:
        print_graph_growth(graph)
    if scale:
        _print_scale(*scale)
    if step_costs:
        print_step_costs(*step_costs)
    if clickstream:
        print_clickstream(clickstream)
    if history:
        print_graph_growth(history)


def _data_rows(files: list[Path]) -> int:
    """Data lines in CSV files (each has one header line)."""
    return sum(1 for path in files for _ in path.open()) - len(files)


def _generate_scaled(landing: Path, days: DateRange, target_rows: int) -> int:
    """Generate a shop over `days` with about `target_rows` rows (scale from a scale-1 probe); returns its rows."""
    probe_rows = _data_rows(generate(landing.with_name("scale_probe"), days))
    shutil.rmtree(landing.with_name("scale_probe"))
    scale = -(-target_rows // probe_rows)
    rows = _data_rows(generate(landing, days, scale=scale))
    print(f"generated {rows:,} rows at scale {scale} ({rows / target_rows * SCALE_FACTOR:.1f}x the data)", flush=True)
    return rows


def _print_scale(rows: int, plain: Measurement, backfill: DagsterRun) -> None:
    """Measurement 5: the backfill against the plain script on ten times the data."""
    ratio = backfill.measurement.seconds / plain.seconds
    print(f"\n{f'{SCALE_FACTOR}x data ({rows:,} generated rows)':<48}{'seconds':>9}{'peak RSS MB':>13}{'rows/s':>10}")
    for m in (plain, backfill.measurement):
        print(f"{m.label:<48}{m.seconds:>9.1f}{m.peak_rss_mb:>13.0f}{rows / m.seconds:>10,.0f}")
    print(
        f"backfill / plain at {SCALE_FACTOR}x = {ratio:.2f}x (target <= {SCALE_TARGET}x): {_met(ratio <= SCALE_TARGET)}"
    )
    _print_breakdown(backfill)


def _dagster_home(home: Path, config: Path | None) -> Path:
    """A fresh DAGSTER_HOME with `config` as its dagster.yaml (none: the defaults, as `dev.sh` makes it)."""
    home.mkdir()
    if config:
        shutil.copy(config, home / "dagster.yaml")
    else:
        (home / "dagster.yaml").touch()
    return home


def _met(met: bool) -> str:
    return "MET" if met else "MISSED"


def _print_core(
    plain: Measurement,
    minimal: Measurement,
    backfill: DagsterRun,
    sqlite_backfill: DagsterRun,
    one_day: DagsterRun,
    rows: int,
) -> None:
    """Measurements 1-3 against their targets, and where each Dagster run's time went."""
    print(f"{'measurement':<48}{'seconds':>9}{'peak RSS MB':>13}{'rows/s':>10}  every run")
    for m, n in (
        (plain, rows),
        (minimal, rows),
        (backfill.measurement, rows),
        (sqlite_backfill.measurement, rows),
        (one_day.measurement, None),
    ):
        rate = f"{n / m.seconds:,.0f}" if n else "-"
        print(f"{m.label:<48}{m.seconds:>9.1f}{m.peak_rss_mb:>13.0f}{rate:>10}  {m.runs_text()}")
    ratio = backfill.measurement.seconds / plain.seconds
    verdict = _met(ratio <= BACKFILL_TARGET)
    print(f"\nbackfill on PostgreSQL / plain = {ratio:.2f}x (target <= {BACKFILL_TARGET}x): {verdict}")
    print(f"  beside it, on SQLite: {sqlite_backfill.measurement.seconds / plain.seconds:.2f}x (not judged)")
    floor = backfill.measurement.seconds / minimal.seconds
    verdict = _met(floor <= BACKFILL_TARGET)
    print(f"backfill on PostgreSQL / minimal = {floor:.2f}x (target <= {BACKFILL_TARGET}x): {verdict}")
    print(
        f"  the plain script / the minimal one = {plain.seconds / minimal.seconds:.2f}x: what line ids over normalized"
        " values, exact decimals, line classification and day status cost"
    )
    print(guarantees_cost(backfill, minimal))
    if plain.spark_start_seconds is not None:
        print(f"\nSpark session start (the pipeline's local settings): {plain.spark_start_seconds:.1f} s")
    for run in (backfill, sqlite_backfill, one_day):
        _print_breakdown(run)


def guarantees_cost(backfill: DagsterRun, minimal: Measurement) -> str:
    """What the backfill's checks and its stored events cost, and the backfill against the minimal script without
    them: the part of the gap to the minimal script that is the guarantees' price, not the transforms'."""
    checks = sum(backfill.measurement.check_seconds.values())
    events = backfill.events.seconds
    rest = backfill.measurement.seconds - checks - events
    return (
        f"  of the backfill, computing the checks took {checks:.1f} s and storing the run's events"
        f" ({backfill.events.summary()}) {events:.1f} s; the rest, {rest:.1f} s, is"
        f" {rest / minimal.seconds:.2f}x the minimal script"
    )


def _warm_one_day(day: str, env: dict, work: Path, repeat: int) -> float:
    """The day's bronze, silver and gold materialized three times in one process: the median of the third runs."""
    command = [sys.executable, ROOT / "benchmarks" / "warm_one_day.py", "--day", day, "--runs", WARM_RUNS]
    third_runs = []
    for _ in range(repeat):
        run_once("one day, warm", command, env, work)
        printed = WARM_SECONDS.search((work / "last_command.log").read_text(errors="replace"))
        third_runs.append(float(printed.group(1).split(",")[-1]))
    seconds = statistics.median(third_runs)
    print(f"measured: one day, run {WARM_RUNS} of {WARM_RUNS} in one process: {seconds:.1f} s", flush=True)
    return seconds


def _print_one_day_floors(
    one_day: Measurement, plain_day: Measurement, plain_fresh_day: Measurement, warm_seconds: float
) -> None:
    """The one-day run beside what bounds it from below: the plain script's same day from a cold start on the same
    history (the target's yardstick) and on fresh tables, and the pipeline's own day in a process that already ran it
    (no Spark start, classes loaded and compiled)."""
    print(
        f"\none day, what bounds it: the plain script's same day, cold, no checks, on the same history"
        f" {plain_day.seconds:.1f} s ({plain_fresh_day.seconds:.1f} s on fresh tables: no history to replace the day"
        f" in or count first sales against); the pipeline's day in a warm process (run {WARM_RUNS} of {WARM_RUNS})"
        f" {warm_seconds:.1f} s; the pipeline's day, cold, {one_day.seconds:.1f} s"
    )
    ratio = one_day.seconds / plain_day.seconds
    print(f"one day, cold / the plain script's day on history, cold = {ratio:.2f}x", end="")
    print(f" (target <= {ONE_DAY_TARGET}x): ", end="")
    print(_met(ratio <= ONE_DAY_TARGET))


def _print_class_archive(with_archive: Measurement, without_archive: Measurement) -> None:
    """Whether the local Spark class-data archive pays for itself on the run it is made for: one day, cold."""
    saved = without_archive.seconds - with_archive.seconds
    verdict = "keep it" if saved >= ARCHIVE_KEEP_SECONDS else "drop it"
    print(
        f"\nSpark class archive (local only): one day {with_archive.seconds:.1f} s with it,"
        f" {without_archive.seconds:.1f} s without: saves {saved:.1f} s"
        f" ({with_archive.peak_rss_mb:.0f} against {without_archive.peak_rss_mb:.0f} MB peak);"
        f" it must save >= {ARCHIVE_KEEP_SECONDS:.0f} s: {verdict}"
    )


def _print_breakdown(run: DagsterRun) -> None:
    """Where one Dagster run's time went: steps (with their check time), storing events, the rest."""
    m, events = run.measurement, run.events
    steps = sum(m.step_seconds.values())
    print(f"\n{m.label}: {m.seconds:.1f} s, peak {m.peak_rss_mb:.0f} MB")
    for step, seconds in sorted(m.step_seconds.items(), key=lambda item: -item[1]):
        print(f"  step {step:<44}{seconds:>8.1f} s, of which computing checks {m.check_seconds.get(step, 0.0):.1f} s")
    print(f"  computing checks, all steps {sum(m.check_seconds.values()):>26.1f} s")
    print(
        f"  storing events (inside the steps) {events.seconds:>20.1f} s: {events.summary()};"
        f" {events.materialization_ms:.1f} ms per event, {events.check_evaluation_ms:.1f} ms per check evaluation"
    )
    print(f"  outside the steps (process and Spark start, planning) {m.seconds - steps:>6.1f} s")


@dataclass
class GraphGrowth:
    """The whole daily job on day 10 and on the last day of a history, and how the history between was built."""

    history: str
    early: Measurement
    backfill_seconds: float
    late: Measurement
    last_day_number: int


def _whole_graph_growth(
    materialize_all: list, env: dict, work: Path, days: DateRange, repeat: int, history: str, chunk_days: int
) -> GraphGrowth:
    """Day 10 on 9 days of history, the backfill of the days between (runs of at most `chunk_days` days), then the
    last day on all the others; every asset of the daily job, with a feed batch in the landing for every day."""
    day_10 = days.start + timedelta(days=9)
    last = days.end
    _build_history(materialize_all, env, work, DateRange(days.start, day_10 - timedelta(days=1)), chunk_days)
    early_command = [*materialize_all, "--partition", str(day_10)]
    early = measure(f"whole daily job, day 10 ({day_10})", early_command, env, work, repeat)
    middle = DateRange(day_10 + timedelta(days=1), last - timedelta(days=1))
    backfill_seconds = _build_history(materialize_all, env, work, middle, chunk_days)
    number = (last - days.start).days + 1
    late = measure(
        f"whole daily job, day {number} ({last})", [*materialize_all, "--partition", str(last)], env, work, repeat
    )
    return GraphGrowth(history, early, backfill_seconds, late, number)


def _build_history(materialize_all: list, env: dict, work: Path, days: DateRange, chunk_days: int) -> float:
    """Backfill `days` in runs of at most `chunk_days` days, each followed by the weekly table maintenance (OPTIMIZE,
    VACUUM; see `MAINTENANCE_CONFIG`), as a shop's tables would be, then maintain the tables once more with the
    default retention; returns the seconds the backfill runs took."""
    config = work / "maintenance.json"
    config.write_text(MAINTENANCE_CONFIG)
    seconds = 0.0
    start = days.start
    while start <= days.end:
        end = min(days.end, start + timedelta(days=chunk_days - 1))
        command = [*materialize_all, "--partition-range", f"{start}...{end}"]
        run = run_once(f"history {start} .. {end}", command, env, work)
        print(f"built: {run.label}: {run.seconds:.1f} s, {run.peak_rss_mb:.0f} MB", flush=True)
        seconds += run.seconds
        start = end + timedelta(days=1)
        maintenance = run_once(f"table maintenance after {end}", [*MAINTENANCE_JOB, "-c", config], env, work)
        print(f"built: {maintenance.label}: {maintenance.seconds:.1f} s", flush=True)
    restored = run_once("table maintenance with the default retention", MAINTENANCE_JOB, env, work)
    print(f"built: {restored.label}: {restored.seconds:.1f} s", flush=True)
    return seconds


def _shared_graph_growth(materialize_all: list, env: dict, work: Path, args: argparse.Namespace, fresh_warehouse):
    """Measurement 4 on the shared days, with a feed batch derived from each day's sales."""
    days = DateRange(date.fromisoformat(args.start), date.fromisoformat(args.end))
    triggers = write_feeds_for_sales(work / "landing", days=days)
    print(f"staged {len(triggers)} feed batch(es) for the whole graph", flush=True)
    fresh_warehouse()
    history = f"the shared data, {args.start} .. {args.end}"
    return _whole_graph_growth(materialize_all, env, work, days, args.repeat, history, chunk_days=len(days))


def _generated_graph_growth(materialize_all: list, env: dict, work: Path, history_days: int, repeat: int):
    """Measurement 8: `history_days` days of a generated shop (`ecom-sample generate --feeds`) from 2010-12-01."""
    days = DateRange(date(2010, 12, 1), date(2010, 12, 1) + timedelta(days=history_days - 1))
    landing, warehouse = work / "history_landing", work / "history_warehouse"
    started = time.perf_counter()
    files = generate(landing, days)
    triggers = write_feeds_for_sales(landing, days=days)
    print(
        f"generated {len(files)} sales files and {len(triggers)} feed batches in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    history_env = {**env, "ECOM_LANDING_ROOT": str(landing), "ECOM_WAREHOUSE_ROOT": str(warehouse)}
    history = f"a generated shop, {history_days} days ({days.start} .. {days.end}, {_data_rows(files):,} sales rows)"
    return _whole_graph_growth(materialize_all, history_env, work, days, repeat, history, HISTORY_CHUNK_DAYS)


def _keep_history(work: Path, keep: Path) -> None:
    """Move measurement 8's landing and warehouse out of the scratch folder into `keep` (a new folder)."""
    keep.mkdir(parents=True)
    for name in ("history_landing", "history_warehouse"):
        shutil.move(work / name, keep / name)
    print(f"kept the history's landing and warehouse in {keep}", flush=True)


def print_graph_growth(growth: GraphGrowth) -> None:
    """The whole daily job's figures and each asset's step time on day 10 against the last day."""
    early, late = growth.early, growth.late
    last = f"day {growth.last_day_number}"
    print(f"\nwhole daily job on {growth.history}")
    print(f"{'':<48}{'seconds':>9}{'peak RSS MB':>13}")
    for m in (early, late):
        print(f"{m.label:<48}{m.seconds:>9.1f}{m.peak_rss_mb:>13.0f}")
    print(f"{'history between (backfill runs)':<48}{growth.backfill_seconds:>9.1f}")
    ratio = late.seconds / early.seconds
    verdict = _met(ratio <= GROWTH_TARGET)
    print(f"whole daily job, {last} / day 10 = {ratio:.2f}x (target <= {GROWTH_TARGET}x): {verdict}")
    print("(each day has a feed batch; step times are each step's median over the runs)")
    print(f"\n{'step time per asset (s)':<48}{'day 10':>9}{last:>9}{'ratio':>8}  target <= {GROWTH_TARGET}x")
    steps = sorted(late.step_median_seconds, key=lambda name: -late.step_median_seconds[name])
    missed = 0
    for step in steps:
        before, after = early.step_median_seconds.get(step, 0.0), late.step_median_seconds[step]
        ratio = after / before if before else None
        missed += ratio is not None and ratio > GROWTH_TARGET
        verdict = _met(ratio <= GROWTH_TARGET) if ratio is not None else "-"
        print(f"{step:<48}{before:>9.2f}{after:>9.2f}{f'{ratio:.2f}x' if ratio else '-':>8}  {verdict}")
    print(f"every step within {GROWTH_TARGET}x: {_met(not missed)} ({missed} of {len(steps)} over)")


if __name__ == "__main__":
    main()
