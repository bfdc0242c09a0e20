"""Inventory: stock by category and day as a heatmap, stock-outs, days of cover, and the unexplained stock drops
the `no_unexplained_stock_drop` check found."""

import json

import altair as alt
import pandas as pd
import streamlit as st

from ecom_assets.dashboards import charts
from ecom_assets.dashboards import queries as q
from ecom_assets.dashboards.figures import quarantine_reasons
from ecom_assets.dashboards.pages import INVENTORY
from ecom_assets.dashboards.reading import run
from ecom_assets.dashboards.text import plain
from ecom_assets.dashboards.views.common import Filters, data_behind, not_built, page_header
from ecom_assets.feeds.gold import INVENTORY_DROP_CHECK
from ecom_assets.feeds.tables import INVENTORY_DAILY


def render(filters: Filters) -> None:
    """Draws the inventory page for the filters."""
    page_header(INVENTORY, filters)
    stock = run(q.STOCK_BY_CATEGORY, start=filters.start, end=filters.end)
    if stock is None:
        not_built("analytics.inventory_daily", "processed.dim_products")
        return
    if filters.categories:
        stock = stock[stock["category"].isin(filters.categories)]
    reasons = quarantine_reasons(run(q.QUARANTINED, start=filters.start, end=filters.end), INVENTORY_DAILY.full_name)
    days = pd.date_range(filters.start, filters.end, freq="D").date
    missing = sorted(set(days) - set(stock["business_date"]) | set(reasons))
    if missing:
        st.warning(
            f"{len(missing)} day(s) have no published stock figures (blank columns in the heatmap):\n"
            + "\n".join(
                f"- {day:%Y-%m-%d}: {plain(reasons.get(day, 'no inventory snapshot built for the day'))}"
                for day in missing[:60]
            )
        )
    stock = stock[~stock["business_date"].isin(set(reasons))]
    if stock.empty:
        st.info("No stock figures in the range.")
        return
    last_day = max(stock["business_date"])
    on_last = stock[stock["business_date"] == last_day]
    columns = st.columns(3)
    columns[0].metric(f"Units in stock on {last_day:%Y-%m-%d}", f"{int(on_last['stock_on_hand'].sum()):,}")
    columns[1].metric(f"Products out of stock on {last_day:%Y-%m-%d}", f"{int(on_last['stock_outs'].sum()):,}")
    columns[2].metric("Products tracked", f"{int(on_last['products'].sum()):,}")
    frame = stock.assign(day=[f"{d:%Y-%m-%d}" for d in stock["business_date"]])
    st.altair_chart(
        charts.heatmap(
            frame,
            "day:O",
            "category:N",
            "stock_on_hand:Q",
            "Units in stock by category and day",
            "Units in stock",
            tooltip=[
                alt.Tooltip("day:O"),
                alt.Tooltip("category:N"),
                alt.Tooltip("stock_on_hand:Q", format=",", title="units in stock"),
                alt.Tooltip("stock_outs:Q", title="products out of stock"),
            ],
        ),
        width="stretch",
    )
    data_behind(
        "units in stock by category and day",
        frame.pivot(index="day", columns="category", values="stock_on_hand").rename_axis(columns=None).reset_index(),
    )
    outs = frame.groupby("day", as_index=False)["stock_outs"].sum()
    left, right = st.columns(2)
    with left:
        st.altair_chart(
            charts.bars(
                outs,
                "day:O",
                "stock_outs:Q",
                "Products out of stock per day",
                "Day (UTC)",
                "Products",
                color=alt.value(charts.OKABE_ITO[5]),
            ),
            width="stretch",
        )
    with right:
        _lowest_cover(last_day)
    _stock_drops(filters)


def _lowest_cover(day) -> None:
    cover = run(q.LOWEST_COVER, day=day)
    st.subheader(f"Lowest days of cover on {day:%Y-%m-%d}")
    st.caption("Days of cover: units in stock / mean units sold per day. Out-of-stock products first.")
    if cover is not None:
        shown = cover.head(15)[["product_id", "description", "stock_on_hand", "days_of_cover", "stock_out"]]
        st.table(shown.style.format(precision=1, na_rep="—"), border=False)


def _stock_drops(filters: Filters) -> None:
    st.subheader("Unexplained stock drops")
    results = run(q.CHECK_RESULTS, start=filters.start, end=filters.end, check_name=INVENTORY_DROP_CHECK.name)
    if results is None or results.empty:
        st.info("The stock-drop check has no results in the range.")
        return
    failed = results[~results["passed"]]
    if failed.empty:
        st.success(f"No unexplained stock drop on the {results['partition_date'].nunique()} day(s) checked.")
        return
    rows = []
    for day, summary, observed in zip(failed["partition_date"], failed["summary"], failed["observed"], strict=True):
        sample = json.loads(observed).get("failing_sample", []) if observed else []
        rows.append(
            {
                "day": f"{day:%Y-%m-%d}",
                "finding": summary,
                "products (sample)": ", ".join(
                    str(item.get("product_id", item)) if isinstance(item, dict) else str(item) for item in sample[:10]
                ),
            }
        )
    st.error(f"{len(failed)} day(s) with an unexplained stock drop (the check warns and mails the stewards).")
    st.table(pd.DataFrame(rows), border=False)
