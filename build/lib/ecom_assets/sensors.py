"""Sensors: new or re-delivered landing files launch their day's run."""

import hashlib
import json
from collections import defaultdict

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SensorResult, SkipReason, sensor

from ecom_assets.jobs import daily_sales_job
from ecom_assets.partitions import FIRST_DAY, daily_partitions
from resources import LandingZone
from resources.landing import landing_day


@sensor(
    job=daily_sales_job,
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.STOPPED,
    description="Launches a day's run when a file lands in, or is re-delivered with new content to, its folder.",
)
def landing_file_sensor(context: SensorEvaluationContext, landing: LandingZone) -> SensorResult | SkipReason:
    """Compare every landing file with the cursor (size, mtime, SHA-256) and request one run per changed day.

    The run key is the day plus the checksums of its changed files, so each delivery runs its
    day exactly once, restarts never repeat it, and a file rewritten with identical content
    (same checksum) launches nothing.
    """
    known = json.loads(context.cursor) if context.cursor else {}
    current: dict[str, dict[str, str]] = {}
    changed_by_day = defaultdict(list)
    valid_days = set(daily_partitions.get_partition_keys())
    for path in landing.list_files():
        stamp, previous = landing.stamp(path), known.get(path)
        if previous and previous["stamp"] == stamp:
            current[path] = previous
            continue
        day = landing_day(path).isoformat()
        if day not in valid_days and day > FIRST_DAY:
            continue  # the day's partition does not exist yet: look again on a later tick
        checksum = landing.checksum(path)
        current[path] = {"stamp": stamp, "sha256": checksum}
        if previous and previous["sha256"] == checksum:
            continue
        if day not in valid_days:
            context.log.warning(f"{path} is for {day}, before the first partition {FIRST_DAY}; ignored")
            continue
        changed_by_day[day].append(f"{path}={checksum}")
    run_requests = [
        RunRequest(
            run_key=f"{day}:{hashlib.sha256('|'.join(sorted(entries)).encode()).hexdigest()[:16]}",
            partition_key=day,
            tags={"ecom/trigger": "landing_file_sensor", "ecom/changed_files": str(len(entries))},
        )
        for day, entries in sorted(changed_by_day.items())
    ]
    if not run_requests:
        return SensorResult(skip_reason=SkipReason("no new or changed landing files"), cursor=json.dumps(current))
    return SensorResult(run_requests=run_requests, cursor=json.dumps(current))
