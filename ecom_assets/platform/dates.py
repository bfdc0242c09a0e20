"""Inclusive ranges of calendar days, as the partitions of a run cover them."""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta


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


HOUR_KEY_FORMAT = "%Y-%m-%d-%H:%M"
"""An hourly partition's key, e.g. `2019-10-01-00:00` (Dagster's hourly partitions)."""


@dataclass(frozen=True)
class HourRange:
    """The UTC hours from `start` (an hour's start) up to `end` (exclusive), as the partitions of a run cover them."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.end <= self.start or self.start != self.start.replace(minute=0, second=0, microsecond=0):
            raise ValueError(f"{self.start} ... {self.end} is not a range of whole hours")

    def hours(self) -> list[datetime]:
        """The start of every hour of the range, in order."""
        count = int((self.end - self.start) / timedelta(hours=1))
        return [self.start + timedelta(hours=offset) for offset in range(count)]

    def keys(self) -> list[str]:
        """The partition key of every hour of the range, in order."""
        return [hour_key(hour) for hour in self.hours()]

    def days(self) -> DateRange:
        """The calendar days the range touches."""
        return DateRange(self.start.date(), (self.end - timedelta(microseconds=1)).date())

    def __len__(self) -> int:
        return len(self.hours())

    def __str__(self) -> str:
        keys = self.keys()
        return keys[0] if len(keys) == 1 else f"{keys[0]}...{keys[-1]}"


def hour_key(hour: datetime) -> str:
    """The partition key of the hour starting at `hour`."""
    return hour.strftime(HOUR_KEY_FORMAT)
