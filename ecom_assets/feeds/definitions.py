"""The operational feeds area: each day's batch from its trigger to silver, validated, and what is built from it."""

from dagster import Definitions

from ecom_assets.feeds.batches import FEED_BRONZE_ASSETS, FEED_SILVER_ASSETS, FEEDS_GROUP
from ecom_assets.feeds.gold import inventory_daily_asset, segment_analysis_asset
from ecom_assets.feeds.jobs import feed_trigger_sensor, operational_feeds_job
from ecom_assets.feeds.shipments import shipments, shipping_performance_daily
from ecom_assets.feeds.tables import PROCESSING_LOG
from ecom_assets.feeds.validation import validation_results
from ecom_assets.platform.log_tables import log_table_spec

FEED_ASSETS = [
    *FEED_BRONZE_ASSETS,
    *FEED_SILVER_ASSETS,
    validation_results,
    shipments,
    shipping_performance_daily,
    inventory_daily_asset,
    segment_analysis_asset,
]
"""The operational feeds' assets: a feed batch's run (`operational_feeds_job`) runs them, and the sales pipeline's
dimensions that take feed attributes (`FEED_FED_DIMENSIONS`)."""

PROCESSING_LOG_SPEC = log_table_spec(
    PROCESSING_LOG,
    "One row per operational feed step and batch: start, end, rows in, out and rejected, status, message.",
    [key for assets_def in FEED_ASSETS for key in assets_def.keys if assets_def.group_names_by_key[key] == FEEDS_GROUP],
)

defs = Definitions(
    assets=[*FEED_ASSETS, PROCESSING_LOG_SPEC], jobs=[operational_feeds_job], sensors=[feed_trigger_sensor]
)
