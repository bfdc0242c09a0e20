"""Shopify's landed nodes from bronze: typed, checked, the latest version of each: pure PySpark.

Every node Shopify lists (an order, a customer, a product, an inventory level) is observed at its
`updatedAt`; its nested lists come whole with it (the source drains them), so an order's latest
version carries its current line items and a product's its current variants.
"""

from dataclasses import dataclass, field
from datetime import datetime

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ecom_assets.api_sources.current_state import latest_observations, rejected_rows
from ecom_assets.api_sources.tables import MONEY_TYPE

_MONEY = "struct<shopMoney: struct<amount: string, currencyCode: string>>"
_GID = r"^gid://shopify/[A-Za-z]+/[0-9]{1,20}$"
_LEVEL_GID = r"^gid://shopify/InventoryLevel/[0-9]{1,20}(\?inventory_item_id=[0-9]{1,20})?$"
_DECIMAL = r"^-?[0-9]{1,17}(\.[0-9]{1,3})?$"
_INSTANT = "yyyy-MM-dd'T'HH:mm:ss'Z'"


@dataclass(frozen=True)
class NodeKind:
    """How one of Shopify's lists is read: its node's schema, the pattern of its ids, and what makes a node unusable
    beyond a missing id or time (condition over the parsed `node`, reason, message)."""

    resource: str
    schema: str
    id_pattern: str = _GID
    problems: tuple[tuple[Column, str, str], ...] = field(default=())


def _instant(column: str) -> Column:
    return F.to_timestamp(F.col(column), _INSTANT)


def _money(column: str) -> Column:
    return F.expr(f"try_cast({column}.shopMoney.amount AS {MONEY_TYPE})")


def _orders() -> NodeKind:
    schema = (
        "id string, name string, createdAt string, updatedAt string, processedAt string, cancelledAt string, "
        "test boolean, currencyCode string, displayFinancialStatus string, customer struct<id: string>, "
        f"totalPriceSet {_MONEY}, currentTotalPriceSet {_MONEY}, totalRefundedSet {_MONEY}, "
        "lineItems array<struct<id: string, sku: string, title: string, quantity: string, currentQuantity: string, "
        f"variant: struct<id: string>, originalUnitPriceSet: {_MONEY}>>"
    )
    lines_valid = F.col("node.lineItems").isNull() | F.forall(
        "node.lineItems",
        lambda line: (
            line["id"].rlike(_GID)
            & line["quantity"].rlike("^[0-9]{1,9}$")
            & line["originalUnitPriceSet"]["shopMoney"]["amount"].rlike(_DECIMAL)
        ),
    )
    refunded = F.col("node.totalRefundedSet.shopMoney.amount")
    return NodeKind(
        "orders",
        schema,
        problems=(
            (_money("node.totalPriceSet").isNull(), "invalid_amount", "`totalPriceSet` is missing or not a decimal"),
            (refunded.isNotNull() & ~refunded.rlike(_DECIMAL), "invalid_amount", "`totalRefundedSet` is not a decimal"),
            (
                ~F.coalesce(F.col("node.currencyCode").rlike("^[A-Z]{3}$"), F.lit(False)),
                "invalid_currency",
                "`currencyCode` is not a three-letter code",
            ),
            (
                ~F.coalesce(lines_valid, F.lit(False)),
                "invalid_line_item",
                "a line item has no valid id, quantity or price",
            ),
        ),  # fmt: skip
    )


def _customers() -> NodeKind:
    spent = F.col("node.amountSpent.amount")
    return NodeKind(
        "customers",
        "id string, firstName string, lastName string, email string, createdAt string, updatedAt string, "
        "numberOfOrders string, amountSpent struct<amount: string, currencyCode: string>",
        problems=((spent.isNotNull() & ~spent.rlike(_DECIMAL), "invalid_amount", "`amountSpent` is not a decimal"),),
    )


def _products() -> NodeKind:
    variants_valid = F.col("node.variants").isNull() | F.forall(
        "node.variants",
        lambda variant: variant["id"].rlike(_GID) & F.coalesce(variant["price"].rlike(_DECIMAL), F.lit(True)),
    )
    return NodeKind(
        "products",
        "id string, title string, handle string, status string, vendor string, productType string, "
        "createdAt string, updatedAt string, variants array<struct<id: string, sku: string, price: string, "
        "updatedAt: string, inventoryItem: struct<id: string>>>",
        problems=(
            (~F.coalesce(variants_valid, F.lit(False)), "invalid_variant", "a variant has no valid id or price"),
        ),
    )


