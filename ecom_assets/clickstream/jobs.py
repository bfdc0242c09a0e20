"""The clickstream's jobs, schedules and sensors: ingest the event files, build their hours, then their days."""

import json
from datetime import UTC, date, datetime, timedelta

from dagster import (
    AssetRecordsFilter,
    AssetSelection,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    RunStatusSensorContext,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    run_status_sensor,
    schedule,
    sensor,
)
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)

from ecom_assets.clickstream.daily import CLICKSTREAM_DAILY_GROUP
from ecom_assets.clickstream.hourly import CLICKSTREAM_GROUP
from ecom_assets.clickstream.ingest import CLICKSTREAM_INGEST_GROUP, HOURS_APPENDED
from ecom_assets.clickstream.partitions import clickstream_days, clickstream_hours
from ecom_assets.clickstream.tables import CLICKSTREAM_EVENTS_RAW
from ecom_assets.clickstream.transforms import EVENT_FOLDER, event_day
from ecom_assets.platform.dates import HOUR_KEY_FORMAT, DateRange
from ecom_assets.platform.tables import asset_key
from resources import LandingZone
from resources.landing import ListedFile

clickstream_ingest_job = define_asset_job(
    "clickstream_ingest_job",
    selection=AssetSelection.groups(CLICKSTREAM_INGEST_GROUP),
    description="Stream the web shop's event files that landed since the last run into bronze, each file once.",
)

clickstream_hourly_job = define_asset_job(
    "clickstream_hourly_job",
    selection=AssetSelection.groups(CLICKSTREAM_GROUP),
    partitions_def=clickstream_hours,
    description="Silver events, catalog item versions and the hourly funnel for a range of UTC hours, as one run."
    " Started by the clickstream hours sensor for the hours an ingestion appended lines to.",
)

clickstream_daily_job = define_asset_job(
    "clickstream_daily_job",
    selection=AssetSelection.groups(CLICKSTREAM_DAILY_GROUP),
    partitions_def=clickstream_days,
    description="The daily funnel, product funnel and category funnel of a UTC day, from its hours. Started by"
    " clickstream_days_sensor when an hourly run of an ended day succeeds.",
)


@schedule(
    cron_schedule="5 1 * * *",
    job=clickstream_hourly_job,
    execution_timezone="UTC",
    description="Every day at 01:05 UTC, the day before's 24 hours as one run, hours without any file included (they"
    " get a funnel row of zeros), so the day can be complete; `clickstream_days_sensor` then builds the day.",
)
def clickstream_day_close_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    """Request the previous UTC day's 24 hours."""
    day = context.scheduled_execution_time.astimezone(UTC).date() - timedelta(days=1)
    return RunRequest(
        run_key=f"clickstream-day-close:{day}",
        tags={ASSET_PARTITION_RANGE_START_TAG: f"{day}-00:00", ASSET_PARTITION_RANGE_END_TAG: f"{day}-23:00"},
    )


clickstream_hourly_schedule = ScheduleDefinition(
    name="clickstream_hourly_schedule",
    job=clickstream_ingest_job,
    cron_schedule="5 * * * *",
    execution_timezone="UTC",
    description="Every hour at :05 UTC, ingest the event files the file sensor has not started a run for "
    "(a run with nothing new appends nothing).",
)


_UNFINISHED = [
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
]


@sensor(
    job=clickstream_ingest_job,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.STOPPED,
    description="Starts the clickstream ingestion when event files land under raw/clickstream/.",
)
def clickstream_file_sensor(context: SensorEvaluationContext, landing: LandingZone) -> SensorResult:
    """Request an ingestion run when event files newer than the cursor have landed.

    The cursor is the newest modification time seen and the files stamped with it, so a file is
    noticed once; what the run appends is the stream's own decision (its checkpoint), so a file the
    sensor sees twice is still ingested once. While an ingestion run is queued or running, the
    sensor waits (the cursor unchanged) instead of starting a second query on the same checkpoint.

    Each tick lists only the day folders that can hold something new: from the day before the
    newest event day seen (see `_listing_start`). A file delivered into an older folder is not
    noticed here; the next ingestion run (any new file, or one started by hand) appends it.
    """
    state = json.loads(context.cursor) if context.cursor else {"watermark": 0.0, "at_watermark": []}
    watermark, at_watermark = state["watermark"], set(state["at_watermark"])
    from_day = state.get("from_day")
    start_after = f"{EVENT_FOLDER}/{date.fromisoformat(from_day):%Y/%m/%d}" if from_day else None
    listed = landing.list_folder(EVENT_FOLDER, ".csv", recursive=True, start_after=start_after)
    new = [f for f in listed if f.modified > watermark or (f.modified == watermark and f.path not in at_watermark)]
    if not new:
        return SensorResult(skip_reason="no new event files under raw/clickstream/")
    unfinished = context.instance.get_runs(
        RunsFilter(job_name=clickstream_ingest_job.name, statuses=_UNFINISHED), limit=1
    )
    if unfinished:
        return SensorResult(
            skip_reason=f"{len(new)} new event file(s) wait for ingestion run {unfinished[0].run_id} to finish"
        )
    newest = max(f.modified for f in new)
    cursor = {
        "watermark": max(newest, watermark),
        "at_watermark": sorted({f.path for f in listed if f.modified == max(newest, watermark)}),
        "from_day": _listing_start(listed, from_day),
    }
    return SensorResult(
        run_requests=[
            RunRequest(
                run_key=f"clickstream:{newest}:{len(new)}",
                tags={"ecom/trigger": "clickstream_file_sensor", "ecom/new_files": str(len(new))},
            )
        ],
        cursor=json.dumps(cursor),
    )


