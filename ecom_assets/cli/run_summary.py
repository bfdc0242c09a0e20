"""What a run did, told to whoever started it: the days, the rows, the checks, what failed and where to look.

    python -m ecom_assets.cli.run_summary [--run-id ID | --started-after EPOCH_SECONDS] [--command-status N --log F]

By default the instance's latest run; `./dev.sh materialize`, `backfill` and `demo` pass the time
they started the command at, so a command that failed before starting a run is never mistaken
for the run before it.

Exits 0 when the run succeeded and no ERROR check failed, 1 otherwise, so a script or a person
at a terminal can never mistake a quarantined day or a failed step for a good run. The alert
emails the sensors would send for the run are written beside the report as a preview.
"""

import argparse
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

from ecom_assets.platform.alerts import (
    CheckFailure,
    RunFailure,
    check_evaluations,
    check_failure_email,
    check_failures,
    describe_failure,
    failure_email,
)
from ecom_assets.platform.checks import PUBLISHED_CHECK
from ecom_assets.platform.tables import ETL_ERRORS
from ecom_assets.sales.tables import ORDER_TRANSACTIONS, ORDERS_CLEANED
from resources.settings import Settings


@dataclass
class RunSummary:
    """The figures and failures of one run, from its event log."""

    run_id: str
    status: str
    partitions: str
    days: list[str]
    row_figures: dict[str, Counter]
    """Per table of the run that reports them: rows_in, rows_out and rows_rejected summed over its days."""
    checks_passed: int
    failed_checks: list[CheckFailure]
    failure: RunFailure
    """The run's failed steps and errors (none for a run that did not fail)."""

    @property
    def step_errors(self) -> list[str]:
        """The error messages of a run that did not succeed."""
        return self.failure.errors if self.status != DagsterRunStatus.SUCCESS.value else []

    @property
    def errors(self) -> list[CheckFailure]:
        """Failed ERROR checks that found something (not the `published` verdicts they led to)."""
        return [f for f in self.failed_checks if f.severity == "ERROR" and f.check != PUBLISHED_CHECK.name]

    @property
    def kept_out(self) -> list[CheckFailure]:
        """The days each table did not publish, with why."""
        return [f for f in self.failed_checks if f.check == PUBLISHED_CHECK.name]

    @property
    def warnings(self) -> list[CheckFailure]:
        """Failed WARN checks: reported, nothing held back."""
        return [f for f in self.failed_checks if f.severity != "ERROR"]

    @property
    def ok(self) -> bool:
        """Whether the run succeeded with every ERROR check passing."""
        return self.status == DagsterRunStatus.SUCCESS.value and not self.errors and not self.kept_out


def summarize(instance: DagsterInstance, run_id: str) -> RunSummary:
    """Read one run's status, per-day row figures and check evaluations from the instance."""
    run = instance.get_run_by_id(run_id)
    if run is None:
        raise ValueError(f"no run {run_id} in this Dagster instance")
    figures: dict[str, Counter] = {}
    days = set()
    materializations = instance.get_records_for_run(
        run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION, limit=1_000_000
    ).records
    for record in materializations:
        materialization = record.event_log_entry.dagster_event.event_specific_data.materialization
        if materialization.partition:
            days.add(materialization.partition)
        table = ".".join(materialization.asset_key.path)
        counts = figures.setdefault(table, Counter())
        for name in ("rows_in", "rows_out", "rows_rejected"):
            if name in materialization.metadata:
                counts[name] += materialization.metadata[name].value
    evaluations = check_evaluations(instance, run_id)
    failures = check_failures(evaluations)
    failure = describe_failure(instance, run)
    return RunSummary(
        run_id=run_id,
        status=run.status.value,
        partitions=failure.partitions,
        days=sorted(days),
        row_figures={table: counts for table, counts in figures.items() if counts},
        checks_passed=len(evaluations) - len(failures),
        failed_checks=failures,
        failure=failure,
    )


