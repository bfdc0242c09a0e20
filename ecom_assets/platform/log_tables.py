"""The log tables as assets of their own, so the asset graph shows which steps write them.

Dagster does not materialize these tables: the table assets write them as part of their own
steps (rejected rows and step failures to `etl_errors`, check results to `data_quality_results`,
quarantined days to `quarantined_days`; an area's own logs, such as the sales deliveries or the feeds'
processing log, are declared by the area with `log_table_spec`). Declaring them
as assets whose upstream assets are their writers puts them in the lineage, in group `logs`, where
a steward looking at a log table sees every step that can add to it.
"""

from collections.abc import Sequence

from dagster import AssetKey, AssetsDefinition, AssetSpec

from ecom_assets.platform.checks import PUBLISHED_CHECK
from ecom_assets.platform.tables import DATA_QUALITY_RESULTS, ETL_ERRORS, QUARANTINED_DAYS, TableName, asset_key

LOGS_GROUP = "logs"


def log_table_spec(table: TableName, description: str, writers: Sequence[AssetKey]) -> AssetSpec:
    """A log table as an asset spec downstream of the table assets that write it (an area declares its own logs)."""
    return AssetSpec(
        asset_key(table),
        deps=sorted(writers, key=lambda key: key.to_user_string()),
        description=description,
        group_name=LOGS_GROUP,
        kinds={"spark", "delta"},
        metadata={"table": table.full_name},
    )


def log_table_specs(table_assets: Sequence[AssetsDefinition]) -> list[AssetSpec]:
    """The log tables every area writes, each downstream of the table assets that write it.

    Every table asset can write `etl_errors` (a failed step records itself there for each day
    of its run); every asset with checks writes `data_quality_results`; every daily table that
    can quarantine a day writes `quarantined_days`.
    """
    every_table = [key for assets_def in table_assets for key in assets_def.keys]
    checked = [key for assets_def in table_assets if assets_def.check_specs for key in assets_def.keys]
    quarantining = [
        key
        for assets_def in table_assets
        for key in assets_def.keys
        if any(spec.name == PUBLISHED_CHECK.name for spec in assets_def.check_specs)
    ]
    return [
        log_table_spec(
            ETL_ERRORS,
            "Every line kept out of a table, with its reason, and a row per day for each failed step;"
            " partitioned by the day it belongs to.",
            every_table,
        ),
        log_table_spec(
            DATA_QUALITY_RESULTS,
            "One row per check evaluation (check, asset, day, verdict, observed values), appended once per run.",
            checked,
        ),
        log_table_spec(
            QUARANTINED_DAYS,
            "Per daily table and day, why the day's latest run kept it out (quarantined); a published day has no row.",
            quarantining,
        ),
    ]
