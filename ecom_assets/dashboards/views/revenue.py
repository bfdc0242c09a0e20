"""Revenue: daily net revenue with its trailing averages, growth, orders and order value, new against returning
customers, returns, and revenue by category and country."""

from datetime import timedelta

import altair as alt
import pandas as pd
import streamlit as st

from ecom_assets.dashboards import charts
from ecom_assets.dashboards import queries as q
from ecom_assets.dashboards.figures import (
    day_calendar,
    last_published_day,
    period_growth,
    trailing_averages,
    weekly_totals,
)
from ecom_assets.dashboards.pages import REVENUE
from ecom_assets.dashboards.reading import run
from ecom_assets.dashboards.text import money
from ecom_assets.dashboards.views.common import Filters, data_behind, not_built, page_header, withheld_days
from ecom_assets.sales.transforms.silver import CURRENCY

HISTORY_DAYS = 370
"""Days read before the range's end: the 28-day average of its first day and the same week a year before."""


def render(filters: Filters) -> None:
    """Draws the revenue page for the filters."""
    page_header(REVENUE, filters)
    history_start = min(filters.start - timedelta(days=27), filters.end - timedelta(days=HISTORY_DAYS))
    daily = run(q.DAILY_SALES, start=history_start, end=filters.end)
    quarantined = run(q.QUARANTINED, start=history_start, end=filters.end)
    if daily is None:
        not_built("analytics.sales_metrics")
        return
    history = trailing_averages(
        day_calendar(history_start, filters.end, daily, quarantined),
        "net_revenue",
    )
    calendar = history[history["order_date"] >= filters.start].reset_index(drop=True)
    _headline(history, calendar, filters)
    withheld_days(calendar, "analytics.sales_metrics")
    st.altair_chart(
        charts.daily_lines(
            calendar,
            "order_date",
            {
                "net_revenue": "net revenue",
                "net_revenue_avg_7d": "7-day average",
                "net_revenue_avg_28d": "28-day average",
            },
            "Daily net revenue with its 7- and 28-day averages (withheld days dashed)",
            f"Net revenue ({CURRENCY})",
        ),
        width="stretch",
    )
    data_behind(
        "daily net revenue",
        calendar[
            [
                "order_date",
                "status",
                "net_revenue",
                "net_revenue_avg_7d",
                "net_revenue_days_7d",
                "net_revenue_avg_28d",
                "order_count",
                "avg_order_value",
                "returns_amount",
            ]
        ].assign(
            net_revenue=[
                money(value) if shown else f"withheld ({status})"
                for value, shown, status in zip(
                    calendar["net_revenue"], calendar["published"], calendar["status"], strict=True
                )
            ]
        ),
    )
    left, right = st.columns(2)
    with left:
        weeks = weekly_totals(calendar, "net_revenue")
        weeks["week"] = [f"{week:%Y-%m-%d}" for week in weeks["week"]]
        weeks["coverage"] = [
            "all 7 days published" if n == 7 else "partial week: not every day published"
            for n in weeks["published_days"]
        ]
        st.altair_chart(
            charts.bars(
                weeks,
                "week:O",
                "total:Q",
                "Net revenue per week (Monday to Sunday)",
                "Week starting (Monday)",
                f"Net revenue ({CURRENCY})",
                color=alt.Color(
                    "coverage:N",
                    title=None,
                    scale=charts.palette(["all 7 days published", "partial week: not every day published"]),
                ),
                tooltip=[
                    "week:O",
                    alt.Tooltip("total:Q", format=",.2f"),
                    "published_days:Q",
                    alt.Tooltip("week_over_week:Q", format="+.1%", title="week over week"),
                ],
            ),
            width="stretch",
        )
    with right:
        st.altair_chart(
            charts.daily_lines(calendar, "order_date", {"order_count": "orders"}, "Orders per day", "Orders"),
            width="stretch",
        )
    left, right = st.columns(2)
    with left:
        st.altair_chart(
            charts.daily_lines(
                calendar,
                "order_date",
                {"avg_order_value": "average order value"},
                "Average order value per day",
                f"Average order value ({CURRENCY})",
            ),
            width="stretch",
        )
    with right:
        st.altair_chart(
            charts.daily_lines(
                calendar,
                "order_date",
                {"new_customers": "new", "returning_customers": "returning"},
                "New against returning customers per day",
                "Customers",
            ),
            width="stretch",
        )
    _returns_categories_and_countries(calendar, filters)