def render(summary: RunSummary, settings: Settings, ui_base_url: str) -> str:
    """The summary as text for a terminal: a verdict first, then what failed, then the figures and where to look."""
    lines = []
    if summary.ok:
        lines.append(f"Run {summary.run_id} succeeded: every blocking check passed.")
    else:
        if summary.status == DagsterRunStatus.SUCCESS.value:
            lines.append(f"Run {summary.run_id} finished, but blocking checks FAILED: not every day was published.")
        else:
            lines.append(f"Run {summary.run_id} FAILED ({summary.status}): its tables are not complete.")
        lines.append("What failed:")
        lines += [f"  step error: {error}" for error in summary.step_errors]
        lines += [f"  {_failure_line(failure)}" for failure in summary.errors]
        if summary.kept_out:
            lines.append("What was kept out (each table keeps its previous rows for these days):")
            lines += [
                f"  {_table_name(failure)} {failure.partition}: {failure.finding}" for failure in summary.kept_out
            ]
    if summary.warnings:
        lines.append("Warnings (reported, nothing held back):")
        lines += [f"  {_failure_line(failure)}" for failure in summary.warnings]
    first, last = (summary.days[0], summary.days[-1]) if summary.days else ("-", "-")
    hourly = len(first) > len("YYYY-MM-DD")  # the clickstream's hours, e.g. 2019-10-01-00:00
    first_day, last_day = first[:10], last[:10]
    if not summary.days:
        where = "Partitions: none (an unpartitioned run)"
    else:
        where = (
            f"{'Hours' if hourly else 'Days'}: {len(summary.days)} ({first} .. {last}), partitions {summary.partitions}"
        )
    lines += [
        where,
        *_row_lines(summary.row_figures),
        f"Checks: {summary.checks_passed:,} passed, {len(summary.failed_checks):,} failed"
        f" ({len(summary.errors) + len(summary.kept_out):,} of them blocking)",
        f"Tables: {settings.warehouse_root or f'catalog {settings.catalog}'}",
        f"Errors: python -m ecom_assets.cli.show {ETL_ERRORS.full_name}",
        *([f"Report: .venv/bin/ecom-dq-report --start {first_day} --end {last_day}"] if summary.days else []),
        f"UI: ./dev.sh ui, then {ui_base_url.rstrip('/')}/runs/{summary.run_id}",
    ]
    return "\n".join(lines)


def _row_lines(row_figures: dict[str, Counter]) -> list[str]:
    """The rows in and out of bronze and silver when the run materialized them, and what they rejected."""
    bronze, silver = row_figures.get(ORDER_TRANSACTIONS.full_name), row_figures.get(ORDERS_CLEANED.full_name)
    if not bronze and not silver:
        return []
    flow = []
    if bronze:
        flow += [f"{bronze['rows_in']:,} lines in landing files", f"{bronze['rows_out']:,} bronze rows"]
    if silver:
        flow += [] if bronze else [f"{silver['rows_in']:,} bronze rows"]
        flow.append(f"{silver['rows_out']:,} silver lines")
    rejected = sum(counts["rows_rejected"] for counts in (bronze, silver) if counts)
    return [f"Rows: {' -> '.join(flow)}; {rejected:,} row(s) rejected, each with its reason in {ETL_ERRORS.full_name}"]


def _table_name(failure: CheckFailure) -> str:
    return failure.asset.replace("/", ".")


def _failure_line(failure: CheckFailure) -> str:
    return (
        f"check {failure.check} ({failure.severity}) of {_table_name(failure)} on {failure.partition}:"
        f" {failure.finding}"
    )


def write_email_previews(summary: RunSummary, folder: Path, ui_base_url: str) -> list[Path]:
    """Write the alert emails the sensors send for this run (none for a clean run) as HTML; returns their paths."""
    emails = []
    if summary.status != DagsterRunStatus.SUCCESS.value:
        emails.append(("run_failure", failure_email(summary.failure, ui_base_url)))
    if summary.failed_checks:
        emails.append(("check_failures", check_failure_email(summary.run_id, summary.failed_checks, ui_base_url)))
    written = []
    for kind, (subject, _, html_body) in emails:
        path = folder / f"email_{kind}_{summary.run_id[:8]}.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"<h3>{subject}</h3>\n{html_body}", encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    """Command line: print a run's summary (the latest by default) and exit 1 unless it was good."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-id", help="a run of the instance at DAGSTER_HOME (default: the latest)")
    parser.add_argument("--started-after", type=float, help="the latest run created after this Unix time")
    parser.add_argument("--command-status", type=int, default=0, help="exit status of the command that ran it")
    parser.add_argument("--log", type=Path, help="that command's output, quoted when it started no run")
    parser.add_argument("--emails", type=Path, help="folder for the alert email previews (default: the output folder)")
    args = parser.parse_args(argv)
    with DagsterInstance.get() as instance:
        run_id = args.run_id or _latest_run_id(instance, args.started_after)
        if run_id is None:
            tail = args.log.read_text(errors="replace").splitlines()[-30:] if args.log else []
            print("\n".join(["The command FAILED before starting a run. The end of its output:", *tail]))
            sys.exit(args.command_status or 1)
        summary = summarize(instance, run_id)
        settings = Settings.from_environment()
        ui_base_url = settings.email.ui_base_url
        print(render(summary, settings, ui_base_url))
        for path in write_email_previews(summary, args.emails or settings.output_root, ui_base_url):
            print(f"Alert email preview: {path}")
    sys.exit(0 if summary.ok and args.command_status == 0 else 1)


def _latest_run_id(instance: DagsterInstance, started_after: float | None) -> str | None:
    created_after = datetime.fromtimestamp(started_after, UTC) if started_after is not None else None
    runs = instance.get_runs(RunsFilter(created_after=created_after), limit=1)
    return runs[0].run_id if runs else None


if __name__ == "__main__":
    main()
