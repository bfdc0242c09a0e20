"""Personal data kept out of what people see beside the tables: metadata previews, check samples, the report.

The tables hold customers' e-mail addresses and phone numbers (the feeds deliver them, and
Unity Catalog's grants govern who reads them); the Dagster event log, the UI and the steward
report are read more widely, so what they show of a record is masked here.
"""

import re
from collections.abc import Mapping
from typing import Any

PERSONAL_COLUMN = re.compile(r"e_?mail|phone|mobile", re.I)
"""Column names whose values are personal: e-mail addresses and phone numbers."""
_EMAIL = re.compile(r"([A-Za-z0-9._%+'-])[A-Za-z0-9._%+'-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")


def masked(column: str, value: Any) -> Any:
    """The value as it may be shown: a personal column's value masked (`a***@example.com`, `***58`), and any
    e-mail address inside other text masked too; other values as they are."""
    if value is None:
        return None
    if PERSONAL_COLUMN.search(column):
        text = str(value)
        if "@" in text:
            return _EMAIL.sub(r"\1***@\2", text)
        digits = re.sub(r"\D", "", text)
        return f"***{digits[-2:]}" if len(digits) > 2 else "***"
    if isinstance(value, str) and "@" in value:
        return _EMAIL.sub(r"\1***@\2", value)
    return value


def masked_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record (column -> value) with every personal value masked (see `masked`)."""
    return {column: masked(column, value) for column, value in record.items()}
