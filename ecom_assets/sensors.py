"""Sensors: new or re-delivered landing files launch their day's run."""

import hashlib
import json
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from dagster import (
    AssetRecordsFilter,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    RunStatusSensorContext,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    run_status_sensor,
    sensor,
)
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)

from ecom_assets.assets.clickstream import HOURS_APPENDED
from ecom_assets.assets.common import asset_key
from ecom_assets.assets.feeds import locate_batch
from ecom_assets.dates import HOUR_KEY_FORMAT, DateRange
from ecom_assets.feed_contract import FEED_DOMAINS, RAW_PREFIX, TRIGGER_FOLDER, feed_file_path, trigger_day
from ecom_assets.jobs import (
    clickstream_daily_job,
    clickstream_hourly_job,
    clickstream_ingest_job,
    daily_sales_job,
    operational_feeds_job,
)
from ecom_assets.partitions import FIRST_DAY, clickstream_hours, daily_partitions
from ecom_assets.run_coverage import run_covering
from ecom_assets.tables import CLICKSTREAM_EVENTS_RAW, CUSTOMER_DAILY_SALES, ORDERS_CLEANED, PRODUCT_DAILY_SALES
from ecom_assets.transforms.clickstream import EVENT_FOLDER, event_day
from resources import LandingZone
from resources.landing import ListedFile, landing_day
from resources.untrusted import PathRefused, safe_text

REMEMBERED_DAYS = 62
"""Landing days whose files the landing sensor's cursor remembers one by one (see `landing_file_sensor`)."""


FEEDS_AWAIT = (ORDERS_CLEANED, PRODUCT_DAILY_SALES, CUSTOMER_DAILY_SALES)
"""The sales tables whose day a feed batch waits for: validation reads the invoices, the dimensions the summaries."""
AWAITED_NAMES = [table.full_name for table in FEEDS_AWAIT]


@sensor(
    job=daily_sales_job,
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.STOPPED,
    description="Launches a day's run when a file lands in, or is re-delivered with new content to, its folder.",
)
def landing_file_sensor(context: SensorEvaluationContext, landing: LandingZone) -> SensorResult | SkipReason:
    """Compare every landing file with the cursor (listing stamp, SHA-256) and request one run per changed day.

    The run key is the day plus the checksums of its changed files, so each delivery runs its
    day exactly once, restarts never repeat it, and a file rewritten with identical content
    (same checksum) launches nothing.

    A day is not requested when a run of it (the 03:00 schedule's, or one launched by hand) was created
    after its changed files were written and is queued, running or succeeded.

    The cursor stays bounded: it remembers the files of the last `REMEMBERED_DAYS` landing days
    and a watermark, the latest modification time it has seen. An older file is looked at again
    only when it was written after the watermark (a late correction of an old day).
    """
    state = json.loads(context.cursor) if context.cursor else {}
    if state and "files" not in state:
        state = {"files": state, "watermark": 0.0}  # a cursor written before the watermark existed
    known, watermark = state.get("files", {}), state.get("watermark", 0.0)
    limits = landing.limits
    started = time.monotonic()
    listed = landing.list_files()
    days = {file.path: landing_day(file.path) for file in listed}
    horizon = max(days.values(), default=date.min) - timedelta(days=REMEMBERED_DAYS)
    current: dict[str, dict[str, str]] = {}
    changed_by_day = defaultdict(list)
    delivered_at: dict[str, float] = {}
    valid_days = set(daily_partitions.get_partition_keys())
    read, deferred = 0, []
    for file in listed:
        path, previous = file.path, known.get(file.path)
        if previous and previous["stamp"] == file.fingerprint:
            current[path] = previous
            continue
        if previous is None and days[path] < horizon and file.modified <= watermark:
            continue  # seen before it fell out of the remembered window, and not written since
        day = days[path].isoformat()
        if day not in valid_days and day > FIRST_DAY:
            continue  # the day's partition does not exist yet: look again on a later tick
        if read >= limits.max_files_per_tick or time.monotonic() - started > limits.tick_seconds:
            deferred.append(file)
            continue
        read += 1
        checksum = _content_stamp(context, landing, file)
        if checksum is None:
            continue
        current[path] = {"stamp": file.fingerprint, "sha256": checksum}
        if previous and previous["sha256"] == checksum:
            continue
        if day not in valid_days:
            context.log.warning(f"{path} is for {day}, before the first partition {FIRST_DAY}; ignored")
            continue
        changed_by_day[day].append(f"{path}={checksum}")
        delivered_at[day] = max(delivered_at.get(day, 0.0), file.modified)
    newest = max([watermark, *(file.modified for file in listed)])
    if deferred:
        context.log.info(f"{len(deferred)} changed landing file(s) left for the next tick (this one read {read})")
        newest = max(watermark, min(newest, min(file.modified for file in deferred) - 1e-6))
    cursor = json.dumps(
        {"files": {path: entry for path, entry in current.items() if days[path] >= horizon}, "watermark": newest}
    )
    run_requests = []
    for day, entries in sorted(changed_by_day.items()):
        covering = run_covering(context.instance, daily_sales_job.name, date.fromisoformat(day), delivered_at[day])
        if covering is not None:
            context.log.info(f"{day}: run {covering.run_id} already covers its latest delivery")
            continue
        run_requests.append(
            RunRequest(
                run_key=f"{day}:{hashlib.sha256('|'.join(sorted(entries)).encode()).hexdigest()[:16]}",
                partition_key=day,
                tags={"ecom/trigger": "landing_file_sensor", "ecom/changed_files": str(len(entries))},
            )
        )
    if not run_requests:
        return SensorResult(skip_reason=SkipReason("no new or changed landing files"), cursor=cursor)
    return SensorResult(run_requests=run_requests, cursor=cursor)