def _inventory_levels() -> NodeKind:
    available = F.filter("node.quantities", lambda quantity: quantity["name"] == "available")
    return NodeKind(
        "inventory_levels",
        "id string, updatedAt string, item struct<id: string, sku: string>, "
        "quantities array<struct<name: string, quantity: string>>, location struct<id: string, name: string>",
        id_pattern=_LEVEL_GID,
        problems=(
            (
                ~F.coalesce(F.col("node.item.id").rlike(_GID), F.lit(False)),
                "invalid_item",
                "the level names no valid inventory item",
            ),
            (
                ~F.coalesce(F.col("node.location.id").rlike(_GID), F.lit(False)),
                "invalid_location",
                "the level names no valid location",
            ),
            (
                ~F.coalesce(F.get(available, 0)["quantity"].rlike("^-?[0-9]{1,9}$"), F.lit(False)),
                "invalid_quantity",
                "the level has no whole `available` quantity",
            ),
        ),  # fmt: skip
    )


KINDS = {"orders": _orders, "customers": _customers, "products": _products, "inventory_levels": _inventory_levels}
"""How each of Shopify's lists is typed and checked, by resource (built where Spark runs: they hold columns)."""


def typed_nodes(bronze: DataFrame, resource: str) -> DataFrame:
    """Each landed node of `resource` parsed as `node`, with its `id`, `observed_at` (its `updatedAt`) and a
    `problem` (None when the node is usable) with its `problem_message`."""
    kind = KINDS[resource]()
    nodes = bronze.where(F.col("resource") == resource).select(
        "load_id", "line_id", "source_file", "record", "ingested_at",
        F.from_json(F.get_json_object("record", "$.object"), kind.schema).alias("node"),
    )  # fmt: skip
    typed = nodes.select(
        "*",
        F.col("node.id").alias("id"),
        _instant("node.updatedAt").alias("observed_at"),
        F.lit(False).alias("deleted"),
    )
    problems = [
        (F.col("node").isNull(), "not_an_object", f"the landed record holds no {resource[:-1].replace('_', ' ')}"),
        (~F.coalesce(F.col("id").rlike(kind.id_pattern), F.lit(False)), "invalid_id", "the node has no valid gid"),
        (F.col("observed_at").isNull(), "invalid_updated_at", "`updatedAt` is missing or not an instant"),
        *kind.problems,
    ]
    problem = F.lit(None).cast("string")
    message = F.lit(None).cast("string")
    for condition, reason, text in reversed(problems):
        problem = F.when(condition, F.lit(reason)).otherwise(problem)
        message = F.when(condition, F.lit(text)).otherwise(message)
    return typed.withColumn("problem", problem).withColumn("problem_message", message)


def latest_nodes(typed: DataFrame) -> DataFrame:
    """Each usable node's latest version."""
    return latest_observations(typed.where(F.col("problem").isNull()))


_BOOKKEEPING = ("deleted", "observed_at", "load_id", "ingested_at")


def order_rows(latest: DataFrame) -> DataFrame:
    """Silver rows of `processed.shopify_orders`."""
    return latest.select(
        "id",
        F.col("node.name").alias("name"),
        F.col("node.customer.id").alias("customer_id"),
        F.col("node.currencyCode").alias("currency"),
        _money("node.totalPriceSet").alias("total_price"),
        _money("node.currentTotalPriceSet").alias("current_total_price"),
        F.coalesce(_money("node.totalRefundedSet"), F.lit(0).cast(MONEY_TYPE)).alias("total_refunded"),
        F.col("node.displayFinancialStatus").alias("financial_status"),
        F.coalesce(F.col("node.test"), F.lit(False)).alias("test"),
        _instant("node.createdAt").alias("created_at"),
        _instant("node.processedAt").alias("processed_at"),
        _instant("node.cancelledAt").alias("cancelled_at"),
        F.col("observed_at").alias("updated_at"),
        F.coalesce(F.size("node.lineItems"), F.lit(0)).alias("line_count"),
        *_BOOKKEEPING,
    )