def _headline(history: pd.DataFrame, calendar: pd.DataFrame, filters: Filters) -> None:
    published = calendar[calendar["published"]]
    net = sum(published["net_revenue"].dropna(), start=0)
    orders = int(published["order_count"].dropna().sum())
    end = last_published_day(calendar)
    week = period_growth(history, end, "net_revenue", 7, 7, "week over week") if end else None
    year = period_growth(history, end, "net_revenue", 7, 364, "year over year") if end else None
    columns = st.columns(3)
    columns[0].metric("Net revenue", money(net), help="Sum over the range's published days")
    columns[1].metric("Orders", f"{orders:,}")
    columns[2].metric("Average order value", money(net / orders if orders else None), help="Net revenue / orders")
    columns = st.columns(3)
    columns[0].metric(
        "Week over week",
        week.text if week else "n/a",
        help=f"The 7 days to {end} against the 7 before; only when all 14 are published" if end else None,
    )
    columns[1].metric(
        "Year over year",
        year.text if year else "n/a",
        help=f"The 7 days to {end} against the same weekdays 52 weeks before" if end else None,
    )
    reasons = [growth.reason for growth in (week, year) if growth and growth.reason]
    st.caption(
        f"{len(published)} of {len(calendar)} day(s) published; growth measured on the 7 days to {end or '—'}. "
        + "; ".join(reasons)
    )


def _returns_categories_and_countries(calendar: pd.DataFrame, filters: Filters) -> None:
    left, right = st.columns(2)
    with left:
        st.altair_chart(
            charts.daily_lines(
                calendar, "order_date", {"returns_amount": "returns"}, "Returns per day", f"Returns ({CURRENCY})"
            ),
            width="stretch",
        )
    with right:
        categories = run(q.CATEGORY_REVENUE, start=filters.start, end=filters.end)
        if categories is None:
            not_built("analytics.category_revenue_daily")
        else:
            if filters.categories:
                categories = categories[categories["product_category"].isin(filters.categories)]
            categories = categories.assign(revenue=categories["revenue"].astype(float))
            st.altair_chart(
                charts.bars(
                    categories,
                    "product_category:N",
                    "revenue:Q",
                    "Sales revenue by category",
                    "Category",
                    f"Revenue ({CURRENCY})",
                    color=alt.value(charts.OKABE_ITO[0]),
                    tooltip=["product_category:N", alt.Tooltip("revenue:Q", format=",.2f"), "orders:Q"],
                ),
                width="stretch",
            )
            data_behind("revenue by category", categories)
    left, right = st.columns(2)
    with right:
        _chosen_daily(calendar, filters)
    with left:
        countries = run(q.COUNTRY_DAILY_REVENUE, start=filters.start, end=filters.end)
        if countries is None:
            not_built("analytics.seasonal_sales")
            return
        totals = countries.groupby("country", as_index=False)["revenue"].sum()
        totals["revenue"] = totals["revenue"].astype(float)
        if filters.country:
            totals = totals[totals["country"] == filters.country]
        top = totals.nlargest(10, "revenue")
        st.altair_chart(
            charts.bars(
                top,
                "country:N",
                "revenue:Q",
                "Sales revenue by country (top 10)",
                "Country",
                f"Revenue ({CURRENCY})",
                color=alt.value(charts.OKABE_ITO[2]),
                tooltip=["country:N", alt.Tooltip("revenue:Q", format=",.2f")],
            ),
            width="stretch",
        )


def _chosen_daily(calendar: pd.DataFrame, filters: Filters) -> None:
    """Sales revenue per day of the chosen country and categories (gold's withheld days stay gaps here too)."""
    if not (filters.country or filters.categories):
        st.caption("Choose a country or categories in the sidebar to see their sales revenue per day here.")
        return
    days = calendar[["order_date", "published", "status", "note"]]
    for label, query, column, chosen in (
        (filters.country, q.COUNTRY_DAILY_REVENUE, "country", {filters.country}),
        (", ".join(filters.categories), q.CATEGORY_DAILY_REVENUE, "product_category", set(filters.categories)),
    ):
        rows = run(query, start=filters.start, end=filters.end) if label else None
        if rows is None:
            continue
        daily = rows[rows[column].isin(chosen)].groupby("order_date", as_index=False)["revenue"].sum()
        frame = days.merge(daily, on="order_date", how="left")
        frame["revenue"] = [
            (0.0 if pd.isna(value) else float(value)) if shown else None
            for value, shown in zip(frame["revenue"], frame["published"], strict=True)
        ]
        st.altair_chart(
            charts.daily_lines(
                frame, "order_date", {"revenue": label}, f"Sales revenue per day: {label}", f"Revenue ({CURRENCY})"
            ),
            width="stretch",
        )
