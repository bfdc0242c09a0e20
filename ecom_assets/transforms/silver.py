"""Silver: typed, classified, de-duplicated order lines."""

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.window import Window

from ecom_assets.transforms.bronze import CORRUPT_RECORD, SOURCE_COLUMNS

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

UNIT_PRICE_TYPE = "decimal(12,3)"
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


def _blank_to_null(column: Column) -> Column:
    trimmed = F.trim(column)
    return F.when(trimmed == "", None).otherwise(trimmed)


def _parse_timestamp(text: Column) -> Column:
    return F.coalesce(*(F.try_to_timestamp(text, F.lit(fmt)) for fmt in _TIMESTAMP_FORMATS))


def line_id(*source_columns: str) -> Column:
    """A deterministic id of a source line: SHA-256 over its raw fields, so exact duplicates share it."""
    fields = [F.coalesce(F.col(name), F.lit("")) for name in source_columns]
    return F.sha2(F.concat_ws("\u001f", *fields), 256)


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

    Returns silver columns plus `rejection_reason` (why the row cannot enter silver, null when
    it can) and `delivery_rank` (1 for the first delivery of a line, 2+ for exact duplicates;
    the earliest landing day, then file name, counts as first).
    """
    invoice_no = _blank_to_null(F.col("InvoiceNo"))
    stock_code = _blank_to_null(F.col("StockCode"))
    quantity = F.expr("try_cast(trim(Quantity) AS int)")
    unit_price = F.expr(f"try_cast(trim(UnitPrice) AS {UNIT_PRICE_TYPE})")
    invoice_ts = _parse_timestamp(F.trim(F.col("InvoiceDate")))
    customer_id = F.regexp_replace(_blank_to_null(F.col("CustomerID")), r"\.0+$", "")
    rejection_reason = (
        F.when(F.col(CORRUPT_RECORD).isNotNull(), "malformed_csv_line")
        .when(invoice_no.isNull(), "missing_invoice_no")
        .when(stock_code.isNull(), "missing_stock_code")
        .when(quantity.isNull(), "unparseable_quantity")
        .when(unit_price.isNull(), "unparseable_unit_price")
        .when(invoice_ts.isNull(), "unparseable_invoice_date")
    )
    typed = bronze.select(
        line_id(*SOURCE_COLUMNS).alias("line_id"),
        invoice_no.alias("invoice_no"),
        stock_code.alias("stock_code"),
        _blank_to_null(F.col("Description")).alias("description"),
        quantity.alias("quantity"),
        unit_price.alias("unit_price"),
        invoice_ts.alias("invoice_ts"),
        customer_id.alias("customer_id"),
        _blank_to_null(F.col("Country")).alias("country"),
        F.col("partition_date").alias("landing_date"),
        "source_file_name",
        rejection_reason.alias("rejection_reason"),
    )
    first_delivery = Window.partitionBy("line_id").orderBy("landing_date", "source_file_name")
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
    return derived.select(*SILVER_COLUMNS, "rejection_reason", "delivery_rank")


def line_outcome() -> Column:
    """What became of a parsed row: `kept` in silver, `duplicate`, or its rejection reason."""
    return F.coalesce(F.col("rejection_reason"), F.when(F.col("delivery_rank") > 1, F.lit("duplicate")), F.lit("kept"))


def silver_lines(parsed: DataFrame) -> DataFrame:
    """The rows that enter silver: parseable, first delivery of each line, in silver's columns."""
    return parsed.where(F.col("rejection_reason").isNull() & (F.col("delivery_rank") == 1)).select(*SILVER_COLUMNS)
