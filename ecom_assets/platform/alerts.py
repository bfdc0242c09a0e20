"""Alert emails: failed or canceled runs, and failed asset checks of any run; never lost, never twice, and an outage
that fails a job's runs the same way hour after hour mailed once."""

import html
import json
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dagster import (
    AssetCheckEvaluation,
    DagsterEventType,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from ecom_assets.platform.checks import PUBLISHED_CHECK
from resources.email import SmtpEmailResource
from resources.untrusted import safe_text

_REMEMBERED_RUNS = 500
_RUNS_PER_TICK = 1000
_REREAD = timedelta(seconds=1)
_LISTED_FAILURES = 50
"""Failures listed in one email; a full-history backfill can have hundreds."""


@dataclass(frozen=True)
class RunFailure:
    """What a person needs to know about a failed run."""

    run_id: str
    job_name: str
    status: str
    partitions: str
    failed_steps: list[str]
    errors: list[str]


def _with_root_cause(error) -> str:
    """An error's message, followed by the message of what caused it at the bottom of its chain (a step's wrapper
    error says only that the step failed; the API's or Spark's own words are in its cause)."""
    root, depth = error, 0
    while root.cause is not None and depth < 20:
        root, depth = root.cause, depth + 1
    first = error.message.strip().splitlines()[0] if error.message.strip() else error.cls_name
    return first if root is error else f"{first} Caused by {root.cls_name}: {root.message.strip()}"


def describe_failure(instance: DagsterInstance, run: DagsterRun) -> RunFailure:
    """Collect the failed steps and error messages of a run from its event log."""
    records = instance.get_records_for_run(
        run.run_id, of_type={DagsterEventType.STEP_FAILURE, DagsterEventType.RUN_FAILURE}, limit=50
    ).records
    steps, errors = [], []
    for record in records:
        event = record.event_log_entry.dagster_event
        if event.event_type == DagsterEventType.STEP_FAILURE:
            steps.append(event.step_key)
            error = event.step_failure_data.error
            text = _with_root_cause(error) if error else event.message
            errors.append(safe_text(f"{event.step_key}: {text}", 2000))
        elif event.message:
            errors.append(safe_text(event.message, 2000))
    tags = run.tags
    partitions = tags.get("dagster/partition") or (
        f"{tags['dagster/asset_partition_range_start']}...{tags['dagster/asset_partition_range_end']}"
        if "dagster/asset_partition_range_start" in tags
        else "(none)"
    )
    return RunFailure(run.run_id, run.job_name, run.status.value, partitions, steps, errors)


_FINISHED = [DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED]
_PARTITION_TAGS = ("dagster/partition", "dagster/asset_partition_range_start", "dagster/asset_partition_range_end")


def repeats_previous_failure(instance: DagsterInstance, run: DagsterRun, failure: RunFailure) -> bool:
    """Whether the job's previous finished run on the same partitions failed in the same steps: the same outage
    (an API that stays down fails every hourly run alike), already mailed. A success in between ends the outage."""
    record = instance.get_run_record_by_id(run.run_id)
    if record is None or not failure.failed_steps:
        return False
    partitions = {name: value for name, value in run.tags.items() if name in _PARTITION_TAGS}
    earlier = instance.get_run_records(
        RunsFilter(job_name=run.job_name, statuses=_FINISHED, created_before=record.create_timestamp, tags=partitions),
        limit=2,
    )
    previous = next((r.dagster_run for r in earlier if r.dagster_run.run_id != run.run_id), None)
    if previous is None or previous.status != DagsterRunStatus.FAILURE:
        return False
    before = describe_failure(instance, previous)
    return before.partitions == failure.partitions and before.failed_steps == failure.failed_steps


def failure_email(failure: RunFailure, ui_base_url: str) -> tuple[str, str, str]:
    """Subject, text body and HTML body of the alert for one failed run."""
    link = f"{ui_base_url.rstrip('/')}/runs/{failure.run_id}"
    steps = ", ".join(failure.failed_steps) or "(no step failed: the run itself did)"
    subject = f"[ecom] {failure.job_name} {failure.status} for partition {failure.partitions}: {steps}"
    errors = failure.errors or ["(no error message recorded)"]
    text = "\n".join(
        [
            f"Run {failure.run_id} of {failure.job_name} ended {failure.status}.",
            f"Partition(s): {failure.partitions}",
            f"Failed step(s): {steps}",
            "",
            "Error(s):",
            *errors,
            "",
            f"Open the run: {link}",
        ]
    )
    items = "".join(f"<li><pre>{html.escape(error)}</pre></li>" for error in errors)
    html_body = (
        f"<p>Run <a href='{html.escape(link)}'>{failure.run_id}</a> of <b>{html.escape(failure.job_name)}</b> "
        f"ended <b>{failure.status}</b>.</p><p>Partition(s): {html.escape(failure.partitions)}<br>"
        f"Failed step(s): {html.escape(steps)}</p><ul>{items}</ul>"
    )
    return subject, text, html_body


@dataclass(frozen=True)
class CheckFailure:
    """One failed asset check evaluation, as a steward reads it."""

    asset: str
    check: str
    partition: str
    severity: str
    finding: str
    observed: dict
    expected: dict


def failed_checks(instance: DagsterInstance, run_id: str) -> list[CheckFailure]:
    """The failed check evaluations of a run: ERROR ones first, and causes before the quarantines they led to."""
    return check_failures(check_evaluations(instance, run_id))


def check_evaluations(instance: DagsterInstance, run_id: str) -> list[AssetCheckEvaluation]:
    """Every check evaluation a run reported."""
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION, limit=100_000)
    return [record.event_log_entry.dagster_event.event_specific_data for record in records.records]


