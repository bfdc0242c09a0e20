"""Where tables live: Delta tables addressed by Unity Catalog names."""

import operator
import os
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from dagster import ConfigurableResource
from deltalake import DeltaTable, write_deltalake
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ecom_assets.dates import DateRange
from ecom_assets.tables import TableName

Filter = tuple[str, str, Any]
"""A row filter `(column, operator, value)`; operators: =, >, >=, <, <=."""

_SPARK_COMPARISONS = {
    "=": operator.eq,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


def within(column: str, date_range: DateRange) -> list[Filter]:
    """Filters keeping rows whose date `column` lies in `date_range` (both ends included)."""
    return [(column, ">=", date_range.start), (column, "<=", date_range.end)]


@dataclass(frozen=True)
class MaintenanceReport:
    """Data files of a table before and after compaction, and files deleted by VACUUM."""

    files_before: int
    files_after: int
    files_vacuumed: int

    def __str__(self) -> str:
        return f"{self.files_before} → {self.files_after} data files, {self.files_vacuumed} vacuumed"


@dataclass(frozen=True)
class MergeCounts:
    """What a merge did to the target table."""

    inserted: int
    updated: int
    deleted: int


class Lakehouse(ConfigurableResource, ABC):
    """Reads and writes the pipeline's Delta tables; hides where they are and which writer is used."""

    @abstractmethod
    def location(self, table: TableName) -> str:
        """Where the table's data lives (a path or URI), for display."""

    @abstractmethod
    def exists(self, table: TableName) -> bool:
        """Whether the table has been created."""

    @abstractmethod
    def read(
        self,
        spark: SparkSession,
        table: TableName,
        columns: Sequence[str] | None = None,
        filters: Sequence[Filter] = (),
    ) -> DataFrame:
        """The table's rows matching all `filters` (AND), as a Spark DataFrame."""

    @abstractmethod
    def replace_date_range(
        self,
        table: TableName,
        rows: DataFrame,
        date_column: str,
        date_range: DateRange,
        partition_by: Sequence[str] = (),
        scope: Mapping[str, str] | None = None,
    ) -> Counter[date]:
        """Replace the table's rows whose `date_column` is in `date_range` with `rows`.

        `scope` narrows what is replaced to rows with those column values (a table shared by
        several writers, e.g. `{"asset": ...}`). Creates the table on first write. Every row of
        `rows` must fall in the range and scope. Returns the rows written per date.
        """

    @abstractmethod
    def overwrite(self, table: TableName, rows: DataFrame) -> int:
        """Replace the whole table with `rows` (a snapshot; created on first write); returns rows written."""

    @abstractmethod
    def append(self, table: TableName, rows: DataFrame) -> None:
        """Add `rows` to the table (created on first write); for append-only logs."""

    @abstractmethod
    def delete_date_range(
        self, table: TableName, date_column: str, date_range: DateRange, scope: Mapping[str, str]
    ) -> None:
        """Delete the table's rows in `date_range` and `scope` (nothing to do when the table does not exist)."""

    @abstractmethod
    def merge_on_key(
        self,
        table: TableName,
        rows: DataFrame,
        key: str,
        delete_unmatched_in: tuple[str, DateRange] | None = None,
    ) -> MergeCounts:
        """Upsert `rows` by `key`; optionally delete target rows missing from `rows` whose date
        column lies in the given range (so a re-delivered window replaces what it last delivered).
        """

    @abstractmethod
    def compact_and_vacuum(self, table: TableName, retention_hours: int) -> MaintenanceReport:
        """OPTIMIZE the table's small files, then VACUUM files unreferenced for `retention_hours`."""


def range_and_scope(date_column: str, date_range: DateRange, scope: Mapping[str, str] | None) -> list[Filter]:
    """Filters for the rows of a date range, narrowed to rows with the `scope` column values."""
    return within(date_column, date_range) + [(column, "=", value) for column, value in (scope or {}).items()]


def _all_nullable(table: pa.Table) -> pa.Table:
    """Delta columns are nullable; Spark marks some non-null, which delta-rs would reject on append."""
    schema = pa.schema([field.with_nullable(True) for field in table.schema])
    return table.cast(schema)


def _sql_literal(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "'" + str(value).replace("'", "''") + "'"
    return str(value)


def apply_filters(rows: DataFrame, filters: Sequence[Filter]) -> DataFrame:
    """The rows matching every filter."""
    for column, op, value in filters:
        rows = rows.where(_SPARK_COMPARISONS[op](F.col(column), F.lit(value)))
    return rows


def _arrow_filter(filters: Sequence[Filter]) -> pc.Expression | None:
    """The filters as one pyarrow dataset expression (None without filters)."""
    expression = None
    for column, op, value in filters:
        condition = _SPARK_COMPARISONS[op](pc.field(column), pc.scalar(value))
        expression = condition if expression is None else expression & condition
    return expression


def sql_predicate(filters: Sequence[Filter]) -> str:
    """The filters as one SQL conjunction, e.g. `order_date >= '2011-01-01' AND line_type = 'sale'`."""
    for column, op, _ in filters:
        if op not in _SPARK_COMPARISONS:
            raise ValueError(f"unsupported filter operator {op!r} on {column}")
    return " AND ".join(f"{column} {op} {_sql_literal(value)}" for column, op, value in filters)


class DeltaRsLakehouse(Lakehouse):
    """Delta tables under `<warehouse_root>/<catalog>/<schema>/<table>`, written by delta-rs.

    Writes go from Spark to delta-rs as Arrow; reads let delta-rs pick the snapshot's files and
    Spark read them as Parquet. No Delta jars are needed on the local Spark classpath.
    """

    warehouse_root: str

    @property
    def _remote(self) -> bool:
        return "://" in self.warehouse_root

    def _storage_options(self) -> dict[str, str] | None:
        """Object-store options for delta-rs; credentials come from the environment (`AWS_*`)."""
        if not self._remote:
            return None
        options = {"AWS_S3_ALLOW_UNSAFE_RENAME": "true"}  # one writer per table; no DynamoDB lock here
        if endpoint := os.environ.get("ECOM_S3_ENDPOINT_URL"):
            options.update(AWS_ENDPOINT_URL=endpoint, AWS_ALLOW_HTTP=str(endpoint.startswith("http://")).lower())
        return options

    def location(self, table: TableName) -> str:
        """The table's folder (or object-store URI)."""
        if self._remote:
            return "/".join([self.warehouse_root.rstrip("/"), *table.parts])
        return str(Path(self.warehouse_root).resolve().joinpath(*table.parts))

    def open(self, table: TableName) -> DeltaTable:
        """The table's current snapshot, for delta-rs readers (the report, `show`)."""
        return DeltaTable(self.location(table), storage_options=self._storage_options())

    def exists(self, table: TableName) -> bool:
        """Whether a Delta log exists at the table's folder."""
        return DeltaTable.is_deltatable(self.location(table), storage_options=self._storage_options())

    def read(
        self,
        spark: SparkSession,
        table: TableName,
        columns: Sequence[str] | None = None,
        filters: Sequence[Filter] = (),
    ) -> DataFrame:
        """Read the current snapshot's Parquet files with Spark's native reader.

        delta-rs resolves the snapshot and prunes files by partition values and statistics;
        Spark reads the remaining files in parallel (hive-style partition columns come from the
        paths). No Python round trip, no Delta jars. A warehouse on an object store is read by
        delta-rs and handed to Spark as Arrow instead, since local Spark has no S3 connector.
        """
        if not self.exists(table):
            raise LookupError(f"table {table.full_name} does not exist yet at {self.location(table)}")
        delta = self.open(table)
        if self._remote:
            dataset = delta.to_pyarrow_dataset()
            arrow = dataset.to_table(columns=list(columns) if columns else None, filter=_arrow_filter(filters))
            return spark.createDataFrame(arrow)
        files = delta.file_uris(file_pruning_predicate=sql_predicate(filters) or None)
        schema = delta.to_pyarrow_dataset().schema
        table_columns = list(columns) if columns else schema.names
        if not files:
            return spark.createDataFrame(schema.empty_table().select(table_columns))
        rows = spark.read.option("basePath", self.location(table)).parquet(*files)
        return apply_filters(rows, filters).select(*table_columns)

    def replace_date_range(
        self,
        table: TableName,
        rows: DataFrame,
        date_column: str,
        date_range: DateRange,
        partition_by: Sequence[str] = (),
        scope: Mapping[str, str] | None = None,
    ) -> Counter[date]:
        """Overwrite by predicate: one Delta commit deletes the range and adds the new rows."""
        arrow = _all_nullable(rows.toArrow())
        if self.exists(table):
            write_deltalake(
                self.location(table),
                arrow,
                mode="overwrite",
                predicate=sql_predicate(range_and_scope(date_column, date_range, scope)),
                storage_options=self._storage_options(),
            )
        else:
            write_deltalake(
                self.location(table),
                arrow,
                mode="append",
                partition_by=list(partition_by) or None,
                storage_options=self._storage_options(),
            )
        per_date = arrow.group_by(date_column).aggregate([([], "count_all")]).to_pylist()
        return Counter({row[date_column]: row["count_all"] for row in per_date})

    def overwrite(self, table: TableName, rows: DataFrame) -> int:
        """One delta-rs overwrite commit; the rows are computed in full first, so they may read the table itself."""
        arrow = _all_nullable(rows.toArrow())
        write_deltalake(
            self.location(table),
            arrow,
            mode="overwrite",
            schema_mode="overwrite",
            storage_options=self._storage_options(),
        )
        return arrow.num_rows

    def append(self, table: TableName, rows: DataFrame) -> None:
        """A delta-rs append commit."""
        write_deltalake(
            self.location(table), _all_nullable(rows.toArrow()), mode="append", storage_options=self._storage_options()
        )

    def merge_on_key(
        self,
        table: TableName,
        rows: DataFrame,
        key: str,
        delete_unmatched_in: tuple[str, DateRange] | None = None,
    ) -> MergeCounts:
        """MERGE with delta-rs: update matched keys, insert new ones, delete stale ones in range."""
        arrow = _all_nullable(rows.toArrow())
        if not self.exists(table):
            write_deltalake(self.location(table), arrow, mode="append", storage_options=self._storage_options())
            return MergeCounts(inserted=arrow.num_rows, updated=0, deleted=0)
        merger = (
            self.open(table)
            .merge(arrow, predicate=f"target.{key} = source.{key}", source_alias="source", target_alias="target")
            .when_matched_update_all()
            .when_not_matched_insert_all()
        )
        if delete_unmatched_in is not None:
            column, date_range = delete_unmatched_in
            merger = merger.when_not_matched_by_source_delete(
                predicate=sql_predicate(within(f"target.{column}", date_range))
            )
        metrics = merger.execute()
        return MergeCounts(
            inserted=int(metrics.get("num_target_rows_inserted", 0)),
            updated=int(metrics.get("num_target_rows_updated", 0)),
            deleted=int(metrics.get("num_target_rows_deleted", 0)),
        )

    def compact_and_vacuum(self, table: TableName, retention_hours: int) -> MaintenanceReport:
        """delta-rs compaction, then vacuum (retention below Delta's 7-day default is allowed when asked)."""
        delta = self.open(table)
        files_before = len(delta.file_uris())
        delta.optimize.compact()
        vacuumed = delta.vacuum(retention_hours=retention_hours, dry_run=False, enforce_retention_duration=False)
        return MaintenanceReport(files_before, len(self.open(table).file_uris()), len(vacuumed))

    def delete_date_range(
        self, table: TableName, date_column: str, date_range: DateRange, scope: Mapping[str, str]
    ) -> None:
        """A delta-rs DELETE by predicate; no Spark job."""
        if self.exists(table):
            self.open(table).delete(sql_predicate(range_and_scope(date_column, date_range, scope)))
