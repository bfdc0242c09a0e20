"""Where tables live: the pipeline's Delta tables, written and read by Spark's Delta Lake everywhere.

One implementation serves every deployment. The only thing that differs is how a table is
addressed, decided by `Lakehouse.identifier`: by path under `warehouse_root` (a local folder,
or `s3a://bucket/prefix`) as `delta.\\`<root>/<catalog>/<schema>/<table>\\``, or, without a root, by
its three-level catalog name (Unity Catalog on Databricks).
"""

import operator
import uuid
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

from dagster import ConfigurableResource, InitResourceContext
from delta.tables import DeltaTable
from pydantic import PrivateAttr
from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from resources.settings import DEFAULT_CATALOG


class TableName(Protocol):
    """What the lakehouse needs of a table's name (the pipeline's own `TableName` has it): its catalog, schema and
    table, the date column its files keep together, and the name parts a path is built from."""

    catalog: str
    schema: str
    table: str
    cluster_by: str | None
    keeps_changes: bool

    @property
    def full_name(self) -> str: ...

    @property
    def parts(self) -> list[str]: ...


class DateRange(Protocol):
    """Days from `start` to `end`, both included."""

    start: date
    end: date


class HourRange(Protocol):
    """UTC hours from `start` up to `end` (excluded), as naive datetimes."""

    start: datetime
    end: datetime


Filter = tuple[str, str, Any]
"""A row filter `(column, operator, value)`; operators: =, >, >=, <, <=, and "not in" (a collection of values)."""

_SPARK_COMPARISONS = {
    "=": operator.eq,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "not in": lambda column, values: ~column.isin(*values),
}
_COMMIT_TAG = "spark.databricks.delta.commitInfo.userMetadata"
"""Delta records this session setting in the commits it makes: how a commit is found again in the history."""
_CHANGE_FEED = "delta.enableChangeDataFeed"
_NO_DATA_CHANGE = {"OPTIMIZE", "VACUUM START", "VACUUM END", "SET TBLPROPERTIES"}
"""Commit operations that leave a table's rows as they were (what the weekly maintenance commits)."""
_TOMBSTONE = "__ecom_delete"
"""A merge source column marking the keys to delete (see `Lakehouse.merge_on_key`)."""


def within(column: str, date_range: DateRange) -> list[Filter]:
    """Filters keeping rows whose date `column` lies in `date_range` (both ends included)."""
    return [(column, ">=", date_range.start), (column, "<=", date_range.end)]


def within_hours(column: str, hours: HourRange) -> list[Filter]:
    """Filters keeping rows whose timestamp `column` lies in the UTC hours of `hours` (end excluded)."""
    return [(column, ">=", utc_instant(hours.start)), (column, "<", utc_instant(hours.end))]


def utc_instant(moment: datetime) -> str:
    """A naive UTC datetime as an ISO instant (`2019-10-01T00:00:00Z`), read the same in any session time zone."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class MaintenanceReport:
    """Data files of a table before and after compaction, and files deleted by VACUUM."""

    files_before: int
    files_after: int
    files_vacuumed: int

    def __str__(self) -> str:
        return f"{self.files_before} → {self.files_after} data files, {self.files_vacuumed} vacuumed"


@dataclass(frozen=True)
class StreamedBatches:
    """What one run of a streaming append wrote: its non-empty micro-batches and their rows."""

    batches: int
    rows: int


@dataclass(frozen=True)
class MergeCounts:
    """What a merge did to the target table."""

    inserted: int
    updated: int
    deleted: int


class ChangesUnavailable(Exception):
    """Delta cannot give a table's changes over a range of versions: its change data feed was off for one of
    them, the range lies beyond the table's deleted-file retention, or VACUUM has removed files the feed needs."""


@dataclass(frozen=True)
class TableVersion:
    """One commit of a table, as its history records it."""

    version: int
    operation: str
    metrics: dict[str, str]
    engine: str
    user_metadata: str | None


def range_and_scope(
    date_column: str, date_range: DateRange, scope: Mapping[str, str] | None, keep_days: Collection[date] = ()
) -> list[Filter]:
    """Filters for the rows of a date range but `keep_days`, narrowed to rows with the `scope` column values."""
    kept = [(date_column, "not in", tuple(sorted(keep_days)))] if keep_days else []
    return within(date_column, date_range) + kept + [(column, "=", value) for column, value in (scope or {}).items()]


