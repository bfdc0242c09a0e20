"""Shopify's assets: one extraction asset per Admin API list (dlt, landing its loads), bronze loading them, and
silver: the current state of each order, customer, product and inventory level, with the orders' line items and the
products' variants."""

from collections.abc import Callable, Iterator
from functools import partial

from dagster import AssetExecutionContext, AssetsDefinition, MaterializeResult
from dagster_dlt import DagsterDltResource, dlt_assets
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ecom_assets.api_sources.bronze import landed_loads_asset
from ecom_assets.api_sources.current_state import newer_than_stored
from ecom_assets.api_sources.extraction import LandingTranslator, definition_pipeline, land, landing_key
from ecom_assets.api_sources.shopify.source import RESOURCES, SOURCE_NAME, shopify_source
from ecom_assets.api_sources.shopify.transforms import (
    customer_rows,
    error_rows,
    inventory_level_rows,
    latest_nodes,
    line_rows,
    order_rows,
    product_rows,
    typed_nodes,
    variant_rows,
)
from ecom_assets.api_sources.silver import (
    current_state_asset,
    silver_table_asset,
    unmerged_bronze,
)
from ecom_assets.api_sources.tables import (
    SHOPIFY_CUSTOMERS,
    SHOPIFY_INVENTORY_LEVELS,
    SHOPIFY_OBJECTS_RAW,
    SHOPIFY_ORDER_LINES,
    SHOPIFY_ORDERS,
    SHOPIFY_PRODUCT_VARIANTS,
    SHOPIFY_PRODUCTS,
)
from ecom_assets.platform.table_asset import TableStep, staged
from ecom_assets.platform.tables import TableName
from resources import LandingZone, ShopifyApi
from resources.lakehouse import MergeCounts

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
            + (
                ", read whole every run, the levels updated since the last pull landed."
                if name == "inventory_levels"
                else ", incremental on `updatedAt`."
            )
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


def shopify_silver_asset(
    table: TableName, resource: str, rows: Callable[[DataFrame], DataFrame], description: str
) -> AssetsDefinition:
    """The silver asset keeping each `resource` node's latest version in `table` (`rows` makes its silver rows)."""
    return current_state_asset(
        table,
        SHOPIFY_OBJECTS_RAW,
        SHOPIFY_GROUP,
        description,
        typed=lambda bronze: typed_nodes(bronze, resource),
        errors=partial(error_rows, resource=resource),
        rows=lambda typed: rows(latest_nodes(typed)),
    )


def nested_rows_asset(
    table: TableName,
    resource: str,
    rows: Callable[[DataFrame], DataFrame],
    keys: tuple[str, str, str],
    description: str,
) -> AssetsDefinition:
    """The silver asset holding the nested list (`rows`) of each `resource` node's latest version, replaced together
    when a newer version of the node arrives; `keys`: the parent's id, the child's id and the parent's version time
    columns of the rows."""
    parent, child, stamp = keys

    def build(step: TableStep) -> None:
        """Replace the nested rows of the nodes whose newer versions arrived."""
        stored, bronze, _ = unmerged_bronze(step, table, SHOPIFY_OBJECTS_RAW)
        latest = latest_nodes(typed_nodes(bronze, resource))
        if stored is not None:
            touched = stored.join(latest.select(F.col("id").alias(parent)), parent, "left_semi")
            versions = touched.groupBy(F.col(parent).alias("id")).agg(
                F.max(stamp).alias("observed_at"), F.lit(False).alias("deleted")
            )
            latest = newer_than_stored(latest, versions)
        with staged(latest) as newer:
            touched = newer.count()
            counts = (
                step.lakehouse.replace_keys(
                    table,
                    rows(newer).withColumn("ingested_at", F.current_timestamp()),
                    [parent, child],
                    newer.select(F.col("id").alias(parent)),
                )
                if touched or stored is None
                else MergeCounts(0, 0, 0)
            )
        step.metadata.update({resource: touched, "rows_inserted": counts.inserted, "rows_deleted": counts.deleted})

    return silver_table_asset(table, SHOPIFY_OBJECTS_RAW, SHOPIFY_GROUP, description, build, key=child)


shopify_orders = shopify_silver_asset(
    SHOPIFY_ORDERS,
    "orders",
    order_rows,
    "The latest version of each Shopify order by `id` (its `updatedAt`), with totals and refunds as exact decimals "
    "and its line count.",
)
shopify_order_lines = nested_rows_asset(
    SHOPIFY_ORDER_LINES,
    "orders",
    line_rows,
    ("order_id", "line_item_id", "order_updated_at"),
    "Every line item of each Shopify order's latest version (drained from the API, never truncated); an order's "
    "lines are replaced together when a newer version of it arrives.",
)
shopify_customers = shopify_silver_asset(
    SHOPIFY_CUSTOMERS, "customers", customer_rows, "The latest version of each Shopify customer by `id`."
)
shopify_products = shopify_silver_asset(
    SHOPIFY_PRODUCTS, "products", product_rows, "The latest version of each Shopify product by `id`."
)
shopify_product_variants = nested_rows_asset(
    SHOPIFY_PRODUCT_VARIANTS,
    "products",
    variant_rows,
    ("product_id", "variant_id", "product_updated_at"),
    "Every variant of each Shopify product's latest version (drained, never truncated), with its SKU, price and "
    "inventory item; a product's variants are replaced together.",
)
shopify_inventory_levels = shopify_silver_asset(
    SHOPIFY_INVENTORY_LEVELS,
    "inventory_levels",
    inventory_level_rows,
    "Each inventory item's `available` quantity at each location, as of the level's latest `updatedAt` (the levels "
    "are read whole every run).",
)
SHOPIFY_SILVER_ASSETS = [
    shopify_orders,
    shopify_order_lines,
    shopify_customers,
    shopify_products,
    shopify_product_variants,
    shopify_inventory_levels,
]
