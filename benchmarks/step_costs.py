"""What a step costs when it has almost nothing to do: the whole daily job on day 10 of a tiny generated shop.

Generates ten days of clean sample sales with their feed batches, backfills the first nine as one
run (not timed), then materializes day 10 of every daily asset twice in this process: a cold run
(Spark starts, the JVM loads and compiles its classes) and a warm one. For each step of the warm
run it prints its time, the Spark jobs it ran, and for each table the Delta commits the run made
and how many of them changed nothing (no file added or removed: a bookkeeping commit that could
have been skipped). On a few hundred rows a day, a step's time is its fixed cost: Delta snapshot
loads, listings and commits, check jobs, Dagster's bookkeeping.

Part of `python -m benchmarks.benchmark --parts steps`; alone:

    python -m benchmarks.step_costs [--days 10] [--keep DIR]

With `--history DIR --day DAY` it reruns DAY of a history kept by `benchmark --keep-history DIR`
instead (its `history_landing` and `history_warehouse`), `--runs` times in one process, and prints
each step's time in every run after the first: what a step costs late in a history, warm.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from dagster import AssetsDefinition, AssetSelection, DagsterEventType, DagsterInstance, materialize

BIN = Path(sys.executable).parent
LAST_DAY = date(2025, 1, 10)
DAILY_JOB = (
    "not (group:clickstream_ingest or group:clickstream or group:clickstream_daily or group:stripe_api"
    " or group:stripe or group:shopify_api or group:shopify or group:payments)"
)
"""The whole daily job's assets (as `dev.sh` selects them): every daily asset of sales and feeds, their snapshots."""


@dataclass
class StepCost:
    """One step of a run: its wall time and the Spark jobs it ran."""

    seconds: float = 0.0
    spark_jobs: int = 0


@dataclass
class RunCosts:
    """One materialization of the daily job for one day, step by step, and the commits it made per table."""

    seconds: float
    steps: dict[str, StepCost] = field(default_factory=dict)
    commits: dict[str, int] = field(default_factory=dict)
    empty_commits: dict[str, int] = field(default_factory=dict)
    """Per table, the commits that added and removed no file."""


def _spark_jobs_so_far() -> int:
    """How many Spark jobs the process's session has started (job ids count up from 0)."""
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is None:
        return 0
    ids = session.sparkContext.statusTracker().getJobIdsForGroup(None)
    return max(ids) + 1 if ids else 0


def _commit_files(warehouse: Path) -> dict[str, set[str]]:
    """Per table folder (relative to the warehouse), the names of its Delta commit files."""
    return {
        str(log.parent.relative_to(warehouse)): {path.name for path in log.glob("*.json")}
        for log in warehouse.rglob("_delta_log")
    }


def _changes_nothing(commit: Path) -> bool:
    """Whether a Delta commit adds and removes no data file."""
    actions = [json.loads(line) for line in commit.read_text().splitlines() if line.strip()]
    return not any("add" in action or "remove" in action for action in actions)


def run_day(day: date, warehouse: Path) -> RunCosts:
    """Materialize the daily job's assets for `day` in this process, on the instance in `DAGSTER_HOME`; its costs."""
    from ecom_assets.definitions import defs

    keys = AssetSelection.from_string(DAILY_JOB).resolve(defs.resolve_asset_graph())
    assets = [a for a in defs.assets if isinstance(a, AssetsDefinition) and set(a.keys) & keys]
    before = _commit_files(warehouse)
    started_steps: dict[str, tuple[float, int]] = {}
    steps: dict[str, StepCost] = {}
    with DagsterInstance.get() as instance:
        handle = instance.handle_new_event

        def timed_event(event, *args, **kwargs):
            dagster_event = event.dagster_event
            if dagster_event and dagster_event.event_type == DagsterEventType.STEP_START:
                started_steps[dagster_event.step_key] = (time.perf_counter(), _spark_jobs_so_far())
            elif dagster_event and dagster_event.event_type in (
                DagsterEventType.STEP_SUCCESS,
                DagsterEventType.STEP_FAILURE,
            ):
                began, jobs = started_steps[dagster_event.step_key]
                steps[dagster_event.step_key] = StepCost(time.perf_counter() - began, _spark_jobs_so_far() - jobs)
            return handle(event, *args, **kwargs)

        instance.handle_new_event = timed_event
        started = time.perf_counter()
        materialize(
            assets, instance=instance, resources=defs.resources, partition_key=day.isoformat(), selection=list(keys)
        )
        seconds = time.perf_counter() - started
    commits, empty = {}, {}
    for table, names in _commit_files(warehouse).items():
        new = sorted(names - before.get(table, set()))
        if new:
            commits[table] = len(new)
            empty[table] = sum(_changes_nothing(warehouse / table / "_delta_log" / name) for name in new)
    return RunCosts(seconds, steps, commits, empty)


