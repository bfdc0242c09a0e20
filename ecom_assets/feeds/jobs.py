"""The feed batches' job, and the sensor that starts a day's batch when its trigger lands."""

import hashlib
import json
import time
from datetime import date

from dagster import (
    AssetSelection,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    define_asset_job,
    sensor,
)

from ecom_assets.feeds.batches import FEEDS_GROUP, locate_batch
from ecom_assets.feeds.contract import FEED_DOMAINS, RAW_PREFIX, TRIGGER_FOLDER, feed_file_path, trigger_day
from ecom_assets.platform.partitions import daily_partitions
from ecom_assets.platform.tables import asset_key
from ecom_assets.sales.tables import (
    CUSTOMER_DAILY_SALES,
    DIM_CUSTOMERS,
    DIM_PRODUCTS,
    ORDERS_CLEANED,
    PRODUCT_DAILY_SALES,
)
from resources import LandingZone
from resources.landing import ListedFile

FEED_FED_DIMENSIONS = (DIM_PRODUCTS, DIM_CUSTOMERS)
"""The sales pipeline's dimensions that take feed attributes: the feed batch's job rebuilds them too."""

operational_feeds_job = define_asset_job(
    "operational_feeds_job",
    selection=AssetSelection.groups(FEEDS_GROUP) | AssetSelection.assets(*map(asset_key, FEED_FED_DIMENSIONS)),
    partitions_def=daily_partitions,
    description="A day's feed batch (customers, products, inventory, shipping): bronze → silver → validation →"
    " archive → shipments, stock cover, sales per tier, and the product and customer dimensions of the keys it"
    " names. Started by the feed trigger sensor; the sales job never waits for it.",
)


FEEDS_AWAIT = (ORDERS_CLEANED, PRODUCT_DAILY_SALES, CUSTOMER_DAILY_SALES)
"""The sales tables whose day a feed batch waits for: validation reads the invoices, the dimensions the summaries."""
AWAITED_NAMES = [table.full_name for table in FEEDS_AWAIT]


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
