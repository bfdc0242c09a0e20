"""`analytics.payment_reconciliation`: rebuilt from the current states of Shopify's orders and Stripe's payments,
audited (every charge accounted for; the day's unmatched amount against the policy's threshold), then published."""

from datetime import UTC, datetime
from decimal import Decimal

from pyspark.sql import functions as F

from ecom_assets.api_sources.reconciliation.checks import (
    EVERY_CHARGE_ACCOUNTED,
    UNMATCHED_WITHIN_THRESHOLD,
    every_charge_accounted,
    unmatched_outcome,
)
from ecom_assets.api_sources.reconciliation.schemas import PaymentReconciliation
from ecom_assets.api_sources.reconciliation.transforms import payment_reconciliation, unmatched_by_day
from ecom_assets.api_sources.tables import (
    PAYMENT_RECONCILIATION,
    SHOPIFY_ORDERS,
    STRIPE_CHARGES,
    STRIPE_PAYMENT_INTENTS,
    STRIPE_REFUNDS,
)
from ecom_assets.platform.checks import TABLE_SCHEMA_CHECK
from ecom_assets.platform.quality_policy import DataQualityPolicy
from ecom_assets.platform.table_asset import TableStep, input_versions, staged, table_asset
from ecom_assets.platform.table_checks import schema_outcomes

PAYMENTS_GROUP = "payments"
INPUTS = (SHOPIFY_ORDERS, STRIPE_CHARGES, STRIPE_PAYMENT_INTENTS, STRIPE_REFUNDS)


@table_asset(
    PAYMENT_RECONCILIATION,
    group=PAYMENTS_GROUP,
    partitions_def=None,
    reads=list(INPUTS),
    description="One row per Shopify order (on the day it was placed): its total against the Stripe charges and "
    "refunds made for it, status matched / unpaid / overpaid / refund_mismatch, the unmatched amount; and one row "
    "per orphan charge (money no order accounts for). Rebuilt whole from the sources' current states.",
    checks=[TABLE_SCHEMA_CHECK, EVERY_CHARGE_ACCOUNTED, UNMATCHED_WITHIN_THRESHOLD],
)
def payment_reconciliation_asset(step: TableStep, quality: DataQualityPolicy) -> None:
    """Reconcile every order and charge from the inputs' current versions; publish unless a charge went missing."""
    missing = [table.full_name for table in INPUTS if not step.lakehouse.exists(table)]
    if missing:
        raise RuntimeError(f"payment reconciliation needs {', '.join(missing)}: run the shopify and stripe jobs first")
    inputs = step.lakehouse.pin(list(INPUTS))
    frames = [inputs.read(step.session, table) for table in INPUTS]
    today = datetime.now(UTC).date()
    reporter = step.reporter
    with staged(payment_reconciliation(*frames)) as rows:
        with reporter.computing():
            reporter.add(TABLE_SCHEMA_CHECK, schema_outcomes(PaymentReconciliation, rows, None, [today]))
            reporter.add(EVERY_CHARGE_ACCOUNTED, {today: every_charge_accounted(rows, frames[1])})
            days = unmatched_by_day(rows).orderBy("reconciliation_date", "currency").collect()
            threshold = Decimal(str(quality.reconciliation_unmatched_threshold))
            reporter.add(UNMATCHED_WITHIN_THRESHOLD, {today: unmatched_outcome(days, threshold)})
            statuses = {row["status"]: row["count"] for row in rows.groupBy("status").count().collect()}
        reporter.overwrite_if_passing(step.lakehouse, rows, inputs.built_from)
        step.metadata.update(
            {
                "orders": sum(count for status, count in statuses.items() if status != "orphan_charge"),
                **{f"status_{status}": count for status, count in sorted(statuses.items())},
                "unmatched_amount": float(sum((row["unmatched_amount"] for row in days), Decimal(0))),
                **input_versions(inputs),
                **step.table_metadata(rows.where(F.col("status") != "matched").orderBy(F.desc("unmatched_amount"))),
            }
        )
