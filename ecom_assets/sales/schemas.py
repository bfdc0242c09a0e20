"""pandera schemas of the sales tables: bronze, silver, gold, the dimensions and the business tables (pandera's
PySpark backend); each asset's `schema` check validates what it stores against its model."""

import pandera.pyspark as pa
from pyspark.sql import types as T

from ecom_assets.feeds.transforms.records import CUSTOMER_TIERS
from ecom_assets.feeds.transforms.records import MONEY_TYPE as FEED_MONEY_TYPE
from ecom_assets.platform.schemas import STRICT, decimal_type
from ecom_assets.sales.transforms.business import TIERS, WEEKDAYS
from ecom_assets.sales.transforms.dimensions import DISCOUNT_TYPE, FEED, INFERRED, SEGMENTS
from ecom_assets.sales.transforms.gold import DAY_STATUSES, MONEY_TYPE
from ecom_assets.sales.transforms.silver import CURRENCY, LINE_AMOUNT_TYPE, LINE_TYPES, UNIT_PRICE_TYPE


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
    unit_price: decimal_type(UNIT_PRICE_TYPE) = pa.Field(nullable=False)
    line_amount: decimal_type(LINE_AMOUNT_TYPE) = pa.Field(nullable=False)
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
    """`ecommerce_catalog.analytics.sales_metrics`: one row per day, with the day's status.

    Net revenue may be negative (a day whose refunds exceed its sales); every other figure is
    non-negative. Figures are null on a day that is not complete or closed (see `day_status`;
    the `non_negative` check holds them present on the others), and the average order value is
    undefined (null) on days without orders.
    """

    order_date: T.DateType() = pa.Field(nullable=False)
    day_status: T.StringType() = pa.Field(nullable=False, isin=list(DAY_STATUSES))
    gross_revenue: decimal_type(MONEY_TYPE) = pa.Field(nullable=True, ge=0)
    returns_amount: decimal_type(MONEY_TYPE) = pa.Field(nullable=True, ge=0)
    net_revenue: decimal_type(MONEY_TYPE) = pa.Field(nullable=True)
    order_count: T.LongType() = pa.Field(nullable=True, ge=0)
    units_sold: T.LongType() = pa.Field(nullable=True, ge=0)
    avg_order_value: decimal_type(MONEY_TYPE) = pa.Field(nullable=True, ge=0)
    active_customers: T.LongType() = pa.Field(nullable=True, ge=0)
    new_customers: T.LongType() = pa.Field(nullable=True, ge=0)
    returning_customers: T.LongType() = pa.Field(nullable=True, ge=0)

    class Config:
        """Exactly these columns."""

        strict = True


class ProductDailySales(pa.DataFrameModel):
    """`ecommerce_catalog.processed.product_daily_sales`: one row per order day and product."""

    order_date: T.DateType() = pa.Field(nullable=False)
    stock_code: T.StringType() = pa.Field(nullable=False)
    description: T.StringType() = pa.Field(nullable=True)
    typical_unit_price: decimal_type(UNIT_PRICE_TYPE) = pa.Field(nullable=True, gt=0)
    sale_lines: T.LongType() = pa.Field(nullable=False, ge=0)
    orders: T.LongType() = pa.Field(nullable=False, ge=0)
    units_sold: T.LongType() = pa.Field(nullable=False, ge=0)
    gross_revenue: decimal_type(LINE_AMOUNT_TYPE) = pa.Field(nullable=False, ge=0)
    returned_units: T.LongType() = pa.Field(nullable=False, ge=0)
    returns_amount: decimal_type(LINE_AMOUNT_TYPE) = pa.Field(nullable=False)

    Config = type("Config", (), STRICT)


class CustomerDailySales(pa.DataFrameModel):
    """`ecommerce_catalog.processed.customer_daily_sales`: one row per order day and known customer."""

    order_date: T.DateType() = pa.Field(nullable=False)
    customer_id: T.StringType() = pa.Field(nullable=False, str_matches=r"^[0-9A-Za-z]+$")
    country: T.StringType() = pa.Field(nullable=True)
    orders: T.LongType() = pa.Field(nullable=False, ge=0)
    units_sold: T.LongType() = pa.Field(nullable=False, ge=0)
    gross_revenue: decimal_type(LINE_AMOUNT_TYPE) = pa.Field(nullable=False, ge=0)
    returns_amount: decimal_type(LINE_AMOUNT_TYPE) = pa.Field(nullable=False)

    Config = type("Config", (), STRICT)


