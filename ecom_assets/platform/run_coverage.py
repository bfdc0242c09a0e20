"""Whether a day's current delivery already has a run: the 03:00 schedule and the landing sensor never run it twice."""

from datetime import UTC, date, datetime, time, timedelta

from dagster import DagsterInstance, DagsterRun, DagsterRunStatus, RunsFilter

PARTITION_TAG = "dagster/partition"
COVERING_STATUSES = (
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.SUCCESS,
)
"""Runs that will process, or did process, what they were launched for; a failed or canceled one does not."""
CLOCK_MARGIN = timedelta(minutes=1)
"""How much later than a delivery a run must be created to count as covering it. File times come from the
landing store's clock (S3's), run times from the instance's: a run created within the margin might not have seen
the file, so it does not count (the delivery then runs once more, which changes nothing)."""


def run_covering(instance: DagsterInstance, job_name: str, day: date, delivered_at: float | None) -> DagsterRun | None:
    """A run of `job_name` for `day`, created after its newest landing file was written (`delivered_at`, seconds
    since the epoch; the start of the day when it has no file) by more than `CLOCK_MARGIN`, that is queued,
    running or succeeded."""
    since = (
        datetime.fromtimestamp(delivered_at, UTC) + CLOCK_MARGIN
        if delivered_at is not None
        else datetime.combine(day, time(), tzinfo=UTC)
    )
    runs = instance.get_runs(
        RunsFilter(
            job_name=job_name,
            tags={PARTITION_TAG: day.isoformat()},
            statuses=list(COVERING_STATUSES),
            created_after=since,
        ),
        limit=1,
    )
    return runs[0] if runs else None
