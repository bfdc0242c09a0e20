"""What the pages show, from the queries' rows: pure pandas, so the rules are tested without a browser.

The one rule every page keeps: a figure is shown for a day only when the gold table published it
(`complete` or `closed`, and the day is not quarantined). Any other day is drawn as withheld,
with its reason, and never counted as a zero in a total, an average or a growth rate.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pandas as pd

from ecom_assets.sales.tables import SALES_METRICS
from ecom_assets.sales.transforms.gold import FIGURE_COLUMNS, PUBLISHED_DAY_STATUSES

QUARANTINED = "quarantined"
NO_GOLD_ROW = "no_gold_row"
"""A day the gold table holds no row for and no quarantine explains (not built yet)."""
AVERAGE_WINDOWS = (7, 28)
MIN_SHARE_OF_WINDOW = 0.5
"""A trailing average is drawn only where at least half of its window's days are published."""


def day_calendar(
    start: date, end: date, daily: pd.DataFrame, quarantined: pd.DataFrame | None, asset: str = SALES_METRICS.full_name
) -> pd.DataFrame:
    """One row per calendar day from `start` to `end`: `status`, `published`, `note` and the gold figures, which are
    null on every day not published (a quarantined day's stored row, kept from before, is not shown either)."""
    days = pd.DataFrame({"order_date": pd.date_range(start, end, freq="D").date})
    rows = days.merge(daily, on="order_date", how="left") if len(daily) else days.assign(day_status=None)
    for column in FIGURE_COLUMNS:
        if column not in rows:
            rows[column] = None
    reasons = quarantine_reasons(quarantined, asset)
    status, note = [], []
    for day, day_status in zip(rows["order_date"], rows["day_status"], strict=True):
        if day in reasons:
            status.append(QUARANTINED)
            note.append(f"quarantined: {reasons[day]}")
        elif day_status is None or pd.isna(day_status):
            status.append(NO_GOLD_ROW)
            note.append("no gold row: the day has not been built")
        else:
            status.append(day_status)
            note.append("published" if day_status in PUBLISHED_DAY_STATUSES else f"withheld: {day_status}")
    rows["status"] = status
    rows["note"] = note
    rows["published"] = rows["status"].isin(PUBLISHED_DAY_STATUSES)
    for column in FIGURE_COLUMNS:
        rows[column] = rows[column].where(rows["published"], None)
    return rows.drop(columns=["day_status"])


def quarantine_reasons(quarantined: pd.DataFrame | None, asset: str) -> dict[date, str]:
    """The days `logs.quarantined_days` holds for the table `asset` (full name), with their reasons."""
    if quarantined is None or quarantined.empty:
        return {}
    held = quarantined[quarantined["asset"] == asset]
    return dict(zip(held["partition_date"], held["reason"], strict=True))


def trailing_averages(calendar: pd.DataFrame, column: str, windows: tuple[int, ...] = AVERAGE_WINDOWS) -> pd.DataFrame:
    """`calendar` with `<column>_avg_<n>d` (the mean over the published days of the n days ending each day) and
    `<column>_days_<n>d` (how many of them were published); the mean is null where fewer than half were."""
    values = pd.to_numeric(calendar[column].map(_to_float), errors="coerce")
    out = calendar.copy()
    for window in windows:
        published_days = values.notna().rolling(window, min_periods=1).sum().astype(int)
        mean = values.rolling(window, min_periods=1).mean()
        out[f"{column}_days_{window}d"] = published_days
        out[f"{column}_avg_{window}d"] = mean.where(published_days >= window * MIN_SHARE_OF_WINDOW)
    return out