class DimProducts(pa.DataFrameModel):
    """`ecommerce_catalog.processed.dim_products`: SCD2 versions of each sold product."""

    stock_code: T.StringType() = pa.Field(nullable=False)
    version: T.IntegerType() = pa.Field(nullable=False, ge=1)
    description: T.StringType() = pa.Field(nullable=True)
    category: T.StringType() = pa.Field(nullable=False)
    subcategory: T.StringType() = pa.Field(nullable=False)
    price_band: T.StringType() = pa.Field(nullable=False)
    typical_unit_price: decimal_type(UNIT_PRICE_TYPE) = pa.Field(nullable=False, gt=0)
    product_name: T.StringType() = pa.Field(nullable=True)
    catalog_category: T.StringType() = pa.Field(nullable=False)
    catalog_subcategory: T.StringType() = pa.Field(nullable=False)
    brand: T.StringType() = pa.Field(nullable=True)
    list_price: decimal_type(FEED_MONEY_TYPE) = pa.Field(nullable=True, ge=0)
    is_discontinued: T.BooleanType() = pa.Field(nullable=True)
    attribute_source: T.StringType() = pa.Field(nullable=False, isin=[FEED, INFERRED])
    effective_from: T.DateType() = pa.Field(nullable=False)
    effective_to: T.DateType() = pa.Field(nullable=True)
    is_current: T.BooleanType() = pa.Field(nullable=False)

    Config = type("Config", (), STRICT)


class DimCustomers(pa.DataFrameModel):
    """`ecommerce_catalog.processed.dim_customers`: SCD2 versions of each known customer."""

    customer_id: T.StringType() = pa.Field(nullable=False, str_matches=r"^[0-9A-Za-z]+$")
    version: T.IntegerType() = pa.Field(nullable=False, ge=1)
    country: T.StringType() = pa.Field(nullable=True)
    segment: T.StringType() = pa.Field(nullable=False, isin=list(SEGMENTS))
    customer_tier: T.StringType() = pa.Field(nullable=True, isin=list(CUSTOMER_TIERS))
    email: T.StringType() = pa.Field(nullable=True)
    city: T.StringType() = pa.Field(nullable=True)
    attribute_source: T.StringType() = pa.Field(nullable=False, isin=[FEED, INFERRED])
    first_order_date: T.DateType() = pa.Field(nullable=True)
    last_order_date: T.DateType() = pa.Field(nullable=True)
    effective_from: T.DateType() = pa.Field(nullable=False)
    effective_to: T.DateType() = pa.Field(nullable=True)
    is_current: T.BooleanType() = pa.Field(nullable=False)

    Config = type("Config", (), STRICT)


class DimPromotions(pa.DataFrameModel):
    """`ecommerce_catalog.processed.dim_promotions`: the promotions calendar."""

    promotion_name: T.StringType() = pa.Field(nullable=False)
    start_date: T.DateType() = pa.Field(nullable=False)
    end_date: T.DateType() = pa.Field(nullable=False)
    discount: decimal_type(DISCOUNT_TYPE) = pa.Field(nullable=False, gt=0, lt=1)
    scope: T.StringType() = pa.Field(nullable=False)

    Config = type("Config", (), STRICT)


class OrdersEnriched(SilverOrdersCleaned):
    """`ecommerce_catalog.processed.orders_enriched`: silver lines with category and promotion in effect."""

    product_category: T.StringType() = pa.Field(nullable=False)
    product_subcategory: T.StringType() = pa.Field(nullable=False)
    promotion_name: T.StringType() = pa.Field(nullable=True)
    promotion_discount: decimal_type(DISCOUNT_TYPE) = pa.Field(nullable=True, gt=0, lt=1)
    is_promoted: T.BooleanType() = pa.Field(nullable=False)

    Config = type("Config", (), STRICT)


class CategoryRevenueDaily(pa.DataFrameModel):
    """`ecommerce_catalog.analytics.category_revenue_daily`: one row per order day and category."""

    order_date: T.DateType() = pa.Field(nullable=False)
    product_category: T.StringType() = pa.Field(nullable=False)
    revenue: decimal_type(MONEY_TYPE) = pa.Field(nullable=False, ge=0)
    orders: T.LongType() = pa.Field(nullable=False, gt=0)
    units_sold: T.LongType() = pa.Field(nullable=False, gt=0)
    sale_lines: T.LongType() = pa.Field(nullable=False, gt=0)
    promoted_revenue: decimal_type(MONEY_TYPE) = pa.Field(nullable=False, ge=0)

    Config = type("Config", (), STRICT)


