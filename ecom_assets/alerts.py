"""Failure alerts: an email for every failed or canceled run of the daily job, never lost, never twice."""

import html
import json
import smtplib
from dataclasses import dataclass
from datetime import UTC, datetime

from dagster import (
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

from ecom_assets.jobs import daily_sales_job
from resources.email import SmtpEmailResource

_REMEMBERED_RUNS = 500


@dataclass(frozen=True)
class RunFailure:
    """What a person needs to know about a failed run."""

    run_id: str
    job_name: str
    status: str
    partitions: str
    failed_steps: list[str]
    errors: list[str]


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
            errors.append(f"{event.step_key}: {error.message.strip() if error else event.message}")
        elif event.message:
            errors.append(event.message)
    tags = run.tags
    partitions = tags.get("dagster/partition") or (
        f"{tags['dagster/asset_partition_range_start']}...{tags['dagster/asset_partition_range_end']}"
        if "dagster/asset_partition_range_start" in tags
        else "(none)"
    )
    return RunFailure(run.run_id, run.job_name, run.status.value, partitions, steps, errors)


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


@sensor(
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.STOPPED,
    description="Emails the configured recipients when a run of daily_sales_job fails or is canceled.",
)
def run_failure_email_sensor(context: SensorEvaluationContext, email: SmtpEmailResource) -> SensorResult:
    """Find newly failed or canceled daily runs, mail each once; a mail that cannot be sent waits in the cursor."""
    state = json.loads(context.cursor) if context.cursor else {"after": None, "pending": [], "handled": []}
    after = datetime.fromtimestamp(state["after"], UTC) if state["after"] else None
    records = context.instance.get_run_records(
        RunsFilter(
            job_name=daily_sales_job.name,
            statuses=[DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED],
            updated_after=after,
        ),
        order_by="update_timestamp",
        ascending=True,
        limit=100,
    )
    known = set(state["pending"]) | set(state["handled"])
    pending = state["pending"] + [r.dagster_run.run_id for r in records if r.dagster_run.run_id not in known]
    if records:
        state["after"] = max(r.update_timestamp for r in records).timestamp()
    still_pending = []
    for run_id in pending:
        run = context.instance.get_run_by_id(run_id)
        if run is None:
            continue
        subject, text, html_body = failure_email(describe_failure(context.instance, run), email.ui_base_url)
        try:
            email.send(subject, text, html_body)
        except (OSError, smtplib.SMTPException) as error:
            context.log.warning(f"could not send the alert for run {run_id} ({error}); will retry on the next tick")
            still_pending.append(run_id)
            continue
        state["handled"] = (state["handled"] + [run_id])[-_REMEMBERED_RUNS:]
    state["pending"] = still_pending
    sent = len(pending) - len(still_pending)
    return SensorResult(
        skip_reason=SkipReason(f"{sent} alert(s) sent, {len(still_pending)} waiting for the mail server"),
        cursor=json.dumps(state),
    )
