"""Each Shopify order against the Stripe charges and refunds made for it, and each charge no order accounts for:
pure PySpark over the two sources' silver tables.

A charge pays for the order its own metadata's `order_id` names, or else its payment intent's
(an order's gid, or its bare number). Only captured money counts: charges that succeeded and were
captured, refunds that succeeded. A charge in another currency than its order's, or naming an
order Shopify has not delivered, is an orphan: money taken that no order accounts for.
"""

from decimal import Decimal

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ecom_assets.api_sources.tables import MONEY_TYPE

ORDER_GID_PREFIX = "gid://shopify/Order/"
STATUSES = ("matched", "unpaid", "overpaid", "refund_mismatch", "orphan_charge")
"""What a row says: the order's money is all there (`matched`), short (`unpaid`, nothing or part captured),
over (`overpaid`), the refunds differ (`refund_mismatch`); or a charge no order accounts for (`orphan_charge`)."""
COLUMNS = (
    "reconciliation_date", "order_id", "order_name", "charge_ids", "currency", "order_total", "shopify_refunded",
    "captured", "stripe_refunded", "unmatched_amount", "status", "note",
)  # fmt: skip
"""`analytics.payment_reconciliation`'s columns: one row per order (on the day it was placed) and one per orphan
charge (on the day it was made); amounts in the currency's major units."""


def _zero() -> Column:
    return F.lit(Decimal("0")).cast(MONEY_TYPE)


def captured_charges(charges: DataFrame) -> DataFrame:
    """The charges that took money (succeeded, captured, not deleted) with `captured_amount`: their
    `amount_captured`, or their `amount` where the API version gives none (captured whole)."""
    return charges.where(
        (F.col("status") == "succeeded") & F.coalesce(F.col("captured"), F.lit(False)) & ~F.col("deleted")
    ).withColumn("captured_amount", F.coalesce("amount_captured", "amount").cast(MONEY_TYPE))


def _order_reference(metadata: Column) -> Column:
    """The order a metadata object names (`order_id`): a gid as given, a bare number as an order's gid."""
    named = F.trim(F.get_json_object(metadata, "$.order_id"))
    return F.when(named.rlike("^[0-9]{1,20}$"), F.concat(F.lit(ORDER_GID_PREFIX), named)).otherwise(
        F.nullif(named, F.lit(""))
    )


def charge_payments(charges: DataFrame, intents: DataFrame, refunds: DataFrame) -> DataFrame:
    """Each captured charge with the order it names, its amount captured and its succeeded refunds' total."""
    intent_orders = intents.select(
        F.col("id").alias("payment_intent"), _order_reference(F.col("metadata")).alias("intent_order_id")
    )
    refunded = (
        refunds.where((F.col("status") == "succeeded") & ~F.col("deleted") & F.col("charge").isNotNull())
        .groupBy(F.col("charge").alias("charge_id"))
        .agg(F.sum("amount").cast(MONEY_TYPE).alias("refunded"))
    )
    return (
        captured_charges(charges)
        .join(intent_orders, "payment_intent", "left")
        .select(
            F.col("id").alias("charge_id"),
            F.coalesce(_order_reference(F.col("metadata")), F.col("intent_order_id")).alias("named_order_id"),
            F.upper("currency").alias("currency"),
            F.col("captured_amount").alias("captured"),
            F.to_date("created_at").alias("charged_on"),
        )
        .join(refunded, "charge_id", "left")
        .withColumn("refunded", F.coalesce("refunded", _zero()))
    )


