"""The checks every table can use: its pandera schema per day, and row conservation; pure PySpark, no Dagster.

Each function judges every day of a run and returns a `CheckOutcome` per day, so a range run
reports one result per partition.
"""

import functools
import operator
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import pandera.pyspark as pa
from pandera.config import ValidationDepth, config_context
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ecom_assets.platform.outcomes import SAMPLE_ROWS, CheckOutcome, OutcomesByDay, jsonable_rows
from ecom_assets.platform.schemas import schema_version


def schema_outcomes(
    model: type[pa.DataFrameModel],
    frame: DataFrame,
    day_column: str | Column | None,
    days: Sequence,
    counts_by_day: Mapping[Any, Mapping[str, int]] | None = None,
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
    `counts_by_day` gives those counts per day (`schema_counts`) when the caller has computed them
    in a job of its own, with other figures.
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
    if counts_by_day is None:
        counts_by_day = day_counts(frame, day_key, schema_counts(model))
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
        rows = counts.get(ROWS, 0)
        summary = _describe_errors(model, errors) if errors else f"{rows} row(s) conform to {model.__name__}"
        observed = {"schema_version": version, "rows": rows, "errors": errors}
        outcomes[day] = CheckOutcome(not errors, summary, observed, {}, sample)
    return outcomes


ROWS = "_rows"
"""The name of a day's row count among `schema_counts`."""


def schema_counts(model: type[pa.DataFrameModel]) -> dict[str, Column]:
    """The aggregations `schema_outcomes` judges a day by: its rows (`ROWS`), and the rows violating each data
    constraint of the model (see `model_constraints`). Each is a count, so a day's is the sum over its parts."""
    return {ROWS: F.count("*"), **{name: F.count_if(violation) for name, violation in model_constraints(model).items()}}


def day_counts(frame: DataFrame, day_key: str | Column, aggregations: Mapping[str, Column]) -> dict[Any, dict]:
    """The named aggregations of each day's rows, in one Spark job: {day: {name: value}} for the days with rows."""
    key = F.col(day_key) if isinstance(day_key, str) else day_key
    grouped = frame.groupBy(key.alias("_day")).agg(*(value.alias(name) for name, value in aggregations.items()))
    return {row["_day"]: {name: row[name] for name in aggregations} for row in grouped.collect()}


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
