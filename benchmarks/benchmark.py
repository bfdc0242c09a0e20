"""Benchmark: the real data set through Dagster against a plain PySpark script.

Prints, for the shared Online Retail days (245 files, 2010-12-01 .. 2011-09-30):
  1. the plain PySpark script doing the pipeline's work without Dagster (baseline);
  2. a full backfill through `dagster asset materialize --partition-range` as one run, with the
     Dagster instance on disk (the default) and in memory (tmpfs), which separates the cost of
     Dagster's SQLite event log from the pipeline's own;
  3. one day (the last one) materialized on top of that history, Spark start included;
  4. the whole asset graph (dimensions and business metrics too): day 10 on 9 days of history
     against day 245 on 244 days, with each asset's step time, to show what a new day costs
     as history grows; and the whole-graph backfill of the days between.
Measurements 1-3 select bronze, silver and gold only, the work the plain script does. With
them comes the cost of Dagster's event log: the events the backfill stored, by type, and what
storing one materialization and one check evaluation costs on the same disk, which together
give the part of the backfill no pipeline code can remove.
Each is a fresh process, timed from launch to exit (median of --repeat runs), with the peak
resident memory of its whole process tree, Spark JVM included (sampled from /proc, so Linux).

    python benchmarks/benchmark.py [--source ../shared/data/online-retail/by-day]
"""

import argparse
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from dagster import AssetCheckEvaluation, AssetKey, AssetMaterialization, DagsterEventType, DagsterInstance

from ecom_assets.sample_data import import_days

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "online-retail" / "by-day"
CORE_ASSETS = ",".join(
    ["ecommerce_catalog/raw/order_transactions", "ecommerce_catalog/processed/orders_cleaned"]
    + ["ecommerce_catalog/analytics/sales_metrics"]
)
STEP_FINISHED = re.compile(r'Finished execution of step "ecommerce_catalog__(\w+?)__(\w+)" in ([0-9.]+)(ms|s)')


@dataclass
class Measurement:
    """Wall time and peak memory of one command."""

    label: str
    seconds: float
    peak_rss_mb: float
    step_seconds: dict[str, float] = field(default_factory=dict)


def _tree_rss(root_pid: int) -> int:
    """Resident bytes of a process and all its descendants, read from /proc (Linux)."""
    parents, rss = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            pid = int(stat.parent.name)
            parents[pid], rss[pid] = int(fields[1]), int(fields[21]) * PAGE_SIZE
    tree, frontier = {root_pid}, [root_pid]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(rss.get(pid, 0) for pid in tree)


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
    steps = {
        f"{schema}.{table}": float(value) / (1000 if unit == "ms" else 1)
        for schema, table, value, unit in STEP_FINISHED.findall(output_text)
    }
    return Measurement(label, seconds, peak / 2**20, steps)


