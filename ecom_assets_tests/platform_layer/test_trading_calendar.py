"""The trading calendar: which days expect a delivery, and what a day without a file is."""

from datetime import UTC, date, datetime, timedelta

import pytest

from ecom_assets.platform.trading_calendar import TradingCalendarError, load_trading_calendar
from ecom_assets.sales.checks import delivery_outcomes

CALENDAR = """
timezone: UTC
delivery_cutoff_hours: 27
closed_weekdays: [Saturday]
closed_days:
  - {date: 2011-04-22, name: Good Friday}
shutdowns:
  - {name: Christmas shutdown, start: 2010-12-24, end: 2011-01-03}
"""
MONDAY, SATURDAY, GOOD_FRIDAY, BOXING_DAY = date(2011, 1, 10), date(2011, 1, 8), date(2011, 4, 22), date(2010, 12, 26)


@pytest.fixture
def calendar(tmp_path):
    path = tmp_path / "calendar.yaml"
    path.write_text(CALENDAR)
    return load_trading_calendar(path)


def test_closed_days_are_named_by_why_the_shop_is_closed(calendar):
    assert calendar.closure(SATURDAY) == "Saturday"
    assert calendar.closure(GOOD_FRIDAY) == "Good Friday"
    assert calendar.closure(BOXING_DAY) == "Christmas shutdown"
    assert calendar.closure(MONDAY) is None


def test_a_trading_day_without_a_file_is_awaited_until_its_cutoff_then_missing(calendar):
    due = calendar.delivery_due(MONDAY)
    assert due == datetime(2011, 1, 11, 3, tzinfo=UTC)

    assert calendar.delivery_status(MONDAY, 0, 0, due - timedelta(minutes=1)) == "awaited"
    assert calendar.delivery_status(MONDAY, 0, 0, due) == "missing"
    assert calendar.delivery_status(SATURDAY, 0, 0, due) == "closed"
    assert calendar.delivery_status(SATURDAY, 1, 1, due) == "delivered", "a file on a closed day still counts"
    assert calendar.delivery_status(MONDAY, 2, 0, due) == "unreadable"
    assert calendar.delivery_status(MONDAY, 2, 1, due) == "unreadable", "one unreadable file leaves the day incomplete"


def test_the_delivery_check_fails_only_a_missing_or_unreadable_delivery(calendar):
    now = datetime(2012, 1, 1, tzinfo=UTC)
    cases = {MONDAY: (0, 0), SATURDAY: (0, 0), MONDAY + timedelta(days=1): (1, 0), MONDAY + timedelta(days=2): (1, 1)}
    deliveries = {
        day: {
            "delivery_status": calendar.delivery_status(day, files, files - rejected, now),
            "closure": calendar.closure(day),
            "files_delivered": files,
            "files_rejected": rejected,
            "delivery_due": calendar.delivery_due(day),
        }
        for day, (files, rejected) in cases.items()
    }

    outcomes = delivery_outcomes(deliveries)

    assert {day: outcome.passed for day, outcome in outcomes.items()} == {
        MONDAY: False,
        SATURDAY: True,
        MONDAY + timedelta(days=1): True,
        MONDAY + timedelta(days=2): False,
    }
    assert (
        outcomes[MONDAY].summary
        == "missing delivery: no file for this trading day by its cutoff 2011-01-11T03:00+00:00"
    )
    assert outcomes[SATURDAY].summary == "closed (Saturday): no delivery expected, zero sales"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("delivery_cutoff_hours: 27", "delivery_cutoff_hours: soon"), "delivery_cutoff_hours"),
        (("[Saturday]", "[Caturday]"), "closed_weekdays"),
        (("{date: 2011-04-22, name: Good Friday}", "{date: 22/04/2011, name: Good Friday}"), "closed day 1"),
        (("start: 2010-12-24, end: 2011-01-03", "start: 2011-01-03, end: 2010-12-24"), "shutdown 1"),
        (("timezone: UTC", "timezone: Europe/London"), "timezone"),
    ],
)
def test_a_bad_calendar_is_refused_with_the_entry_named(tmp_path, change, message):
    path = tmp_path / "calendar.yaml"
    path.write_text(CALENDAR.replace(*change))

    with pytest.raises(TradingCalendarError, match=message):
        load_trading_calendar(path)


def test_the_shipped_calendar_loads_and_closes_saturdays_and_the_uk_bank_holidays():
    shipped = load_trading_calendar()
    assert shipped.closure(SATURDAY) == "Saturday"
    assert shipped.closure(date(2011, 8, 29)) == "Late Summer Bank Holiday"
    assert shipped.closure(date(2011, 4, 24)) == "Easter Sunday"
    assert shipped.closure(date(2011, 1, 2)) == "Christmas shutdown 2010"


@pytest.mark.parametrize(
    "day, closure",
    [
        (date(2026, 5, 4), "May Day"),
        (date(2026, 4, 5), "Easter Sunday"),
        (date(2026, 12, 29), "Christmas shutdown"),
        (date(2027, 1, 4), None),
        (date(2031, 8, 25), "Late Summer Bank Holiday"),
        (date(2026, 12, 23), None),
    ],
)
def test_the_shipped_calendar_knows_every_later_year(day, closure):
    assert load_trading_calendar().closure(day) == closure
