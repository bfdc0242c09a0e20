"""Silver: typed, classified, de-duplicated order lines, and the rows kept out with their reasons."""

from datetime import datetime

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.window import Window

from ecom_assets.platform.columns import CORRUPT_RECORD, blank_to_null, first_match, line_id
from ecom_assets.platform.errors import as_error_rows
from ecom_assets.sales.transforms.bronze import SOURCE_COLUMNS

CURRENCY = "GBP"
"""The source data is priced in pounds sterling throughout (ISO 4217 code)."""

FEE_STOCK_CODES = (
    "POST",
    "DOT",
    "M",
    "m",
    "D",
    "C2",
    "S",
    "BANK CHARGES",
    "AMAZONFEE",
    "CRUK",
    "PADS",
    "B",
)
"""Stock codes that are postage, fees, manual entries or charges rather than products."""

UNIT_PRICE_DECIMALS = 3
"""Decimals silver keeps of a unit price; a price with more is rejected, never rounded."""
MAX_ABS_QUANTITY = 1_000_000
MAX_ABS_UNIT_PRICE = 100_000
"""Beyond these a value is taken for a typing or export error, not an order (the real data peaks at
74,215 units on one line and £38,970 for one manual charge)."""

LINE_TYPES = ("sale", "return", "adjustment", "fee", "other")
UNIT_PRICE_TYPE = f"decimal(12,{UNIT_PRICE_DECIMALS})"
LINE_AMOUNT_TYPE = "decimal(18,3)"
_TIMESTAMP_FORMATS = ("yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm", "M/d/yyyy H:mm")

SILVER_COLUMNS = (
    "line_id",
    "invoice_no",
    "stock_code",
    "description",
    "quantity",
    "unit_price",
    "line_amount",
    "currency",
    "invoice_ts",
    "order_date",
    "customer_id",
    "is_guest",
    "country",
    "line_type",
    "landing_date",
    "source_file_name",
)


def _parse_timestamp(text: Column) -> Column:
    return F.coalesce(*(F.try_to_timestamp(text, F.lit(fmt)) for fmt in _TIMESTAMP_FORMATS))


def _quoted(source_column: str, complaint: str) -> Column:
    return F.format_string(f"{source_column} '%s' {complaint}", F.coalesce(F.col(source_column), F.lit("")))


def _decimal_text(amount: Column) -> Column:
    """A decimal as text without trailing fractional zeros: 2.550 → 2.55, 10.000 → 10."""
    return F.regexp_replace(F.regexp_replace(amount.cast("string"), "0+$", ""), "\\.$", "")


def _fractional_digits(text: Column) -> Column:
    """How many significant decimals a plain decimal number written as text has (`2.5500` → 2)."""
    return F.length(F.regexp_extract(F.trim(text), r"\.(\d*?)0*$", 1))


def classify_line(invoice_no: Column, stock_code: Column, quantity: Column, unit_price: Column) -> Column:
    """Line type: return, adjustment, fee, sale or other, first matching rule wins."""
    return (
        F.when(invoice_no.startswith("C"), "return")
        .when(invoice_no.startswith("A"), "adjustment")
        .when(stock_code.isin(*FEE_STOCK_CODES), "fee")
        .when((quantity > 0) & (unit_price > 0), "sale")
        .otherwise("other")
    )