def _listing_start(listed: list[ListedFile], from_day: str | None) -> str | None:
    """The day whose event folder the next listing starts from: the day before the newest event day seen (a file
    of yesterday's last hours may land after midnight), never a day after tomorrow's (a folder dated in the far
    future must not hide the present)."""
    latest = datetime.now(UTC).date() + timedelta(days=1)
    days = [day for f in listed if (day := event_day(f.path)) is not None and day <= latest]
    if not days:
        return from_day
    start = (max(days) - timedelta(days=1)).isoformat()
    return max(start, from_day) if from_day else start


@sensor(
    job=clickstream_hourly_job,
    minimum_interval_seconds=10,
    default_status=DefaultSensorStatus.STOPPED,
    description="Recomputes the clickstream's hours (silver, catalog items, hourly funnel) an ingestion appended to.",
)
def clickstream_hours_sensor(context: SensorEvaluationContext) -> SensorResult:
    """Request one run per stretch of consecutive hours that ingestion runs appended lines to since the cursor.

    The cursor is the storage id of the last bronze materialization read, so each ingestion's hours
    are requested once; hours outside the hourly partitions (before 2019-10-01, or not yet begun)
    are left out and named in the log.
    """
    after = int(context.cursor) if context.cursor else None
    records = context.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=asset_key(CLICKSTREAM_EVENTS_RAW), after_storage_id=after),
        limit=100,
        ascending=True,
    ).records
    if not records:
        return SensorResult(skip_reason="no ingestion since the last request")
    hours = set()
    for record in records:
        appended = record.asset_materialization.metadata.get(HOURS_APPENDED)
        hours.update(appended.value if appended else [])
    outside = sorted(hour for hour in hours if not clickstream_hours.has_partition_key(hour))
    if outside:
        context.log.warning(f"{len(outside)} hour(s) outside the hourly partitions left out, e.g. {outside[:3]}")
    newest = records[-1].storage_id
    requests = [
        RunRequest(
            run_key=f"clickstream-hours:{newest}:{first}",
            tags={
                ASSET_PARTITION_RANGE_START_TAG: first,
                ASSET_PARTITION_RANGE_END_TAG: last,
                "ecom/trigger": "clickstream_hours_sensor",
            },
        )
        for first, last in consecutive_hour_ranges(sorted(hours - set(outside)))
    ]
    if not requests:
        return SensorResult(skip_reason="the ingestions appended no line to an hourly partition", cursor=str(newest))
    return SensorResult(run_requests=requests, cursor=str(newest))


def consecutive_hour_ranges(keys: list[str]) -> list[tuple[str, str]]:
    """Sorted hourly partition keys as (first, last) of each run of consecutive hours."""
    ranges: list[tuple[str, str]] = []
    for key in keys:
        hour = datetime.strptime(key, HOUR_KEY_FORMAT)
        if ranges and datetime.strptime(ranges[-1][1], HOUR_KEY_FORMAT) + timedelta(hours=1) == hour:
            ranges[-1] = (ranges[-1][0], key)
        else:
            ranges.append((key, key))
    return ranges


@run_status_sensor(
    run_status=DagsterRunStatus.SUCCESS,
    monitored_jobs=[clickstream_hourly_job],
    request_job=clickstream_daily_job,
    minimum_interval_seconds=10,
    default_status=DefaultSensorStatus.STOPPED,
    description="Rebuilds the clickstream's daily tables of the ended days an hourly run recomputed (the day-close"
    " run, or a late file's hours), so no day shows figures older than its hours.",
)
def clickstream_days_sensor(context: RunStatusSensorContext) -> RunRequest | SkipReason:
    """Request one run of the daily tables over the ended UTC days the succeeded hourly run's hours fall on."""
    tags = context.dagster_run.tags
    first, last = tags.get(ASSET_PARTITION_RANGE_START_TAG), tags.get(ASSET_PARTITION_RANGE_END_TAG)
    if first is None:
        first = last = tags.get(PARTITION_NAME_TAG)
    if first is None:
        return SkipReason(f"run {context.dagster_run.run_id} names no hours")
    days = ended_days(first, last, datetime.now(UTC).date())
    if days is None:
        return SkipReason(f"the hours {first}...{last} fall on today only: its day is built once it has ended")
    return RunRequest(
        run_key=f"clickstream-days:{context.dagster_run.run_id}",
        tags={ASSET_PARTITION_RANGE_START_TAG: str(days.start), ASSET_PARTITION_RANGE_END_TAG: str(days.end)},
    )


def ended_days(first_hour: str, last_hour: str, today: date) -> DateRange | None:
    """The days from the first hour's to the last hour's that ended before `today` (none if no such day)."""
    start = datetime.strptime(first_hour, HOUR_KEY_FORMAT).date()
    end = min(datetime.strptime(last_hour, HOUR_KEY_FORMAT).date(), today - timedelta(days=1))
    return DateRange(start, end) if start <= end else None