def print_step_costs(cold: RunCosts, warm: RunCosts, day: date) -> None:
    """The cold and warm runs' times, the warm run's steps, and the commits per table."""
    steps = sum(cost.seconds for cost in warm.steps.values())
    jobs = sum(cost.spark_jobs for cost in warm.steps.values())
    print(f"\nthe whole daily job for one day ({day}, day 10 of a tiny generated shop with feeds)")
    print(f"  cold process run (Spark start included) {cold.seconds:>8.1f} s")
    print(f"  warm run (same process, second run)     {warm.seconds:>8.1f} s: {len(warm.steps)} steps {steps:.1f} s,")
    print(f"    outside the steps {warm.seconds - steps:.1f} s; {jobs} Spark jobs in the steps")
    print(f"  a step's fixed cost (warm, mean)         {steps / max(len(warm.steps), 1):>8.2f} s")
    print(f"\n  {'step (warm)':<58}{'seconds':>9}{'Spark jobs':>12}")
    for step, cost in sorted(warm.steps.items(), key=lambda item: -item[1].seconds):
        print(f"  {step:<58}{cost.seconds:>9.2f}{cost.spark_jobs:>12}")
    empty = sum(warm.empty_commits.values())
    print(f"\n  Delta commits in the warm run: {sum(warm.commits.values())} over {len(warm.commits)} tables,")
    print(f"    of which change nothing: {empty}" + (" (MISSED: none should)" if empty else " (MET)"))
    for table, count in sorted(warm.commits.items()):
        if count > 1 or warm.empty_commits[table]:
            print(f"    {table}: {count} commits, {warm.empty_commits[table]} changing nothing")


def measure_step_costs(work: Path, days: int = 10) -> tuple[RunCosts, RunCosts, date]:
    """Generate and backfill `days - 1` days under `work`, then run the last day cold and warm in a child process."""
    landing, warehouse, home = work / "landing", work / "warehouse", work / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").touch()
    first = LAST_DAY - timedelta(days=days - 1)
    env = {
        **os.environ,
        "ECOM_LANDING_ROOT": str(landing),
        "ECOM_WAREHOUSE_ROOT": str(warehouse),
        "DAGSTER_HOME": str(home),
    }
    generate = [BIN / "ecom-sample", "generate", "--start", first, "--end", LAST_DAY, "--landing-root", landing]
    subprocess.run([str(part) for part in [*generate, "--feeds"]], env=env, check=True, capture_output=True)
    history = [BIN / "dagster", "asset", "materialize", "-m", "ecom_assets.definitions", "--select", DAILY_JOB]
    history += ["--partition-range", f"{first}...{LAST_DAY - timedelta(days=1)}"]
    print(f"backfilling {days - 1} generated days (not timed)", flush=True)
    subprocess.run([str(part) for part in history], env=env, check=True, capture_output=True)
    cold, warm = _runs_in_one_process(env, warehouse, LAST_DAY, 2, work / "step_costs.json")
    return cold, warm, LAST_DAY


