"""The reconciliation's checks: every captured charge accounted for once (blocking), and each day's unmatched amount
against the quality policy's threshold (WARN, mailed by the check-failure sensor)."""

from decimal import Decimal

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ecom_assets.api_sources.reconciliation.transforms import captured_charges
from ecom_assets.platform.checks import WARN, Check
from ecom_assets.platform.outcomes import CheckOutcome, jsonable, jsonable_rows

EVERY_CHARGE_ACCOUNTED = Check(
    "every_charge_accounted",
    "Every captured Stripe charge is in exactly one row (its order's, or its own as an orphan charge), and the "
    "captured amounts per currency add up to Stripe's.",
    per_partition=False,
)
UNMATCHED_WITHIN_THRESHOLD = Check(
    "unmatched_within_threshold",
    "No day's unmatched amount (per currency) passes the quality policy's `reconciliation_unmatched_threshold`; "
    "a failure is mailed with the days and their amounts.",
    severity=WARN,
    per_partition=False,
)


def every_charge_accounted(rows: DataFrame, charges: DataFrame) -> CheckOutcome:
    """Each captured charge in exactly one row, and the rows' captured amounts per currency equal Stripe's."""
    listed = rows.select(F.explode("charge_ids").alias("id"))
    placed = listed.groupBy("id").count()
    stripe = captured_charges(charges).select("id", F.upper("currency").alias("currency"), "captured_amount")
    figures = (
        stripe.join(placed, "id", "full_outer")
        .agg(
            F.count_if(F.col("currency").isNotNull()).alias("captured_charges"),
            F.count_if(F.col("count").isNull()).alias("charges_missing"),
            F.count_if(F.col("count") > 1).alias("charges_in_several_rows"),
            F.count_if(F.col("currency").isNull()).alias("rows_naming_no_captured_charge"),
        )
        .first()
        .asDict()
    )
    theirs = {row[0]: row[1] for row in stripe.groupBy("currency").agg(F.sum("captured_amount")).collect()}
    ours = {row[0]: row[1] for row in rows.groupBy("currency").agg(F.sum("captured")).collect() if row[1]}
    differing = {
        currency: {"stripe": jsonable(theirs.get(currency)), "reconciliation": jsonable(ours.get(currency))}
        for currency in sorted(set(theirs) | set(ours))
        if (theirs.get(currency) or 0) != (ours.get(currency) or 0)
    }
    bad = figures["charges_missing"] + figures["charges_in_several_rows"] + figures["rows_naming_no_captured_charge"]
    passed = not bad and not differing
    summary = (
        f"all {figures['captured_charges']} captured charge(s) accounted for once"
        if passed
        else f"{figures['charges_missing']} charge(s) missing, {figures['charges_in_several_rows']} in several rows, "
        f"{len(differing)} currency total(s) differ"
    )
    expected = {"charges_missing": 0, "charges_in_several_rows": 0, "rows_naming_no_captured_charge": 0}
    return CheckOutcome(passed, summary, {**figures, "currency_totals_differing": differing}, expected)


def unmatched_outcome(days: list, threshold: Decimal) -> CheckOutcome:
    """The WARN verdict on the days' unmatched amounts against `threshold`."""
    over = [row for row in days if row["unmatched_amount"] > threshold]
    worst = max(days, key=lambda row: row["unmatched_amount"], default=None)
    summary = (
        f"{len(over)} day(s) with more than {threshold} unmatched, the most {worst['unmatched_amount']} "
        f"{worst['currency']} on {worst['reconciliation_date']}"
        if over
        else f"no day has more than {threshold} unmatched"
    )
    observed = {
        "days_over_threshold": len(over),
        "unmatched_rows": sum(row["rows_unmatched"] for row in days),
        "largest_day_unmatched": jsonable(worst["unmatched_amount"]) if worst else 0,
    }
    return CheckOutcome(
        not over, summary, observed, {"threshold_per_day": jsonable(threshold)}, jsonable_rows(over[:5])
    )