def check_failures(evaluations: list[AssetCheckEvaluation]) -> list[CheckFailure]:
    """The failed ones of `evaluations`, ordered as `failed_checks` says."""
    failures = []
    for evaluation in evaluations:
        if evaluation.passed:
            continue
        metadata = evaluation.metadata
        failures.append(
            CheckFailure(
                asset=evaluation.asset_key.to_user_string(),
                check=evaluation.check_name,
                partition=evaluation.partition or "(whole table)",
                severity=evaluation.severity.value,
                finding=safe_text(evaluation.description or ""),
                observed=metadata["observed"].value if "observed" in metadata else {},
                expected=metadata["expected"].value if "expected" in metadata else {},
            )
        )
    return sorted(
        failures, key=lambda f: (f.severity != "ERROR", f.check == PUBLISHED_CHECK.name, f.partition, f.asset, f.check)
    )


def _asset_link(ui_base_url: str, asset: str) -> str:
    return f"{ui_base_url.rstrip('/')}/assets/{asset}?view=checks"


_LEADING_FIGURES = ("value", "low", "high")


def _figures(values: dict) -> str:
    """Figures as `name value` pairs, the observed value and the expected range first; the rule text left out.

    A check judging several metrics keys each metric's facets by its name: `metric (figures)`.
    """
    names = [n for n in _LEADING_FIGURES if n in values] + [
        n for n in values if n not in _LEADING_FIGURES and n != "rule"
    ]
    return ", ".join(_figure(n, values[n]) for n in names)


def _figure(name: str, value: object) -> str:
    if isinstance(value, dict):
        return f"{name} ({_figures({k: v for k, v in value.items() if k != 'metric'})})"
    return f"{name} {value:,.4g}" if isinstance(value, float) else safe_text(f"{name} {value}", 400)


def check_failure_email(run_id: str, failures: list[CheckFailure], ui_base_url: str) -> tuple[str, str, str]:
    """Subject, text body and HTML body of the one alert for a run's failed checks."""
    first = failures[0]
    more = f" (+{len(failures) - 1} more)" if len(failures) > 1 else ""
    subject = f"[ecom] {first.severity} check {first.check} failed on {first.asset} for {first.partition}{more}"
    shown = failures[:_LISTED_FAILURES]
    hidden = len(failures) - len(shown)
    lines = [f"{len(failures)} check(s) failed in run {run_id}:", ""]
    for failure in shown:
        lines += [
            f"- {failure.severity} {failure.asset} / {failure.check} / partition {failure.partition}",
            f"  {failure.finding}",
            f"  observed: {_figures(failure.observed)}",
            f"  expected: {_figures(failure.expected) or '(see finding)'}",
            *([f"  rule: {failure.observed['rule']}"] if "rule" in failure.observed else []),
            f"  {_asset_link(ui_base_url, failure.asset)}",
        ]
    if hidden:
        lines.append(f"... and {hidden} more; see the run.")
    lines += ["", f"Run: {ui_base_url.rstrip('/')}/runs/{run_id}"]
    rows = "".join(
        f"<tr><td>{html.escape(f.severity)}</td><td><a href='{html.escape(_asset_link(ui_base_url, f.asset))}'>"
        f"{html.escape(f.asset)}</a></td><td>{html.escape(f.check)}</td><td>{html.escape(f.partition)}</td>"
        f"<td>{html.escape(f.finding)}</td><td>{html.escape(_figures(f.observed))}</td>"
        f"<td>{html.escape(_figures(f.expected))}</td></tr>"
        for f in shown
    )
    html_body = (
        f"<p>{len(failures)} check(s) failed in run <a href='{ui_base_url.rstrip('/')}/runs/{run_id}'>{run_id}</a>."
        "</p><table border='1' cellpadding='4'><tr><th>severity</th><th>asset</th><th>check</th><th>partition</th>"
        f"<th>finding</th><th>observed</th><th>expected</th></tr>{rows}</table>"
        + (f"<p>… and {hidden} more; see the run.</p>" if hidden else "")
    )
    return subject, "\n".join(lines), html_body


