"""Bronze: the landing CSV rows one-to-one, as strings, with their lineage."""

from collections.abc import Sequence
from datetime import date

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

SOURCE_COLUMNS = (
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
)
CORRUPT_RECORD = "corrupt_record"
"""Holds the raw line when the CSV parser could not split it into the source columns."""

_SOURCE_PATH = "source_path"
_LANDING_PATH_PATTERN = r"(\d{4})/(\d{2})/(\d{2})/([^/]+)$"

SOURCE_SCHEMA = T.StructType(
    [T.StructField(name, T.StringType()) for name in SOURCE_COLUMNS] + [T.StructField(CORRUPT_RECORD, T.StringType())]
)
BRONZE_SCHEMA = T.StructType(
    list(SOURCE_SCHEMA.fields)
    + [
        T.StructField("ingestion_date", T.DateType()),
        T.StructField("source_file_name", T.StringType()),
        T.StructField("partition_date", T.DateType()),
        T.StructField("year", T.IntegerType()),
        T.StructField("month", T.IntegerType()),
    ]
)
BRONZE_PARTITION_COLUMNS = ("year", "month")


def read_landing_csv(spark: SparkSession, paths: Sequence[str]) -> DataFrame:
    """Read landing CSV files as all-string rows plus each row's file path.

    Quoted fields may hold commas; a line the parser cannot split lands in `corrupt_record`
    instead of failing the read.
    """
    if not paths:
        return spark.createDataFrame(
            [], T.StructType(list(SOURCE_SCHEMA.fields) + [T.StructField(_SOURCE_PATH, T.StringType())])
        )
    return (
        spark.read.schema(SOURCE_SCHEMA)
        .option("header", "true")
        .option("quote", '"')
        .option("escape", '"')
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT_RECORD)
        .csv(list(paths))
        .select("*", F.col("_metadata.file_path").alias(_SOURCE_PATH))
    )


def _landing_path_part(group: int) -> Column:
    return F.regexp_extract(F.col(_SOURCE_PATH), _LANDING_PATH_PATTERN, group)


def to_bronze(raw: DataFrame, ingestion_date: date) -> DataFrame:
    """Add lineage to raw rows: ingestion date, landing-relative file name and partition date.

    The partition date comes from the landing folder (`YYYY/MM/DD/`), not from the rows, so a
    file is always stored under the day it was delivered for.
    """
    partition_date = F.make_date(
        _landing_path_part(1).cast("int"), _landing_path_part(2).cast("int"), _landing_path_part(3).cast("int")
    )
    source_file_name = F.concat_ws("/", *(_landing_path_part(i) for i in (1, 2, 3, 4)))
    return raw.select(
        *SOURCE_COLUMNS,
        CORRUPT_RECORD,
        F.lit(ingestion_date).alias("ingestion_date"),
        source_file_name.alias("source_file_name"),
        partition_date.alias("partition_date"),
        F.year(partition_date).alias("year"),
        F.month(partition_date).alias("month"),
    )
