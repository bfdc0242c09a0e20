"""Operational feeds (customers, products, inventory, shipping): bronze as delivered, typed silver, rejections.

A real export's quirks are read, not rejected: empty optional fields become null, dates come ISO
(`2011-01-04`, `2011-01-04T09:30:00Z`) or day-first (`04/01/2011`, `4.1.2011`), booleans as
`TRUE`/`1`/`yes`/`Y` (and their opposites), phone numbers with spaces, dashes, dots, brackets or a
`00` international prefix. A record whose key or a required value cannot be read is rejected with
its reason; the rest of the file goes on.
"""

from collections.abc import Sequence
from datetime import datetime

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ecom_assets.feeds.contract import FEED_COLUMNS
from ecom_assets.platform.columns import blank_to_null, first_match
from ecom_assets.platform.errors import as_error_rows

CORRUPT_RECORD = "corrupt_record"
FEED_LINEAGE_COLUMNS = ("batch_id", "business_date", "source_file_name")
_DATE_FORMATS = ("yyyy-MM-dd", "dd/MM/yyyy", "d/M/yyyy", "dd.MM.yyyy", "d.M.yyyy", "dd-MM-yyyy", "yyyy/MM/dd")
_TIMESTAMP_FORMATS = (
    "yyyy-MM-dd HH:mm:ss",
    "yyyy-MM-dd HH:mm",
    "dd/MM/yyyy HH:mm:ss",
    "dd/MM/yyyy HH:mm",
    "d/M/yyyy H:mm",
    "dd.MM.yyyy HH:mm",
)
_TRUE_WORDS = ("true", "t", "1", "yes", "y")
_FALSE_WORDS = ("false", "f", "0", "no", "n")
EMAIL_PATTERN = r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
PHONE_PATTERN = r"^\+?[0-9]{7,15}$"
MONEY_TYPE = "decimal(12,2)"
CUSTOMER_TIERS = ("bronze", "silver", "gold", "platinum")
STOCK_STATUSES = ("in_stock", "low_stock", "out_of_stock", "discontinued")


def read_feed_csv(spark: SparkSession, domain: str, paths: Sequence[str]) -> DataFrame:
    """Read a domain's feed files as all-string contract columns, `corrupt_record` (a line the parser could not
    split) and the file each row came from (`source_path`)."""
    columns = FEED_COLUMNS[domain]
    file_schema = T.StructType(
        [T.StructField(name, T.StringType()) for name in columns] + [T.StructField(CORRUPT_RECORD, T.StringType())]
    )
    if not paths:
        return spark.createDataFrame([], file_schema.add("source_path", T.StringType()))
    return (
        spark.read.schema(file_schema)
        .option("header", "true")
        .option("encoding", "UTF-8")
        .option("quote", '"')
        .option("escape", '"')
        .option("multiLine", "true")
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT_RECORD)
        .csv(list(paths))
        .select(*columns, CORRUPT_RECORD, F.col("_metadata.file_path").alias("source_path"))
    )


def feed_bronze(raw: DataFrame, batch_files: DataFrame) -> DataFrame:
    """Bronze rows of a feed: the strings as delivered, plus batch id, business date, file name and the SHA-256
    of the trigger that was verified (validation archives a batch only while its trigger is still that one).

    `batch_files` holds each file's `relative_path` (as its trigger names it), `batch_id`,
    `business_date` and `trigger_sha256`; a row belongs to the file whose relative path ends the path
    Spark read it from.
    """
    read_from = F.col("source_path").endswith(F.concat(F.lit("/"), F.col("relative_path")))
    return raw.join(F.broadcast(batch_files), read_from).select(
        *[column for column in raw.columns if column != "source_path"],
        "batch_id",
        "business_date",
        F.regexp_extract("source_path", r"([^/]+)$", 1).alias("source_file_name"),
        "trigger_sha256",
    )


def parse_date(text: Column) -> Column:
    """A date written ISO (also with a time or zone) or day-first; null when empty or unreadable."""
    value = blank_to_null(text)
    return F.coalesce(
        *(F.try_to_date(value, fmt) for fmt in _DATE_FORMATS),
        F.to_date(parse_timestamp(value)),
    )


