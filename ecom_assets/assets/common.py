"""What the table assets share: keys from table names, the partitioned-table decorator, metadata."""

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime

from dagster import AssetCheckSpec, AssetExecutionContext, AssetKey, AssetsDefinition, MetadataValue, asset
from pyspark.sql import DataFrame

from ecom_assets.dates import DateRange
from ecom_assets.partitions import daily_partitions, partition_days, single_run_backfill
from ecom_assets.tables import ETL_ERRORS, TableName
from ecom_assets.transforms.errors import step_failure_rows
from resources import Lakehouse, SparkSessionResource

PREVIEW_ROWS = 5


def asset_key(table: TableName) -> AssetKey:
    """The asset key of a table mirrors its Unity Catalog name."""
    return AssetKey(table.parts)


def daily_table_asset(
    table: TableName,
    group: str,
    description: str,
    upstream: Sequence[TableName] = (),
    check_specs: Sequence[AssetCheckSpec] = (),
) -> Callable:
    """Decorate a function as the daily-partitioned, single-run-backfill asset of a Spark-built Delta table.

    The function takes the context and its resources by name (`spark` and `lakehouse` among
    them) and yields its results. An exception it raises is recorded in the error table for
    every day of the run (see `step_failures_recorded`) before it fails the step.
    """

    def decorate(body: Callable[..., Iterator]) -> AssetsDefinition:
        @functools.wraps(body)
        def materialize_table(context: AssetExecutionContext, **resources) -> Iterator:
            days = partition_days(context)
            with step_failures_recorded(context, resources["spark"], resources["lakehouse"], table, days):
                yield from body(context, **resources)

        return asset(
            check_specs=list(check_specs),
            key=asset_key(table),
            deps=[asset_key(parent) for parent in upstream],
            partitions_def=daily_partitions,
            backfill_policy=single_run_backfill,
            group_name=group,
            kinds={"spark", "delta"},
            description=description,
        )(materialize_table)

    return decorate


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
    """A small Markdown table of the first rows, for the asset page."""
    records = rows.limit(limit).collect()
    header = "| " + " | ".join(rows.columns) + " |"
    rule = "| " + " | ".join("---" for _ in rows.columns) + " |"
    lines = ["| " + " | ".join(_cell(value) for value in record) + " |" for record in records]
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
