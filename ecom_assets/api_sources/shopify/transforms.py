"""Shopify's orders and their line items from bronze: typed, checked, the latest version of each order: pure PySpark.

An order is observed at its `updatedAt`; its line items come whole with it (the source drains the
nested connection), so an order's latest version carries its current lines.
"""

from datetime import datetime

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ecom_assets.api_sources.current_state import latest_observations, rejected_rows

MONEY_TYPE = "decimal(23,3)"
_MONEY = "struct<shopMoney: struct<amount: string, currencyCode: string>>"
ORDER_SCHEMA = (
    "id string, name string, createdAt string, updatedAt string, processedAt string, cancelledAt string, "
    "test boolean, currencyCode string, displayFinancialStatus string, customer struct<id: string>, "
    f"totalPriceSet {_MONEY}, currentTotalPriceSet {_MONEY}, totalRefundedSet {_MONEY}, "
    "lineItems array<struct<id: string, sku: string, "
    f"title: string, quantity: string, currentQuantity: string, variant: struct<id: string>, "
    f"originalUnitPriceSet: {_MONEY}>>"
)
_GID = r"^gid://shopify/[A-Za-z]+/[0-9]{1,20}$"


def typed_orders(bronze: DataFrame) -> DataFrame:
    """Each landed order typed, with a `problem` (None when usable) and `observed_at` = its `updatedAt`."""
    orders = bronze.where(F.col("resource") == "orders").select(
        "load_id", "line_id", "source_file", "record", "ingested_at",
        F.from_json(F.get_json_object("record", "$.object"), ORDER_SCHEMA).alias("order"),
    )  # fmt: skip
    typed = orders.select(
        "*",
        F.col("order.id").alias("id"),
        F.to_timestamp("order.updatedAt", "yyyy-MM-dd'T'HH:mm:ss'Z'").alias("observed_at"),
        F.expr(f"try_cast(order.totalPriceSet.shopMoney.amount AS {MONEY_TYPE})").alias("total_price"),
        F.expr(f"try_cast(order.currentTotalPriceSet.shopMoney.amount AS {MONEY_TYPE})").alias("current_total_price"),
        F.expr(f"try_cast(order.totalRefundedSet.shopMoney.amount AS {MONEY_TYPE})").alias("total_refunded"),
        F.lit(False).alias("deleted"),
    )
    lines_valid = F.col("order.lineItems").isNull() | F.forall(
        "order.lineItems",
        lambda line: (
            line["id"].rlike(_GID)
            & line["quantity"].rlike("^[0-9]{1,9}$")
            & line["originalUnitPriceSet"]["shopMoney"]["amount"].rlike(r"^-?[0-9]{1,17}(\.[0-9]{1,3})?$")
        ),
    )
    problems = [
        (F.col("order").isNull(), "not_an_object", "the landed record holds no order"),
        (~F.coalesce(F.col("id").rlike(_GID), F.lit(False)), "invalid_id", "the order has no valid gid"),
        (F.col("observed_at").isNull(), "invalid_updated_at", "`updatedAt` is missing or not an instant"),
        (F.col("total_price").isNull(), "invalid_amount", "`totalPriceSet` is missing or not a decimal"),
        (F.col("order.totalRefundedSet.shopMoney.amount").isNotNull() & F.col("total_refunded").isNull(),
         "invalid_amount", "`totalRefundedSet` is not a decimal"),
        (~F.coalesce(F.col("order.currencyCode").rlike("^[A-Z]{3}$"), F.lit(False)), "invalid_currency",
         "`currencyCode` is not a three-letter code"),
        (~F.coalesce(lines_valid, F.lit(False)), "invalid_line_item", "a line item has no valid id, quantity or price"),
    ]  # fmt: skip
    problem = F.lit(None).cast("string")
    message = F.lit(None).cast("string")
    for condition, reason, text in reversed(problems):
        problem = F.when(condition, F.lit(reason)).otherwise(problem)
        message = F.when(condition, F.lit(text)).otherwise(message)
    return typed.withColumn("problem", problem).withColumn("problem_message", message)


def latest_orders(typed: DataFrame) -> DataFrame:
    """Each usable order's latest version."""
    return latest_observations(typed.where(F.col("problem").isNull()))


def order_rows(latest: DataFrame) -> DataFrame:
    """Silver rows of `processed.shopify_orders`."""
    return latest.select(
        "id",
        F.col("order.name").alias("name"),
        F.col("order.customer.id").alias("customer_id"),
        F.col("order.currencyCode").alias("currency"),
        "total_price",
        "current_total_price",
        F.coalesce("total_refunded", F.lit(0).cast(MONEY_TYPE)).alias("total_refunded"),
        F.col("order.displayFinancialStatus").alias("financial_status"),
        F.coalesce(F.col("order.test"), F.lit(False)).alias("test"),
        F.to_timestamp("order.createdAt", "yyyy-MM-dd'T'HH:mm:ss'Z'").alias("created_at"),
        F.to_timestamp("order.processedAt", "yyyy-MM-dd'T'HH:mm:ss'Z'").alias("processed_at"),
        F.to_timestamp("order.cancelledAt", "yyyy-MM-dd'T'HH:mm:ss'Z'").alias("cancelled_at"),
        F.col("observed_at").alias("updated_at"),
        F.coalesce(F.size("order.lineItems"), F.lit(0)).alias("line_count"),
        "deleted",
        "observed_at",
        "load_id",
        "ingested_at",
    )


def line_rows(latest: DataFrame) -> DataFrame:
    """Silver rows of `processed.shopify_order_lines`: every line item of each order's latest version."""
    lines = latest.select("id", "observed_at", F.explode("order.lineItems").alias("line"), F.col("order.currencyCode"))
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


def order_error_rows(typed: DataFrame, *, asset: str, step: str, occurred_at: datetime) -> DataFrame:
    """Error-table rows for the orders with a problem: source, resource and order id in the message."""
    shown_id = F.when(F.col("id").rlike(_GID), F.col("id")).otherwise(F.lit("(no valid id)"))
    message = F.concat(F.lit("shopify orders "), shown_id, F.lit(": "), F.col("problem_message"))
    return rejected_rows(typed, asset=asset, step=step, occurred_at=occurred_at, message=message)