def parse_timestamp(text: Column) -> Column:
    """A UTC timestamp written ISO 8601 (`T` or space, optional zone) or day-first; null when unreadable."""
    value = blank_to_null(text)
    return F.coalesce(
        value.try_cast("timestamp"),
        *(F.try_to_timestamp(value, F.lit(fmt)) for fmt in _TIMESTAMP_FORMATS),
    )


def parse_boolean(text: Column) -> Column:
    """`TRUE`/`1`/`yes`/`y`/`t` → true, their opposites → false (any case); null when empty or anything else."""
    word = F.lower(blank_to_null(text))
    return F.when(word.isin(*_TRUE_WORDS), True).when(word.isin(*_FALSE_WORDS), False)


def is_unreadable_boolean(text: Column) -> Column:
    """A non-empty value that is no boolean word."""
    return blank_to_null(text).isNotNull() & parse_boolean(text).isNull()


def normalize_phone(text: Column) -> Column:
    """Digits with an optional leading `+` (a `00` prefix becomes `+`); spaces, dashes, dots and brackets dropped."""
    compact = F.regexp_replace(blank_to_null(text), r"[\s\-.()/]", "")
    return F.regexp_replace(compact, r"^00", "+")


def normalize_key(text: Column) -> Column:
    """A key as the sales files write it: trimmed, a float export's `.0` dropped (`17850.0` → `17850`)."""
    return F.regexp_replace(blank_to_null(text), r"\.0+$", "")


def _number(text: Column, sql_type: str) -> Column:
    return blank_to_null(text).try_cast(sql_type)


def _said(column: str, complaint: str) -> Column:
    return F.format_string(f"{column} '%s' {complaint}", F.coalesce(F.col(column), F.lit("")))


def _malformed() -> tuple[str, Column, Column]:
    return (
        "malformed_csv_line",
        F.col(CORRUPT_RECORD).isNotNull(),
        F.lit("the line does not split into the contract's columns (wrong field count or unbalanced quotes)"),
    )


def _unreadable(column: str, parsed: Column, what: str) -> tuple[str, Column, Column]:
    return (f"unreadable_{column}", blank_to_null(F.col(column)).isNotNull() & parsed.isNull(), _said(column, what))


def _missing(column: str) -> tuple[str, Column, Column]:
    return (f"missing_{column}", blank_to_null(F.col(column)).isNull(), F.lit(f"{column} is empty"))


def _parse(
    bronze: DataFrame,
    rejections: Sequence[tuple[str, Column, Column]],
    issues: Sequence[Column],
    typed: Sequence[Column],
    domain: str,
) -> DataFrame:
    """Judge each bronze row on its raw text, then type it.

    Returns the typed columns, `format_issues` (what was present but unreadable and stored as
    null), lineage, `rejection_reason` and `rejection_message` (the first rejection that applies;
    null when the record enters silver) and `raw_record` (the line, or its fields as JSON).
    """
    judged = bronze.withColumns(
        {
            "rejection_reason": first_match([(condition, name) for name, condition, _ in rejections]),
            "rejection_message": first_match([(condition, text) for _, condition, text in rejections]),
            "format_issues": F.filter(F.array(*issues), lambda issue: issue.isNotNull()),
            "raw_record": F.coalesce(F.col(CORRUPT_RECORD), F.to_json(F.struct(*FEED_COLUMNS[domain]))),
        }
    )
    return judged.select(
        *typed, "format_issues", *FEED_LINEAGE_COLUMNS, "rejection_reason", "rejection_message", "raw_record"
    )


def accepted(parsed: DataFrame) -> DataFrame:
    """The parsed records that enter silver, without the rejection columns."""
    return parsed.where(F.col("rejection_reason").isNull()).drop("rejection_reason", "rejection_message", "raw_record")


def rejected_record_errors(parsed: DataFrame, asset: str, step: str, occurred_at: datetime) -> DataFrame:
    """One `etl_errors` row per rejected record, with its reason and raw record, under the batch's business date."""
    return as_error_rows(
        parsed.where(F.col("rejection_reason").isNotNull()),
        asset=asset,
        step=step,
        occurred_at=occurred_at,
        identity=[F.col("batch_id"), F.col("raw_record"), F.col("rejection_reason")],
        partition_date=F.col("business_date"),
        source_file_name=F.col("source_file_name"),
        error_type=F.col("rejection_reason"),
        error_message=F.col("rejection_message"),
        record=F.col("raw_record"),
    )


