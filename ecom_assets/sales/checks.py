"""The sales tables' own checks: headers, deliveries, silver's line integrity, gold's figures and reconciliation.

Pure PySpark and Python, no Dagster; each returns one `CheckOutcome` per day of the run."""

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from pyspark.sql import Column, DataFrame, Row
from pyspark.sql import functions as F

from ecom_assets.platform.columns import line_outcome
from ecom_assets.platform.outcomes import (
    SAMPLE_ROWS,
    CheckOutcome,
    OutcomesByDay,
    jsonable,
    jsonable_rows,
    withheld_day_outcome,
)
from ecom_assets.platform.table_checks import schema_counts
from ecom_assets.platform.trading_calendar import AWAITED, CLOSED, DELIVERED, MISSING, UNREADABLE
from ecom_assets.sales.schemas import SilverOrdersCleaned
from ecom_assets.sales.transforms.gold import FIGURE_COLUMNS, PUBLISHED_DAY_STATUSES

SILVER_KEY_COLUMNS = ("invoice_no", "stock_code", "line_id", "order_date")


GOLD_NON_NEGATIVE_COLUMNS = tuple(c for c in FIGURE_COLUMNS if c != "net_revenue")
"""Every gold figure but net revenue, which is negative on a day whose refunds exceed its sales."""


def header_outcomes(
    days: Sequence[date], files_by_day: Mapping[date, Sequence[str]], problems: Mapping[str, str]
) -> OutcomesByDay:
    """A day fails when any of its files lacks a source column, or has no readable header."""
    outcomes = {}
    for day in days:
        files = files_by_day.get(day, [])
        bad = [{"file": path.rsplit("/", 1)[-1], "problem": problems[path]} for path in files if path in problems]
        observed = {"files": len(files), "files_rejected": len(bad)}
        summary = (
            f"{len(bad)} of {len(files)} file(s) do not conform to the source header: {bad[0]['file']}:"
            f" {bad[0]['problem']}"
            if bad
            else f"all {len(files)} file(s) carry the source columns"
        )
        outcomes[day] = CheckOutcome(not bad, summary, observed, {"files_rejected": 0}, tuple(bad[:SAMPLE_ROWS]))
    return outcomes


def delivery_outcomes(deliveries: Mapping[date, Mapping[str, Any]]) -> OutcomesByDay:
    """A day passes when its file arrived, the shop was closed, or its delivery is not due yet.

    `deliveries` are the days' `landing_deliveries` rows (see `ecom_assets.platform.trading_calendar`).
    """
    outcomes = {}
    for day, delivery in deliveries.items():
        status, due = delivery["delivery_status"], delivery["delivery_due"].isoformat(timespec="minutes")
        summary = {
            DELIVERED: f"{delivery['files_delivered']} file(s) delivered",
            CLOSED: f"closed ({delivery['closure']}): no delivery expected, zero sales",
            AWAITED: f"no file yet; due by {due}",
            MISSING: f"missing delivery: no file for this trading day by its cutoff {due}",
            UNREADABLE: f"{delivery['files_rejected']} of {delivery['files_delivered']} file(s) delivered unreadable",
        }[status]
        observed = {key: jsonable(delivery[key]) for key in ("delivery_status", "files_delivered", "files_rejected")}
        outcomes[day] = CheckOutcome(status not in (MISSING, UNREADABLE), summary, observed, {"delivery_due": due})
    return outcomes


class _Facet(NamedTuple):
    """One facet of a check with several: its count's name, what it counts, and where its failing rows are."""

    name: str
    counts: str
    rows: DataFrame
    failing: Column


def _any_key_null() -> Column:
    return F.greatest(*(F.col(c).isNull() for c in SILVER_KEY_COLUMNS))


def _bad_sale_line() -> Column:
    return (F.col("line_type") == "sale") & ((F.col("quantity") <= 0) | (F.col("unit_price") <= 0))


def line_integrity_counts() -> dict[str, Column]:
    """The row counts `silver_integrity_outcomes` judges a day by; a day's are the sums over its parts."""
    return {
        "rows": F.count("*"),
        "null_key_rows": F.count_if(_any_key_null()),
        "sale_lines": F.count_if(F.col("line_type") == "sale"),
        "non_positive_sale_lines": F.count_if(_bad_sale_line()),
    }


