"""The app's reads: each query's result cached per version of the tables it reads, so a page re-renders without
re-reading, and a new commit to a table is picked up within `VERSION_TTL_SECONDS`."""

from datetime import date, datetime

import pandas as pd
import streamlit as st

from ecom_assets.dashboards.queries import Query
from ecom_assets.platform.tables import TableName, tables_owned
from resources.settings import Settings
from resources.table_queries import TableQueries, TableVersion, table_queries_for

VERSION_TTL_SECONDS = 10
"""How long a table's version is taken as current before its Delta log (or history) is looked at again."""


@st.cache_resource(show_spinner=False)
def settings() -> Settings:
    """The settings the app was started with."""
    return Settings.from_environment()


@st.cache_resource(show_spinner=False)
def _table_queries() -> TableQueries:
    return table_queries_for(settings())


@st.cache_data(ttl=VERSION_TTL_SECONDS, show_spinner=False)
def table_version(full_name: str) -> TableVersion | None:
    """The table's latest commit (None: not created yet)."""
    return _table_queries().version(_table(full_name))


def run(query: Query, **params: date | datetime | str | int) -> pd.DataFrame | None:
    """The query's rows at its tables' current versions, or None while one of them does not exist yet."""
    pinned = []
    for alias, table in query.tables.items():
        version = table_version(table.full_name)
        if version is None:
            return None
        pinned.append((alias, table.full_name, version.version))
    return _cached_rows(query.sql, tuple(pinned), tuple(sorted(params.items())))


@st.cache_data(max_entries=512, show_spinner=False)
def _cached_rows(sql: str, pinned: tuple[tuple[str, str, int], ...], params: tuple) -> pd.DataFrame:
    tables = {alias: (_table(full_name), version) for alias, full_name, version in pinned}
    return _table_queries().query(sql, tables, dict(params))


def _table(full_name: str) -> TableName:
    return {table.full_name: table for table in tables_owned()}[full_name]
