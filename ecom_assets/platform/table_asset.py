"""The table-asset decorator and what it hands the body: the run's window, Spark, the lakehouse and its checks."""

import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import botocore.exceptions
import delta.exceptions
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    DagsterLogManager,
    HourlyPartitionsDefinition,
    MaterializeResult,
    MetadataValue,
    PartitionsDefinition,
    ResourceParam,
    RetryRequested,
    asset,
)
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)
from pyspark.sql import DataFrame, SparkSession

from ecom_assets.platform.checks import PUBLISHED_CHECK, Check, CheckReporter, check_specs
from ecom_assets.platform.dates import DateRange, HourRange
from ecom_assets.platform.errors import step_failure_rows
from ecom_assets.platform.partitions import daily_partitions, partition_days, partition_hours, single_run_backfill
from ecom_assets.platform.privacy import masked
from ecom_assets.platform.quarantine import declare_upstream
from ecom_assets.platform.tables import ETL_ERRORS, TableName, asset_key
from resources import Lakehouse, SparkSessionResource
from resources.lakehouse import PinnedTables, within

PREVIEW_ROWS = 5

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


@dataclass
class TableStep:
    """What a table asset's body is handed: its run's window, Spark, the lakehouse and the step's check reporter.

    The body reads its inputs, calls its transforms, records its checks' outcomes on `reporter`,
    publishes through it (`replace_passing_days`, `merge_passing_days`, ...) and puts what a steward
    should see in `metadata`; the decorator (`table_asset`) yields the materialization and the
    check evaluations, records the checks, and turns a failure into error rows or a retry.
    """

    context: AssetExecutionContext
    table: TableName
    session: SparkSession
    lakehouse: Lakehouse
    window: DateRange | HourRange | None
    """The run's days (daily partitions), hours (hourly partitions), or None (a snapshot of the whole table)."""
    days: DateRange
    """The days the run covers: its partitions' days (for hours, the days they touch), or a snapshot's run's days."""
    reporter: CheckReporter
    metadata: dict = field(default_factory=dict)
    """The materialization's metadata (the decorator yields it when the body returns)."""

    @property
    def hours(self) -> HourRange:
        """The UTC hours the run covers (hourly tables)."""
        return self.window

    @property
    def log(self) -> DagsterLogManager:
        """The run's log."""
        return self.context.log

    @property
    def step_name(self) -> str:
        """The step's name, as the error table records it."""
        return self.context.op_execution_context.op_def.name

    def read(self, table: TableName, date_column: str | None = None, **options: Any) -> DataFrame:
        """A table as the lakehouse reads it (`columns`, `filters`, `version`), narrowed to the run's days on
        `date_column` when given."""
        filters = [*options.pop("filters", ()), *(within(date_column, self.days) if date_column else ())]
        return self.lakehouse.read(self.session, table, filters=filters, **options)

    def add_daily_metadata(self, figures_by_day: Mapping[date, Mapping[str, float]]) -> None:
        """Attach each day's own figures to that day's partition (see `add_daily_metadata`)."""
        add_daily_metadata(self.context, self.days, figures_by_day)

    def table_metadata(self, rows: DataFrame) -> dict:
        """Where the table is and a preview of the rows just written."""
        return table_metadata(self.lakehouse, self.table, rows)


PLATFORM_RESOURCES = (
    inspect.Parameter("spark", inspect.Parameter.KEYWORD_ONLY, annotation=SparkSessionResource),
    inspect.Parameter("lakehouse", inspect.Parameter.KEYWORD_ONLY, annotation=Lakehouse),
    inspect.Parameter("step_launcher", inspect.Parameter.KEYWORD_ONLY, annotation=ResourceParam[Any]),
)
"""The resources every table step takes: Spark, the lakehouse, and the step launcher (which decides where the step
runs: here, or on Databricks; see `resources`)."""


