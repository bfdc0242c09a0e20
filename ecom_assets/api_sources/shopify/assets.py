"""Shopify's assets: one extraction asset per Admin API list (dlt, landing its loads), bronze loading them, and
silver orders with their line items."""

from collections.abc import Iterator
from datetime import UTC, datetime

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue
from dagster_dlt import DagsterDltResource, dlt_assets
from pyspark.sql import functions as F

from ecom_assets.api_sources.bronze import (
    UNIQUE_IDS,
    landed_loads_asset,
    merge_current_states,
    unique_ids,
    unmerged_bronze,
)
from ecom_assets.api_sources.current_state import newer_than_stored
from ecom_assets.api_sources.extraction import LandingTranslator, definition_pipeline, land, landing_key
from ecom_assets.api_sources.shopify.source import RESOURCES, SOURCE_NAME, shopify_source
from ecom_assets.api_sources.shopify.transforms import (
    latest_orders,
    line_rows,
    order_error_rows,
    order_rows,
    typed_orders,
)
from ecom_assets.api_sources.tables import SHOPIFY_OBJECTS_RAW, SHOPIFY_ORDER_LINES, SHOPIFY_ORDERS
from ecom_assets.platform.table_asset import TableStep, staged, table_asset
from resources import LandingZone, ShopifyApi

SHOPIFY_API_GROUP = "shopify_api"
SHOPIFY_GROUP = "shopify"


@dlt_assets(
    dlt_source=shopify_source(),
    dlt_pipeline=definition_pipeline(SOURCE_NAME),
    name="shopify_api",
    dagster_dlt_translator=LandingTranslator(
        SOURCE_NAME,
        SHOPIFY_API_GROUP,
        lambda name: (
            f"Shopify's GraphQL Admin API `{name}`"
            + (", read whole every run." if name == "inventory_levels" else ", incremental on `updatedAt`.")
        ),
    ),
)
def shopify_api(
    context: AssetExecutionContext, dlt_runner: DagsterDltResource, shopify: ShopifyApi, landing: LandingZone
) -> Iterator[MaterializeResult]:
    """Pull the selected Shopify lists and land them as one dlt load; each list's asset gets its rows and cursor."""
    source = shopify_source(
        shop_url=shopify.shop_url,
        client_id=shopify.client_id,
        client_secret=shopify.client_secret,
        api_version=shopify.api_version,
        attempts=shopify.attempts,
    )
    yield from land(context, dlt_runner, landing, source, cursor="updated_at")


shopify_objects_raw = landed_loads_asset(
    SOURCE_NAME, SHOPIFY_OBJECTS_RAW, SHOPIFY_GROUP, [landing_key(SOURCE_NAME, resource) for resource in RESOURCES]
)


@table_asset(
    SHOPIFY_ORDERS,
    group=SHOPIFY_GROUP,
    partitions_def=None,
    reads=[SHOPIFY_OBJECTS_RAW],
    description="The latest version of each Shopify order by `id` (its `updatedAt`), with totals as exact decimals "
    "and its line count; an order that cannot be used goes to the error table with its reason.",
    checks=[UNIQUE_IDS],
)
def shopify_orders(step: TableStep) -> None:
    """Merge each order's latest version from the bronze rows not yet merged; reject unusable orders."""
    stored, bronze, since = unmerged_bronze(step, SHOPIFY_ORDERS, SHOPIFY_OBJECTS_RAW)
    typed = typed_orders(bronze).persist()
    try:
        errors = order_error_rows(
            typed, asset=SHOPIFY_ORDERS.full_name, step=step.step_name, occurred_at=datetime.now(UTC)
        )
        counts, rejected = merge_current_states(step, SHOPIFY_ORDERS, stored, errors, order_rows(latest_orders(typed)))
    finally:
        typed.unpersist()
    step.reporter.add(UNIQUE_IDS, {datetime.now(UTC).date(): unique_ids(step, SHOPIFY_ORDERS, "id")})
    step.metadata.update(
        {
            "inserted": counts.inserted,
            "updated": counts.updated,
            "rejected_to_error_table": rejected,
            "read_bronze_since": MetadataValue.text(since),
            "table": SHOPIFY_ORDERS.full_name,
        }
    )


@table_asset(
    SHOPIFY_ORDER_LINES,
    group=SHOPIFY_GROUP,
    partitions_def=None,
    reads=[SHOPIFY_OBJECTS_RAW],
    description="Every line item of each Shopify order's latest version (drained from the API, never truncated); "
    "an order's lines are replaced together when a newer version of it arrives.",
    checks=[UNIQUE_IDS],
)
def shopify_order_lines(step: TableStep) -> None:
    """Replace the lines of the orders whose newer versions arrived."""
    stored, bronze, _ = unmerged_bronze(step, SHOPIFY_ORDER_LINES, SHOPIFY_OBJECTS_RAW)
    latest = latest_orders(typed_orders(bronze))
    if stored is not None:
        touched = stored.join(latest.select(F.col("id").alias("order_id")), "order_id", "left_semi")
        versions = touched.groupBy(F.col("order_id").alias("id")).agg(
            F.max("order_updated_at").alias("observed_at"), F.lit(False).alias("deleted")
        )
        latest = newer_than_stored(latest, versions)
    with staged(line_rows(latest).withColumn("ingested_at", F.current_timestamp())) as rows:
        orders = latest.select(F.col("id").alias("order_id"))
        counts = step.lakehouse.replace_keys(SHOPIFY_ORDER_LINES, rows, ["order_id", "line_item_id"], orders)
        step.metadata.update(
            {"orders": orders.count(), "lines_inserted": counts.inserted, "lines_deleted": counts.deleted}
        )
    step.reporter.add(UNIQUE_IDS, {datetime.now(UTC).date(): unique_ids(step, SHOPIFY_ORDER_LINES, "line_item_id")})
