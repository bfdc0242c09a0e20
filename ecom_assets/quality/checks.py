"""Per-day data-quality checks over the stored tables: pure PySpark and Python, no Dagster.

Each function judges every day of a run and returns a `CheckOutcome` per day, so a range run
reports one result per partition.
"""

import functools
import operator
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

import pandera.pyspark as pa
from pandera.config import ValidationDepth, config_context
from pyspark.sql import Column, DataFrame, Row
from pyspark.sql import functions as F

from ecom_assets.quality.outcomes import (
    SAMPLE_ROWS,
    CheckOutcome,
    OutcomesByDay,
    jsonable,
    jsonable_rows,
    withheld_day_outcome,
)
from ecom_assets.quality.schemas import schema_version
from ecom_assets.trading_calendar import AWAITED, CLOSED, DELIVERED, MISSING, UNREADABLE
from ecom_assets.transforms.gold import FIGURE_COLUMNS, PUBLISHED_DAY_STATUSES

SILVER_KEY_COLUMNS = ("invoice_no", "stock_code", "line_id", "order_date")
GOLD_NON_NEGATIVE_COLUMNS = tuple(c for c in FIGURE_COLUMNS if c != "net_revenue")
"""Every gold figure but net revenue, which is negative on a day whose refunds exceed its sales."""


def schema_outcomes(
    model: type[pa.DataFrameModel], frame: DataFrame, day_column: str | Column | None, days: Sequence
) -> OutcomesByDay:
    """Judge each day's rows against a pandera model: its structure, then its column constraints.

    `day_column` may also be an expression giving each row's partition key (an hour's key).
    Without a `day_column`, all rows are judged together as the one day in `days` (a snapshot
    or a dimension checked once per run). Each outcome's `observed["rows"]` counts the day's rows
    (absent when the structure is wrong).

    pandera's PySpark backend checks the structure (columns, types, no extra columns); a
    structural error fails every day. The model's data constraints (nullability and its checks)
    are then evaluated in one Spark aggregation grouped by day, instead of pandera's one Spark
    job per constraint, so each day gets its own violation counts at the cost of one job.
    """
    version = schema_version(model)
    structure = _structure_errors(model, frame)
    if structure:
        failed = CheckOutcome(
            False, _describe_errors(model, structure), {"schema_version": version, "errors": structure}
        )
        return dict.fromkeys(days, failed)
    constraints = model_constraints(model)
    day_key = (
        F.col(day_column) if isinstance(day_column, str) else day_column if day_column is not None else F.lit(days[0])
    )
    counts_by_day = {
        row["_day"]: row.asDict()
        for row in frame.groupBy(day_key.alias("_day"))
        .agg(
            F.count("*").alias("_rows"), *(F.count_if(violation).alias(name) for name, violation in constraints.items())
        )
        .collect()
    }
    outcomes = {}
    for day in days:
        counts = counts_by_day.get(day, {})
        violated = [name for name in constraints if counts.get(name)]
        errors = [
            {"level": "DATA", "column": name.split(":")[0], "check": name.split(":")[1], "rows": counts[name]}
            for name in violated
        ]
        sample = ()
        if violated:
            any_violation = functools.reduce(operator.or_, (constraints[name] for name in violated))
            day_rows = frame.where((day_key == F.lit(day)) & any_violation)
            sample = jsonable_rows(day_rows.limit(SAMPLE_ROWS).collect())
        rows = counts.get("_rows", 0)
        summary = _describe_errors(model, errors) if errors else f"{rows} row(s) conform to {model.__name__}"
        observed = {"schema_version": version, "rows": rows, "errors": errors}
        outcomes[day] = CheckOutcome(not errors, summary, observed, {}, sample)
    return outcomes


def _structure_errors(model: type[pa.DataFrameModel], frame: DataFrame) -> list[dict]:
    """pandera's structural errors: missing, extra or mistyped columns (no Spark job: nulls and checks come later).

    A crash of the validator counts as one error (pandera raises instead of reporting on some
    type mismatches, e.g. an integer column where the model has a decimal).
    """
    schema = model.to_schema()
    structure = schema.update_columns({name: {"nullable": True, "checks": []} for name in schema.columns})
    try:
        with config_context(validation_depth=ValidationDepth.SCHEMA_ONLY):
            report = structure.validate(frame).pandera.errors
    except Exception as error:  # noqa: BLE001 - any validator failure is a failed schema check, not a crash
        return [{"level": "SCHEMA", "column": "", "check": "validation", "error": f"{type(error).__name__}: {error}"}]
    return [
        {
            "level": level,
            "column": str(e.get("column", "")),
            "check": str(e.get("check", "")),
            "error": str(e.get("error", "")),
        }
        for level, by_kind in dict(report).items()
        for errors in by_kind.values()
        for e in errors
    ]


def _describe_errors(model: type[pa.DataFrameModel], errors: list[dict]) -> str:
    failed = "; ".join(
        f"{error['column'] or 'table'}: {error['check']}" + (f" ({error['rows']} row(s))" if "rows" in error else "")
        for error in errors[:5]
    )
    return f"{len(errors)} violation(s) of {model.__name__}: {failed}"


def model_constraints(model: type[pa.DataFrameModel]) -> dict[str, Column]:
    """Each data constraint of a pandera model as a Spark condition that is true on a violating row.

    Named `column:check`, e.g. `line_type:isin`. Covers nullability and the checks the project's
    models use; a model using any other check fails here, loudly, rather than going unchecked.
    """
    constraints = {}
    for name, column in model.to_schema().columns.items():
        value = F.col(name)
        if not column.nullable:
            constraints[f"{name}:not_nullable"] = value.isNull()
        for check in column.checks:
            constraints[f"{name}:{check.name}"] = value.isNotNull() & _violation(value, check.name, check.statistics)
    return constraints


