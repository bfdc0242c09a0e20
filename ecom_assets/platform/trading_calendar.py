"""The trading calendar: on which days a sales file is expected, and what a day without one means.

A day's delivery is one of:
- `delivered`: landing files arrived and every one could be read (a header-only file is a day without sales);
- `closed`: no file, and the calendar says the shop was closed, so zero sales is the truth;
- `awaited`: no file yet, on a trading day whose delivery is not due yet;
- `missing`: no file on a trading day past its delivery cutoff;
- `unreadable`: files arrived, but at least one could not be read (it waits in quarantine).
Only `delivered` and `closed` days have complete figures; gold withholds the others.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import yaml

TRADING_CALENDAR_FILE = Path(__file__).resolve().parent / "config" / "trading_calendar.yaml"
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

DELIVERED = "delivered"
CLOSED = "closed"
AWAITED = "awaited"
MISSING = "missing"
UNREADABLE = "unreadable"


class TradingCalendarError(ValueError):
    """The trading calendar file is missing, unreadable or invalid; the message names the entry."""


@dataclass(frozen=True)
class Shutdown:
    """A period the shop is closed, both ends included."""

    name: str
    start: date
    end: date


@dataclass(frozen=True)
class TradingCalendar:
    """Closed weekdays, named closed days and shutdowns, and when a trading day's file is due."""

    closed_weekdays: frozenset[int]
    closed_days: Mapping[date, str]
    shutdowns: tuple[Shutdown, ...]
    delivery_cutoff: timedelta

    def closure(self, day: date) -> str | None:
        """Why the shop is closed on `day` (e.g. "Saturday", "Good Friday"), None on a trading day."""
        if day in self.closed_days:
            return self.closed_days[day]
        for shutdown in self.shutdowns:
            if shutdown.start <= day <= shutdown.end:
                return shutdown.name
        if day.weekday() in self.closed_weekdays:
            return WEEKDAYS[day.weekday()]
        return None

    def delivery_due(self, day: date) -> datetime:
        """When the day's file must have arrived (UTC): the start of the day plus the cutoff."""
        return datetime.combine(day, time(), tzinfo=UTC) + self.delivery_cutoff

    def delivery_status(self, day: date, files: int, readable_files: int, now: datetime) -> str:
        """The day's delivery state (see the module) from its landing files at `now`."""
        if files and readable_files == files:
            return DELIVERED
        if files:
            return UNREADABLE
        if self.closure(day) is not None:
            return CLOSED
        return MISSING if now >= self.delivery_due(day) else AWAITED


def load_trading_calendar(path: Path = TRADING_CALENDAR_FILE) -> TradingCalendar:
    """Read and validate a trading calendar YAML file (see `ecom_assets/platform/config/trading_calendar.yaml`)."""
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise TradingCalendarError(f"{path}: cannot be read as YAML: {error}") from error
    if not isinstance(document, dict):
        raise TradingCalendarError(f"{path}: expected a mapping")
    if document.get("timezone", "UTC") != "UTC":
        raise TradingCalendarError(f"{path}: 'timezone' must be UTC, the zone of the daily partitions")
    cutoff = document.get("delivery_cutoff_hours")
    if not isinstance(cutoff, int) or isinstance(cutoff, bool) or not 0 <= cutoff <= 24 * 7:
        raise TradingCalendarError(f"{path}: 'delivery_cutoff_hours' must be a whole number of hours (0..168)")
    weekdays = document.get("closed_weekdays") or []
    if not isinstance(weekdays, list) or any(day not in WEEKDAYS for day in weekdays):
        raise TradingCalendarError(f"{path}: 'closed_weekdays' must list weekday names, e.g. [Saturday]")
    closed_days = {}
    for number, entry in enumerate(document.get("closed_days") or [], start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("date"), date) or not _named(entry):
            raise TradingCalendarError(f"{path}: closed day {number} needs a 'date' (YYYY-MM-DD) and a 'name'")
        if entry["date"] in closed_days:
            raise TradingCalendarError(f"{path}: closed day {entry['date']} is listed twice")
        closed_days[entry["date"]] = entry["name"].strip()
    shutdowns = []
    for number, entry in enumerate(document.get("shutdowns") or [], start=1):
        start, end = (entry.get("start"), entry.get("end")) if isinstance(entry, dict) else (None, None)
        if not _named(entry) or not isinstance(start, date) or not isinstance(end, date) or end < start:
            raise TradingCalendarError(
                f"{path}: shutdown {number} needs a 'name' and dates 'start' <= 'end' (YYYY-MM-DD)"
            )
        shutdowns.append(Shutdown(entry["name"].strip(), start, end))
    return TradingCalendar(
        closed_weekdays=frozenset(WEEKDAYS.index(day) for day in weekdays),
        closed_days=closed_days,
        shutdowns=tuple(shutdowns),
        delivery_cutoff=timedelta(hours=cutoff),
    )


def _named(entry: object) -> bool:
    return isinstance(entry, dict) and isinstance(entry.get("name"), str) and bool(entry["name"].strip())
