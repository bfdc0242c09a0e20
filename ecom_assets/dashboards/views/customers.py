"""Customers: segments by spend (VIP, high, medium, low value) and by tier, the lifetime value distribution, and
cohort retention by the month of the first purchase."""

import altair as alt
import streamlit as st

from ecom_assets.dashboards import charts
from ecom_assets.dashboards import queries as q
from ecom_assets.dashboards.figures import cohort_retention
from ecom_assets.dashboards.pages import CUSTOMERS
from ecom_assets.dashboards.reading import run
from ecom_assets.dashboards.views.common import Filters, data_behind, not_built, page_header
from ecom_assets.sales.transforms.dimensions import SEGMENTS
from ecom_assets.sales.transforms.silver import CURRENCY


def render(filters: Filters) -> None:
    """Draws the customers page for the filters."""
    page_header(CUSTOMERS, filters)
    as_of = run(q.AS_OF)
    segments = run(q.SEGMENTS, country=filters.country)
    if as_of is None or segments is None:
        not_built("analytics.customer_lifetime_value", "processed.dim_customers")
        return
    st.caption(
        f"Segments and lifetime values are as of {as_of['as_of_date'].iloc[0]} (the latest loaded day), over every "
        "customer's whole history; the date range chooses the cohorts below."
        + (f" Country: {filters.country}." if filters.country else "")
    )
    by_segment = segments.groupby("segment", as_index=False).agg(
        customers=("customers", "sum"), net_revenue=("net_revenue", "sum")
    )
    by_segment["net_revenue"] = by_segment["net_revenue"].astype(float)
    order = [s for s in SEGMENTS if s in set(by_segment["segment"])]
    columns = st.columns(len(order) or 1)
    for column, segment in zip(columns, order, strict=False):
        row = by_segment[by_segment["segment"] == segment].iloc[0]
        column.metric(f"{segment} customers", f"{int(row['customers']):,}")
    left, right = st.columns(2)
    with left:
        st.altair_chart(
            charts.bars(
                segments.assign(net_revenue=segments["net_revenue"].astype(float)),
                "segment:N",
                "customers:Q",
                "Customers by spend segment and tier",
                "Segment",
                "Customers",
                color=alt.Color(
                    "customer_tier:N",
                    title="tier",
                    scale=charts.palette(sorted(segments["customer_tier"].unique().tolist())),
                ),
                tooltip=[
                    "segment:N",
                    "customer_tier:N",
                    "customers:Q",
                    alt.Tooltip("net_revenue:Q", format=",.2f", title=f"net revenue ({CURRENCY})"),
                ],
            ).encode(x=alt.X("segment:N", title="Segment", sort=list(SEGMENTS))),
            width="stretch",
        )
        data_behind("customers by segment", by_segment)
    with right:
        bands = run(q.LIFETIME_VALUE_BANDS, country=filters.country)
        st.altair_chart(
            charts.bars(
                bands,
                "band:N",
                "customers:Q",
                "Lifetime value distribution",
                f"Historic lifetime value ({CURRENCY})",
                "Customers",
                color=alt.value(charts.OKABE_ITO[2]),
                tooltip=["band:N", "customers:Q"],
            ).encode(x=alt.X("band:N", title=f"Historic lifetime value ({CURRENCY})", sort=bands["band"].tolist())),
            width="stretch",
        )
    cohorts = run(q.COHORT_RETENTION, start=filters.start, end=filters.end, country=filters.country)
    if cohorts is None:
        not_built("processed.customer_daily_sales")
        return
    retention = cohort_retention(cohorts)
    if retention.empty:
        st.info("No customer made a first purchase in the range.")
        return
    st.altair_chart(
        charts.heatmap(
            retention,
            "months_after:O",
            "cohort:O",
            "retention:Q",
            "Cohort retention: share of each first-purchase month's customers buying again n months later",
            "Share of the cohort",
            tooltip=[
                alt.Tooltip("cohort:O", title="first purchase"),
                alt.Tooltip("months_after:O"),
                alt.Tooltip("customers:Q"),
                alt.Tooltip("retention:Q", format=".0%"),
            ],
        ).encode(x=alt.X("months_after:O", title="Months after the first purchase")),
        width="stretch",
    )
    st.caption("A day quarantined upstream is missing from the cohorts' activity until it is published.")
    data_behind("cohort retention", retention)