def measure(label: str, command: list, env: dict, cwd: Path, repeat: int, before_each=None) -> Measurement:
    """The median wall time (and its run's peak memory) over `repeat` runs."""
    runs = []
    for _ in range(repeat):
        if before_each:
            before_each()
        runs.append(run_once(label, command, env, cwd))
    median = sorted(runs, key=lambda m: m.seconds)[len(runs) // 2]
    print(f"measured: {label}: {median.seconds:.1f} s, {median.peak_rss_mb:.0f} MB", flush=True)
    return median


@dataclass
class EventLogCost:
    """What the backfill's events cost in Dagster's SQLite event log."""

    events_by_type: dict[str, int]
    materialization_ms: float
    check_evaluation_ms: float

    @property
    def floor_seconds(self) -> float:
        """Lower bound of the backfill's time spent storing its events (logging and runs not counted)."""
        checks = self.events_by_type.get(DagsterEventType.ASSET_CHECK_EVALUATION.value, 0)
        asset_events = sum(
            self.events_by_type.get(kind.value, 0)
            for kind in (DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.ASSET_MATERIALIZATION_PLANNED)
        )
        return (checks * self.check_evaluation_ms + asset_events * self.materialization_ms) / 1000


def event_log_cost(dagster_home: Path, scratch: Path, samples: int = 500) -> EventLogCost:
    """Count the latest run's events by type, then time storing events in a fresh instance on the same disk.

    The timing reports runless events straight into the storage, so it leaves out Dagster's
    logging machinery: it is a floor, not an estimate.
    """
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        run = instance.get_runs(limit=1)[0]
        events = Counter(
            entry.dagster_event.event_type_value for entry in instance.all_logs(run.run_id) if entry.dagster_event
        )
    scratch.mkdir(parents=True, exist_ok=True)
    (scratch / "dagster.yaml").touch()
    with DagsterInstance.local_temp(str(scratch)) as instance:
        key = AssetKey(["benchmark", "table"])
        started = time.perf_counter()
        for i in range(samples):
            instance.report_runless_asset_event(AssetMaterialization(key, partition=f"p{i}", metadata={"rows": i}))
        materialization_ms = (time.perf_counter() - started) * 1000 / samples
        started = time.perf_counter()
        for i in range(samples):
            instance.report_runless_asset_event(
                AssetCheckEvaluation(key, "check", passed=True, partition=f"p{i}", metadata={"rows": i})
            )
        check_evaluation_ms = (time.perf_counter() - started) * 1000 / samples
    return EventLogCost(dict(events), materialization_ms, check_evaluation_ms)


def main() -> None:
    """Stage the data, run the three measurements, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--start", default="2010-12-01")
    parser.add_argument("--end", default="2011-09-30")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is reported")
    parser.add_argument(
        "--parts",
        default="core,graph",
        help="core: measurements 1-3 (bronze, silver, gold against the plain script); graph: measurement 4",
    )
    args = parser.parse_args()
    if not args.source.is_dir():
        raise SystemExit(f"no daily files at {args.source}")

    with tempfile.TemporaryDirectory(prefix="ecom-bench-") as scratch:
        work = Path(scratch)
        files = import_days(args.source, work / "landing")
        rows = sum(1 for path in files for _ in path.open()) - len(files)
        (work / "dagster_home").mkdir()
        (work / "dagster_home" / "dagster.yaml").touch()  # an instance as `dev.sh` makes it: defaults
        env = {
            **os.environ,
            "ECOM_LANDING_ROOT": str(work / "landing"),
            "ECOM_WAREHOUSE_ROOT": str(work / "warehouse"),
            "DAGSTER_HOME": str(work / "dagster_home"),
        }
        materialize_graph = [BIN / "dagster", "asset", "materialize", "-m", "ecom_assets.definitions", "--select"]
        materialize = [*materialize_graph, CORE_ASSETS]
        materialize_all = [*materialize_graph, "*"]
        run_once("instance set-up (not timed)", [BIN / "dagster", "instance", "migrate"], env, work)

        def fresh_warehouse() -> None:
            shutil.rmtree(work / "warehouse", ignore_errors=True)

        plain = backfill = memory_instance = one_day = graph = events = None
        if "core" in args.parts:
            plain = measure(
                "plain PySpark script, full range",
                [
                    sys.executable,
                    ROOT / "benchmarks" / "plain_pyspark.py",
                    "--landing-root",
                    work / "landing",
                    "--warehouse-root",
                    work / "plain_warehouse",
                    "--start",
                    args.start,
                    "--end",
                    args.end,
                ],
                env,
                work,
                args.repeat,
            )
            backfill_range = [*materialize, "--partition-range", f"{args.start}...{args.end}"]
            backfill = measure(
                "Dagster backfill, full range, one run", backfill_range, env, work, args.repeat, fresh_warehouse
            )
            events = event_log_cost(work / "dagster_home", work / "event_log_probe")
            if Path("/dev/shm").is_dir():
                with tempfile.TemporaryDirectory(prefix="ecom-bench-home-", dir="/dev/shm") as memory_home:
                    memory_env = {**env, "DAGSTER_HOME": memory_home}
                    (Path(memory_home) / "dagster.yaml").touch()
                    run_once("instance set-up (not timed)", [BIN / "dagster", "instance", "migrate"], memory_env, work)
                    memory_instance = measure(
                        "  same, Dagster instance in memory (tmpfs)",
                        backfill_range,
                        memory_env,
                        work,
                        args.repeat,
                        fresh_warehouse,
                    )
            one_day = measure(
                f"Dagster, one day ({args.end}) on full history",
                [*materialize, "--partition", args.end],
                env,
                work,
                args.repeat,
            )
        if "graph" in args.parts:
            graph = _whole_graph_measurements(materialize_all, env, work, args, fresh_warehouse)

    print(
        f"\nData: {len(files)} daily files, {rows:,} rows, {args.start} .. {args.end}; "
        f"{os.cpu_count()} cores; median of {args.repeat} run(s); memory = whole process tree"
    )
    if plain:
        _print_core(plain, backfill, memory_instance, one_day, rows, events)
    if graph:
        _print_whole_graph(*graph)


def _print_core(
    plain: Measurement,
    backfill: Measurement,
    memory_instance: Measurement | None,
    one_day: Measurement,
    rows: int,
    events: EventLogCost,
) -> None:
    """Measurements 1-3, their targets, and the event log's share of the backfill."""
    print(f"{'measurement':<48}{'seconds':>9}{'peak RSS MB':>13}{'rows/s':>10}")
    for m, n in ((plain, rows), (backfill, rows), (memory_instance, rows), (one_day, None)):
        if m is None:
            continue
        rate = f"{n / m.seconds:,.0f}" if n else "-"
        print(f"{m.label:<48}{m.seconds:>9.1f}{m.peak_rss_mb:>13.0f}{rate:>10}")
    ratio = backfill.seconds / plain.seconds
    print(f"\nbackfill / plain = {ratio:.2f}x (target <= 1.5x): {'MET' if ratio <= 1.5 else 'MISSED'}")
    if memory_instance:
        print(f"  with the instance in memory: {memory_instance.seconds / plain.seconds:.2f}x")
    counted = sorted(events.events_by_type.items(), key=lambda item: -item[1])
    stored = ", ".join(f"{count:,} {kind}" for kind, count in counted if count >= 100)
    stored += f", {sum(count for _, count in counted if count < 100)} other"
    print(
        f"  events the backfill stored: {stored}\n"
        f"  storing one costs {events.materialization_ms:.1f} ms (materialization), "
        f"{events.check_evaluation_ms:.1f} ms (check evaluation) on this disk\n"
        f"  so at least {events.floor_seconds:.1f} s of the backfill is Dagster's event log, "
        f"against a 1.5x budget of {1.5 * plain.seconds:.1f} s for everything"
    )
    print(f"one day = {one_day.seconds:.1f} s (target <= 20 s): {'MET' if one_day.seconds <= 20 else 'MISSED'}")


def _whole_graph_measurements(
    materialize_all: list, env: dict, work: Path, args: argparse.Namespace, fresh_warehouse
) -> tuple[Measurement, Measurement, Measurement]:
    """Day 10 on 9 days of history, the backfill of days 11..244, then day 245 on 244 days; every asset."""
    first = date.fromisoformat(args.start)
    day_10, day_245 = first + timedelta(days=9), date.fromisoformat(args.end)
    fresh_warehouse()
    history = [*materialize_all, "--partition-range", f"{first}...{day_10 - timedelta(days=1)}"]
    run_once("history before day 10 (not timed)", history, env, work)
    early = measure(
        f"whole graph, day 10 ({day_10})", [*materialize_all, "--partition", str(day_10)], env, work, args.repeat
    )
    middle = [*materialize_all, "--partition-range", f"{day_10 + timedelta(days=1)}...{day_245 - timedelta(days=1)}"]
    backfill = run_once("whole graph, backfill of days 11..244, one run", middle, env, work)
    print(f"measured: {backfill.label}: {backfill.seconds:.1f} s, {backfill.peak_rss_mb:.0f} MB", flush=True)
    late = measure(
        f"whole graph, day 245 ({day_245})", [*materialize_all, "--partition", str(day_245)], env, work, args.repeat
    )
    return early, backfill, late


def _print_whole_graph(early: Measurement, backfill: Measurement, late: Measurement) -> None:
    """The whole graph's figures and each asset's step time on day 10 against day 245."""
    print(f"\n{'whole asset graph':<48}{'seconds':>9}{'peak RSS MB':>13}")
    for m in (early, backfill, late):
        print(f"{m.label:<48}{m.seconds:>9.1f}{m.peak_rss_mb:>13.0f}")
    print(f"\n{'step time per asset (s)':<48}{'day 10':>9}{'day 245':>9}{'ratio':>8}")
    for step in sorted(late.step_seconds, key=lambda name: -late.step_seconds[name]):
        before, after = early.step_seconds.get(step, 0.0), late.step_seconds[step]
        ratio = f"{after / before:.1f}x" if before else "-"
        print(f"{step:<48}{before:>9.2f}{after:>9.2f}{ratio:>8}")


if __name__ == "__main__":
    main()