class SeasonalSales(pa.DataFrameModel):
    """`ecommerce_catalog.analytics.seasonal_sales`: one row per order day, hour and country."""

    order_date: T.DateType() = pa.Field(nullable=False)
    year_month: T.StringType() = pa.Field(nullable=False, str_matches=r"^\d{4}-\d{2}$")
    weekday: T.StringType() = pa.Field(nullable=False, isin=list(WEEKDAYS))
    weekday_number: T.IntegerType() = pa.Field(nullable=False, in_range={"min_value": 1, "max_value": 7})
    hour: T.IntegerType() = pa.Field(nullable=False, in_range={"min_value": 0, "max_value": 23})
    country: T.StringType() = pa.Field(nullable=False)
    revenue: decimal_type(MONEY_TYPE) = pa.Field(nullable=False, ge=0)
    orders: T.LongType() = pa.Field(nullable=False, gt=0)
    units_sold: T.LongType() = pa.Field(nullable=False, gt=0)

    Config = type("Config", (), STRICT)


class CustomerLifetimeValue(pa.DataFrameModel):
    """`ecommerce_catalog.analytics.customer_lifetime_value`: one row per known customer, as of a day."""

    customer_id: T.StringType() = pa.Field(nullable=False)
    country: T.StringType() = pa.Field(nullable=True)
    segment: T.StringType() = pa.Field(nullable=False, isin=list(SEGMENTS))
    first_order_date: T.DateType() = pa.Field(nullable=True)
    last_order_date: T.DateType() = pa.Field(nullable=True)
    orders: T.LongType() = pa.Field(nullable=False, ge=0)
    units_sold: T.LongType() = pa.Field(nullable=False, ge=0)
    gross_revenue: decimal_type(MONEY_TYPE) = pa.Field(nullable=False, ge=0)
    returns_amount: decimal_type(MONEY_TYPE) = pa.Field(nullable=False)
    net_revenue: decimal_type(MONEY_TYPE) = pa.Field(nullable=False)
    avg_order_value: decimal_type(MONEY_TYPE) = pa.Field(nullable=True, ge=0)
    tenure_days: T.IntegerType() = pa.Field(nullable=True, ge=0)
    recency_days: T.IntegerType() = pa.Field(nullable=True, ge=0)
    historic_clv: decimal_type(MONEY_TYPE) = pa.Field(nullable=False)
    predicted_clv_12m: decimal_type(MONEY_TYPE) = pa.Field(nullable=False, ge=0)
    as_of_date: T.DateType() = pa.Field(nullable=False)

    Config = type("Config", (), STRICT)


class ProductPerformance(pa.DataFrameModel):
    """`ecommerce_catalog.analytics.product_performance`: one row per product, as of a day."""

    stock_code: T.StringType() = pa.Field(nullable=False)
    description: T.StringType() = pa.Field(nullable=True)
    category: T.StringType() = pa.Field(nullable=False)
    subcategory: T.StringType() = pa.Field(nullable=False)
    first_seen: T.DateType() = pa.Field(nullable=True)
    last_seen: T.DateType() = pa.Field(nullable=True)
    orders: T.LongType() = pa.Field(nullable=False, ge=0)
    units_sold: T.LongType() = pa.Field(nullable=False, ge=0)
    gross_revenue: decimal_type(MONEY_TYPE) = pa.Field(nullable=False, ge=0)
    returned_units: T.LongType() = pa.Field(nullable=False, ge=0)
    returns_amount: decimal_type(MONEY_TYPE) = pa.Field(nullable=False)
    net_revenue: decimal_type(MONEY_TYPE) = pa.Field(nullable=False)
    return_rate: T.DoubleType() = pa.Field(nullable=True, ge=0)
    tier: T.StringType() = pa.Field(nullable=False, isin=list(TIERS))
    as_of_date: T.DateType() = pa.Field(nullable=False)

    Config = type("Config", (), STRICT)


class PromotionUplift(pa.DataFrameModel):
    """`ecommerce_catalog.analytics.promotion_uplift`: one row per promotion of the calendar."""

    promotion_name: T.StringType() = pa.Field(nullable=False)
    scope: T.StringType() = pa.Field(nullable=False)
    start_date: T.DateType() = pa.Field(nullable=False)
    end_date: T.DateType() = pa.Field(nullable=False)
    discount: decimal_type(DISCOUNT_TYPE) = pa.Field(nullable=False, gt=0, lt=1)
    promotion_days: T.LongType() = pa.Field(nullable=False, ge=0)
    baseline_days: T.LongType() = pa.Field(nullable=False, ge=0)
    revenue_per_day: decimal_type(MONEY_TYPE) = pa.Field(nullable=True, ge=0)
    baseline_revenue_per_day: decimal_type(MONEY_TYPE) = pa.Field(nullable=True, ge=0)
    revenue_uplift: T.DoubleType() = pa.Field(nullable=True)
    orders_per_day: T.DoubleType() = pa.Field(nullable=True, ge=0)
    baseline_orders_per_day: T.DoubleType() = pa.Field(nullable=True, ge=0)
    orders_uplift: T.DoubleType() = pa.Field(nullable=True)
    as_of_date: T.DateType() = pa.Field(nullable=False)

    Config = type("Config", (), STRICT)
