"""The log tables as assets of their own, so the asset graph shows which steps write them.

Dagster does not materialize these tables: the table assets write them as part of their own
steps (rejected rows and step failures to `etl_errors`, check results to `data_quality_results`,
delivery status to `landing_deliveries`, quarantined days to `quarantined_days`). Declaring them
as assets whose upstream assets are their writers puts them in the lineage, in group `logs`, where
a steward looking at a log table sees every step that can add to it.
"""

from collections.abc import Sequence

from dagster import AssetsDefinition, AssetSpec

from ecom_assets.assets.common import asset_key
from ecom_assets.assets.feeds import FEEDS_GROUP
from ecom_assets.assets.quality import PUBLISHED_CHECK
from ecom_assets.tables import (
    DATA_QUALITY_RESULTS,
    ETL_ERRORS,
    LANDING_DELIVERIES,
    ORDER_TRANSACTIONS,
    PROCESSING_LOG,
    QUARANTINED_DAYS,
    TableName,
)

LOGS_GROUP = "logs"


def _log_table(table: TableName, description: str, writers: Sequence) -> AssetSpec:
    return AssetSpec(
        asset_key(table),
        deps=sorted(writers, key=lambda key: key.to_user_string()),
        description=description,
        group_name=LOGS_GROUP,
        kinds={"spark", "delta"},
        metadata={"table": table.full_name},
    )


def log_table_specs(table_assets: Sequence[AssetsDefinition]) -> list[AssetSpec]:
    """The log tables, each downstream of the table assets that write it.

    Every table asset can write `etl_errors` (a failed step records itself there for each day
    of its run); every asset with checks writes `data_quality_results`; bronze alone writes
    `landing_deliveries`; every daily table that can quarantine a day writes `quarantined_days`; the
    operational feeds' steps write `processing_log`.
    """
    every_table = [key for assets_def in table_assets for key in assets_def.keys]
    checked = [key for assets_def in table_assets if assets_def.check_specs for key in assets_def.keys]
    quarantining = [
        key
        for assets_def in table_assets
        for key in assets_def.keys
        if any(spec.name == PUBLISHED_CHECK.name for spec in assets_def.check_specs)
    ]
    feed_steps = [
        key
        for assets_def in table_assets
        for key in assets_def.keys
        if assets_def.group_names_by_key.get(key) == FEEDS_GROUP
    ]
    return [
        _log_table(
            PROCESSING_LOG,
            "One row per operational feed step and batch: start, end, rows in, out and rejected, status, message.",
            feed_steps,
        ),
        _log_table(
            ETL_ERRORS,
            "Every line kept out of a table, with its reason, and a row per day for each failed step;"
            " partitioned by the day it belongs to.",
            every_table,
        ),
        _log_table(
            DATA_QUALITY_RESULTS,
            "One row per check evaluation (check, asset, day, verdict, observed values), appended once per run.",
            checked,
        ),
        _log_table(
            LANDING_DELIVERIES,
            "Each day's delivery status as bronze found it: delivered, awaited, missing, closed or unreadable.",
            [asset_key(ORDER_TRANSACTIONS)],
        ),
        _log_table(
            QUARANTINED_DAYS,
            "Per daily table and day, why the day's latest run kept it out (quarantined); a published day has no row.",
            quarantining,
        ),
    ]
