"""Column expressions every area's transforms use: trimmed text, first-match cases, line ids and outcomes."""

from pyspark.sql import Column
from pyspark.sql import functions as F


def blank_to_null(column: Column) -> Column:
    """Trimmed text; null when empty."""
    trimmed = F.trim(column)
    return F.when(trimmed == "", None).otherwise(trimmed)


def first_match(cases: list[tuple[Column, Column | str]]) -> Column:
    """CASE WHEN over (condition, value) pairs in order; null when none matches."""
    expression = None
    for condition, value in cases:
        expression = F.when(condition, value) if expression is None else expression.when(condition, value)
    return expression


def line_id(*fields: Column) -> Column:
    """A deterministic id of a source line: SHA-256 over its (normalized) fields, so duplicates share it."""
    return F.sha2(F.concat_ws("\u001f", *(F.coalesce(field, F.lit("")) for field in fields)), 256)


def line_outcome() -> Column:
    """What became of a parsed row: `kept` in silver, `duplicate`, or its rejection reason."""
    return F.coalesce(F.col("rejection_reason"), F.when(F.col("delivery_rank") > 1, F.lit("duplicate")), F.lit("kept"))


CORRUPT_RECORD = "corrupt_record"
"""Holds the raw line when the CSV parser could not split it into the source columns."""
