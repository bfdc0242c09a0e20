"""Bronze: the landing CSV rows one-to-one, as strings, with their lineage."""

import functools
from collections.abc import Mapping, Sequence
from datetime import date, datetime

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ecom_assets.platform.columns import CORRUPT_RECORD
from ecom_assets.platform.errors import DAY_QUARANTINED, as_error_rows
from ecom_assets.platform.landing_scan import LATIN1, UTF8
from ecom_assets.sales.transforms.landing_files import EMPTY_FILE_PROBLEM, SOURCE_COLUMNS, FileProfile, clean_header

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
"""A data line of a file whose header does not carry the source columns."""
UNREADABLE_HEADER = "unreadable_header"
"""A file with a non-conforming header and no data lines."""
EMPTY_FILE = "empty_file"
REFUSED_FILE = "refused_file"
"""A landing entry that was not read at all: a link, a folder, a pipe, or a file that vanished."""
FILE_KEPT_WHOLE = "file_kept_whole"
"""A file with a line too long to keep in the error table: its lines wait with it in quarantine."""
FILE_REJECTIONS = (UNREADABLE_FILE, UNREADABLE_HEADER, EMPTY_FILE, REFUSED_FILE, FILE_KEPT_WHOLE)
"""Error types of files that could not be read; every other file-level error type is a tolerated quirk."""

FileErrorEntry = tuple[str, int, str, str, str]
"""(file path, line number, error type, message, record) of one error-table row about a landing file."""