def _runs_in_one_process(env: dict, warehouse: Path, day: date, runs: int, result: Path) -> list[RunCosts]:
    """Run `day` `runs` times in one child process (the first cold), with `env`; each run's costs."""
    child = [sys.executable, "-m", "benchmarks.step_costs", "--measure-into", str(result)]
    child += ["--warehouse", str(warehouse), "--day", day.isoformat(), "--runs", str(runs)]
    completed = subprocess.run(child, env=env, capture_output=True, text=True)
    if completed.returncode:
        sys.stderr.write(completed.stderr[-5000:])
        raise SystemExit(f"the run of {day} in one process failed")
    return [_run_costs(entry) for entry in json.loads(result.read_text())]


def _run_costs(entry: dict) -> RunCosts:
    return RunCosts(
        entry["seconds"],
        {step: StepCost(**cost) for step, cost in entry["steps"].items()},
        entry["commits"],
        entry["empty_commits"],
    )


def measure_kept_history(history: Path, day: date, runs: int) -> list[RunCosts]:
    """Rerun `day` of a kept history `runs` times in one child process, on a fresh Dagster instance; its costs."""
    warehouse = history / "history_warehouse"
    with tempfile.TemporaryDirectory(prefix="ecom-step-costs-home-") as home:
        (Path(home) / "dagster.yaml").touch()
        env = {
            **os.environ,
            "ECOM_LANDING_ROOT": str(history / "history_landing"),
            "ECOM_WAREHOUSE_ROOT": str(warehouse),
            "DAGSTER_HOME": home,
        }
        return _runs_in_one_process(env, warehouse, day, runs, Path(home) / "step_costs.json")


def print_kept_history_costs(runs: list[RunCosts], history: Path, day: date) -> None:
    """Each step's time in every run after the first (the first pays the process's start), slowest first."""
    warm = runs[1:]
    print(f"\nthe whole daily job for {day} of {history}, {len(runs)} runs in one process")
    print(f"  runs: {', '.join(f'{run.seconds:.1f} s' for run in runs)} (the first is cold)")
    print(f"\n  {'step (runs 2..)':<58}{'seconds':>24}{'Spark jobs':>12}")
    for step in sorted(warm[-1].steps, key=lambda name: -warm[-1].steps[name].seconds):
        seconds = ", ".join(f"{run.steps[step].seconds:.2f}" for run in warm if step in run.steps)
        print(f"  {step:<58}{seconds:>24}{warm[-1].steps[step].spark_jobs:>12}")


def _measure_into(result: Path, warehouse: Path, day: date, count: int) -> None:
    """The child's part: the day `count` times in this process (the first cold); all written to `result` as JSON."""
    runs = [run_day(day, warehouse) for _ in range(count)]
    result.write_text(
        json.dumps(
            [
                {
                    "seconds": run.seconds,
                    "steps": {step: vars(cost) for step, cost in run.steps.items()},
                    "commits": run.commits,
                    "empty_commits": run.empty_commits,
                }
                for run in runs
            ]
        )
    )


def main() -> None:
    """Measure and print (or, as the child process, measure into a file)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--keep", type=Path, help="build under this folder and keep it")
    parser.add_argument("--history", type=Path, help="a history kept by `benchmark --keep-history DIR`")
    parser.add_argument("--day", type=date.fromisoformat, help="with --history: the day to rerun (its last)")
    parser.add_argument("--runs", type=int, default=3, help="with --history: runs in the one process")
    parser.add_argument("--measure-into", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--warehouse", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_into:
        _measure_into(args.measure_into, args.warehouse, args.day, args.runs)
        return
    if args.history:
        if args.day is None or args.runs < 2:
            parser.error("--history needs --day, and --runs of at least 2 (the first run is cold)")
        print_kept_history_costs(measure_kept_history(args.history, args.day, args.runs), args.history, args.day)
        return
    with tempfile.TemporaryDirectory(prefix="ecom-step-costs-") as scratch:
        work = args.keep or Path(scratch)
        print_step_costs(*measure_step_costs(work, args.days))


if __name__ == "__main__":
    main()
