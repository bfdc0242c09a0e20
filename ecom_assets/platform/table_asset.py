"""What the table assets share: keys from table names, the partitioned-table decorator, metadata."""

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime

import botocore.exceptions
import delta.exceptions
from dagster import (
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    MetadataValue,
    PartitionsDefinition,
    RetryRequested,
    asset,
)
from pyspark.sql import DataFrame, SparkSession

from ecom_assets.platform.dates import DateRange
from ecom_assets.platform.errors import step_failure_rows
from ecom_assets.platform.partitions import daily_partitions, partition_days, single_run_backfill
from ecom_assets.platform.privacy import masked
from ecom_assets.platform.tables import ETL_ERRORS, QUARANTINED_DAYS, TableName
from resources import Lakehouse, SparkSessionResource
from resources.lakehouse import within

PREVIEW_ROWS = 5
QUARANTINED_DAYS_SCHEMA = "asset string, partition_date date, reason string, run_id string, quarantined_at timestamp"

UPSTREAM_REASON = "quarantined upstream in"
TRANSIENT_RETRIES = 3
RETRY_BACKOFF_SECONDS = 2
WRITE_CONFLICTS = tuple(getattr(delta.exceptions, name) for name in delta.exceptions.__all__)
"""Delta's optimistic-concurrency conflicts: another writer committed first."""
TRANSIENT_ERRORS = (*WRITE_CONFLICTS, ConnectionError, TimeoutError, botocore.exceptions.ConnectionError)
"""Failures a later attempt can get past: a write conflict, or the network (S3, Databricks' API) dropping out."""
_TRANSIENT_MARKERS = (
    *(f"io.delta.exceptions.{kind.__name__}" for kind in WRITE_CONFLICTS),
    "java.net.SocketTimeoutException",
    "java.net.ConnectException",
    "SdkClientException: Unable to execute HTTP request",
)
"""How such a failure reads when it reaches Python as text (a JVM exception, or re-raised from a Databricks step)."""
_UPSTREAM: dict[TableName, tuple[TableName, ...]] = {}
"""Each table asset's direct upstream tables, as `partitioned_table_asset` declared them."""


def asset_key(table: TableName) -> AssetKey:
    """The asset key of a table mirrors its Unity Catalog name."""
    return AssetKey(table.parts)


def partitioned_table_asset(
    table: TableName,
    group: str,
    description: str,
    upstream: Sequence[TableName] = (),
    check_specs: Sequence[AssetCheckSpec] = (),
    reads: Sequence[TableName] = (),
    partitions_def: PartitionsDefinition = daily_partitions,
) -> Callable:
    """Decorate a function as the partitioned (daily unless `partitions_def` says otherwise), single-run-backfill
    asset of a Spark-built Delta table.

    The function takes the context and its resources by name (`spark` and `lakehouse` among
    them) and yields its results. An exception it raises is recorded in the error table for
    every day of the run (see `step_failures_recorded`) before it fails the step.

    Two runs may write the table at once: a commit that loses Delta's optimistic conflict check,
    like a network failure, is retried as a whole step (`retry_transient_failures`), and every
    write replaces what it covers (days, keys), so a retried or repeated step never adds rows twice.

    `reads` are tables the asset also reads without being held back by them: they show in the
    lineage, but a day they quarantine is not quarantined here.
    """

    def decorate(body: Callable[..., Iterator]) -> AssetsDefinition:
        _UPSTREAM[table] = tuple(upstream)

        @functools.wraps(body)
        def materialize_table(context: AssetExecutionContext, **resources) -> Iterator:
            days = partition_days(context)
            with step_failures_recorded(context, resources["spark"], resources["lakehouse"], table, days):
                with retry_transient_failures(context):
                    yield from body(context, **resources)

        return asset(
            check_specs=list(check_specs),
            key=asset_key(table),
            deps=[asset_key(parent) for parent in [*upstream, *reads]],
            partitions_def=partitions_def,
            backfill_policy=single_run_backfill,
            group_name=group,
            kinds={"spark", "delta"},
            description=description,
        )(materialize_table)

    return decorate


def is_transient(error: BaseException) -> bool:
    """Whether a later attempt can get past the error: a Delta write conflict or a network failure."""
    return isinstance(error, TRANSIENT_ERRORS) or any(marker in str(error) for marker in _TRANSIENT_MARKERS)


@contextmanager
def retry_transient_failures(context: AssetExecutionContext) -> Iterator[None]:
    """Turn a transient failure in the block into a retry of the whole step (up to `TRANSIENT_RETRIES` times,
    waiting longer each time); any other error fails at once. Safe because every step replaces what it writes:
    a rerun never adds twice."""
    try:
        yield
    except Exception as error:
        attempt = context.retry_number
        if not is_transient(error) or attempt >= TRANSIENT_RETRIES:
            raise
        wait = RETRY_BACKOFF_SECONDS * 2**attempt
        context.log.warning(f"transient failure, retrying the step in {wait} s (retry {attempt + 1}): {error}")
        raise RetryRequested(max_retries=TRANSIENT_RETRIES, seconds_to_wait=wait) from error


def upstream_tables(table: TableName) -> set[TableName]:
    """Every table the table is built from, directly or through others."""
    found: set[TableName] = set()
    pending = list(_UPSTREAM.get(table, ()))
    while pending:
        parent = pending.pop()
        if parent not in found:
            found.add(parent)
            pending.extend(_UPSTREAM.get(parent, ()))
    return found


