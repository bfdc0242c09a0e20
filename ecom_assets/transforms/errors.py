"""Rows of the error table `ecommerce_catalog.logs.etl_errors`: what was kept out, where and why."""

from datetime import datetime

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F


def as_error_rows(
    frame: DataFrame,
    *,
    asset: str,
    step: str,
    occurred_at: datetime,
    identity: list[Column],
    partition_date: Column,
    source_file_name: Column,
    error_type: Column,
    error_message: Column,
    record: Column,
) -> DataFrame:
    """One error-table row per row of `frame`; `error_id` hashes the asset and `identity`, so reruns rewrite it."""
    return frame.select(
        F.sha2(F.concat_ws("|", F.lit(asset), *identity), 256).alias("error_id"),
        F.lit(occurred_at).cast("timestamp").alias("occurred_at"),
        F.lit(asset).alias("asset"),
        F.lit(step).alias("step"),
        partition_date.alias("partition_date"),
        source_file_name.alias("source_file_name"),
        error_type.alias("error_type"),
        error_message.alias("error_message"),
        record.alias("record"),
    )