def table_asset(
    table: TableName,
    group: str,
    description: str,
    checks: Sequence[Check] = (),
    upstream: Sequence[TableName] = (),
    reads: Sequence[TableName] = (),
    partitions_def: PartitionsDefinition | None = daily_partitions,
    quarantines: bool = False,
    landed_by: Sequence[AssetKey] = (),
) -> Callable:
    """Decorate `body(step, **resources)` as the single-run-backfill asset of a Spark-built Delta table.

    The asset is partitioned by `partitions_def` (daily by default; None: a snapshot of the whole
    table, built once per run). Its checks are `checks`; a table that `quarantines` days (see
    `quarantine`) also has the `published` check telling each day whether it was published, and
    keeps out the days its upstream tables quarantined. The body gets a `TableStep` (the run's window, Spark, the
    lakehouse, the check reporter) and the other resources it names; it returns nothing.

    An exception the body raises is recorded in the error table for every day of the run (see
    `step_failures_recorded`) before it fails the step. Two runs may write the table at once: a
    commit that loses Delta's optimistic conflict check, like a network failure, is retried as a
    whole step (`retry_transient_failures`), and every write replaces what it covers (days, keys),
    so a retried or repeated step never adds rows twice.

    `upstream` tables hold a day back when they quarantine it; `reads` are tables the asset also
    reads without being held back by them; `landed_by` are the assets that land the files it loads:
    all show in the lineage.
    """
    all_checks = [*checks, PUBLISHED_CHECK] if quarantines else list(checks)

    def decorate(body: Callable[..., None]) -> AssetsDefinition:
        declare_upstream(table, upstream)
        body_resources = list(inspect.signature(body).parameters.values())[1:]

        def materialize_table(context: AssetExecutionContext, spark, lakehouse, step_launcher, **resources) -> Iterator:
            window = _window(context, partitions_def)
            days = window.days() if isinstance(window, HourRange) else window or _days_of_run(context)
            with step_failures_recorded(context, spark, lakehouse, table, days):
                with retry_transient_failures(context):
                    session = spark.get_session()
                    reporter = (
                        CheckReporter.for_daily_table(context, table, session, lakehouse, days)
                        if quarantines
                        else CheckReporter(context, table)
                    )
                    step = TableStep(context, table, session, lakehouse, window, days, reporter)
                    body(step, **resources)
                    yield MaterializeResult(metadata=step.metadata)
                    yield from reporter.publish(lakehouse)

        materialize_table.__name__ = body.__name__
        materialize_table.__qualname__ = body.__qualname__
        materialize_table.__doc__ = body.__doc__
        materialize_table.__module__ = body.__module__
        materialize_table.__signature__ = inspect.Signature(
            [
                inspect.Parameter("context", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=AssetExecutionContext),
                *PLATFORM_RESOURCES,
                *(parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY) for parameter in body_resources),
            ]
        )
        return asset(
            check_specs=check_specs(table, all_checks, partitions_def),
            key=asset_key(table),
            deps=[*landed_by, *(asset_key(parent) for parent in [*upstream, *reads])],
            partitions_def=partitions_def,
            # unpartitioned too: the CLI runs a partition range as one run only when every selected asset has this
            backfill_policy=single_run_backfill,
            group_name=group,
            kinds={"spark", "delta"},
            description=description,
        )(materialize_table)

    return decorate


def _days_of_run(context: AssetExecutionContext) -> DateRange:
    """The days an unpartitioned step's run covers (a snapshot built in a daily run or backfill); today, UTC,
    for a run without days: what its failure is recorded under in the error table."""
    tags = context.run.tags
    first = tags.get(ASSET_PARTITION_RANGE_START_TAG) or tags.get(PARTITION_NAME_TAG)
    last = tags.get(ASSET_PARTITION_RANGE_END_TAG) or first
    try:
        return DateRange(date.fromisoformat(first[:10]), date.fromisoformat(last[:10]))
    except (TypeError, ValueError):
        today = datetime.now(UTC).date()
        return DateRange(today, today)


def _window(
    context: AssetExecutionContext, partitions_def: PartitionsDefinition | None
) -> DateRange | HourRange | None:
    if partitions_def is None:
        return None
    if isinstance(partitions_def, HourlyPartitionsDefinition):
        return partition_hours(context)
    return partition_days(context)


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


@contextmanager
def staged(rows: DataFrame) -> Iterator[DataFrame]:
    """The rows a step is about to publish, computed once and kept while the step checks and writes them.

    Checks and figures come from these rows before they are committed, so no step reads back
    what it has just written. The rows are computed on entry, so a step's check time
    (`CheckReporter.computing`) is the checks' own, not the computation of the rows they judge.
    """
    rows = rows.persist()
    rows.count()
    try:
        yield rows
    finally:
        rows.unpersist()


@contextmanager
def snapshot(rows: DataFrame) -> Iterator[DataFrame]:
    """The rows computed now and cut from the tables they were read from, for a step that writes one of those tables.

    A Delta write re-caches every persisted frame that read the written table: after the commit,
    `staged` rows built from it would be computed again, from the new version. A snapshot is not.
    """
    yield rows.localCheckpoint(eager=True)


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


def input_versions(inputs: PinnedTables) -> dict:
    """The versions a snapshot read its inputs at, as metadata: which data it was built from."""
    return {
        "input_versions": MetadataValue.json({table.full_name: version for table, version in inputs.versions.items()})
    }


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
