"""The trading calendar: on which days a sales file is expected, and what a day without one means.

A day's delivery is one of:
- `delivered`: landing files arrived and every one could be read (a header-only file is a day without sales);
- `closed`: no file, and the calendar says the shop was closed, so zero sales is the truth;
- `awaited`: no file yet, on a trading day whose delivery is not due yet;
- `missing`: no file on a trading day past its delivery cutoff;
- `unreadable`: files arrived, but at least one could not be read (it waits in quarantine).
Only `delivered` and `closed` days have complete figures; gold withholds the others.
"""

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import holidays
import yaml
from dateutil.easter import easter

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
class AnnualShutdown:
    """A period the shop closes every year, from a month and day to a month and day (into the next year when the
    end comes first), for the years no listed shutdown covers."""

    name: str
    start: tuple[int, int]
    end: tuple[int, int]

    def covers(self, day: date) -> bool:
        """Whether `day` falls in this year's (or the period begun last year's) shutdown."""
        key = (day.month, day.day)
        if self.start <= self.end:
            return self.start <= key <= self.end
        return key >= self.start or key <= self.end

    def starts_in(self, day: date) -> int:
        """The year of the shutdown period `day` falls in (the year it started)."""
        return day.year if self.start <= self.end or (day.month, day.day) >= self.start else day.year - 1


@dataclass(frozen=True)
class TradingCalendar:
    """Closed weekdays, named closed days, public holidays, shutdowns, and when a trading day's file is due."""

    closed_weekdays: frozenset[int]
    closed_days: Mapping[date, str]
    shutdowns: tuple[Shutdown, ...]
    delivery_cutoff: timedelta
    public_holidays: tuple[str, str] | None = None
    """(country, subdivision) whose public holidays close the shop every year (the `holidays` package's)."""
    closed_on_easter_sunday: bool = False
    annual_shutdown: AnnualShutdown | None = None

    def closure(self, day: date) -> str | None:
        """Why the shop is closed on `day` (e.g. "Saturday", "Good Friday"), None on a trading day.

        A listed closed day wins, then a public holiday, Easter Sunday, a listed shutdown, the annual
        shutdown (in years no listed shutdown starts), and last the closed weekdays.
        """
        if day in self.closed_days:
            return self.closed_days[day]
        if self.public_holidays and (holiday := _public_holidays(*self.public_holidays, day.year).get(day)):
            return holiday
        if self.closed_on_easter_sunday and day == easter(day.year):
            return "Easter Sunday"
        for shutdown in self.shutdowns:
            if shutdown.start <= day <= shutdown.end:
                return shutdown.name
        annual = self.annual_shutdown
        if annual and annual.covers(day) and not self._listed_shutdown_in(annual.starts_in(day)):
            return annual.name
        if day.weekday() in self.closed_weekdays:
            return WEEKDAYS[day.weekday()]
        return None

    def _listed_shutdown_in(self, year: int) -> bool:
        return any(shutdown.start.year == year for shutdown in self.shutdowns)

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
    holiday_region = document.get("public_holidays")
    if holiday_region is not None:
        if not isinstance(holiday_region, dict) or not isinstance(holiday_region.get("country"), str):
            raise TradingCalendarError(f"{path}: 'public_holidays' needs a 'country' (e.g. GB) and a 'subdivision'")
        try:
            holidays.country_holidays(holiday_region["country"], subdiv=holiday_region.get("subdivision"))
        except NotImplementedError as error:
            raise TradingCalendarError(f"{path}: 'public_holidays': {error}") from None
    annual = document.get("annual_shutdown")
    if annual is not None and not _named(annual):
        raise TradingCalendarError(f"{path}: 'annual_shutdown' needs a 'name', a 'start' and an 'end' (MM-DD)")
    region = (holiday_region["country"], holiday_region.get("subdivision") or "") if holiday_region else None
    shutdown = (
        AnnualShutdown(
            annual["name"].strip(),
            _month_day(annual.get("start"), path, "start"),
            _month_day(annual.get("end"), path, "end"),
        )
        if annual
        else None
    )
    return TradingCalendar(
        closed_weekdays=frozenset(WEEKDAYS.index(day) for day in weekdays),
        closed_days=closed_days,
        shutdowns=tuple(shutdowns),
        delivery_cutoff=timedelta(hours=cutoff),
        public_holidays=region,
        closed_on_easter_sunday=bool(document.get("closed_on_easter_sunday", False)),
        annual_shutdown=shutdown,
    )


@functools.cache
def _public_holidays(country: str, subdivision: str, year: int) -> dict[date, str]:
    """A year's public holidays of a country's subdivision, by date (the `holidays` package's)."""
    return dict(holidays.country_holidays(country, subdiv=subdivision or None, years=year))


def _month_day(text: object, path: Path, field: str) -> tuple[int, int]:
    try:
        month, day = (int(part) for part in str(text).split("-"))
        date(2000, month, day)  # a leap year: 02-29 is allowed
    except (TypeError, ValueError):
        raise TradingCalendarError(f"{path}: annual_shutdown '{field}' must be MM-DD") from None
    return month, day


def _named(entry: object) -> bool:
    return isinstance(entry, dict) and isinstance(entry.get("name"), str) and bool(entry["name"].strip())