def sql_literal(value: Any) -> str:
    """A value as a Spark SQL literal: numbers as they are, a tuple as a parenthesised list, anything else as a
    string literal escaped for Spark SQL's rules (a backslash starts an escape there, so it is doubled first)."""
    if isinstance(value, tuple):
        return "(" + ", ".join(sql_literal(item) for item in value) + ")"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"
    return str(value)


def _file_count_for_ranges(spark: SparkSession) -> int:
    """How many day ranges a table is created in: the session's shuffle partitions (200 where it is `auto`).

    Given explicitly, so adaptive execution does not coalesce a small table's ranges into one file.
    """
    configured = spark.conf.get("spark.sql.shuffle.partitions")
    return int(configured) if configured.isdigit() else 200


def apply_filters(rows: DataFrame, filters: Sequence[Filter]) -> DataFrame:
    """The rows matching every filter."""
    for column, op, value in filters:
        operand = [F.lit(item) for item in value] if op == "not in" else F.lit(value)
        rows = rows.where(_SPARK_COMPARISONS[op](F.col(column), operand))
    return rows


def _without_days(rows: DataFrame, date_column: str, keep_days: Collection[date]) -> DataFrame:
    """The rows but those of `keep_days` (quarantined days, whose stored rows stay as they are)."""
    return apply_filters(rows, [(date_column, "not in", tuple(sorted(keep_days)))]) if keep_days else rows


def sql_predicate(filters: Sequence[Filter]) -> str:
    """The filters as one SQL conjunction, e.g. `order_date >= '2011-01-01' AND line_type = 'sale'`."""
    for column, op, _ in filters:
        if op not in _SPARK_COMPARISONS:
            raise ValueError(f"unsupported filter operator {op!r} on {column}")
    return " AND ".join(f"{column} {op.upper()} {sql_literal(value)}" for column, op, value in filters)