def _mail_each_new_run(
    context: SensorEvaluationContext,
    email: SmtpEmailResource,
    statuses: list[DagsterRunStatus],
    compose: Callable[[DagsterRun], tuple[str, str, str] | None],
) -> SensorResult:
    """Mail each run that ended in one of `statuses` once, when `compose` gives a message.

    A mail that cannot be sent waits for the next tick. The cursor holds the last update time
    seen, the runs still waiting for the mail server and the runs already handled, so ticks and
    restarts never send twice and never lose an alert. Both lists keep at most the last
    `_REMEMBERED_RUNS` runs, so the cursor stays small over years (the oldest alerts waiting
    beyond that are logged as given up).
    """
    state = json.loads(context.cursor) if context.cursor else {"after": None, "pending": [], "handled": []}
    # The second before the last update seen is read again: runs updated in the same instant as
    # the last one seen but not returned with it are not skipped (the known runs are left out).
    after = datetime.fromtimestamp(state["after"], UTC) - _REREAD if state["after"] else None
    records = context.instance.get_run_records(
        RunsFilter(statuses=statuses, updated_after=after),
        order_by="update_timestamp",
        ascending=True,
        limit=_RUNS_PER_TICK,
    )
    known = set(state["pending"]) | set(state["handled"])
    # Oldest first, runs updated in the same instant in the order they were created: the storage's
    # update time can be as coarse as a second, and its order among equal times is not defined.
    in_order = sorted(records, key=lambda record: (record.update_timestamp, record.storage_id))
    pending = state["pending"] + [r.dagster_run.run_id for r in in_order if r.dagster_run.run_id not in known]
    if records:
        state["after"] = max(r.update_timestamp for r in records).timestamp()
    still_pending, sent = [], 0
    for run_id in pending:
        run = context.instance.get_run_by_id(run_id)
        message = compose(run) if run is not None else None
        if message is not None:
            try:
                email.send(*message)
                sent += 1
            except (OSError, smtplib.SMTPException) as error:
                context.log.warning(f"could not send the alert for run {run_id} ({error}); will retry on the next tick")
                still_pending.append(run_id)
                continue
        state["handled"] = (state["handled"] + [run_id])[-_REMEMBERED_RUNS:]
    if len(still_pending) > _REMEMBERED_RUNS:
        dropped, still_pending = still_pending[:-_REMEMBERED_RUNS], still_pending[-_REMEMBERED_RUNS:]
        # Remembered as handled, so the next tick's re-read of the last second does not queue them again.
        state["handled"] = (state["handled"] + dropped)[-_REMEMBERED_RUNS:]
        context.log.error(
            f"the mail server has been down for {len(still_pending) + len(dropped)} alerts; the oldest"
            f" {len(dropped)} are given up (runs {', '.join(dropped[:5])}...); the run history still has them"
        )
    state["pending"] = still_pending
    return SensorResult(
        skip_reason=SkipReason(f"{sent} alert(s) sent, {len(still_pending)} waiting for the mail server"),
        cursor=json.dumps(state),
    )


@sensor(
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.STOPPED,
    description="Emails the configured recipients when a run fails or is canceled: the daily sales, a feed batch, "
    "an API pull, the maintenance; a job that keeps failing the same way (an API that stays down) is mailed once.",
)
def run_failure_email_sensor(context: SensorEvaluationContext, email: SmtpEmailResource) -> SensorResult:
    """Find newly failed or canceled runs, mail each once (a repeat of the job's previous failure not again); a
    mail that cannot be sent waits in the cursor."""

    def compose(run: DagsterRun) -> tuple[str, str, str] | None:
        failure = describe_failure(context.instance, run)
        if repeats_previous_failure(context.instance, run, failure):
            context.log.info(f"run {run.run_id} of {run.job_name} fails as its previous run did: not mailed again")
            return None
        return failure_email(failure, email.ui_base_url)

    return _mail_each_new_run(context, email, [DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED], compose)


@sensor(
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.STOPPED,
    description="Emails the configured recipients the failed asset checks (WARN and ERROR) of every finished run.",
)
def check_failure_email_sensor(context: SensorEvaluationContext, email: SmtpEmailResource) -> SensorResult:
    """One email per finished run with failed checks, listing every failure; never twice for the same run."""

    def compose(run: DagsterRun) -> tuple[str, str, str] | None:
        failures = failed_checks(context.instance, run.run_id)
        return check_failure_email(run.run_id, failures, email.ui_base_url) if failures else None

    return _mail_each_new_run(
        context,
        email,
        [DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED],
        compose,
    )
