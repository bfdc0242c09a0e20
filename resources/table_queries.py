"""Small SQL queries over the pipeline's tables for people (the dashboards), from wherever the tables live.

A query names its tables as `{alias}` placeholders and its parameters as `:name`, and reads each
table at a pinned version, so a result can be cached per table version and re-used until a table
gets a new commit.

- Tables by path (local folder or S3): delta-rs reads the pinned version into Arrow and DuckDB runs
  the query over it in this process. DuckDB never downloads an extension (autoload and autoinstall
  are off), so it runs offline.
- Tables by catalog name (Unity Catalog): the same query runs on a Databricks SQL warehouse through
  `databricks-sql-connector`, each table as `<catalog>.<schema>.<table> VERSION AS OF <n>`.

Both dialects accept the queries' SQL (standard SELECTs, window functions, `CAST`, `COALESCE`);
keep to that common ground.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import pandas as pd

from resources.lakehouse import TableName
from resources.settings import Settings, databricks_token
from resources.table_reader import delta_storage_options

_PARAMETER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
"""A `:name` parameter (not `::`, a cast, nor inside a word)."""


@dataclass(frozen=True)
class TableVersion:
    """A table's latest commit: its Delta version and when it was made (UTC)."""

    version: int
    committed_at: datetime


class TableQueries(Protocol):
    """Reads table versions and runs the dashboards' small queries."""

    def version(self, table: TableName) -> TableVersion | None:
        """The table's latest commit, or None when the table has not been created."""
        ...

    def query(
        self, sql: str, tables: Mapping[str, tuple[TableName, int]], params: Mapping[str, Any] | None = None
    ) -> pd.DataFrame:
        """`sql`'s rows, each `{alias}` read as `tables[alias]` = (table, version), `:name` bound from `params`."""
        ...


class DeltaTableQueries:
    """Tables by path: delta-rs into Arrow, DuckDB over Arrow, in this process."""

    def __init__(self, settings: Settings) -> None:
        from resources import lakehouse_for

        self.lakehouse = lakehouse_for(settings)
        self.storage_options = delta_storage_options(settings)

    def _uri(self, table: TableName) -> str:
        return self.lakehouse.location(table).replace("s3a://", "s3://", 1)

    def version(self, table: TableName) -> TableVersion | None:
        """The table's latest commit, read from its Delta log without listing its data files."""
        from deltalake import DeltaTable

        uri = self._uri(table)
        if not DeltaTable.is_deltatable(uri, storage_options=self.storage_options):
            return None
        delta = DeltaTable(uri, storage_options=self.storage_options, without_files=True)
        (latest,) = delta.history(1)
        return TableVersion(delta.version(), datetime.fromtimestamp(latest["timestamp"] / 1000, UTC))

    def query(
        self, sql: str, tables: Mapping[str, tuple[TableName, int]], params: Mapping[str, Any] | None = None
    ) -> pd.DataFrame:
        """Runs `sql` in a fresh in-memory DuckDB over each table's pinned version as an Arrow dataset."""
        import duckdb
        from deltalake import DeltaTable

        connection = duckdb.connect(
            config={"autoinstall_known_extensions": False, "autoload_known_extensions": False, "threads": 2}
        )
        try:
            for alias, (table, version) in tables.items():
                delta = DeltaTable(self._uri(table), version=version, storage_options=self.storage_options)
                connection.register(alias, delta.to_pyarrow_dataset())
            text = _PARAMETER.sub(r"$\1", sql.format(**{alias: alias for alias in tables}))
            return connection.sql(text, params=dict(params or {})).to_arrow_table().to_pandas()
        finally:
            connection.close()


class WarehouseTableQueries:
    """Tables by catalog name: the queries run on a Databricks SQL warehouse (`databricks-sql-connector`).

    The server is `DATABRICKS_HOST`, the warehouse `ECOM_SQL_WAREHOUSE_HTTP_PATH`, the token
    `DATABRICKS_TOKEN`, read when a connection opens and never kept in the settings.
    """

    def __init__(self, settings: Settings) -> None:
        if not (settings.dashboards.databricks_host and settings.dashboards.sql_warehouse_http_path):
            raise ValueError(
                "tables are addressed by catalog name: set DATABRICKS_HOST and ECOM_SQL_WAREHOUSE_HTTP_PATH "
                "(the SQL warehouse the dashboards query)"
            )
        self.settings = settings

    def _connect(self):
        from databricks import sql

        host = self.settings.dashboards.databricks_host
        address = urlsplit(host if "://" in host else f"https://{host}")
        return sql.connect(
            server_hostname=address.hostname,
            _port=address.port or 443,
            http_path=self.settings.dashboards.sql_warehouse_http_path,
            access_token=databricks_token(),
            enable_telemetry=False,
        )

    def _name(self, table: TableName) -> str:
        return ".".join(f"`{part}`" for part in (self.settings.catalog, table.schema, table.table))

    def version(self, table: TableName) -> TableVersion | None:
        """The table's latest commit from `DESCRIBE HISTORY`; None when the warehouse does not know the table."""
        from databricks.sql.exc import ServerOperationError

        with self._connect() as connection, connection.cursor() as cursor:
            try:
                cursor.execute(f"DESCRIBE HISTORY {self._name(table)} LIMIT 1")
            except ServerOperationError as error:
                if "TABLE_OR_VIEW_NOT_FOUND" in str(error):
                    return None
                raise
            row = cursor.fetchone()
        committed_at = row.timestamp if row.timestamp.tzinfo else row.timestamp.replace(tzinfo=UTC)
        return TableVersion(int(row.version), committed_at.astimezone(UTC))

    def query(
        self, sql: str, tables: Mapping[str, tuple[TableName, int]], params: Mapping[str, Any] | None = None
    ) -> pd.DataFrame:
        """Runs `sql` on the warehouse, each table time-travelled to its pinned version, parameters bound natively."""
        text = sql.format(
            **{alias: f"{self._name(table)} VERSION AS OF {int(version)}" for alias, (table, version) in tables.items()}
        )
        with self._connect() as connection, connection.cursor() as cursor:
            cursor.execute(text, dict(params or {}))
            return cursor.fetchall_arrow().to_pandas()


def table_queries_for(settings: Settings) -> TableQueries:
    """delta-rs and DuckDB where tables are addressed by path; the SQL warehouse where they are addressed by name."""
    return DeltaTableQueries(settings) if settings.warehouse_root is not None else WarehouseTableQueries(settings)