@dataclass(frozen=True)
class QuarantineLog:
    """What `logs.quarantined_days` held on a run's days when the step began: per table, the days kept out and why."""

    reasons_by_table: Mapping[str, Mapping[date, str]]

    def upstream_of(self, table: TableName) -> dict[date, str]:
        """The days that a table upstream of `table` keeps quarantined, with one line naming the tables and causes."""
        found: dict[date, dict[str, str]] = {}
        for parent in upstream_tables(table):
            for day, reason in self.reasons_by_table.get(parent.full_name, {}).items():
                found.setdefault(day, {})[parent.full_name] = reason
        return {day: _upstream_reason(reasons) for day, reasons in found.items()}

    def holds(self, table: TableName) -> bool:
        """Whether `table` had days recorded (which publishing must clear)."""
        return bool(self.reasons_by_table.get(table.full_name))


def read_quarantine_log(session: SparkSession, lakehouse: Lakehouse, days: DateRange) -> QuarantineLog:
    """`logs.quarantined_days` on the run's days (see `record_quarantine`), read once per step."""
    if not lakehouse.exists(QUARANTINED_DAYS):
        return QuarantineLog({})
    reasons: dict[str, dict[date, str]] = {}
    for row in lakehouse.read(session, QUARANTINED_DAYS, filters=within("partition_date", days)).collect():
        reasons.setdefault(row["asset"], {})[row["partition_date"]] = row["reason"]
    return QuarantineLog(reasons)


def _upstream_reason(reason_by_table: Mapping[str, str]) -> str:
    """One line naming the upstream tables that quarantined a day and the causes (not the propagated reasons)."""
    causes = [reason for reason in reason_by_table.values() if not reason.startswith(UPSTREAM_REASON)]
    tables = ", ".join(sorted(reason_by_table))
    return f"{UPSTREAM_REASON} {tables}: {'; '.join(sorted(set(causes))) or 'see those tables'}"


def record_quarantine(
    context: AssetExecutionContext,
    lakehouse: Lakehouse,
    session: SparkSession,
    table: TableName,
    days: DateRange,
    quarantined: Mapping[date, str],
    recorded: bool = True,
) -> None:
    """Replace the table's rows of `logs.quarantined_days` for the run's days with the days it kept out now.

    The table then holds, per table and day, why the day's latest run did not publish it;
    a run that publishes the day clears its row. Downstream tables read it to keep the day out too.
    `recorded=False` says the table had no row there (see `QuarantineLog.holds`): with none to
    add either, nothing is written.
    """
    scope = {"asset": table.full_name}
    for day, reason in sorted(quarantined.items()):
        context.log.error(f"{table.full_name} quarantined {day}, its stored rows stay as they were: {reason}")
    if quarantined:
        now = datetime.now(UTC)
        rows = [
            (table.full_name, day, reason[:4000], context.run_id, now) for day, reason in sorted(quarantined.items())
        ]
        lakehouse.replace_date_range(
            QUARANTINED_DAYS,
            session.createDataFrame(rows, QUARANTINED_DAYS_SCHEMA),
            "partition_date",
            days,
            scope=scope,
        )
    elif recorded:
        lakehouse.delete_date_range(QUARANTINED_DAYS, "partition_date", days, scope)


@contextmanager
def staged(rows: DataFrame) -> Iterator[DataFrame]:
    """The rows a step is about to publish, computed once and kept while the step checks and writes them.

    Checks and figures come from these rows before they are committed, so no step reads back
    what it has just written.
    """
    rows = rows.persist()
    try:
        yield rows
    finally:
        rows.unpersist()


def preview(rows: DataFrame, limit: int = PREVIEW_ROWS) -> MetadataValue:
    """A small Markdown table of the first rows, for the asset page; personal data masked (see `privacy`)."""
    records = rows.limit(limit).collect()
    header = "| " + " | ".join(rows.columns) + " |"
    rule = "| " + " | ".join("---" for _ in rows.columns) + " |"
    lines = [
        "| " + " | ".join(_cell(masked(column, value)) for column, value in record.asDict().items()) + " |"
        for record in records
    ]
    return MetadataValue.md("\n".join([header, rule, *lines]))


def _cell(value: object) -> str:
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


def add_daily_metadata(
    context: AssetExecutionContext, days: DateRange, figures_by_day: Mapping[date, Mapping[str, float]]
) -> None:
    """Attach each day's own figures to that day's partition, so the UI plots them per day.

    Without this, a multi-day run would stamp the whole run's totals on every partition.
    """
    for day in days:
        if figures_by_day.get(day):
            context.add_asset_metadata(dict(figures_by_day[day]), partition_key=day.isoformat())


def table_metadata(lakehouse: Lakehouse, table: TableName, rows: DataFrame) -> dict:
    """Where the table is and a preview of the rows just written."""
    return {
        "table": table.full_name,
        "location": MetadataValue.path(lakehouse.location(table)),
        "preview": preview(rows),
    }


@contextmanager
def step_failures_recorded(
    context: AssetExecutionContext, spark: SparkSessionResource, lakehouse: Lakehouse, table: TableName, days: DateRange
) -> Iterator[None]:
    """Record an exception of the block in the error table (one row per day of the run), then let it fail the step.

    When the error table itself cannot be written, that is logged and the original error still
    fails the step.
    """
    try:
        yield
    except RetryRequested:
        raise
    except Exception as error:
        step = context.op_execution_context.op_def.name
        try:
            rows = step_failure_rows(
                spark.get_session(),
                asset=table.full_name,
                step=step,
                run_id=context.run_id,
                days=days,
                occurred_at=datetime.now(UTC),
                error=error,
            )
            lakehouse.append(ETL_ERRORS, rows)
            context.log.error(f"{step} failed; recorded in {ETL_ERRORS.full_name} for {days}: {error}")
        except Exception as recording_error:  # noqa: BLE001 - the step's own error must still surface
            context.log.error(f"{step} failed and could not be recorded in {ETL_ERRORS.full_name}: {recording_error}")
        raise
