"""Bronze: the landing CSV rows one-to-one, as strings, with their lineage."""

import functools
from collections.abc import Mapping, Sequence
from datetime import date, datetime

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ecom_assets.transforms.errors import as_error_rows

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
UNREADABLE_FILE = "unreadable_file"
EMPTY_FILE = "empty_file"
EMPTY_FILE_PROBLEM = "the file is empty: no header row"


def header_problem(header: Sequence[str]) -> str | None:
    """Why a file with this header row cannot be read as the source format; None when it can.

    Column order does not matter and extra columns are ignored (columns are matched by name);
    a byte-order mark and surrounding blanks are tolerated.
    """
    names = clean_header(header)
    if not names:
        return EMPTY_FILE_PROBLEM
    missing = [name for name in SOURCE_COLUMNS if name not in names]
    if missing:
        return f"the header lacks column(s) {', '.join(missing)}; header was: {','.join(names)}"
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        return f"the header repeats column(s) {', '.join(repeated)}"
    return None


def clean_header(header: Sequence[str]) -> tuple[str, ...]:
    """Header names without a byte-order mark or surrounding blanks."""
    return tuple(name.strip().lstrip("\ufeff").strip() for name in header)


def read_landing_csv(spark: SparkSession, paths: Sequence[str], header: Sequence[str] = SOURCE_COLUMNS) -> DataFrame:
    """Read landing CSV files that share a `header` as all-string source columns plus each row's file path.

    Columns are taken by name from `header`, whatever their order; extra ones are dropped.
    Quoted fields may hold commas; a line the parser cannot split lands in `corrupt_record`
    instead of failing the read.
    """
    output_schema = T.StructType(list(SOURCE_SCHEMA.fields) + [T.StructField(_SOURCE_PATH, T.StringType())])
    if not paths:
        return spark.createDataFrame([], output_schema)
    file_schema = T.StructType(
        [T.StructField(name, T.StringType()) for name in clean_header(header)]
        + [T.StructField(CORRUPT_RECORD, T.StringType())]
    )
    return (
        spark.read.schema(file_schema)
        .option("header", "true")
        .option("quote", '"')
        .option("escape", '"')
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT_RECORD)
        .csv(list(paths))
        .select(*SOURCE_COLUMNS, CORRUPT_RECORD, F.col("_metadata.file_path").alias(_SOURCE_PATH))
    )


def rejected_file_errors(
    spark: SparkSession, problems: Mapping[str, str], asset: str, step: str, occurred_at: datetime
) -> DataFrame:
    """Error-table rows for files that cannot be read: one per data line, with the file's problem.

    Nothing is lost: every line but the header becomes an `unreadable_file` row holding the raw
    line; an empty file gets one `empty_file` row of its own.
    """
    per_file = []
    for path, problem in sorted(problems.items()):
        lines = spark.read.text(path).select(
            F.col("value").alias("record"),
            F.monotonically_increasing_id().alias("line_number"),  # one small file: one partition, in order
            F.col("_metadata.file_path").alias(_SOURCE_PATH),
        )
        if problem == EMPTY_FILE_PROBLEM:
            lines = spark.createDataFrame([("", 0, path)], lines.schema).withColumn("error_type", F.lit(EMPTY_FILE))
        else:
            lines = lines.where(F.col("line_number") > 0).withColumn("error_type", F.lit(UNREADABLE_FILE))
        per_file.append(lines.withColumn("problem", F.lit(problem)))
    lines = functools.reduce(DataFrame.unionByName, per_file)
    return as_error_rows(
        lines,
        asset=asset,
        step=step,
        occurred_at=occurred_at,
        identity=[F.col(_SOURCE_PATH), F.col("line_number").cast("string")],
        partition_date=_partition_date(),
        source_file_name=_source_file_name(),
        error_type=F.col("error_type"),
        error_message=F.col("problem"),
        record=F.col("record"),
    )


def _landing_path_part(group: int) -> Column:
    return F.regexp_extract(F.col(_SOURCE_PATH), _LANDING_PATH_PATTERN, group)


def _partition_date() -> Column:
    return F.make_date(*(_landing_path_part(group).cast("int") for group in (1, 2, 3)))


def _source_file_name() -> Column:
    return F.concat_ws("/", *(_landing_path_part(group) for group in (1, 2, 3, 4)))


def to_bronze(raw: DataFrame, ingestion_date: date) -> DataFrame:
    """Add lineage to raw rows: ingestion date, landing-relative file name and partition date.

    The partition date comes from the landing folder (`YYYY/MM/DD/`), not from the rows, so a
    file is always stored under the day it was delivered for.
    """
    partition_date = _partition_date()
    return raw.select(
        *SOURCE_COLUMNS,
        CORRUPT_RECORD,
        F.lit(ingestion_date).alias("ingestion_date"),
        _source_file_name().alias("source_file_name"),
        partition_date.alias("partition_date"),
        F.year(partition_date).alias("year"),
        F.month(partition_date).alias("month"),
    )
