"""The pages' rules on tiny frames: a day not published is never a zero, averages and growth only count published
days, weeks say how many days they hold, cohorts are shares of their first month, and table text stays inert."""

from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from ecom_assets.dashboards.figures import (
    NO_GOLD_ROW,
    QUARANTINED,
    cohort_retention,
    day_calendar,
    last_published_day,
    period_growth,
    trailing_averages,
    weekly_totals,
)
from ecom_assets.dashboards.text import markdown_table, plain
from ecom_assets.sales.tables import SALES_METRICS

START = date(2011, 3, 1)


def gold(rows: list[tuple[date, str, str | None]]) -> pd.DataFrame:
    """sales_metrics rows (day, day_status, net revenue); the other figures follow the net revenue."""
    frame = pd.DataFrame(rows, columns=["order_date", "day_status", "net_revenue"])
    frame["net_revenue"] = [Decimal(v) if v is not None else None for v in frame["net_revenue"]]
    frame["order_count"] = [10 if v is not None else None for v in frame["net_revenue"]]
    return frame


def no_quarantine() -> pd.DataFrame:
    return pd.DataFrame(columns=["asset", "partition_date", "reason", "run_id", "quarantined_at"])


def test_a_withheld_quarantined_or_missing_day_has_no_figure_and_says_why():
    daily = gold(
        [
            (START, "complete", "100.00"),
            (START + timedelta(1), "missing_delivery", None),
            (START + timedelta(2), "complete", "50.00"),  # a stored row kept from before its quarantine
            (START + timedelta(3), "closed", "0.00"),
        ]
    )
    quarantined = pd.DataFrame(
        [
            {"asset": SALES_METRICS.full_name, "partition_date": START + timedelta(2), "reason": "check x failed"},
            {"asset": "ecommerce_catalog.other.table", "partition_date": START, "reason": "elsewhere"},
        ]
    )

    calendar = day_calendar(START, START + timedelta(4), daily, quarantined)

    assert calendar["status"].tolist() == ["complete", "missing_delivery", QUARANTINED, "closed", NO_GOLD_ROW]
    assert calendar["published"].tolist() == [True, False, False, True, False]
    assert calendar["net_revenue"].tolist()[0] == Decimal("100.00")
    assert all(value is None for value in calendar["net_revenue"].tolist()[1:3] + calendar["net_revenue"].tolist()[4:])
    assert calendar["note"][2] == "quarantined: check x failed"
    assert calendar["net_revenue"][3] == Decimal("0.00"), "a closed day's zero is the truth and is shown"


def test_trailing_averages_count_only_published_days_and_need_half_the_window():
    days = [(START + timedelta(i), "complete", "70.00") for i in range(10)]
    days[8] = (START + timedelta(8), "missing_delivery", None)
    calendar = trailing_averages(day_calendar(START, START + timedelta(9), gold(days), no_quarantine()), "net_revenue")

    assert calendar["net_revenue_avg_7d"].isna().tolist()[:3] == [True, True, True], "fewer than 3.5 of 7 days"
    assert calendar["net_revenue_avg_7d"][3] == 70.0
    assert calendar["net_revenue_days_7d"][9] == 6 and calendar["net_revenue_avg_7d"][9] == 70.0, "not (6×70)/7"
    assert calendar["net_revenue_avg_28d"].isna().all(), "10 days are fewer than half of 28"


def test_growth_compares_whole_periods_and_refuses_when_a_day_is_missing():
    rows = [(START + timedelta(i), "complete", "100.00" if i < 7 else "125.00") for i in range(14)]
    calendar = day_calendar(START, START + timedelta(13), gold(rows), no_quarantine())

    growth = period_growth(calendar, START + timedelta(13), "net_revenue", 7, 7, "week over week")

    assert growth.current == Decimal("875.00") and growth.previous == Decimal("700.00")
    assert growth.rate == pytest.approx(0.25) and growth.text == "+25.0%"
    rows[3] = (START + timedelta(3), "unreadable_delivery", None)
    holed = day_calendar(START, START + timedelta(13), gold(rows), no_quarantine())
    refused = period_growth(holed, START + timedelta(13), "net_revenue", 7, 7, "week over week")
    assert refused.rate is None and refused.missing_days == (START + timedelta(3),)
    assert refused.text == "n/a" and refused.reason == "Week over week: n/a, 1 day(s) of the two periods not published"
    year = period_growth(calendar, START + timedelta(13), "net_revenue", 7, 364, "year over year")
    assert year.rate is None and len(year.missing_days) == 7, "a year before the calendar is not published"
    assert last_published_day(holed) == START + timedelta(13)


def test_weekly_totals_say_how_many_days_they_hold_and_compare_only_whole_weeks():
    monday = date(2011, 3, 7)
    rows = [(monday - timedelta(2) + timedelta(i), "complete", "10.00") for i in range(16)]
    rows[12] = (rows[12][0], "missing_delivery", None)
    calendar = day_calendar(rows[0][0], rows[-1][0], gold(rows), no_quarantine())

    weeks = weekly_totals(calendar, "net_revenue")

    assert weeks["week"].tolist() == [monday - timedelta(7), monday, monday + timedelta(7)]
    assert weeks["published_days"].tolist() == [2, 7, 6]
    assert weeks["total"].tolist() == [20.0, 70.0, 60.0]
    assert weeks["week_over_week"].isna().all(), "no two neighbouring weeks are both whole"


def test_cohort_retention_is_each_months_share_of_its_first_month():
    rows = pd.DataFrame(
        {
            "cohort_year": [2011] * 4,
            "cohort_month": [1, 1, 1, 2],
            "months_after": [0, 1, 2, 0],
            "customers": [40, 10, 4, 25],
        }
    )

    retention = cohort_retention(rows)

    assert retention["cohort"].tolist() == ["2011-01", "2011-01", "2011-01", "2011-02"]
    assert retention["retention"].tolist() == [1.0, 0.25, 0.1, 1.0]


def test_text_from_the_tables_renders_as_text_not_as_markdown():
    hostile = "bad [link](http://evil.example/x) ![img](http://evil.example/p.png) **bold** | cell\nline"

    text = plain(hostile)

    assert "](" not in text.replace("\\](", "").replace("\\]\\(", "")
    assert "\\[link\\]\\(http" in text and "\\!\\[img\\]" in text and "\n" not in text
    table = markdown_table(
        pd.DataFrame({"run": ["[ab12](http://127.0.0.1:3000/runs/x)"], "reason": [hostile]}), markdown_columns=("run",)
    )
    assert "[ab12](http://127.0.0.1:3000/runs/x)" in table and "\\| cell" in table