def _content_stamp(context: SensorEvaluationContext, landing: LandingZone, file: ListedFile) -> str | None:
    """A listed file's SHA-256, streamed; for an entry that is refused (a link, a folder) its listing stamp, so that
    its day still runs and bronze rejects it with the reason; None when it vanished or could not be read now."""
    if not file.regular:
        return f"refused:{file.fingerprint}"
    try:
        return landing.checksum(file.path)
    except PathRefused:
        return f"refused:{file.fingerprint}"
    except FileNotFoundError:
        return None
    except Exception as error:  # noqa: BLE001 - one unreadable file never stops the tick
        context.log.warning(safe_text(f"{file.path} could not be read now ({type(error).__name__}); next tick"))
        return None


@sensor(
    job=operational_feeds_job,
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.STOPPED,
    description="Launches a day's feed batch when its trigger lands in raw/triggers/ (and again when the trigger or "
    "its files change).",
)
def feed_trigger_sensor(context: SensorEvaluationContext, landing: LandingZone) -> SensorResult:
    """Verify each trigger waiting in `raw/triggers/` against its files and request its day's feed run.

    A complete batch runs. A batch whose files do not match its trigger (missing, other row count or
    checksum) is requested too, so that its run keeps the day out of every feed table and records
    why in `etl_errors`, the run log and the alert email; the reason is logged here at once. The
    run key is the day, the trigger's checksum and the verdict, so a batch runs once per state:
    fixing its files or re-sending its trigger runs it again. A processed batch leaves `raw/` for
    `archive/`, so it is not looked at again.

    A batch waits until its day's sales are loaded (`FEEDS_AWAIT`, the day's partitions
    materialized): validation checks its shipments against the invoices, and would take a shipment
    of a day not loaded yet for one without an order; the dimensions rebuild from the day's
    summaries.
    """
    valid_days = set(daily_partitions.get_partition_keys())
    sales_loaded = set.intersection(
        *(set(context.instance.get_materialized_partitions(asset_key(table))) for table in FEEDS_AWAIT)
    )
    limits = landing.limits
    started = time.monotonic()
    requested = json.loads(context.cursor) if context.cursor else {}
    cursor: dict[str, str] = {}
    run_requests, waiting, deferred = [], [], 0
    for listed in landing.list_folder(f"{RAW_PREFIX}/{TRIGGER_FOLDER}", ".json"):
        day = trigger_day(listed.path)
        if day is None or day.isoformat() not in valid_days:
            context.log.warning(f"{listed.path} names no day with a partition yet; looked at again on a later tick")
            continue
        if day.isoformat() not in sales_loaded:
            context.log.info(f"the feed batch of {day} waits for the day's sales in {', '.join(AWAITED_NAMES)}")
            waiting.append(day.isoformat())
            continue
        stamp = _batch_stamp(landing, day, listed)
        if requested.get(listed.path) == stamp:
            cursor[listed.path] = stamp  # requested in this very state already: nothing to read again
            continue
        if len(run_requests) >= limits.max_files_per_tick or time.monotonic() - started > limits.tick_seconds:
            deferred += 1
            continue
        batch = locate_batch(landing, day)
        if not batch.verdict.complete:
            context.log.error(
                f"feed batch of {day} does not match its trigger, its run will keep it out: {batch.verdict.reason}"
            )
        state = hashlib.sha256(f"{stamp}|{batch.verdict.reason}".encode()).hexdigest()[:16]
        run_requests.append(
            RunRequest(
                run_key=f"feeds:{day}:{state}",
                partition_key=day.isoformat(),
                tags={
                    "ecom/trigger": "feed_trigger_sensor",
                    "ecom/batch_id": batch.verdict.trigger.batch_id if batch.verdict.trigger else "unreadable",
                    "ecom/batch_complete": str(batch.verdict.complete).lower(),
                },
            )
        )
        cursor[listed.path] = stamp
    if deferred:
        context.log.info(f"{deferred} trigger(s) left for the next tick (this one verified {len(run_requests)})")
    if run_requests:
        return SensorResult(run_requests=run_requests, cursor=json.dumps(cursor))
    if waiting:
        return SensorResult(
            skip_reason=f"feed batch(es) of {', '.join(waiting)} wait for their day's sales", cursor=json.dumps(cursor)
        )
    return SensorResult(skip_reason="no new or changed trigger in raw/triggers/", cursor=json.dumps(cursor))


def _batch_stamp(landing: LandingZone, day: date, trigger: ListedFile) -> str:
    """What changes when a day's batch in `raw/` changes: the trigger's listing stamp and each contract file's."""
    stamps = [trigger.fingerprint]
    for domain in FEED_DOMAINS:
        listed = landing.stat(f"{RAW_PREFIX}/{feed_file_path(domain, day)}")
        stamps.append(listed.fingerprint if listed else "-")
    return hashlib.sha256("|".join(stamps).encode()).hexdigest()[:16]


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
