"""Data health: the latest run's checks, the failed checks, the quarantined days with their reasons and the rows
kept out, each linked to its run in the Dagster UI."""

import pandas as pd
import streamlit as st

from ecom_assets.dashboards import queries as q
from ecom_assets.dashboards.pages import DATA_HEALTH
from ecom_assets.dashboards.reading import run
from ecom_assets.dashboards.text import markdown_table
from ecom_assets.dashboards.views.common import Filters, not_built, page_header, run_link


def render(filters: Filters) -> None:
    """Draws the data-health page for the filters."""
    page_header(DATA_HEALTH, filters)
    latest = run(q.LATEST_RUN)
    if latest is None or latest.empty:
        not_built("logs.data_quality_results")
        return
    row = latest.iloc[0]
    columns = st.columns(3)
    columns[0].metric("Checks in the latest run", f"{int(row['checks']):,}")
    columns[1].metric("Failed", f"{int(row['failed']):,}")
    columns[2].metric("Failed and blocking", f"{int(row['blocking_failed']):,}")
    st.markdown(
        f"Latest run with checks: {run_link(row['run_id'])}, "
        f"checks evaluated until {row['last_check_at']:%Y-%m-%d %H:%M} UTC."
    )
    _linked_rows(
        "Quarantined days",
        run(q.QUARANTINED, start=filters.start, end=filters.end),
        ["partition_date", "asset", "reason"],
        "No day of the range is quarantined.",
    )
    _linked_rows(
        "Failed checks (the latest 100)",
        run(q.FAILED_CHECKS, start=filters.start, end=filters.end),
        ["partition_date", "asset", "check_name", "severity", "blocking", "summary"],
        "No check failed in the range.",
    )
    st.subheader("Rows kept out (logs.etl_errors)")
    errors = run(q.ERRORS_BY_TYPE, start=filters.start, end=filters.end)
    if errors is None or errors.empty:
        st.success("No row was kept out in the range.")
    else:
        st.table(errors, border=False)


def _linked_rows(title: str, rows: pd.DataFrame | None, columns: list[str], when_none: str) -> None:
    """A section listing `rows` (at most 100), each starting with a link to its run in the Dagster UI."""
    st.subheader(title)
    if rows is None or rows.empty:
        st.success(when_none)
        return
    linked = rows.assign(run=rows["run_id"].map(run_link))[["run", *columns]].head(100)
    st.markdown(markdown_table(linked, markdown_columns=("run",)))