def silver_integrity_outcomes(
    silver: DataFrame, days: Sequence[date], counts_by_day: Mapping[date, Mapping[str, int]]
) -> OutcomesByDay:
    """Silver's line integrity per landing day, over the stored rows of those days: one verdict, four facets.

    The facets, each counted in `observed` and held to 0 in `expected`: no row with a null
    invoice_no, stock_code, line_id or order_date (`null_key_rows`); no line_id occurring more than
    once, counted on the first day it occurs (`repeated_line_ids`); no sale line with quantity or unit
    price ≤ 0 and no sale order totalling ≤ 0 (`non_positive_sale_lines`, `non_positive_sale_orders`).
    The summary names every facet that failed; the sample shows rows of the first.
    `counts_by_day` are the rows' counts per day (`line_integrity_counts`), which the caller computes
    in a job of its own, with other figures (see `silver_outcome_counts`).
    """
    any_key_null = _any_key_null()
    is_sale = F.col("line_type") == "sale"
    bad_sale_line = _bad_sale_line()
    repeated_ids = (
        silver.groupBy("line_id").agg(F.count("*").alias("copies"), F.min("landing_date").alias("landing_date"))
    ).where(F.col("copies") > 1)
    repeated_by_day = {
        r["landing_date"]: r["n"] for r in repeated_ids.groupBy("landing_date").agg(F.count("*").alias("n")).collect()
    }
    sale_orders = (
        silver.where(is_sale).groupBy("landing_date", "invoice_no").agg(F.sum("line_amount").alias("order_total"))
    )
    bad_orders_by_day = {
        r["landing_date"]: r["n"]
        for r in sale_orders.where(F.col("order_total") <= 0)
        .groupBy("landing_date")
        .agg(F.count("*").alias("n"))
        .collect()
    }
    facets = (
        _Facet("null_key_rows", f"row(s) with a null {', '.join(SILVER_KEY_COLUMNS)}", silver, any_key_null),
        _Facet("repeated_line_ids", "line_id value(s) occurring more than once", repeated_ids, F.lit(True)),
        _Facet("non_positive_sale_lines", "sale line(s) with quantity or unit price ≤ 0", silver, bad_sale_line),
        _Facet("non_positive_sale_orders", "sale order(s) totalling ≤ 0", sale_orders, F.col("order_total") <= 0),
    )
    outcomes = {}
    for day in days:
        figures = counts_by_day.get(day, {})
        observed = {
            "rows": figures.get("rows", 0),
            "null_key_rows": figures.get("null_key_rows", 0),
            "repeated_line_ids": repeated_by_day.get(day, 0),
            "sale_lines": figures.get("sale_lines", 0),
            "non_positive_sale_lines": figures.get("non_positive_sale_lines", 0),
            "non_positive_sale_orders": bad_orders_by_day.get(day, 0),
        }
        failed = [facet for facet in facets if observed[facet.name]]
        sample = ()
        if failed:
            first = failed[0]
            sample = jsonable_rows(
                first.rows.where(first.failing & (F.col("landing_date") == F.lit(day))).limit(SAMPLE_ROWS).collect()
            )
        outcomes[day] = CheckOutcome(
            not failed,
            "; ".join(f"{observed[facet.name]} {facet.counts}" for facet in failed)
            or f"{observed['rows']} row(s): keys present, line_id unique, sale lines and orders positive",
            observed,
            {facet.name: 0 for facet in facets},
            sample,
        )
    return outcomes


