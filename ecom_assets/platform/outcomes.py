"""What a data-quality check found for one day: verdict, figures, expectations and failing rows."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

SAMPLE_ROWS = 5
"""How many failing rows a check result carries for the steward."""


@dataclass(frozen=True)
class CheckOutcome:
    """One check's verdict on one day's partition.

    `summary` is the one line a steward reads first; `observed` holds the measured figures,
    `expected` what they were held against, and `failing_sample` up to `SAMPLE_ROWS` offending
    rows (as column → value mappings). All values are JSON-serializable.
    """

    passed: bool
    summary: str
    observed: Mapping[str, Any] = field(default_factory=dict)
    expected: Mapping[str, Any] = field(default_factory=dict)
    failing_sample: tuple[Mapping[str, Any], ...] = ()


OutcomesByDay = dict[date, CheckOutcome]


def jsonable(value: Any) -> Any:
    """A JSON-friendly form of a Spark row value: dates and decimals as text, numbers as numbers."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def jsonable_rows(rows: Iterable[Any]) -> tuple[dict[str, Any], ...]:
    """Spark rows as plain dicts of JSON-friendly values."""
    return tuple({name: jsonable(value) for name, value in row.asDict().items()} for row in rows)


def withheld_day_outcome(table: str, day_status: str, observed: Mapping[str, Any]) -> CheckOutcome:
    """A reconciliation's verdict on a day whose figures `table` withholds (not complete): nothing to reconcile."""
    summary = f"nothing to reconcile: {table} withholds the day's figures, the day is {day_status}"
    return CheckOutcome(True, summary, {name: jsonable(value) for name, value in observed.items()}, {})
