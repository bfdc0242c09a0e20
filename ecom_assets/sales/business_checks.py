"""Checks of the dimensions and business metrics: SCD2 integrity, category coverage, reconciliations.

Pure PySpark and Python, no Dagster; each returns `CheckOutcome`s like `quality.checks`.
"""

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.window import Window

from ecom_assets.platform.outcomes import (
    SAMPLE_ROWS,
    CheckOutcome,
    OutcomesByDay,
    jsonable,
    jsonable_rows,
    withheld_day_outcome,
)
from ecom_assets.sales.transforms.gold import PUBLISHED_DAY_STATUSES

PENNY_ROUNDING = Decimal("0.005")
"""The most one figure rounded to the penny can differ from its exact value."""


def scd2_outcome(dim: DataFrame, key: str) -> CheckOutcome:
    """Each key's versions are numbered 1..n, chain without gaps or overlaps, and only the last is current.

    A version ends the day before the next one starts; the last has no end and is current.
    """
    ordered = Window.partitionBy(key).orderBy("effective_from")
    next_from = F.lead("effective_from").over(ordered)
    checked = dim.withColumns(
        {
            "_next_from": next_from,
            "_expected_version": F.row_number().over(ordered),
        }
    )
    broken_chain = F.when(
        F.col("_next_from").isNull(), F.col("effective_to").isNotNull() | ~F.col("is_current")
    ).otherwise(
        F.col("effective_to").isNull() | (F.col("effective_to") != F.date_sub("_next_from", 1)) | F.col("is_current")
    )
    violation = (
        broken_chain
        | (F.col("effective_to") < F.col("effective_from"))
        | (F.col("version") != F.col("_expected_version"))
    )
    flagged = checked.withColumn("_violation", violation).cache()
    try:
        totals = flagged.agg(
            F.count("*").alias("versions"),
            F.count_distinct(key).alias("keys"),
            F.count_if("_violation").alias("violations"),
        ).first()
        sample = flagged.where("_violation").drop("_next_from", "_expected_version", "_violation").limit(SAMPLE_ROWS)
        failing = jsonable_rows(sample.collect()) if totals["violations"] else ()
    finally:
        flagged.unpersist()
    observed = {"versions": totals["versions"], "keys": totals["keys"], "violations": totals["violations"]}
    if totals["violations"]:
        summary = f"{totals['violations']} version row(s) break the SCD2 chain of their {key}"
    else:
        summary = (
            f"{totals['keys']} {key}(s) with {totals['versions']} version(s): one current each, no gaps or overlaps"
        )
    return CheckOutcome(not totals["violations"], summary, observed, {"violations": 0}, failing)


def category_coverage_outcome(current_products: DataFrame, other_category: str, max_share: float) -> CheckOutcome:
    """How many current products the category rules leave in the fallback category; fails above `max_share`."""
    totals = current_products.agg(
        F.count("*").alias("products"), F.count_if(F.col("category") == other_category).alias("other")
    ).first()
    share = totals["other"] / totals["products"] if totals["products"] else 0.0
    examples = ()
    if totals["other"]:
        rows = current_products.where(F.col("category") == other_category).select("stock_code", "description")
        examples = jsonable_rows(rows.orderBy("stock_code").limit(SAMPLE_ROWS).collect())
    summary = f"{totals['other']} of {totals['products']} current products ({share:.1%}) fall to '{other_category}'"
    return CheckOutcome(
        share <= max_share,
        summary,
        {"products": totals["products"], "other_products": totals["other"], "other_share": round(share, 4)},
        {"max_other_share": max_share},
        examples,
    )


def reconciled(
    subject: str, observed: Mapping[str, object], expected: Mapping[str, object], tolerances: Mapping[str, Decimal]
) -> CheckOutcome:
    """Each expected figure equals the observed one, within its tolerance (exactly where none is given)."""
    mismatched = [
        name
        for name, want in expected.items()
        if observed.get(name) is None
        or abs(Decimal(str(observed[name])) - Decimal(str(want))) > tolerances.get(name, 0)
    ]
    if mismatched:
        summary = f"{subject} differs in " + ", ".join(
            f"{name} ({observed.get(name)} vs {expected[name]})" for name in mismatched
        )
    else:
        summary = f"{subject} agrees on " + ", ".join(expected)
    return CheckOutcome(
        not mismatched,
        summary,
        {name: jsonable(value) for name, value in observed.items()},
        {
            **{name: jsonable(value) for name, value in expected.items()},
            **{f"{name}_tolerance": jsonable(value) for name, value in tolerances.items()},
        },
    )


def daily_totals_outcomes(
    subject: str,
    table_rows: DataFrame,
    daily_metrics: Sequence,
    figures: Mapping[str, str],
    rounded: Sequence[str],
    days: Sequence[date],
) -> OutcomesByDay:
    """Per day, the sums of a table's rows against `sales_metrics`' figures of the day.

    `figures` maps a column of the table to the `sales_metrics` column it must sum to; sums of
    `rounded` columns may differ by half a penny per summed row. A day without sales expects zeros;
    a day whose figures `sales_metrics` withholds (not complete) has nothing to reconcile.
    """
    sums = {
        row["order_date"]: row.asDict()
        for row in table_rows.groupBy("order_date")
        .agg(F.count("*").alias("_rows"), *(F.sum(column).alias(column) for column in figures))
        .collect()
    }
    metrics = {row["order_date"]: row for row in daily_metrics}
    outcomes = {}
    for day in days:
        day_sums = sums.get(day, {})
        observed = {column: day_sums.get(column) or 0 for column in figures}
        if day in metrics and metrics[day]["day_status"] not in PUBLISHED_DAY_STATUSES:
            outcomes[day] = withheld_day_outcome("sales_metrics", metrics[day]["day_status"], observed)
            continue
        expected = {column: (metrics[day][target] if day in metrics else 0) for column, target in figures.items()}
        tolerance = PENNY_ROUNDING * day_sums.get("_rows", 0)
        outcomes[day] = reconciled(subject, observed, expected, {column: tolerance for column in rounded})
    return outcomes
