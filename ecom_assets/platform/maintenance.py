"""Weekly Delta table maintenance: OPTIMIZE and VACUUM every table the pipeline owns."""

from typing import Any

from dagster import AssetObservation, Config, OpExecutionContext, ResourceParam, ScheduleDefinition, job, op
from pydantic import Field

from ecom_assets.platform.tables import asset_key, tables_owned
from resources import Lakehouse, SparkSessionResource


class MaintenanceConfig(Config):
    """How long each table keeps files no longer referenced by its current version (its time-travel reach).

    It becomes the table's `delta.deletedFileRetentionDuration`, which VACUUM honours.
    """

    retention_hours: int = Field(default=168, ge=0)


@op(description="OPTIMIZE (compact small files) and VACUUM every pipeline table; reports files before and after.")
def compact_and_vacuum_tables(
    context: OpExecutionContext,
    config: MaintenanceConfig,
    spark: SparkSessionResource,
    lakehouse: Lakehouse,
    step_launcher: ResourceParam[Any],
) -> None:
    """Compact and vacuum each existing table, recording the file counts as an observation of its asset."""
    spark.get_session()  # the session the lakehouse works in: the schedule starts this job in a process of its own
    for table in tables_owned():
        if not lakehouse.exists(table):
            context.log.info(f"{table.full_name} does not exist yet; nothing to maintain")
            continue
        report = lakehouse.compact_and_vacuum(table, config.retention_hours)
        context.log.info(f"{table.full_name}: {report}")
        context.log_event(
            AssetObservation(
                asset_key=asset_key(table),
                metadata={
                    "files_before": report.files_before,
                    "files_after": report.files_after,
                    "files_vacuumed": report.files_vacuumed,
                    "retention_hours": config.retention_hours,
                },
            )
        )


@job(description="Weekly Delta table maintenance: OPTIMIZE and VACUUM.")
def lakehouse_maintenance_job() -> None:
    """Compact and vacuum the pipeline's tables."""
    compact_and_vacuum_tables()


lakehouse_maintenance_schedule = ScheduleDefinition(
    name="lakehouse_maintenance_schedule",
    job=lakehouse_maintenance_job,
    cron_schedule="0 5 * * 0",
    execution_timezone="UTC",
    description="Sundays at 05:00 UTC, after the daily run.",
)
