"""Funnel: sessions from view to cart to purchase by hour and by day, conversion with the anomaly check's flags,
and the products and categories that convert best."""

import json
from datetime import datetime, time, timedelta

import altair as alt
import pandas as pd
import streamlit as st

from ecom_assets.clickstream.hourly import CONVERSION_ANOMALY_CHECK
from ecom_assets.dashboards import charts
from ecom_assets.dashboards import queries as q
from ecom_assets.dashboards.pages import FUNNEL
from ecom_assets.dashboards.reading import run
from ecom_assets.dashboards.views.common import Filters, data_behind, not_built, page_header

MIN_VIEWS = 20
"""A product is ranked by conversion only with at least this many views in the range."""
STEPS = {"view_sessions": "1. viewed", "cart_sessions": "2. added to cart", "purchase_sessions": "3. purchased"}


def render(filters: Filters) -> None:
    """Draws the funnel page for the filters."""
    page_header(FUNNEL, filters)
    days = run(q.FUNNEL_DAYS, start=filters.start, end=filters.end)
    if days is None:
        not_built("analytics.funnel_daily")
        return
    if days.empty:
        st.info("No web-shop events in the range.")
        return
    partial = days[days["day_status"] != "complete"]
    if len(partial):
        st.warning(
            "Days not complete (fewer than 24 hours processed) are marked and not comparable with whole days:\n"
            + "\n".join(
                f"- {d:%Y-%m-%d}: {s}, {h} of 24 hours"
                for d, s, h in zip(
                    partial["event_date"], partial["day_status"], partial["hours_processed"], strict=True
                )
            )
        )
    whole = days[days["day_status"] == "complete"]
    columns = st.columns(3)
    columns[0].metric("Sessions (complete days)", f"{int(whole['sessions'].sum()):,}")
    columns[1].metric("Purchase sessions", f"{int(whole['purchase_sessions'].sum()):,}")
    rate = whole["purchase_sessions"].sum() / whole["sessions"].sum() if whole["sessions"].sum() else None
    columns[2].metric("Conversion (sessions that bought)", f"{rate:.2%}" if rate is not None else "n/a")
    steps = days.melt(
        id_vars=["event_date", "day_status"], value_vars=list(STEPS), var_name="step", value_name="reached"
    )
    steps["step"] = steps["step"].map(STEPS)
    steps["day"] = [f"{d:%Y-%m-%d}" for d in steps["event_date"]]
    st.altair_chart(
        charts.bars(
            steps,
            "day:O",
            "reached:Q",
            "Sessions reaching each step, by day",
            "Day (UTC)",
            "Sessions",
            color=alt.Color("step:N", title=None, scale=charts.palette(list(STEPS.values()))),
            xOffset="step:N",
            tooltip=["day:O", "step:N", alt.Tooltip("reached:Q", title="sessions"), "day_status:N"],
        ),
        width="stretch",
    )
    _hours(filters)
    _top(filters)


def _hours(filters: Filters) -> None:
    start = datetime.combine(filters.start, time())
    end = datetime.combine(filters.end + timedelta(days=1), time())
    hours = run(q.FUNNEL_HOURS, start_hour=start, end_hour=end)
    if hours is None or hours.empty:
        not_built("analytics.funnel_hourly")
        return
    checks = run(q.CHECK_RESULTS, start=filters.start, end=filters.end, check_name=CONVERSION_ANOMALY_CHECK.name)
    flagged = set()
    if checks is not None:
        for observed in checks.loc[~checks["passed"], "observed"]:
            partition = json.loads(observed).get("partition", "") if observed else ""
            flagged.add(partition)
    hours = hours.assign(
        hour_key=[f"{h:%Y-%m-%d-%H}:00" for h in pd.to_datetime(hours["hour"])],
        conversion=hours["conversion_rate"].astype(float),
    )
    hours["anomaly"] = hours["hour_key"].isin(flagged)
    steps = hours.melt(id_vars=["hour"], value_vars=list(STEPS), var_name="step", value_name="reached")
    steps["step"] = steps["step"].map(STEPS)
    st.altair_chart(
        alt.Chart(steps, title="Sessions reaching each step, by hour")
        .mark_line(point=True)
        .encode(
            x=alt.X("hour:T", title="Hour (UTC)"),
            y=alt.Y("reached:Q", title="Sessions"),
            color=alt.Color("step:N", title=None, scale=charts.palette(list(STEPS.values()))),
            strokeDash=alt.StrokeDash("step:N", legend=None),
            tooltip=[
                alt.Tooltip("hour:T", format="%Y-%m-%d %H:00"),
                "step:N",
                alt.Tooltip("reached:Q", title="sessions"),
            ],
        )
        .properties(height=charts.HEIGHT),
        width="stretch",
    )
    line = (
        alt.Chart(hours, title="Conversion by hour (anomalies flagged by the check: red diamonds)")
        .mark_line(point=True)
        .encode(
            x=alt.X("hour:T", title="Hour (UTC)"),
            y=alt.Y("conversion:Q", title="Sessions that bought / sessions", axis=alt.Axis(format="%")),
            color=alt.value(charts.OKABE_ITO[0]),
            tooltip=[
                alt.Tooltip("hour:T", format="%Y-%m-%d %H:00"),
                alt.Tooltip("conversion:Q", format=".2%"),
                "sessions:Q",
                "purchase_sessions:Q",
                "anomaly:N",
            ],
        )
    )
    anomalies = (
        alt.Chart(hours[hours["anomaly"]])
        .mark_point(shape="diamond", size=160, filled=True, color=charts.WITHHELD_COLOUR)
        .encode(
            x="hour:T",
            y="conversion:Q",
            tooltip=[alt.Tooltip("hour:T", format="%Y-%m-%d %H:00"), alt.Tooltip("conversion:Q", format=".2%")],
        )
    )
    st.altair_chart((line + anomalies).properties(height=charts.HEIGHT), width="stretch")
    st.caption(f"{int(hours['anomaly'].sum())} hour(s) flagged by `{CONVERSION_ANOMALY_CHECK.name}`.")
    data_behind(
        "funnel by hour",
        hours[["hour_key", "sessions", "view_sessions", "cart_sessions", "purchase_sessions", "conversion", "anomaly"]],
    )


def _top(filters: Filters) -> None:
    left, right = st.columns(2)
    with left:
        st.subheader("Top products by conversion")
        st.caption(f"Purchases per view, products with at least {MIN_VIEWS} views in the range.")
        products = run(q.TOP_PRODUCTS_BY_CONVERSION, start=filters.start, end=filters.end, min_views=MIN_VIEWS)
        if products is not None:
            st.table(products.style.format({"view_to_purchase": "{:.1%}", "revenue": "{:,.2f}"}), border=False)
    with right:
        st.subheader("Top categories by conversion")
        st.caption("Sessions that bought in the category per sessions that touched it.")
        categories = run(q.TOP_CATEGORIES_BY_CONVERSION, start=filters.start, end=filters.end)
        if categories is not None:
            st.table(categories.style.format({"conversion_rate": "{:.1%}", "revenue": "{:,.2f}"}), border=False)