def _violation(value: Column, check: str, stats: dict) -> Column:
    if check == "greater_than_or_equal_to":
        return value < F.lit(stats["min_value"])
    if check == "greater_than":
        return value <= F.lit(stats["min_value"])
    if check == "less_than_or_equal_to":
        return value > F.lit(stats["max_value"])
    if check == "less_than":
        return value >= F.lit(stats["max_value"])
    if check == "in_range":
        below = value < stats["min_value"] if stats.get("include_min", True) else value <= stats["min_value"]
        above = value > stats["max_value"] if stats.get("include_max", True) else value >= stats["max_value"]
        return below | above
    if check == "isin":
        return ~value.isin(list(stats["allowed_values"]))
    if check == "str_matches":
        pattern = stats["pattern"]
        return ~value.rlike(pattern if pattern.startswith("^") else "^" + pattern)
    if check == "str_length":
        length = F.length(value)
        if stats.get("exact_value") is not None:
            return length != stats["exact_value"]
        too_short = length < stats["min_value"] if stats.get("min_value") is not None else F.lit(False)
        too_long = length > stats["max_value"] if stats.get("max_value") is not None else F.lit(False)
        return too_short | too_long
    raise NotImplementedError(f"pandera check {check} has no Spark translation in model_constraints")


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

    `deliveries` are the days' `landing_deliveries` rows (see `ecom_assets.trading_calendar`).
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


def conservation_outcomes(
    days: Sequence[date], counts_by_day: Mapping[date, Mapping[str, int]], total: str, parts: Sequence[str]
) -> OutcomesByDay:
    """A day passes when its `total` count equals the sum of its `parts` counts: no row lost or invented."""
    outcomes = {}
    for day in days:
        counts = {name: int(counts_by_day.get(day, {}).get(name, 0)) for name in (total, *parts)}
        accounted = sum(counts[name] for name in parts)
        equation = f"{total} {counts[total]} {'=' if accounted == counts[total] else '≠'} " + " + ".join(
            f"{name} {counts[name]}" for name in parts
        )
        outcomes[day] = CheckOutcome(accounted == counts[total], equation, counts, {total: accounted})
    return outcomes


class _Facet(NamedTuple):
    """One facet of a check with several: its count's name, what it counts, and where its failing rows are."""

    name: str
    counts: str
    rows: DataFrame
    failing: Column


def silver_integrity_outcomes(silver: DataFrame, days: Sequence[date]) -> OutcomesByDay:
    """Silver's line integrity per landing day, over the stored rows of those days: one verdict, four facets.

    The facets, each counted in `observed` and held to 0 in `expected`: no row with a null
    invoice_no, stock_code, line_id or order_date (`null_key_rows`); no line_id occurring more than
    once, counted on the first day it occurs (`repeated_line_ids`); no sale line with quantity or unit
    price ≤ 0 and no sale order totalling ≤ 0 (`non_positive_sale_lines`, `non_positive_sale_orders`).
    The summary names every facet that failed; the sample shows rows of the first.
    """
    any_key_null = F.greatest(*(F.col(c).isNull() for c in SILVER_KEY_COLUMNS))
    is_sale = F.col("line_type") == "sale"
    bad_sale_line = is_sale & ((F.col("quantity") <= 0) | (F.col("unit_price") <= 0))
    per_day = {
        row["landing_date"]: row
        for row in silver.groupBy("landing_date")
        .agg(
            F.count("*").alias("rows"),
            F.count_if(any_key_null).alias("null_key_rows"),
            F.count_if(is_sale).alias("sale_lines"),
            F.count_if(bad_sale_line).alias("non_positive_sale_lines"),
        )
        .collect()
    }
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
        figures = per_day[day].asDict() if day in per_day else {}
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


def funnel_consistency(figures: Mapping[str, Any]) -> CheckOutcome:
    """Whether a window's funnel figures agree with each other (see `transforms.clickstream.funnel`).

    Each step's sessions ≤ sessions, bot sessions ≤ sessions, purchases ≥ purchase sessions, and
    revenue > 0 exactly when there are purchases (a purchase's price is > 0).
    """
    sessions = figures["sessions"]
    broken = [
        *(
            f"{step} {figures[step]} > sessions {sessions}"
            for step in ("view_sessions", "cart_sessions", "purchase_sessions", "bot_sessions")
            if figures[step] > sessions
        ),
        *(
            [f"purchases {figures['purchases']} < purchase_sessions {figures['purchase_sessions']}"]
            if figures["purchases"] < figures["purchase_sessions"]
            else []
        ),
        *(
            [f"revenue {figures['revenue']} with {figures['purchases']} purchase(s)"]
            if (figures["revenue"] > 0) != (figures["purchases"] > 0)
            else []
        ),
    ]
    observed = {
        name: jsonable(figures[name])
        for name in (
            "sessions",
            "view_sessions",
            "cart_sessions",
            "purchase_sessions",
            "purchases",
            "revenue",
            "bot_sessions",
        )
    }
    if broken:
        return CheckOutcome(False, "; ".join(broken), observed)
    return CheckOutcome(True, f"consistent: {sessions} session(s), {figures['purchases']} purchase(s)", observed)