def _date_issue(column: str) -> Column:
    return _issue(column, parse_date(F.col(column)), "is not a date")


def _timestamp_issue(column: str) -> Column:
    return _issue(column, parse_timestamp(F.col(column)), "is not a date and time")


def _issue(column: str, parsed: Column, complaint: str) -> Column:
    """The format issue of an optional value that is present but unreadable (it is stored as null); null otherwise."""
    return F.when(blank_to_null(F.col(column)).isNotNull() & parsed.isNull(), _said(column, complaint))


def _valid_or_null(value: Column, pattern: str) -> Column:
    return F.when(value.rlike(pattern), value)


def _email() -> Column:
    return F.lower(blank_to_null(F.col("email")))


def parse_customers(bronze: DataFrame) -> DataFrame:
    """Typed customer records with their rejection; an unreadable email, phone or date is stored as null and
    named in `format_issues` (a validation finding), so the record's other attributes still count."""
    rejections = [_malformed(), _missing("customer_id")]
    issues = [
        F.when(_email().isNotNull() & ~_email().rlike(EMAIL_PATTERN), _said("email", "is not an email address")),
        F.when(
            normalize_phone(F.col("phone")).isNotNull() & ~normalize_phone(F.col("phone")).rlike(PHONE_PATTERN),
            _said("phone", "is not a phone number"),
        ),
        _date_issue("date_of_birth"),
        _date_issue("registration_date"),
        _timestamp_issue("last_login"),
        _timestamp_issue("created_timestamp"),
        F.when(
            F.lower(blank_to_null(F.col("customer_tier"))).isNotNull()
            & ~F.lower(blank_to_null(F.col("customer_tier"))).isin(*CUSTOMER_TIERS),
            _said("customer_tier", f"is none of {', '.join(CUSTOMER_TIERS)}"),
        ),
    ]
    tier = F.lower(blank_to_null(F.col("customer_tier")))
    typed = [
        normalize_key(F.col("customer_id")).alias("customer_id"),
        blank_to_null(F.col("first_name")).alias("first_name"),
        blank_to_null(F.col("last_name")).alias("last_name"),
        _valid_or_null(_email(), EMAIL_PATTERN).alias("email"),
        _valid_or_null(normalize_phone(F.col("phone")), PHONE_PATTERN).alias("phone"),
        parse_date(F.col("date_of_birth")).alias("date_of_birth"),
        parse_date(F.col("registration_date")).alias("registration_date"),
        blank_to_null(F.col("address")).alias("address"),
        blank_to_null(F.col("city")).alias("city"),
        blank_to_null(F.col("state")).alias("state"),
        blank_to_null(F.col("zip_code")).alias("zip_code"),
        blank_to_null(F.col("country")).alias("country"),
        F.when(tier.isin(*CUSTOMER_TIERS), tier).alias("customer_tier"),
        parse_timestamp(F.col("last_login")).alias("last_login"),
        parse_timestamp(F.col("created_timestamp")).alias("created_timestamp"),
    ]
    return _parse(bronze, rejections, issues, typed, "customers")


