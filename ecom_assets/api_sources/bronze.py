"""Bronze of an API source: every line of the loads dlt completed, appended once per load, then archived."""

from datetime import UTC, datetime, timedelta
from functools import reduce

from dagster import AssetKey, AssetsDefinition, MetadataValue
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ecom_assets.api_sources.current_state import newer_than_stored
from ecom_assets.api_sources.loads import (
    LoadRefused,
    archive_load,
    count_lines,
    landed_loads,
    set_aside_load,
    source_folder,
)
from ecom_assets.platform.checks import Check
from ecom_assets.platform.outcomes import CheckOutcome
from ecom_assets.platform.table_asset import TableStep, staged, table_asset
from ecom_assets.platform.tables import ETL_ERRORS, TableName
from resources import LandingZone
from resources.lakehouse import MergeCounts, utc_instant

LANDED_LINE_SCHEMA = "id string, object string, _dlt_load_id string, _dlt_id string"
"""What bronze reads of a landed line (`{"id", ..., "object", "_dlt_load_id", "_dlt_id"}`); the line is kept whole."""
BRONZE_COLUMNS = ("load_id", "resource", "line_id", "object_id", "record", "source_file", "ingested_at")
BRONZE_SCHEMA = ", ".join(f"{name} {'timestamp' if name == 'ingested_at' else 'string'}" for name in BRONZE_COLUMNS)

REREAD_WINDOW = timedelta(hours=1)
"""Silver reads the bronze rows ingested since an hour before the newest it merged: a bronze run that started
earlier but committed later (two runs at once) is still read. Re-reading is harmless (merges by id and time)."""

UNIQUE_IDS = Check(
    "unique_ids",
    "Each object (or line item) id is stored once, and no stored row lacks one.",
    per_partition=False,
)
EVERY_LINE_LOADED = Check(
    "every_line_loaded",
    "Conservation: each load the run took holds, in bronze, as many rows as its landed files have lines.",
    per_partition=False,
)


def bronze_rows(lines: DataFrame, load_id: str, ingested_at: datetime) -> DataFrame:
    """Bronze rows of one load's lines (`value`, `resource`, `source_file`): every line kept whole in `record`,
    with its object's id when the line has one, and its line id (dlt's `_dlt_id`, else a hash of the line)."""
    parsed = F.from_json("value", LANDED_LINE_SCHEMA)
    return lines.select(
        F.lit(load_id).alias("load_id"),
        "resource",
        F.coalesce(parsed["_dlt_id"], F.sha2(F.concat_ws("|", "source_file", "value"), 256)).alias("line_id"),
        parsed["id"].alias("object_id"),
        F.col("value").alias("record"),
        "source_file",
        F.lit(ingested_at).cast("timestamp").alias("ingested_at"),
    )


def landed_loads_asset(source: str, table: TableName, group: str, landed_by: list[AssetKey]) -> AssetsDefinition:
    """The bronze asset of an API source's landed loads (`raw/api/<source>/`), into `table`."""

    def load(step: TableStep, landing: LandingZone) -> None:
        found = landed_loads(landing, source)
        ingested_at = datetime.now(UTC)
        appended, refused, already = {}, {}, 0
        for landed in found.complete:
            try:
                lines = {path: count_lines(landing, path) for paths in landed.files.values() for path in paths}
            except LoadRefused as reason:
                refused[landed.load_id] = str(reason)
                moved = set_aside_load(landing, landed)
                step.log.error(f"load {landed.load_id} refused, its files set aside: {reason} ({moved})")
                continue
            rows = _load_lines(step, landing, landed.files, landed.load_id, ingested_at)
            if step.lakehouse.append_once(table, rows, token=landed.load_id):
                appended[landed.load_id] = lines
            else:
                already += 1
            archive_load(landing, landed)
        step.reporter.add(EVERY_LINE_LOADED, {ingested_at.date(): _every_line_loaded(step, appended, ingested_at)})
        if found.incomplete:
            step.log.warning(f"{len(found.incomplete)} load(s) dlt has not completed are left: {found.incomplete[:5]}")
        if found.refused:
            step.log.warning(
                f"{len(found.refused)} entries that are not dlt's files were not read: {found.refused[:5]}"
            )
        step.metadata.update(
            {
                "loads_appended": MetadataValue.json(sorted(appended)),
                "rows_appended": sum(sum(lines.values()) for lines in appended.values()),
                "loads_already_loaded": already,
                "loads_refused": MetadataValue.json(refused),
                "loads_not_complete": MetadataValue.json(found.incomplete[:20]),
                "table": table.full_name,
            }
        )

    load.__name__ = load.__qualname__ = table.table
    load.__doc__ = "Append the complete loads not yet in bronze (oldest first), then archive every loaded load's files."
    return table_asset(
        table,
        group=group,
        partitions_def=None,
        landed_by=landed_by,
        description=f"Every line of {source}'s landed loads (`{source_folder(source)}/`) as delivered (`record`), "
        "one commit per dlt load, each load once: a load dlt has not completed is never read; loaded files move to "
        f"`archive/api/{source}/`.",
        checks=[EVERY_LINE_LOADED],
    )(load)


def _load_lines(
    step: TableStep, landing: LandingZone, files: dict[str, list[str]], load_id: str, ingested_at: datetime
) -> DataFrame:
    """One load's lines as bronze rows."""
    frames = [
        step.session.read.text([landing.spark_path(landing.relative_path(path)) for path in paths]).select(
            "value", F.lit(resource).alias("resource"), F.col("_metadata.file_name").alias("source_file")
        )
        for resource, paths in sorted(files.items())
    ]
    return bronze_rows(reduce(DataFrame.unionByName, frames), load_id, ingested_at)


def _every_line_loaded(step: TableStep, appended: dict[str, dict[str, int]], ingested_at: datetime) -> CheckOutcome:
    """Compare each appended load's bronze rows per file with the lines its file held."""
    if not appended:
        return CheckOutcome(True, "no new load", {"loads": 0, "rows": 0})
    stored = (
        step.read(step.table, filters=[("ingested_at", "=", ingested_at)])
        .where(F.col("load_id").isin(*appended))
        .groupBy("load_id", "source_file")
        .count()
        .collect()
    )
    rows = {(row["load_id"], row["source_file"]): row["count"] for row in stored}
    differing = {
        path: {"bronze_rows": rows.get((load_id, path.rsplit("/", 1)[-1]), 0), "lines": lines}
        for load_id, files in appended.items()
        for path, lines in files.items()
        if rows.get((load_id, path.rsplit("/", 1)[-1]), 0) != lines
    }
    total = sum(sum(files.values()) for files in appended.values())
    summary = (
        f"{len(appended)} load(s), {total} line(s) appended" if not differing else f"{len(differing)} file(s) differ"
    )
    return CheckOutcome(not differing, summary, {"loads": len(appended), "rows": total, "differing": differing})


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
