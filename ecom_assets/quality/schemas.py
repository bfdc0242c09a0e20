"""pandera schemas of the bronze, silver and gold tables (pandera's PySpark backend).

These models are the tables' contracts, versioned with the code: each asset's `schema` check
validates what was stored against its model, and `schema_version` fingerprints the model so a
check result says which contract it was judged by.
"""

import hashlib

import pandera.pyspark as pa
from pyspark.sql import types as T

from ecom_assets.transforms.gold import MONEY_TYPE
from ecom_assets.transforms.silver import CURRENCY, LINE_AMOUNT_TYPE, LINE_TYPES, UNIT_PRICE_TYPE


def _decimal(type_name: str) -> T.DecimalType:
    precision, scale = type_name.removeprefix("decimal(").removesuffix(")").split(",")
    return T.DecimalType(int(precision), int(scale))


class BronzeOrderTransactions(pa.DataFrameModel):
    """`ecommerce_catalog.raw.order_transactions`: source fields as strings, plus lineage."""

    InvoiceNo: T.StringType() = pa.Field(nullable=True)
    StockCode: T.StringType() = pa.Field(nullable=True)
    Description: T.StringType() = pa.Field(nullable=True)
    Quantity: T.StringType() = pa.Field(nullable=True)
    InvoiceDate: T.StringType() = pa.Field(nullable=True)
    UnitPrice: T.StringType() = pa.Field(nullable=True)
    CustomerID: T.StringType() = pa.Field(nullable=True)
    Country: T.StringType() = pa.Field(nullable=True)
    corrupt_record: T.StringType() = pa.Field(nullable=True)
    ingestion_date: T.DateType() = pa.Field(nullable=False)
    source_file_name: T.StringType() = pa.Field(nullable=False, str_matches=r"^\d{4}/\d{2}/\d{2}/[^/]+$")
    partition_date: T.DateType() = pa.Field(nullable=False)
    year: T.IntegerType() = pa.Field(nullable=False, ge=2010)
    month: T.IntegerType() = pa.Field(nullable=False, in_range={"min_value": 1, "max_value": 12})

    class Config:
        """Exactly these columns."""

        strict = True


class SilverOrdersCleaned(pa.DataFrameModel):
    """`ecommerce_catalog.processed.orders_cleaned`: typed, classified, one row per distinct line."""

    line_id: T.StringType() = pa.Field(nullable=False, str_length={"min_value": 64, "max_value": 64})
    invoice_no: T.StringType() = pa.Field(nullable=False)
    stock_code: T.StringType() = pa.Field(nullable=False)
    description: T.StringType() = pa.Field(nullable=True)
    quantity: T.IntegerType() = pa.Field(nullable=False)
    unit_price: _decimal(UNIT_PRICE_TYPE) = pa.Field(nullable=False)
    line_amount: _decimal(LINE_AMOUNT_TYPE) = pa.Field(nullable=False)
    currency: T.StringType() = pa.Field(nullable=False, isin=[CURRENCY])
    invoice_ts: T.TimestampType() = pa.Field(nullable=False)
    order_date: T.DateType() = pa.Field(nullable=False)
    customer_id: T.StringType() = pa.Field(nullable=True, str_matches=r"^[0-9A-Za-z]+$")
    is_guest: T.BooleanType() = pa.Field(nullable=False)
    country: T.StringType() = pa.Field(nullable=True)
    line_type: T.StringType() = pa.Field(nullable=False, isin=list(LINE_TYPES))
    landing_date: T.DateType() = pa.Field(nullable=False)
    source_file_name: T.StringType() = pa.Field(nullable=False)

    class Config:
        """Exactly these columns."""

        strict = True


class GoldSalesMetrics(pa.DataFrameModel):
    """`ecommerce_catalog.analytics.sales_metrics`: one row per day.

    Net revenue may be negative (a day whose refunds exceed its sales); every other figure is
    non-negative, and the average order value is undefined (null) on days without orders.
    """

    order_date: T.DateType() = pa.Field(nullable=False)
    gross_revenue: _decimal(MONEY_TYPE) = pa.Field(nullable=False, ge=0)
    returns_amount: _decimal(MONEY_TYPE) = pa.Field(nullable=False, ge=0)
    net_revenue: _decimal(MONEY_TYPE) = pa.Field(nullable=False)
    order_count: T.LongType() = pa.Field(nullable=False, ge=0)
    units_sold: T.LongType() = pa.Field(nullable=False, ge=0)
    avg_order_value: _decimal(MONEY_TYPE) = pa.Field(nullable=True, ge=0)
    active_customers: T.LongType() = pa.Field(nullable=False, ge=0)
    new_customers: T.LongType() = pa.Field(nullable=False, ge=0)
    returning_customers: T.LongType() = pa.Field(nullable=False, ge=0)

    class Config:
        """Exactly these columns."""

        strict = True


def schema_version(model: type[pa.DataFrameModel]) -> str:
    """A short fingerprint of a model's columns, types and checks; changes whenever the contract does."""
    schema = model.to_schema()
    described = sorted(
        f"{name}:{column.dtype}:{column.nullable}:{[str(check) for check in column.checks]}"
        for name, column in schema.columns.items()
    )
    return hashlib.sha256("|".join(described).encode()).hexdigest()[:12]