@dataclass(frozen=True)
class Growth:
    """A period's total against an earlier one of the same length; `rate` only when both are wholly published."""

    label: str
    current_start: date
    current_end: date
    current: Decimal | None
    previous: Decimal | None
    rate: float | None
    missing_days: tuple[date, ...]
    """Days of either period that are not published: the reason there is no rate."""

    @property
    def text(self) -> str:
        """The rate as a signed percentage, or n/a."""
        return f"{self.rate:+.1%}" if self.rate is not None else "n/a"

    @property
    def reason(self) -> str:
        """Why there is no rate ('' when there is one)."""
        if self.rate is not None:
            return ""
        if self.missing_days:
            return f"{self.label.capitalize()}: n/a, {len(self.missing_days)} day(s) of the two periods not published"
        return f"{self.label.capitalize()}: n/a, no revenue in the earlier period"


def period_growth(calendar: pd.DataFrame, end: date, column: str, days: int, lag_days: int, label: str) -> Growth:
    """Growth of `column` summed over the `days` days ending `end` against the same days `lag_days` earlier;
    `calendar` must reach back far enough (a day it lacks counts as not published)."""
    by_day = dict(zip(calendar["order_date"], calendar[column], strict=True))
    published = dict(zip(calendar["order_date"], calendar["published"], strict=True))
    current_days = [end - timedelta(days=offset) for offset in range(days)]
    previous_days = [day - timedelta(days=lag_days) for day in current_days]
    missing = tuple(sorted(day for day in (*current_days, *previous_days) if not published.get(day, False)))
    current = _total(by_day.get(day) for day in current_days if published.get(day, False))
    previous = _total(by_day.get(day) for day in previous_days if published.get(day, False))
    rate = None
    if not missing and previous:
        rate = float((current - previous) / abs(previous))
    return Growth(label, current_days[-1], end, current, previous, rate, missing)


def last_published_day(calendar: pd.DataFrame) -> date | None:
    """The latest day of the calendar whose figures are published."""
    published = calendar.loc[calendar["published"], "order_date"]
    return max(published) if len(published) else None


def weekly_totals(calendar: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per ISO week (its Monday): the published total, how many of its days are published, and the change on the
    week before, given only where both weeks have all 7 days published."""
    frame = calendar[["order_date", "published", column]].copy()
    frame["week"] = [day - timedelta(days=day.weekday()) for day in frame["order_date"]]
    frame["value"] = frame[column].map(_to_float)
    weeks = (
        frame.groupby("week", sort=True)
        .agg(total=("value", "sum"), published_days=("published", "sum"), days=("order_date", "count"))
        .reset_index()
    )
    whole = (weeks["published_days"] == 7) & (weeks["days"] == 7)
    previous_total = weeks["total"].shift(1)
    previous_whole = whole.shift(1, fill_value=False)
    contiguous = weeks["week"].shift(1) == weeks["week"] - timedelta(days=7)
    weeks["week_over_week"] = ((weeks["total"] - previous_total) / previous_total.abs()).where(
        whole & previous_whole & contiguous & (previous_total != 0)
    )
    weeks["total"] = weeks["total"].where(weeks["published_days"] > 0)
    return weeks


def cohort_retention(rows: pd.DataFrame) -> pd.DataFrame:
    """Per first-purchase month and month after it: customers active and their share of the cohort (month 0)."""
    if rows.empty:
        return rows.assign(cohort=[], retention=[])
    frame = rows.copy()
    frame["cohort"] = [
        f"{int(y):04d}-{int(m):02d}" for y, m in zip(frame["cohort_year"], frame["cohort_month"], strict=True)
    ]
    sizes = frame[frame["months_after"] == 0].set_index("cohort")["customers"]
    frame["cohort_size"] = frame["cohort"].map(sizes)
    frame["retention"] = frame["customers"] / frame["cohort_size"]
    return frame[["cohort", "months_after", "customers", "cohort_size", "retention"]]


def _to_float(value: object) -> float | None:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return None
    return float(value)


def _total(values) -> Decimal:
    return sum((Decimal(str(value)) for value in values if value is not None and not pd.isna(value)), Decimal(0))
