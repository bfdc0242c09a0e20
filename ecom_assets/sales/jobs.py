"""The sales pipeline's job and its 03:00 UTC schedule, and the sensor that runs a day when its files land."""

import hashlib
import json
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from dagster import (
    AssetSelection,
    DefaultSensorStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    schedule,
    sensor,
)

from ecom_assets.platform.partitions import FIRST_DAY, daily_partitions
from ecom_assets.platform.run_coverage import run_covering
from resources import LandingZone
from resources.landing import ListedFile, landing_day
from resources.untrusted import PathRefused, safe_text

daily_sales_job = define_asset_job(
    "daily_sales_job",
    selection=AssetSelection.groups("bronze", "silver", "dimensions", "gold"),
    partitions_def=daily_partitions,
    description="Bronze → silver → dimensions → gold for one day (or a range, as one run).",
)


@schedule(
    cron_schedule="0 3 * * *",
    job=daily_sales_job,
    execution_timezone="UTC",
    name="daily_sales_schedule",
    description=(
        "Every day at 03:00 UTC, materialize the previous UTC day, unless a run of it already covers its latest"
        " delivery (the landing sensor usually got there first)."
    ),
)
def daily_sales_schedule(context: ScheduleEvaluationContext, landing: LandingZone) -> RunRequest | SkipReason:
    """Request the previous day's run, once per day (its run key), skipped when a run for that day's current
    delivery is queued, running or succeeded: the schedule and the landing sensor never run one delivery twice."""
    tick = context.scheduled_execution_time or datetime.now(UTC)
    day = (tick.astimezone(UTC) - timedelta(days=1)).date()
    covering = run_covering(context.instance, daily_sales_job.name, day, landing.delivered_at(day))
    if covering is not None:
        return SkipReason(f"{day} already has run {covering.run_id} ({covering.status.value}) for its latest delivery")
    return RunRequest(run_key=day.isoformat(), partition_key=day.isoformat())


REMEMBERED_DAYS = 62
"""Landing days whose files the landing sensor's cursor remembers one by one (see `landing_file_sensor`)."""


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
