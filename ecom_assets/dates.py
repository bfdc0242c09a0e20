"""Inclusive ranges of calendar days, as the partitions of a run cover them."""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class DateRange:
    """The days from `start` to `end`, both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"date range ends ({self.end}) before it starts ({self.start})")

    def days(self) -> list[date]:
        """Every day of the range, in order."""
        return list(iter(self))

    def __iter__(self) -> Iterator[date]:
        day = self.start
        while day <= self.end:
            yield day
            day += timedelta(days=1)

    def __len__(self) -> int:
        return (self.end - self.start).days + 1

    def __str__(self) -> str:
        return str(self.start) if self.start == self.end else f"{self.start}...{self.end}"


def date_in_path(pattern: re.Pattern[str], path: str) -> date | None:
    """The date whose year, month and day are the pattern's three groups in `path` (`\\` read as `/`); None when
    the pattern does not match or names no real day."""
    match = pattern.search(path.replace("\\", "/"))
    if not match:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None