def line_rows(latest: DataFrame) -> DataFrame:
    """Silver rows of `processed.shopify_order_lines`: every line item of each order's latest version."""
    lines = latest.select("id", "observed_at", F.explode("node.lineItems").alias("line"), F.col("node.currencyCode"))
    return lines.select(
        F.col("id").alias("order_id"),
        F.col("line.id").alias("line_item_id"),
        F.col("line.sku").alias("sku"),
        F.col("line.title").alias("title"),
        F.col("line.variant.id").alias("variant_id"),
        F.col("line.quantity").cast("int").alias("quantity"),
        F.expr("try_cast(line.currentQuantity AS INT)").alias("current_quantity"),
        F.col("line.originalUnitPriceSet.shopMoney.amount").cast(MONEY_TYPE).alias("unit_price"),
        F.col("currencyCode").alias("currency"),
        F.col("observed_at").alias("order_updated_at"),
    )


def customer_rows(latest: DataFrame) -> DataFrame:
    """Silver rows of `processed.shopify_customers`."""
    return latest.select(
        "id",
        F.col("node.firstName").alias("first_name"),
        F.col("node.lastName").alias("last_name"),
        F.col("node.email").alias("email"),
        F.expr("try_cast(node.numberOfOrders AS BIGINT)").alias("number_of_orders"),
        F.col("node.amountSpent.amount").cast(MONEY_TYPE).alias("amount_spent"),
        F.col("node.amountSpent.currencyCode").alias("currency"),
        _instant("node.createdAt").alias("created_at"),
        F.col("observed_at").alias("updated_at"),
        *_BOOKKEEPING,
    )


def product_rows(latest: DataFrame) -> DataFrame:
    """Silver rows of `processed.shopify_products` (their variants: `variant_rows`)."""
    return latest.select(
        "id",
        F.col("node.title").alias("title"),
        F.col("node.handle").alias("handle"),
        F.col("node.status").alias("status"),
        F.col("node.vendor").alias("vendor"),
        F.col("node.productType").alias("product_type"),
        F.coalesce(F.size("node.variants"), F.lit(0)).alias("variant_count"),
        _instant("node.createdAt").alias("created_at"),
        F.col("observed_at").alias("updated_at"),
        *_BOOKKEEPING,
    )


def variant_rows(latest: DataFrame) -> DataFrame:
    """Silver rows of `processed.shopify_product_variants`: every variant of each product's latest version."""
    variants = latest.select("id", "observed_at", F.explode("node.variants").alias("variant"))
    return variants.select(
        F.col("id").alias("product_id"),
        F.col("variant.id").alias("variant_id"),
        F.col("variant.sku").alias("sku"),
        F.col("variant.price").cast(MONEY_TYPE).alias("price"),
        F.col("variant.inventoryItem.id").alias("inventory_item_id"),
        _instant("variant.updatedAt").alias("variant_updated_at"),
        F.col("observed_at").alias("product_updated_at"),
    )


def inventory_level_rows(latest: DataFrame) -> DataFrame:
    """Silver rows of `processed.shopify_inventory_levels`: an item's `available` quantity at a location."""
    available = F.filter("node.quantities", lambda quantity: quantity["name"] == "available")
    return latest.select(
        "id",
        F.col("node.item.id").alias("inventory_item_id"),
        F.col("node.item.sku").alias("sku"),
        F.col("node.location.id").alias("location_id"),
        F.col("node.location.name").alias("location_name"),
        F.get(available, 0)["quantity"].cast("bigint").alias("available"),
        F.col("observed_at").alias("updated_at"),
        *_BOOKKEEPING,
    )


def error_rows(typed: DataFrame, *, resource: str, asset: str, step: str, occurred_at: datetime) -> DataFrame:
    """Error-table rows for the nodes with a problem: source, resource and node id in the message."""
    shown_id = F.when(F.col("id").rlike(KINDS[resource]().id_pattern), F.col("id")).otherwise(F.lit("(no valid id)"))
    message = F.concat(F.lit(f"shopify {resource} "), shown_id, F.lit(": "), F.col("problem_message"))
    return rejected_rows(typed, asset=asset, step=step, occurred_at=occurred_at, message=message)