def parse_order_lines(bronze: DataFrame) -> DataFrame:
    """Type, classify and rank bronze rows; every input row comes out once.

    `line_id` is computed over the normalized values (trimmed text, the parsed quantity, price
    without trailing zeros, the parsed timestamp, the customer id without `.0`), so a re-export
    writing `17850.0` for `17850` or `2.550` for `2.55` is the same line.

    Returns silver columns plus `rejection_reason` (why the row cannot enter silver, null when
    it can), for rejected rows `rejection_message` and `rejected_record` (the raw line, or its
    fields as JSON), and `delivery_rank` (1 for the first delivery of a line, 2+ for exact
    duplicates; an accepted copy comes before a rejected one, then the earliest landing day, then
    file name: a copy rejected in another day's folder never displaces the line's own delivery).
    """
    invoice_no = blank_to_null(F.col("InvoiceNo"))
    stock_code = blank_to_null(F.col("StockCode"))
    quantity = F.expr("try_cast(trim(Quantity) AS int)")
    unit_price = F.expr(f"try_cast(trim(UnitPrice) AS {UNIT_PRICE_TYPE})")
    exact_unit_price = F.expr("try_cast(trim(UnitPrice) AS decimal(38,18))")
    invoice_ts = _parse_timestamp(F.trim(F.col("InvoiceDate")))
    customer_id = F.regexp_replace(blank_to_null(F.col("CustomerID")), r"\.0+$", "")
    rules = [
        (
            "malformed_csv_line",
            F.col(CORRUPT_RECORD).isNotNull(),
            F.lit("the line does not split into the 8 source columns (wrong field count or unbalanced quotes)"),
        ),
        ("missing_invoice_no", invoice_no.isNull(), F.lit("InvoiceNo is empty")),
        ("missing_stock_code", stock_code.isNull(), F.lit("StockCode is empty")),
        ("unparseable_quantity", quantity.isNull(), _quoted("Quantity", "is not a whole number")),
        ("unparseable_unit_price", unit_price.isNull(), _quoted("UnitPrice", "is not a decimal number")),
        (
            "unit_price_too_precise",
            (_fractional_digits(F.col("UnitPrice")) > UNIT_PRICE_DECIMALS) | (unit_price != exact_unit_price),
            _quoted("UnitPrice", f"has more than the {UNIT_PRICE_DECIMALS} decimals silver keeps: it would be rounded"),
        ),
        (
            "unparseable_invoice_date",
            invoice_ts.isNull(),
            _quoted("InvoiceDate", "is not a valid date and time (yyyy-MM-dd HH:mm:ss)"),
        ),
        (
            "absurd_quantity",
            F.abs(quantity) > MAX_ABS_QUANTITY,
            _quoted("Quantity", f"is beyond ±{MAX_ABS_QUANTITY:,} units: taken for an entry error"),
        ),
        (
            "absurd_unit_price",
            F.abs(unit_price) > MAX_ABS_UNIT_PRICE,
            _quoted("UnitPrice", f"is beyond ±{MAX_ABS_UNIT_PRICE:,}: taken for an entry error"),
        ),
        (
            "invoice_date_outside_partition",
            F.to_date(invoice_ts) != F.col("partition_date"),
            F.format_string(
                "InvoiceDate '%s' is not on the day of its file's folder (%s): is the file in the wrong folder?",
                F.col("InvoiceDate"),
                F.col("partition_date").cast("string"),
            ),
        ),
    ]
    rejection_reason = first_match([(condition, reason) for reason, condition, _ in rules])
    rejection_message = first_match([(condition, message) for _, condition, message in rules])
    raw_record = F.coalesce(F.col(CORRUPT_RECORD), F.to_json(F.struct(*SOURCE_COLUMNS)))
    normalized_fields = [
        invoice_no,
        stock_code,
        blank_to_null(F.col("Description")),
        F.coalesce(quantity.cast("string"), F.col("Quantity")),
        F.coalesce(_decimal_text(unit_price), F.col("UnitPrice")),
        F.coalesce(F.date_format(invoice_ts, "yyyy-MM-dd HH:mm:ss"), F.col("InvoiceDate")),
        customer_id,
        blank_to_null(F.col("Country")),
        F.col(CORRUPT_RECORD),
    ]
    typed = bronze.select(
        line_id(*normalized_fields).alias("line_id"),
        invoice_no.alias("invoice_no"),
        stock_code.alias("stock_code"),
        blank_to_null(F.col("Description")).alias("description"),
        quantity.alias("quantity"),
        unit_price.alias("unit_price"),
        invoice_ts.alias("invoice_ts"),
        customer_id.alias("customer_id"),
        blank_to_null(F.col("Country")).alias("country"),
        F.col("partition_date").alias("landing_date"),
        "source_file_name",
        rejection_reason.alias("rejection_reason"),
        F.when(rejection_reason.isNotNull(), rejection_message).alias("rejection_message"),
        F.when(rejection_reason.isNotNull(), raw_record).alias("rejected_record"),
    )
    first_delivery = Window.partitionBy("line_id").orderBy(
        F.col("rejection_reason").isNotNull(), "landing_date", "source_file_name"
    )
    derived = typed.withColumns(
        {
            "line_amount": (F.col("quantity") * F.col("unit_price")).cast(LINE_AMOUNT_TYPE),
            "currency": F.lit(CURRENCY),
            "order_date": F.to_date("invoice_ts"),
            "is_guest": F.col("customer_id").isNull(),
            "line_type": classify_line(
                F.col("invoice_no"), F.col("stock_code"), F.col("quantity"), F.col("unit_price")
            ),
            "delivery_rank": F.row_number().over(first_delivery),
        }
    )
    return derived.select(*SILVER_COLUMNS, "rejection_reason", "rejection_message", "rejected_record", "delivery_rank")


def silver_lines(parsed: DataFrame) -> DataFrame:
    """The rows that enter silver: parseable, first delivery of each line, in silver's columns."""
    return parsed.where(F.col("rejection_reason").isNull() & (F.col("delivery_rank") == 1)).select(*SILVER_COLUMNS)


def rejected_line_errors(parsed: DataFrame, asset: str, step: str, occurred_at: datetime) -> DataFrame:
    """One error-table row per parsed row kept out of silver, with its reason and raw record."""
    return as_error_rows(
        parsed.where(F.col("rejection_reason").isNotNull()),
        asset=asset,
        step=step,
        occurred_at=occurred_at,
        identity=[F.col("line_id"), F.col("rejection_reason"), F.col("delivery_rank").cast("string")],
        partition_date=F.col("landing_date"),
        source_file_name=F.col("source_file_name"),
        error_type=F.col("rejection_reason"),
        error_message=F.col("rejection_message"),
        record=F.col("rejected_record"),
    )