def parse_products(bronze: DataFrame) -> DataFrame:
    """Typed product records with their rejection and format issues (see `parse_customers`)."""
    price = _number(F.col("price"), MONEY_TYPE)
    rejections = [
        _malformed(),
        _missing("product_id"),
        _unreadable("price", price, "is not a decimal amount"),
        ("negative_price", price < 0, _said("price", "is negative")),
        (
            "unreadable_discontinued",
            is_unreadable_boolean(F.col("discontinued")),
            _said("discontinued", "is no yes/no"),
        ),
    ]
    issues = [
        _issue("stock_quantity", _number(F.col("stock_quantity"), "int"), "is not a whole number"),
        _issue("weight_kg", _number(F.col("weight_kg"), "double"), "is not a number"),
        _date_issue("launch_date"),
        _timestamp_issue("created_timestamp"),
    ]
    typed = [
        blank_to_null(F.col("product_id")).alias("product_id"),
        blank_to_null(F.col("product_name")).alias("product_name"),
        blank_to_null(F.col("category")).alias("category"),
        blank_to_null(F.col("subcategory")).alias("subcategory"),
        blank_to_null(F.col("brand")).alias("brand"),
        price.alias("price"),
        F.upper(blank_to_null(F.col("currency"))).alias("currency"),
        _number(F.col("stock_quantity"), "int").alias("stock_quantity"),
        _number(F.col("weight_kg"), "double").alias("weight_kg"),
        blank_to_null(F.col("dimensions_cm")).alias("dimensions_cm"),
        blank_to_null(F.col("color")).alias("color"),
        blank_to_null(F.col("material")).alias("material"),
        blank_to_null(F.col("description")).alias("description"),
        parse_date(F.col("launch_date")).alias("launch_date"),
        F.coalesce(parse_boolean(F.col("discontinued")), F.lit(False)).alias("discontinued"),
        parse_timestamp(F.col("created_timestamp")).alias("created_timestamp"),
    ]
    return _parse(bronze, rejections, issues, typed, "products")


def parse_inventory(bronze: DataFrame) -> DataFrame:
    """Typed end-of-day stock records with their rejection and format issues (see `parse_customers`)."""
    stock = _number(F.col("stock_quantity"), "int")
    rejections = [
        _malformed(),
        _missing("product_id"),
        _missing("stock_quantity"),
        _unreadable("stock_quantity", stock, "is not a whole number"),
    ]
    issues = [_timestamp_issue("last_updated"), _timestamp_issue("created_timestamp")]
    typed = [
        blank_to_null(F.col("product_id")).alias("product_id"),
        stock.alias("stock_quantity"),
        F.lower(blank_to_null(F.col("stock_status"))).alias("stock_status"),
        F.coalesce(blank_to_null(F.col("warehouse_location")), F.lit("unknown")).alias("warehouse_location"),
        parse_timestamp(F.col("last_updated")).alias("last_updated"),
        parse_timestamp(F.col("created_timestamp")).alias("created_timestamp"),
    ]
    return _parse(bronze, rejections, issues, typed, "inventory")


def parse_shipping(bronze: DataFrame) -> DataFrame:
    """Typed shipment records with their rejection and format issues (see `parse_customers`).

    A delivery date that cannot be read rejects the record: shipping performance would count it wrongly.
    """
    rejections = [
        _malformed(),
        _missing("order_id"),
        _missing("shipping_method"),
        _unreadable("shipping_cost", _number(F.col("shipping_cost"), MONEY_TYPE), "is not a decimal amount"),
        _unreadable("estimated_delivery", parse_date(F.col("estimated_delivery")), "is not a date"),
        _unreadable("actual_delivery", parse_date(F.col("actual_delivery")), "is not a date"),
    ]
    issues = [
        _issue("package_weight", _number(F.col("package_weight"), "double"), "is not a number"),
        _timestamp_issue("created_timestamp"),
    ]
    typed = [
        normalize_key(F.col("order_id")).alias("order_id"),
        F.lower(blank_to_null(F.col("shipping_method"))).alias("shipping_method"),
        _number(F.col("shipping_cost"), MONEY_TYPE).alias("shipping_cost"),
        F.upper(blank_to_null(F.col("currency"))).alias("currency"),
        blank_to_null(F.col("tracking_number")).alias("tracking_number"),
        _number(F.col("package_weight"), "double").alias("package_weight"),
        blank_to_null(F.col("dimensions_cm")).alias("dimensions_cm"),
        parse_date(F.col("estimated_delivery")).alias("estimated_delivery"),
        parse_date(F.col("actual_delivery")).alias("actual_delivery"),
        parse_timestamp(F.col("created_timestamp")).alias("created_timestamp"),
    ]
    return _parse(bronze, rejections, issues, typed, "shipping")


FEED_PARSERS = {
    "customers": parse_customers,
    "products": parse_products,
    "inventory": parse_inventory,
    "shipping": parse_shipping,
}
"""Each domain's typing: bronze rows in, typed rows with their rejection out."""
