"""What every page shares: the sidebar's filters, the freshness line, the list of withheld days, the data behind a
chart, and the message for a table not built yet."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
import streamlit as st

from ecom_assets.dashboards import queries as q
from ecom_assets.dashboards.pages import DashboardPage
from ecom_assets.dashboards.reading import run, settings, table_version
from ecom_assets.dashboards.text import RUN_ID, plain

MAX_TABLE_ROWS = 100
"""A chart's data up to this many rows is a plain table; longer, a scrolling grid that draws only what is seen."""
DEFAULT_DAYS = 90
"""Without a chosen range, the pages show the last 90 days the gold table holds."""


@dataclass(frozen=True)
class Filters:
    """The sidebar's choices: days `start` .. `end` (both included), a country ('' for all), categories (empty: all)."""

    start: date
    end: date
    country: str
    categories: tuple[str, ...]


def sidebar_filters() -> Filters:
    """The date range, country and category filters, kept in the page's address so a view can be shared."""
    params = st.query_params
    bounds = run(q.DATE_BOUNDS)
    last = _day(bounds["last_day"].iloc[0]) if bounds is not None and len(bounds) else None
    first = _day(bounds["first_day"].iloc[0]) if bounds is not None and len(bounds) else None
    last = last or date.today()
    first = first or last
    start = _param_day(params.get("start")) or max(first, last - timedelta(days=DEFAULT_DAYS - 1))
    end = _param_day(params.get("end")) or last
    st.sidebar.header("Filters")
    start, end = min(start, end), max(start, end)
    chosen = st.sidebar.date_input(
        "Days (UTC)", value=(start, end), min_value=min(first, start), max_value=max(last, end)
    )
    if isinstance(chosen, tuple) and len(chosen) == 2:
        start, end = chosen
    countries = run(q.COUNTRIES)
    country_options = ["All countries", *(countries["country"].tolist() if countries is not None else [])]
    wanted_country = params.get("country", "")
    country = st.sidebar.selectbox(
        "Country",
        country_options,
        index=country_options.index(wanted_country) if wanted_country in country_options else 0,
        help="Applies to the revenue by country and per day, the customer segments, lifetime values and cohorts.",
    )
    categories = run(q.CATEGORIES)
    category_options = categories["product_category"].tolist() if categories is not None else []
    chosen_categories = st.sidebar.multiselect(
        "Categories",
        category_options,
        default=[c for c in params.get_all("category") if c in category_options],
        help="Applies to the revenue by category and per day, and the inventory. Empty: every category.",
    )
    st.query_params.update(start=start.isoformat(), end=end.isoformat())
    st.query_params["category"] = chosen_categories
    if country == "All countries":
        st.query_params.pop("country", None)
        country = ""
    else:
        st.query_params["country"] = country
    return Filters(start, end, country, tuple(chosen_categories))


def page_header(page: DashboardPage, filters: Filters) -> None:
    """The page's title, its question, the days it covers and how fresh each table it reads is."""
    st.title(page.title)
    st.caption(page.question)
    versions = {table.full_name: table_version(table.full_name) for table in page.tables}
    fresh = [
        f"`{name}`: "
        + (f"last commit {v.committed_at:%Y-%m-%d %H:%M} UTC (version {v.version})" if v else "not built yet")
        for name, v in versions.items()
    ]
    commits = [version.committed_at for version in versions.values() if version]
    freshness = (
        f"tables last changed {min(commits):%Y-%m-%d %H:%M} to {max(commits):%Y-%m-%d %H:%M} UTC"
        if commits
        else "no table built yet"
    )
    st.markdown(f"**Days covered:** {filters.start:%Y-%m-%d} to {filters.end:%Y-%m-%d} (UTC); {freshness}.")
    with st.expander("How fresh the data is", expanded=False):
        st.markdown("\n".join(f"- {line}" for line in fresh))


def not_built(*what: str) -> None:
    """Says that a table the section needs has not been built yet (rather than drawing nothing, or zeros)."""
    st.info(f"Not built yet: {', '.join(what)}. Materialize it in the Dagster UI, then reload.")


def withheld_days(calendar: pd.DataFrame, what: str) -> None:
    """Lists the calendar's days that are not published, with why: they are gaps in every chart and total."""
    held = calendar.loc[~calendar["published"], ["order_date", "note"]]
    if held.empty:
        st.success(f"Every day of the range is published in {what}.")
        return
    lines = [f"- {day:%Y-%m-%d}: {plain(note)}" for day, note in zip(held["order_date"], held["note"], strict=True)]
    st.warning(
        f"{len(held)} day(s) of the range are not published in {what}: drawn as dashed rules, left out of every "
        "total, average and growth rate.\n" + "\n".join(lines[:60]) + ("\n- …" if len(lines) > 60 else "")
    )


def data_behind(title: str, frame: pd.DataFrame) -> None:
    """The numbers a chart draws, as a table (readable by screen readers and by the browser tests)."""
    with st.expander(f"Data: {title}", expanded=False):
        shown = frame.reset_index(drop=True).map(lambda v: float(v) if isinstance(v, Decimal) else v)
        if len(shown) <= MAX_TABLE_ROWS:
            st.table(shown.style.format(precision=2, thousands=",", na_rep="—"), border=False)
        else:
            st.dataframe(shown, hide_index=True)


def run_link(run_id: str) -> str:
    """A markdown link to the run in the Dagster UI."""
    if not RUN_ID.fullmatch(str(run_id)):
        return plain(run_id)
    base = settings().dashboards.ui_base_url.rstrip("/")
    return f"[{run_id[:8]}]({base}/runs/{run_id})"


def _day(value: object) -> date | None:
    if value is None or pd.isna(value):
        return None
    return value if isinstance(value, date) else pd.Timestamp(value).date()


def _param_day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None
