"""Rows of the error table `ecommerce_catalog.logs.etl_errors`: what was kept out, where and why."""

import hashlib
from collections.abc import Iterable
from datetime import date, datetime

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from resources.untrusted import safe_text

ETL_ERRORS_SCHEMA = (
    "error_id string, occurred_at timestamp, asset string, step string, partition_date date, "
    "source_file_name string, error_type string, error_message string, record string"
)
ETL_ERROR_COLUMNS = tuple(field.split()[0] for field in ETL_ERRORS_SCHEMA.split(", "))
MAX_ERROR_MESSAGE_CHARS = 4000
"""The longest `error_message` stored; the texts built from what landed are already cut shorter (`safe_text`)."""
STEP_FAILED = "step_failed"
DAY_QUARANTINED = "day_quarantined"
"""A line of a day kept out of its table because the day was quarantined (the message says why)."""


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
        F.substring(error_message, 1, MAX_ERROR_MESSAGE_CHARS).alias("error_message"),
        record.alias("record"),
    )


def step_failure_rows(
    spark: SparkSession,
    *,
    asset: str,
    step: str,
    run_id: str,
    days: Iterable[date],
    occurred_at: datetime,
    error: BaseException,
) -> DataFrame:
    """Error-table rows for a step that failed: one per day of its run, naming the run and the exception."""
    message = safe_text(f"{type(error).__name__}: {error}".strip(), MAX_ERROR_MESSAGE_CHARS)
    rows = [
        (
            hashlib.sha256(f"{asset}|{run_id}|{day}".encode()).hexdigest(),
            occurred_at,
            asset,
            step,
            day,
            None,
            STEP_FAILED,
            message,
            f"run {run_id}",
        )
        for day in days
    ]
    return spark.createDataFrame(rows, ETL_ERRORS_SCHEMA)
