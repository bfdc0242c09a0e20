"""Bronze of an API source: every line of the loads dlt completed, appended once per load, then archived."""

from datetime import UTC, datetime
from functools import reduce

from dagster import AssetKey, AssetsDefinition, MetadataValue
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

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
from ecom_assets.platform.table_asset import TableStep, table_asset
from ecom_assets.platform.tables import TableName
from resources import LandingZone

LANDED_LINE_SCHEMA = "id string, object string, _dlt_load_id string, _dlt_id string"
"""What bronze reads of a landed line (`{"id", ..., "object", "_dlt_load_id", "_dlt_id"}`); the line is kept whole."""
BRONZE_COLUMNS = ("load_id", "resource", "line_id", "object_id", "record", "source_file", "ingested_at")
BRONZE_SCHEMA = ", ".join(f"{name} {'timestamp' if name == 'ingested_at' else 'string'}" for name in BRONZE_COLUMNS)

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