def payment_reconciliation(orders: DataFrame, charges: DataFrame, intents: DataFrame, refunds: DataFrame) -> DataFrame:
    """One row per order Shopify holds (not deleted) and one per orphan charge, with the status and unmatched
    amount (`COLUMNS`); see the module's docstring for which charge pays for which order."""
    live = orders.where(~F.col("deleted")).select(
        F.to_date(F.coalesce("processed_at", "created_at")).alias("reconciliation_date"),
        F.col("id").alias("order_id"),
        F.col("name").alias("order_name"),
        F.upper("currency").alias("order_currency"),
        F.col("total_price").cast(MONEY_TYPE).alias("order_total"),
        F.coalesce(F.col("total_refunded").cast(MONEY_TYPE), _zero()).alias("shopify_refunded"),
        F.col("cancelled_at").isNotNull().alias("cancelled"),
    )
    payments = charge_payments(charges, intents, refunds).join(
        live.select(F.col("order_id").alias("named_order_id"), "order_currency"), "named_order_id", "left"
    )
    belongs = F.col("order_currency").isNotNull() & (F.col("order_currency") == F.col("currency"))
    per_order = (
        payments.where(belongs)
        .groupBy(F.col("named_order_id").alias("order_id"))
        .agg(
            F.array_sort(F.collect_list("charge_id")).alias("charge_ids"),
            F.sum("captured").cast(MONEY_TYPE).alias("captured"),
            F.sum("refunded").cast(MONEY_TYPE).alias("stripe_refunded"),
        )
    )
    order_rows = live.join(per_order, "order_id", "left").select(
        "reconciliation_date",
        "order_id",
        "order_name",
        F.coalesce("charge_ids", F.array().cast("array<string>")).alias("charge_ids"),
        F.col("order_currency").alias("currency"),
        "order_total",
        "shopify_refunded",
        F.coalesce("captured", _zero()).alias("captured"),
        F.coalesce("stripe_refunded", _zero()).alias("stripe_refunded"),
        "cancelled",
    )
    order_rows = _judged_orders(order_rows)
    orphans = payments.where(~belongs).select(
        F.col("charged_on").alias("reconciliation_date"),
        F.lit(None).cast("string").alias("order_id"),
        F.lit(None).cast("string").alias("order_name"),
        F.array("charge_id").alias("charge_ids"),
        "currency",
        F.lit(None).cast(MONEY_TYPE).alias("order_total"),
        F.lit(None).cast(MONEY_TYPE).alias("shopify_refunded"),
        "captured",
        F.col("refunded").alias("stripe_refunded"),
        (F.col("captured") - F.col("refunded")).cast(MONEY_TYPE).alias("unmatched_amount"),
        F.lit("orphan_charge").alias("status"),
        F.when(F.col("named_order_id").isNull(), F.lit("names no order (its and its payment intent's metadata)"))
        .when(F.col("order_currency").isNull(), F.lit("names an order Shopify has not delivered"))
        .otherwise(F.concat(F.lit("charged in "), F.col("currency"), F.lit(", the order is in "), "order_currency"))
        .alias("note"),
    )
    return order_rows.select(*COLUMNS).unionByName(orphans.select(*COLUMNS))


def _judged_orders(rows: DataFrame) -> DataFrame:
    """Order rows with their status, unmatched amount and note.

    The unmatched amount is the gap between what Stripe kept (captured less refunded) and what
    the order is owed (its total less Shopify's refunds); the status says where the gap comes from.
    """
    kept = F.col("captured") - F.col("stripe_refunded")
    owed = F.col("order_total") - F.col("shopify_refunded")
    nothing_owed = F.col("cancelled") & (F.col("captured") == 0) & (F.col("stripe_refunded") == 0)
    refunds_differ = F.col("stripe_refunded") != F.col("shopify_refunded")
    status = (
        F.when(nothing_owed | (kept == owed), F.lit("matched"))
        .when(F.col("captured") < F.col("order_total"), F.lit("unpaid"))
        .when(refunds_differ & (kept < owed), F.lit("refund_mismatch"))
        .when(F.col("captured") > F.col("order_total"), F.lit("overpaid"))
        .otherwise(F.lit("refund_mismatch"))
    )
    judged = rows.select(
        "*",
        F.when(nothing_owed, _zero()).otherwise(F.abs(kept - owed)).cast(MONEY_TYPE).alias("unmatched_amount"),
        status.alias("status"),
    )
    state = F.col("status")
    note = (
        F.when(state == "matched", F.when(nothing_owed, F.lit("cancelled before any payment")))
        .when(state == "unpaid", F.when(F.col("captured") == 0, F.lit("no captured charge")).otherwise("part captured"))
        .when(state == "overpaid", F.lit("captured more than the order total"))
        .otherwise(
            F.concat(
                F.lit("Stripe refunded "),
                F.col("stripe_refunded").cast("string"),
                F.lit(", Shopify "),
                F.col("shopify_refunded").cast("string"),
            )  # fmt: skip
        )
    )
    return judged.withColumn("note", note.cast("string"))


def unmatched_by_day(reconciliation: DataFrame) -> DataFrame:
    """Per day and currency: the rows not matched and their unmatched amount in total."""
    return (
        reconciliation.where(F.col("status") != "matched")
        .groupBy("reconciliation_date", "currency")
        .agg(F.count("*").alias("rows_unmatched"), F.sum("unmatched_amount").cast(MONEY_TYPE).alias("unmatched_amount"))
    )
