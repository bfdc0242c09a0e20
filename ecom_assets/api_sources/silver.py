"""Silver of an API source: each object's current state merged from the bronze rows not merged yet, unusable
records to the error table, and the ids checked."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from dagster import AssetsDefinition, MetadataValue
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ecom_assets.api_sources.bronze import BRONZE_SCHEMA
from ecom_assets.api_sources.current_state import newer_than_stored
from ecom_assets.platform.checks import Check
from ecom_assets.platform.outcomes import CheckOutcome
from ecom_assets.platform.table_asset import TableStep, staged, table_asset
from ecom_assets.platform.tables import ETL_ERRORS, TableName, asset_key
from resources.lakehouse import MergeCounts, utc_instant

REREAD_WINDOW = timedelta(hours=1)
"""Silver reads the bronze rows ingested since an hour before the newest it merged: a bronze run that started
earlier but committed later (two runs at once) is still read. Re-reading is harmless (merges by id and time)."""

UNIQUE_IDS = Check(
    "unique_ids",
    "Each object (or line item) id is stored once, and no stored row lacks one.",
    per_partition=False,
)


def unmerged_bronze(step: TableStep, table: TableName, bronze: TableName) -> tuple[DataFrame | None, DataFrame, str]:
    """What a silver `table` of an API source stores (None before its first run), the `bronze` rows it has not merged
    yet (with the re-read window; none while the source has landed nothing), and since when they are read."""
    stored = step.lakehouse.read(step.session, table) if step.lakehouse.exists(table) else None
    newest = stored.agg(F.max("ingested_at")).first()[0] if stored is not None else None
    since = utc_instant(newest - REREAD_WINDOW) if newest else None
    if not step.lakehouse.exists(bronze):
        return stored, step.session.createDataFrame([], BRONZE_SCHEMA), "the beginning (nothing landed yet)"
    return stored, step.read(bronze, filters=[("ingested_at", ">=", since)] if since else []), since or "the beginning"


def unique_ids(step: TableStep, table: TableName, key: str) -> CheckOutcome:
    """How many `key` values a silver table stores more than once, and how many rows lack one."""
    figures = (
        step.lakehouse.read(step.session, table)
        .agg(
            F.count("*").alias("rows"),
            F.countDistinct(key).alias("ids"),
            F.count_if(F.col(key).isNull()).alias("nulls"),
        )
        .first()
    )
    repeated = figures["rows"] - figures["nulls"] - figures["ids"]
    passed = repeated == 0 and figures["nulls"] == 0
    summary = (
        f"{figures['ids']} id(s), each once" if passed else f"{repeated} repeated id(s), {figures['nulls']} without"
    )
    return CheckOutcome(passed, summary, {"rows": figures["rows"], "ids": figures["ids"], "null_ids": figures["nulls"]})


def merge_current_states(
    step: TableStep, table: TableName, stored: DataFrame | None, errors: DataFrame, candidates: DataFrame
) -> tuple[MergeCounts, int]:
    """Record the rejected observations (`errors`) in the error table, then merge into `table` the candidate states
    (`id`, `observed_at`, `deleted`, ...) that change what it stores; returns the merge's counts and the rejected."""
    rejected = errors.count()
    if rejected:
        step.lakehouse.merge_on_key(ETL_ERRORS, errors, "error_id")
    if stored is not None:
        candidates = newer_than_stored(candidates, stored.join(candidates.select("id"), "id", "left_semi"))
    with staged(candidates) as rows:
        changed = stored is None or not rows.isEmpty()
        counts = step.lakehouse.merge_on_key(table, rows, "id") if changed else MergeCounts(0, 0, 0)
    return counts, rejected


def silver_table_asset(
    table: TableName,
    bronze: TableName,
    group: str,
    description: str,
    build: Callable[[TableStep], None],
    key: str = "id",
) -> AssetsDefinition:
    """`build` as the unpartitioned silver asset of `table`, read from `bronze`, with the unique-ids check on `key`.

    `build` runs only when bronze has a commit the asset's last materialization did not read (its
    `bronze_version`, taken before reading): an hourly pull that landed nothing costs a look at
    two logs, not a re-read of the last hour's rows.
    """

    def run(step: TableStep) -> None:
        """Bring the table up to date with bronze (when bronze changed), then judge its ids."""
        version = step.lakehouse.history(bronze, limit=1)[0].version if step.lakehouse.exists(bronze) else None
        if version is not None and version == _bronze_version_read_last(step) and step.lakehouse.exists(table):
            step.metadata["read_bronze_since"] = MetadataValue.text(f"nothing new: bronze still at version {version}")
        else:
            build(step)
        if version is not None:
            step.metadata["bronze_version"] = version
        step.reporter.add(UNIQUE_IDS, {datetime.now(UTC).date(): unique_ids(step, table, key)})

    run.__name__ = run.__qualname__ = table.table
    run.__doc__ = build.__doc__
    return table_asset(
        table, group=group, partitions_def=None, reads=[bronze], description=description, checks=[UNIQUE_IDS]
    )(run)


def _bronze_version_read_last(step: TableStep) -> int | None:
    """The bronze version the asset's last materialization read, as its metadata recorded it (None: none did)."""
    event = step.context.instance.get_latest_materialization_event(asset_key(step.table))
    recorded = event.asset_materialization.metadata.get("bronze_version") if event else None
    return recorded.value if recorded is not None else None


def current_state_asset(
    table: TableName,
    bronze: TableName,
    group: str,
    description: str,
    typed: Callable[[DataFrame], DataFrame],
    errors: Callable[..., DataFrame],
    rows: Callable[[DataFrame], DataFrame],
) -> AssetsDefinition:
    """The silver asset keeping each object's current state in `table`: the bronze rows not merged yet are `typed`
    (with a `problem` per unusable record), the unusable ones become `errors(typed, asset=, step=, occurred_at=)`,
    and `rows(typed)` (the latest usable states as silver rows) are merged where they change what is stored."""

    def build(step: TableStep) -> None:
        """Merge each object's latest state from the bronze rows not yet merged; reject unusable records."""
        stored, landed, since = unmerged_bronze(step, table, bronze)
        observed = typed(landed).persist()
        try:
            rejected_rows = errors(observed, asset=table.full_name, step=step.step_name, occurred_at=datetime.now(UTC))
            counts, rejected = merge_current_states(step, table, stored, rejected_rows, rows(observed))
        finally:
            observed.unpersist()
        step.metadata.update(
            {
                "inserted": counts.inserted,
                "updated": counts.updated,
                "rejected_to_error_table": rejected,
                "read_bronze_since": MetadataValue.text(since),
                **step.table_metadata(step.lakehouse.read(step.session, table).limit(5)),
            }
        )

    return silver_table_asset(
        table,
        bronze,
        group,
        f"{description} A record that cannot be used goes to the error table with its reason.",
        build,
    )