class Lakehouse(ConfigurableResource):
    """Reads and writes the pipeline's Delta tables with Spark's Delta Lake (delta-spark), locally and on Databricks.

    `warehouse_root` set: tables are addressed by path, `<root>/<catalog>/<schema>/<table>`
    (a local folder, or `s3a://bucket/prefix`). Unset: by their three-level names in `catalog`
    (Unity Catalog on Databricks), whose schemas are created on first write when missing.
    Every write is one Delta commit; readers see the previous version until it lands.
    """

    warehouse_root: str | None = None
    catalog: str = DEFAULT_CATALOG
    checkpoint_root: str | None = None
    """Where streaming checkpoints live when tables are addressed by name (a Unity Catalog volume path on
    Databricks); by path they sit beside the tables, `<root>/<catalog>/<schema>/_checkpoints/<table>`."""
    _pending_appends: dict[TableName, tuple[T.StructType, list[tuple]]] = PrivateAttr(default_factory=dict)

    # --- addressing -----------------------------------------------------------------------------

    def identifier(self, table: TableName) -> str:
        """How Spark SQL names the table: ``delta.`<path>` `` by path, `catalog.schema.table` by name."""
        if self.warehouse_root is None:
            return f"{self.catalog}.{table.schema}.{table.table}"
        return f"delta.`{self.location(table)}`"

    def location(self, table: TableName) -> str:
        """Where the table lives: its path (or URI) by path, its catalog name by name."""
        if self.warehouse_root is None:
            return f"{self.catalog}.{table.schema}.{table.table}"
        root = self.warehouse_root.rstrip("/")
        if "://" not in root:
            root = str(Path(root).resolve())
        return "/".join([root, *table.parts])

    def checkpoint_location(self, table: TableName) -> str:
        """Where the streaming checkpoint of the query writing `table` lives (see `checkpoint_root`)."""
        if self.warehouse_root is not None:
            schema_folder = self.location(table).rsplit("/", 1)[0]
            return f"{schema_folder}/_checkpoints/{table.table}"
        if not self.checkpoint_root:
            raise ValueError(
                f"streaming into {table.full_name} by catalog name needs a checkpoint_root (a volume path) to keep"
                " its checkpoint in"
            )
        return "/".join([self.checkpoint_root.rstrip("/"), self.catalog, table.schema, table.table])

    @staticmethod
    def _spark() -> SparkSession:
        return SparkSession.active()

    def exists(self, table: TableName) -> bool:
        """Whether the table has been created (by this process or any other)."""
        spark = self._spark()
        if self.warehouse_root is None:
            return spark.catalog.tableExists(self.identifier(table))
        location = self.location(table)
        if "://" not in location and not Path(location, "_delta_log").is_dir():
            return False  # a local path without a Delta log: known without asking Spark (a failed read's analysis)
        return DeltaTable.isDeltaTable(spark, location) or _created_since_last_looked(spark, location)

    def _delta(self, table: TableName) -> DeltaTable:
        return DeltaTable.forName(self._spark(), self.identifier(table))

    # --- reads ----------------------------------------------------------------------------------

    def read(
        self,
        spark: SparkSession,
        table: TableName,
        columns: Sequence[str] | None = None,
        filters: Sequence[Filter] = (),
        version: int | None = None,
    ) -> DataFrame:
        """The table's rows matching all `filters` (AND), as of `version` (the latest when None).

        Filters on partition columns prune partitions, others skip files by their statistics.
        """
        if not self.exists(table):
            raise LookupError(f"table {table.full_name} does not exist yet at {self.location(table)}")
        if version is None:
            rows = spark.table(self.identifier(table))
        else:
            rows = spark.sql(f"SELECT * FROM {self.identifier(table)} VERSION AS OF {int(version)}")
        rows = apply_filters(rows, filters)
        return rows.select(*columns) if columns else rows

    def history(self, table: TableName, limit: int | None = None) -> list[TableVersion]:
        """The table's commits, newest first (the last `limit` of them)."""
        delta = self._delta(table)
        rows = (delta.history(limit) if limit else delta.history()).collect()
        return [
            TableVersion(
                version=row["version"],
                operation=row["operation"],
                metrics=dict(row["operationMetrics"] or {}),
                engine=row["engineInfo"] or "",
                user_metadata=row["userMetadata"],
            )
            for row in rows
        ]

    def changes(self, spark: SparkSession, table: TableName, after_version: int, up_to_version: int) -> DataFrame:
        """The rows that the table's commits after `after_version`, up to `up_to_version`, inserted or deleted (an
        update is both), from Delta's change data feed, with `_change_type`; read now (a local checkpoint).

        Raises `ChangesUnavailable` when the feed does not cover the range: it was off for one of its
        commits (see `keep_changes`), the range lies beyond the table's deleted-file retention, or VACUUM
        has removed a file it needs.
        """
        if up_to_version <= after_version:
            return self.read(spark, table, version=up_to_version).limit(0).withColumn("_change_type", F.lit(""))
        try:
            feed = (
                spark.read.format("delta")
                .option("readChangeFeed", "true")
                .option("startingVersion", after_version + 1)
                .option("endingVersion", up_to_version)
                .table(self.identifier(table))
            )
            return feed.drop("_commit_version", "_commit_timestamp").localCheckpoint(eager=True)
        except AnalysisException as error:
            if not (error.getCondition() or "").startswith("DELTA_"):
                raise
            raise ChangesUnavailable(
                f"{table.full_name} versions {after_version + 1}..{up_to_version}: {error.getCondition()}"
            ) from error
        except Exception as error:
            if "FAILED_READ_FILE" not in str(error):
                raise
            raise ChangesUnavailable(f"{table.full_name}: a file of its change data is gone (VACUUM)") from error

    def keep_changes(self, table: TableName) -> None:
        """Turn on the table's change data feed (`keeps_changes` tables get it at creation; this is for tables
        created before), from its next commit on."""
        if self.exists(table) and self.table_property(table, _CHANGE_FEED) != "true":
            self.set_table_property(table, _CHANGE_FEED, "true")

    def table_property(self, table: TableName, name: str) -> str | None:
        """A property of the table (its Delta metadata), None when unset or the table does not exist."""
        if not self.exists(table):
            return None
        return (self._delta(table).detail().first()["properties"] or {}).get(name)

    def set_table_property(self, table: TableName, name: str, value: str) -> None:
        """Set a property of the table, in a commit of its own that changes no rows."""
        self._spark().sql(
            f"ALTER TABLE {self.identifier(table)} SET TBLPROPERTIES ({sql_literal(name)} = {sql_literal(value)})"
        )

    # --- writes ---------------------------------------------------------------------------------

    def _create(
        self,
        table: TableName,
        rows: DataFrame,
        partition_by: Sequence[str] = (),
        options: Mapping[str, str] | None = None,
    ) -> None:
        """Create the table from `rows` (its first commit), its files holding ranges of `table.cluster_by` days.

        By path, the first commit is an append: a creation killed before its commit leaves data
        files (and a log folder without a commit) behind, which "errorifexists" would take for a
        table, failing every rerun. The commit ignores such files; VACUUM removes them later. Two
        processes creating one table at once still cannot both succeed: the later commit finds
        the earlier one's metadata and fails (Delta's conflict check), so no rows are doubled.
        """
        if self.warehouse_root is None:
            self._spark().sql(f"CREATE SCHEMA IF NOT EXISTS {self.catalog}.{table.schema}")
        if table.cluster_by and not partition_by:
            rows = rows.repartitionByRange(_file_count_for_ranges(rows.sparkSession), table.cluster_by)
        if table.keeps_changes:
            options = {**(options or {}), _CHANGE_FEED: "true"}
        writer = rows.write.format("delta").partitionBy(*partition_by).options(**(options or {}))
        if self.warehouse_root is None:
            writer.mode("errorifexists").saveAsTable(self.identifier(table))
        else:
            writer.mode("append").save(self.location(table))

    def replace_date_range(
        self,
        table: TableName,
        rows: DataFrame,
        date_column: str,
        date_range: DateRange,
        partition_by: Sequence[str] = (),
        scope: Mapping[str, str] | None = None,
        keep_days: Collection[date] = (),
        merge_schema: bool = False,
    ) -> None:
        """Replace the table's rows whose `date_column` is in `date_range` with `rows`, in one commit.

        `scope` narrows what is replaced to rows with those column values (a table shared by
        several writers, e.g. `{"asset": ...}`). `keep_days` (quarantined days) keep their stored
        rows: their rows in `rows` are left out. Creates the table on first write. Delta checks
        that every row of `rows` falls in the range and scope. `merge_schema` adds columns of
        `rows` that the stored table lacks (older rows read them as null).
        """
        rows = _without_days(rows, date_column, keep_days)
        if self.exists(table):
            predicate = sql_predicate(range_and_scope(date_column, date_range, scope, keep_days))
            rows.write.format("delta").mode("overwrite").option("replaceWhere", predicate).option(
                "mergeSchema", str(merge_schema).lower()
            ).saveAsTable(self.identifier(table))
        else:
            self._create(table, rows, partition_by)

    def replace_scope(
        self,
        table: TableName,
        rows: DataFrame,
        date_column: str,
        date_range: DateRange,
        scope: Mapping[str, str],
        keep_days: Collection[date] = (),
    ) -> bool:
        """Replace one writer's rows (those with the `scope` column values) of a table several writers share, for
        `date_range` but `keep_days` (see `replace_date_range`); returns whether it committed.

        A replacement that would change nothing, with no rows to write and none stored in the range and scope,
        makes no commit (a Delta replace costs about a second even then, and adds a version to the table's history).
        """
        if self.exists(table) and _without_days(rows, date_column, keep_days).isEmpty():
            stored = self.read(
                rows.sparkSession, table, filters=range_and_scope(date_column, date_range, scope, keep_days)
            )
            if stored.isEmpty():
                return False
        self.replace_date_range(table, rows, date_column, date_range, scope=scope, keep_days=keep_days)
        return True

    def replace_hours(self, table: TableName, rows: DataFrame, time_column: str, hours: HourRange) -> None:
        """Replace the table's rows whose timestamp `time_column` lies in `hours` with `rows`, in one commit.

        Creates the table on first write; Delta checks that every row of `rows` falls in the hours.
        """
        if self.exists(table):
            rows.write.format("delta").mode("overwrite").option(
                "replaceWhere", sql_predicate(within_hours(time_column, hours))
            ).saveAsTable(self.identifier(table))
        else:
            self._create(table, rows)

    def overwrite(self, table: TableName, rows: DataFrame, built_from: int | None = None) -> bool:
        """Replace the whole table with `rows` in one commit (created on first write); returns whether it did.

        `built_from` (see `PinnedTables.built_from`) names the data the rows were computed from: the
        commit is skipped when the table already holds rows built from the same or later data
        (Delta's idempotent writes, `txnAppId`/`txnVersion`), so of two runs writing at once an
        older snapshot never replaces a newer one.
        """
        if not self.exists(table):
            self._create(table, rows, options=self._idempotent_write(table, built_from))
            return True
        writer = rows.write.format("delta").mode("overwrite").option("overwriteSchema", "true")
        if built_from is None:
            writer.saveAsTable(self.identifier(table))
            return True
        before = self.history(table, limit=1)[0].version
        writer.options(**self._idempotent_write(table, built_from)).saveAsTable(self.identifier(table))
        return self.history(table, limit=1)[0].version != before

    @staticmethod
    def _idempotent_write(table: TableName, built_from: int | None) -> dict[str, str]:
        """Delta's idempotent-write options marking a commit as built from version `built_from` (none without it)."""
        if built_from is None:
            return {}
        return {"txnAppId": f"ecom:{table.full_name}", "txnVersion": str(built_from)}

    def pin(self, tables: Sequence[TableName]) -> "PinnedTables":
        """The tables' latest versions, to read them at (see `PinnedTables`)."""
        return PinnedTables(self, {table: self.history(table, limit=1)[0].version for table in tables})

    def append(self, table: TableName, rows: DataFrame) -> None:
        """Add `rows` to the table in one commit (created on first write); for append-only logs."""
        if self.exists(table):
            rows.write.format("delta").mode("append").saveAsTable(self.identifier(table))
        else:
            self._create(table, rows)

    def append_once(self, table: TableName, rows: DataFrame, token: str) -> bool:
        """Append `rows` in one commit unless a commit with the same `token` was made before; returns whether it
        appended.

        The token is recorded in the commit (Delta's idempotent writes, `txnAppId`): a rerun skips the
        write, and of two writers with the same token at once the later fails Delta's conflict check
        (`ConcurrentTransactionException`, retried as a transient failure) and then skips.
        """
        options = {"txnAppId": f"ecom:{table.full_name}:{token}", "txnVersion": "0"}
        if not self.exists(table):
            self._create(table, rows, options=options)
            return True
        before = self.history(table, limit=1)[0].version
        rows.write.format("delta").mode("append").options(**options).saveAsTable(self.identifier(table))
        return self.history(table, limit=1)[0].version != before

    def append_new_from_stream(self, table: TableName, stream: DataFrame) -> StreamedBatches:
        """Append to the table what the streaming `stream` has not delivered before, then stop.

        Structured Streaming with `trigger(availableNow=True)`: everything new since the last run is
        processed, in one or more micro-batches, and the query ends. The checkpoint (see
        `checkpoint_location`) remembers which source files were read, and the Delta sink commits each
        micro-batch once with its batch id, so every file is appended exactly once across reruns, restarts
        and a run killed midway. The table is created by the first run.
        """
        writer = (
            stream.writeStream.format("delta")
            .outputMode("append")
            .option("checkpointLocation", self.checkpoint_location(table))
            .trigger(availableNow=True)
        )
        if self.warehouse_root is None:
            self._spark().sql(f"CREATE SCHEMA IF NOT EXISTS {self.catalog}.{table.schema}")
            query = writer.toTable(self.identifier(table))
        else:
            query = writer.start(self.location(table))
        query.awaitTermination()  # raises the query's error, if it failed
        progress = [report for report in query.recentProgress if report.numInputRows]
        return StreamedBatches(batches=len(progress), rows=sum(report.numInputRows for report in progress))

    def append_when_run_ends(self, table: TableName, rows: Sequence[tuple], schema: T.StructType | str) -> None:
        """Keep rows for an append-only log table, to be appended in one commit when the run's resources are torn
        down (at the end of the run, failed or not; on Databricks, at the end of each step).

        A run's check results then cost one Delta commit instead of one per step.
        """
        held_schema, held_rows = self._pending_appends.setdefault(table, (schema, []))
        if held_schema != schema:
            raise ValueError(f"rows for {table.full_name} arrive with two schemas")
        held_rows.extend(rows)

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        """Append the rows held for log tables (see `append_when_run_ends`), one commit per table."""
        pending, self._pending_appends = self._pending_appends, {}
        if pending:
            spark = self._spark()
            for table, (schema, rows) in pending.items():
                self.append(table, spark.createDataFrame(rows, schema))

    def delete_date_range(
        self,
        table: TableName,
        date_column: str,
        date_range: DateRange,
        scope: Mapping[str, str],
        keep_days: Collection[date] = (),
    ) -> None:
        """Delete the table's rows in `date_range` but `keep_days`, and in `scope` (nothing to do when the table does
        not exist)."""
        if self.exists(table):
            self._delta(table).delete(sql_predicate(range_and_scope(date_column, date_range, scope, keep_days)))

    def merge_on_key(
        self,
        table: TableName,
        rows: DataFrame,
        key: str,
        delete_unmatched_in: tuple[str, DateRange] | None = None,
        keep_days: Collection[date] = (),
    ) -> MergeCounts:
        """Upsert `rows` by `key` in one MERGE; optionally delete target rows missing from `rows` whose date
        column lies in the given range (so a re-delivered window replaces what it last delivered).

        `keep_days` (quarantined days of that date column) are left as stored: their rows in
        `rows` are not merged and their stored rows are not deleted.

        The MERGE rewrites only the data files that hold a row it updates or deletes: the rows to
        delete are found first (a read of the key column, pruned to the range) and sent in the
        source as tombstones. A NOT MATCHED BY SOURCE clause bounded to the range would save that
        read, but makes Delta look for touched files with an outer join over every file of the
        table: replacing one day of 240 took 1.7 times as long. The counts are those of this MERGE's
        own commit (the result MERGE returns).
        """
        if keep_days:
            if delete_unmatched_in is None:
                raise ValueError("keep_days needs the date column of delete_unmatched_in")
            rows = _without_days(rows, delete_unmatched_in[0], keep_days)
        if not self.exists(table):
            return self._create_counted(table, rows)
        stale = None
        if delete_unmatched_in is not None:
            column, date_range = delete_unmatched_in
            stale = self.read(
                self._spark(), table, columns=[key], filters=range_and_scope(column, date_range, {}, keep_days)
            ).join(rows.select(key), key, "left_anti")
        return self._merge_with_tombstones(table, rows, [key], stale)

    def replace_keys(
        self,
        table: TableName,
        rows: DataFrame,
        identity: Sequence[str],
        keys: DataFrame,
        replaced_from: str | None = None,
    ) -> MergeCounts:
        """Make the stored rows of the keys in `keys` exactly `rows`, in one MERGE on the `identity` columns (the key
        first, e.g. `["stock_code", "version"]`); rows of other keys are not touched.

        With `replaced_from`, a column of `keys`, only a key's rows whose second identity column is
        at least that column's value are replaced (e.g. its versions from 7 on); its earlier rows stay.

        Unlike a rewrite of the whole table from what was read before, a concurrent writer's
        changes to other keys survive, and one to the same keys makes Delta's conflict check fail
        this commit (to be retried) instead of being overwritten.
        """
        if not self.exists(table):
            return self._create_counted(table, rows)
        stored = self.read(self._spark(), table, columns=list(identity))
        if replaced_from is None:
            stored = stored.join(keys.select(identity[0]).distinct(), identity[0], "left_semi")
        else:
            bounds = keys.select(identity[0], F.col(replaced_from).alias("_replaced_from"))
            stored = stored.join(bounds, identity[0]).where(F.col(identity[1]) >= F.col("_replaced_from"))
        stale = stored.select(*identity).join(rows.select(*identity), list(identity), "left_anti")
        return self._merge_with_tombstones(table, rows, identity, stale)

    def _create_counted(self, table: TableName, rows: DataFrame) -> MergeCounts:
        """Create the table from `rows`; what its first commit inserted."""
        self._create(table, rows)
        (creation,) = [entry for entry in self.history(table) if entry.version == 0]  # this call's own commit
        return MergeCounts(inserted=int(creation.metrics.get("numOutputRows", 0)), updated=0, deleted=0)

    def _merge_with_tombstones(
        self, table: TableName, rows: DataFrame, identity: Sequence[str], stale: DataFrame | None
    ) -> MergeCounts:
        """Upsert `rows` on the `identity` columns and delete the target rows whose identities `stale` holds."""
        source = rows.withColumn(_TOMBSTONE, F.lit(False))
        if stale is not None:
            source = source.unionByName(stale.withColumn(_TOMBSTONE, F.lit(True)), allowMissingColumns=True)
        columns = {column: f"source.`{column}`" for column in rows.columns}
        condition = " AND ".join(f"target.`{column}` = source.`{column}`" for column in identity)
        result = (
            self._delta(table)
            .alias("target")
            .merge(source.alias("source"), condition)
            .whenMatchedDelete(f"source.{_TOMBSTONE}")
            .whenMatchedUpdate(set=columns)
            .whenNotMatchedInsert(f"NOT source.{_TOMBSTONE}", values=columns)
            .execute()
            .first()
        )
        return MergeCounts(
            inserted=int(result["num_inserted_rows"]),
            updated=int(result["num_updated_rows"]),
            deleted=int(result["num_deleted_rows"]),
        )

    # --- maintenance ----------------------------------------------------------------------------

    def compact_and_vacuum(self, table: TableName, retention_hours: int) -> MaintenanceReport:
        """OPTIMIZE the table's small files, then VACUUM files unreferenced for `retention_hours`.

        A table with a `cluster_by` column is Z-ordered by it, so its days stay together in the compacted files.

        The retention is the table's own setting (`delta.deletedFileRetentionDuration`), set here
        when it differs, so every VACUUM of the table, and Delta's retention safety check, which
        stays on, use the same figure; time travel reaches back that far. The file counts are
        this table's own: OPTIMIZE's before and after, and the VACUUM commit tagged by this call.
        """
        spark = self._spark()
        identifier = self.identifier(table)
        retention = f"interval {int(retention_hours)} hours"
        if self.table_property(table, "delta.deletedFileRetentionDuration") != retention:
            self.set_table_property(table, "delta.deletedFileRetentionDuration", retention)
        files_before = self.file_count(table)
        zorder = f" ZORDER BY (`{table.cluster_by}`)" if table.cluster_by else ""
        spark.sql(f"OPTIMIZE {identifier}{zorder}").collect()
        files_after = self.file_count(table)
        tag = f"ecom-{uuid.uuid4()}"
        with self.noting_commits(tag):
            spark.sql(f"VACUUM {identifier}").collect()
        vacuumed = sum(
            int(entry.metrics.get("numDeletedFiles", 0))
            for entry in self.history(table, limit=10)
            if entry.operation == "VACUUM END" and entry.user_metadata == tag
        )
        return MaintenanceReport(files_before, files_after, vacuumed)

    def file_count(self, table: TableName) -> int:
        """How many data files the table's current version has."""
        return int(self._spark().sql(f"DESCRIBE DETAIL {self.identifier(table)}").first()["numFiles"])

    @contextmanager
    def noting_commits(self, note: str) -> Iterator[None]:
        """Give every commit made inside the block `note` as its `userMetadata` (see `last_data_commit`)."""
        spark = self._spark()
        previous = spark.conf.get(_COMMIT_TAG, None)
        spark.conf.set(_COMMIT_TAG, note)
        try:
            yield
        finally:
            if previous is None:
                spark.conf.unset(_COMMIT_TAG)
            else:
                spark.conf.set(_COMMIT_TAG, previous)

    def last_data_commit(self, table: TableName) -> TableVersion | None:
        """The table's latest commit that changed its rows (compaction, vacuum and property changes skipped); None
        for a missing table, or when the last 20 commits changed no rows."""
        if not self.exists(table):
            return None
        return next((entry for entry in self.history(table, limit=20) if entry.operation not in _NO_DATA_CHANGE), None)


@dataclass(frozen=True)
class PinnedTables:
    """Input tables read at fixed versions, so what is built from them can say which data it was built from."""

    lakehouse: Lakehouse
    versions: Mapping[TableName, int]

    def read(self, spark: SparkSession, table: TableName, **options: Any) -> DataFrame:
        """The table as of its pinned version (columns and filters as `Lakehouse.read`)."""
        return self.lakehouse.read(spark, table, version=self.versions[table], **options)

    @property
    def built_from(self) -> int:
        """A number that grows whenever any input gets a new version: the sum of the pinned versions."""
        return sum(self.versions.values())


def _created_since_last_looked(spark: SparkSession, location: str) -> bool:
    """Whether a table the JVM last saw missing at `location` has since been created, by another process.

    `DeltaTable.isDeltaTable` answers from the JVM's cached log of the path, which a long-lived
    session never refreshes for a "no"; reading the path refreshes it.
    """
    try:
        spark.read.format("delta").load(location).schema  # noqa: B018 - resolving the read refreshes the log
    except AnalysisException:
        return False
    return True