def non_negative_outcomes(gold_rows: Sequence[Row], days: Sequence[date]) -> OutcomesByDay:
    """Gold money and count figures are ≥ 0 (net revenue excepted) and present on a complete or closed day;
    a day that is not complete shows none. A day without a stored row fails.
    """
    by_day = {row["order_date"]: row for row in gold_rows}
    outcomes = {}
    for day in days:
        row = by_day.get(day)
        if row is None:
            outcomes[day] = CheckOutcome(False, "no gold row stored for the day", {}, {"rows": 1})
            continue
        figures = {c: jsonable(row[c]) for c in GOLD_NON_NEGATIVE_COLUMNS}
        if row["day_status"] not in PUBLISHED_DAY_STATUSES:
            shown = [c for c in FIGURE_COLUMNS if row[c] is not None]
            summary = (
                f"figures shown on a day that is {row['day_status']}: {', '.join(shown)}"
                if shown
                else f"no figures shown: the day is {row['day_status']}"
            )
            outcomes[day] = CheckOutcome(not shown, summary, {"day_status": row["day_status"], **figures}, {})
            continue
        negative = {c: figures[c] for c in GOLD_NON_NEGATIVE_COLUMNS if row[c] is not None and row[c] < 0}
        missing = [c for c in FIGURE_COLUMNS if row[c] is None and c != "avg_order_value"]
        problems = [f"negative figure(s): {', '.join(negative)}"] if negative else []
        problems += [f"missing figure(s): {', '.join(missing)}"] if missing else []
        outcomes[day] = CheckOutcome(
            not problems,
            "; ".join(problems) or "every money and count figure is present and ≥ 0",
            figures,
            {"minimum": 0},
            (negative,) if negative else (),
        )
    return outcomes


def silver_sale_totals(lines: DataFrame) -> DataFrame:
    """Per order day, straight from silver sale lines: gross revenue (2 decimals), units and distinct orders."""
    sales = lines.where(F.col("line_type") == "sale")
    return sales.groupBy("order_date").agg(
        F.round(F.sum("line_amount"), 2).alias("gross_revenue"),
        F.sum("quantity").cast("long").alias("units_sold"),
        F.count_distinct("invoice_no").cast("long").alias("order_count"),
    )


def reconciliation_outcomes(
    gold_rows: Sequence[Row], silver_totals: Sequence[Row], days: Sequence[date]
) -> OutcomesByDay:
    """Gold's gross revenue, units and orders equal silver's sums for the day (a day without sales: zeros)."""
    gold_by_day = {row["order_date"]: row for row in gold_rows}
    silver_by_day = {row["order_date"]: row for row in silver_totals}
    figures = ("gross_revenue", "units_sold", "order_count")
    outcomes = {}
    for day in days:
        gold, silver = gold_by_day.get(day), silver_by_day.get(day)
        if gold and gold["day_status"] not in PUBLISHED_DAY_STATUSES:
            observed = {f"silver_{f}": silver[f] for f in figures} if silver else {}
            outcomes[day] = withheld_day_outcome("gold", gold["day_status"], observed)
            continue
        gold_values = {f: (gold[f] if gold else None) for f in figures}
        silver_values = {f: (silver[f] if silver else (Decimal(0) if f == "gross_revenue" else 0)) for f in figures}
        mismatched = [f for f in figures if gold_values[f] is None or gold_values[f] != silver_values[f]]
        summary = (
            "gold differs from silver in "
            + ", ".join(f"{f} ({gold_values[f]} vs {silver_values[f]})" for f in mismatched)
            if mismatched
            else "gross revenue, units and orders equal silver's sums"
        )
        outcomes[day] = CheckOutcome(
            not mismatched,
            summary,
            {f"gold_{f}": jsonable(v) for f, v in gold_values.items()},
            {f"silver_{f}": jsonable(v) for f, v in silver_values.items()},
        )
    return outcomes


def silver_outcome_counts(parsed: DataFrame) -> tuple[list[Row], dict[date, Counter]]:
    """In one Spark job over silver's parsed rows (`parse_order_lines`): their outcome counts, rows of (landing_date,
    outcome, line_type, rows, amount, example, file), and per landing day the counts of the kept rows that silver's
    schema and line-integrity checks judge a day by (`schema_counts`, `line_integrity_counts`)."""
    check_aggregations = {**schema_counts(SilverOrdersCleaned), **line_integrity_counts()}
    columns = {name: f"_check_{index}" for index, name in enumerate(check_aggregations)}
    outcomes = (
        parsed.groupBy("landing_date", line_outcome().alias("outcome"), "line_type")
        .agg(
            F.count("*").alias("rows"),
            F.sum("line_amount").alias("amount"),
            F.first("rejection_message").alias("example"),
            F.first("source_file_name").alias("file"),
            *(aggregation.alias(columns[name]) for name, aggregation in check_aggregations.items()),
        )
        .collect()
    )
    check_counts: dict[date, Counter] = {}
    for row in outcomes:
        if row["outcome"] == "kept":
            check_counts.setdefault(row["landing_date"], Counter()).update(
                {name: row[column] for name, column in columns.items()}
            )
    return outcomes, check_counts