def read_landing_csv(
    spark: SparkSession, paths: Sequence[str], header: Sequence[str] = SOURCE_COLUMNS, encoding: str = UTF8
) -> DataFrame:
    """Read landing CSV files that share a `header` and charset as all-string source columns plus each row's path.

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
        .option("encoding", encoding)
        .option("quote", '"')
        .option("escape", '"')
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT_RECORD)
        .csv(list(paths))
        .select(*SOURCE_COLUMNS, CORRUPT_RECORD, F.col("_metadata.file_path").alias(_SOURCE_PATH))
    )


def file_error_entries(path: str, profile: FileProfile) -> list[FileErrorEntry]:
    """The file-level error-table entries of one landing file: why it was rejected (unless its lines say it, see
    `rejected_file_lines`), or why it is empty, and one entry per tolerated quirk (see `FileProfile.notices`)."""
    entries: list[FileErrorEntry] = []
    if profile.problem == EMPTY_FILE_PROBLEM:
        entries.append((path, 0, EMPTY_FILE, profile.problem, ""))
    elif not profile.readable:
        entries.append((path, 0, REFUSED_FILE, profile.problem, ""))
    elif profile.problem and profile.lines_kept_with_file:
        message = f"{profile.problem}; its {profile.data_lines} data line(s) wait with it in quarantine"
        entries.append((path, 0, FILE_KEPT_WHOLE, message, ""))
    elif profile.problem and not profile.data_lines:
        entries.append((path, 0, UNREADABLE_HEADER, profile.problem, profile.header_line))
    entries.extend((path, 0, notice, message, profile.header_line) for notice, message in profile.notices)
    return entries


def lines_go_to_error_table(profile: FileProfile) -> bool:
    """Whether a file is rejected whole while each of its data lines can be kept in the error table."""
    return bool(profile.problem) and profile.readable and not profile.lines_kept_with_file and profile.data_lines > 0


_WHITESPACE_ONLY = r"^[\s\x{1c}-\x{1f}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]*$"
"""A line of nothing but whitespace (Python's `str.isspace` set, as the landing profile counts lines)."""


def rejected_file_lines(spark: SparkSession, files: Sequence[tuple[str, str, str, str]]) -> DataFrame:
    """(source path, line number, `unreadable_file`, problem, line) of every data line of the files rejected whole.

    `files` are (landing path, path Spark reads, problem, charset) of each such file. Spark reads
    them as plain lines, so a file of any size costs the driver no memory; the line number is the
    line's number in the file (the header is line 1) and blank lines are left out, as the landing
    profile counts data lines.
    """
    schema = "source_path string, line_number int, error_type string, message string, record string"
    if not files:
        return spark.createDataFrame([], schema)
    reads = [
        spark.read.text(spark_path).select(
            F.lit(path).alias(_SOURCE_PATH),
            F.lit(problem).alias("message"),
            (F.decode(F.col("value").cast("binary"), LATIN1) if encoding == LATIN1 else F.col("value")).alias("line"),
            F.col("_metadata.file_block_start").alias("split_start"),
            # the line's place in its split: the task's id is in the upper bits of the increasing id
            (F.monotonically_increasing_id() - F.shiftleft(F.spark_partition_id().cast("long"), 33)).alias("in_split"),
        )
        for path, spark_path, problem, encoding in files
    ]
    lines = _numbered(spark, functools.reduce(DataFrame.unionByName, reads))
    return lines.where((F.col("line_number") > 1) & ~F.col("line").rlike(_WHITESPACE_ONLY)).select(
        _SOURCE_PATH,
        "line_number",
        F.lit(UNREADABLE_FILE).alias("error_type"),
        "message",
        F.col("line").alias("record"),
    )


def _numbered(spark: SparkSession, lines: DataFrame) -> DataFrame:
    """`lines` (each with its file, `split_start` and place `in_split`) with their numbers in their files.

    Numbered where Spark reads them, so no line moves: Spark reads a file in splits, one per task,
    each in order. One job counts each split's lines; a line's number is then the lines of its
    file's splits before its own (by their start in the file) plus its place in its split.
    """
    counts = sorted(
        (row[_SOURCE_PATH], row["split_start"], row["count"])
        for row in lines.groupBy(_SOURCE_PATH, "split_start").count().collect()
    )
    offsets, lines_before = [], {}
    for path, start, count in counts:
        offsets.append((path, start, lines_before.get(path, 0)))
        lines_before[path] = lines_before.get(path, 0) + count
    splits = spark.createDataFrame(offsets, f"{_SOURCE_PATH} string, split_start long, lines_before long")
    numbered = lines.join(F.broadcast(splits), [_SOURCE_PATH, "split_start"])
    return numbered.withColumn("line_number", (F.col("lines_before") + F.col("in_split") + 1).cast("int"))


def file_errors(
    spark: SparkSession,
    entries: Sequence[FileErrorEntry],
    asset: str,
    step: str,
    occurred_at: datetime,
    rejected_lines: DataFrame | None = None,
) -> DataFrame:
    """Error-table rows for landing-file entries (see `file_error_entries`) and for the lines of files rejected
    whole (`rejected_lines`, see `rejected_file_lines`)."""
    schema = "source_path string, line_number int, error_type string, message string, record string"
    lines = spark.createDataFrame(list(entries), schema)
    if rejected_lines is not None:
        lines = lines.unionByName(rejected_lines)
    return as_error_rows(
        lines,
        asset=asset,
        step=step,
        occurred_at=occurred_at,
        identity=[F.col(_SOURCE_PATH), F.col("line_number").cast("string"), F.col("error_type")],
        partition_date=_partition_date(),
        source_file_name=_source_file_name(),
        error_type=F.col("error_type"),
        error_message=F.col("message"),
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


def quarantined_line_errors(
    bronze: DataFrame, reasons: Mapping[date, str], asset: str, step: str, occurred_at: datetime
) -> DataFrame:
    """Error-table rows for the bronze rows of quarantined days (`reasons` maps each day to why), one per row.

    The record is the row's source fields as JSON, so the line is kept until the day is published.
    """
    reason_by_day = F.create_map(*(item for day, reason in reasons.items() for item in (F.lit(day), F.lit(reason))))
    held = bronze.where(F.col("partition_date").isin(*reasons))
    record = F.to_json(F.struct(*SOURCE_COLUMNS))
    return as_error_rows(
        held,
        asset=asset,
        step=step,
        occurred_at=occurred_at,
        identity=[F.col("source_file_name"), record],
        partition_date=F.col("partition_date"),
        source_file_name=F.col("source_file_name"),
        error_type=F.lit(DAY_QUARANTINED),
        error_message=reason_by_day[F.col("partition_date")],
        record=record,
    )


LANDING_DELIVERIES_SCHEMA = (
    "partition_date date, delivery_status string, closure string, files_delivered int, files_rejected int,"
    " data_lines long, delivery_due timestamp, recorded_at timestamp"
)
LANDING_DELIVERIES_COLUMNS = tuple(field.split()[0] for field in LANDING_DELIVERIES_SCHEMA.split(", "))


def landing_deliveries(spark: SparkSession, deliveries: Sequence[Mapping[str, object]]) -> DataFrame:
    """The rows of `logs.landing_deliveries`: per landing day, what arrived and its delivery status."""
    rows = [tuple(delivery[column] for column in LANDING_DELIVERIES_COLUMNS) for delivery in deliveries]
    return spark.createDataFrame(rows, LANDING_DELIVERIES_SCHEMA)
