"""Keeping an API object's current state: which observation of an id is the latest, and whether it changes what is
stored."""

from datetime import datetime

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.window import Window

from ecom_assets.platform.errors import as_error_rows


def latest_observations(usable: DataFrame) -> DataFrame:
    """Per `id`, the latest observation: a deletion first (it is final), then the latest `observed_at`, then the
    latest load."""
    order = Window.partitionBy("id").orderBy(
        F.col("deleted").desc(), F.col("observed_at").desc(), F.col("load_id").desc(), F.col("line_id").desc()
    )
    return usable.withColumn("_rank", F.row_number().over(order)).where("_rank = 1").drop("_rank")


def newer_than_stored(candidates: DataFrame, stored: DataFrame) -> DataFrame:
    """The candidates that change what is stored (`stored`: `id`, `observed_at`, `deleted`): new ids, later
    observations, deletions; never an undeletion, never an older state."""
    current = stored.select("id", F.col("observed_at").alias("_stored_at"), F.col("deleted").alias("_stored_deleted"))
    joined = candidates.join(current, "id", "left")
    keep = F.col("_stored_at").isNull() | (
        ~F.col("_stored_deleted") & ((F.col("observed_at") > F.col("_stored_at")) | F.col("deleted"))
    )
    return joined.where(keep).drop("_stored_at", "_stored_deleted")


def rejected_rows(typed: DataFrame, *, asset: str, step: str, occurred_at: datetime, message: Column) -> DataFrame:
    """Error-table rows for the typed observations with a `problem`, each with `message` (naming the source, the
    resource and the object's id)."""
    return as_error_rows(
        typed.where(F.col("problem").isNotNull()),
        asset=asset,
        step=step,
        occurred_at=occurred_at,
        identity=[F.col("load_id"), F.col("line_id")],
        partition_date=F.to_date("ingested_at"),
        source_file_name=F.col("source_file"),
        error_type=F.col("problem"),
        error_message=message,
        record=F.substring("record", 1, 4000),
    )
