"""pandera schemas of the clickstream's silver, catalog-item and funnel tables (pandera's PySpark backend)."""

import pandera.pyspark as pa
from pyspark.sql import types as T

from ecom_assets.clickstream.transforms import CLICKSTREAM_DAY_STATUSES, EVENT_TYPES
from ecom_assets.clickstream.transforms import PRICE_TYPE as EVENT_PRICE_TYPE
from ecom_assets.clickstream.transforms import REVENUE_TYPE as EVENT_REVENUE_TYPE
from ecom_assets.platform.schemas import STRICT, decimal_type


class SilverClickstreamEvents(pa.DataFrameModel):
    """`ecommerce_catalog.processed.clickstream_events`: typed events, one per distinct line, session and bot flag."""

    event_id: T.StringType() = pa.Field(nullable=False, str_length={"min_value": 64, "max_value": 64})
    event_time: T.TimestampType() = pa.Field(nullable=False)
    event_type: T.StringType() = pa.Field(nullable=False, isin=list(EVENT_TYPES))
    product_id: T.LongType() = pa.Field(nullable=False)
    category_id: T.LongType() = pa.Field(nullable=True)
    category_code: T.StringType() = pa.Field(nullable=True)
    brand: T.StringType() = pa.Field(nullable=True)
    price: decimal_type(EVENT_PRICE_TYPE) = pa.Field(nullable=False, ge=0)
    user_id: T.LongType() = pa.Field(nullable=False)
    user_session: T.StringType() = pa.Field(nullable=True)
    source_file: T.StringType() = pa.Field(nullable=False)
    session_id: T.StringType() = pa.Field(nullable=False)
    is_bot: T.BooleanType() = pa.Field(nullable=False)
    event_hour: T.TimestampType() = pa.Field(nullable=False)
    event_date: T.DateType() = pa.Field(nullable=False)

    Config = type("Config", (), STRICT)


class DimCatalogItems(pa.DataFrameModel):
    """`ecommerce_catalog.processed.dim_catalog_items`: SCD2 versions of each product as the events observed it."""

    product_id: T.LongType() = pa.Field(nullable=False)
    version: T.IntegerType() = pa.Field(nullable=False, ge=1)
    price: decimal_type(EVENT_PRICE_TYPE) = pa.Field(nullable=False, ge=0)
    category_code: T.StringType() = pa.Field(nullable=True)
    brand: T.StringType() = pa.Field(nullable=True)
    valid_from: T.TimestampType() = pa.Field(nullable=False)
    valid_to: T.TimestampType() = pa.Field(nullable=True)
    is_current: T.BooleanType() = pa.Field(nullable=False)

    Config = type("Config", (), STRICT)


class _FunnelFigures(pa.DataFrameModel):
    """The conversion funnel's figures of a window (see `transforms.clickstream.funnel`)."""

    sessions: T.LongType() = pa.Field(nullable=False, ge=0)
    view_sessions: T.LongType() = pa.Field(nullable=False, ge=0)
    cart_sessions: T.LongType() = pa.Field(nullable=False, ge=0)
    purchase_sessions: T.LongType() = pa.Field(nullable=False, ge=0)
    purchases: T.LongType() = pa.Field(nullable=False, ge=0)
    revenue: decimal_type(EVENT_REVENUE_TYPE) = pa.Field(nullable=False, ge=0)
    view_to_cart: T.DoubleType() = pa.Field(nullable=True, ge=0)
    cart_to_purchase: T.DoubleType() = pa.Field(nullable=True, ge=0)
    conversion_rate: T.DoubleType() = pa.Field(nullable=True, in_range={"min_value": 0, "max_value": 1})
    bot_sessions: T.LongType() = pa.Field(nullable=False, ge=0)


class FunnelHourly(_FunnelFigures):
    """`ecommerce_catalog.analytics.funnel_hourly`: the conversion funnel of each UTC hour (`hour`: its start)."""

    hour: T.TimestampType() = pa.Field(nullable=False)

    Config = type("Config", (), STRICT)


class FunnelDaily(_FunnelFigures):
    """`ecommerce_catalog.analytics.funnel_daily`: the funnel of each UTC day, with how many of its hours were in."""

    event_date: T.DateType() = pa.Field(nullable=False)
    hours_processed: T.IntegerType() = pa.Field(nullable=False, in_range={"min_value": 0, "max_value": 24})
    day_status: T.StringType() = pa.Field(nullable=False, isin=list(CLICKSTREAM_DAY_STATUSES))

    Config = type("Config", (), STRICT)


class ProductFunnelDaily(pa.DataFrameModel):
    """`ecommerce_catalog.analytics.product_funnel_daily`: each product's funnel of a UTC day."""

    event_date: T.DateType() = pa.Field(nullable=False)
    product_id: T.LongType() = pa.Field(nullable=False)
    brand: T.StringType() = pa.Field(nullable=True)
    category_code: T.StringType() = pa.Field(nullable=True)
    price_at_day_end: decimal_type(EVENT_PRICE_TYPE) = pa.Field(nullable=False, ge=0)
    views: T.LongType() = pa.Field(nullable=False, ge=0)
    carts: T.LongType() = pa.Field(nullable=False, ge=0)
    purchases: T.LongType() = pa.Field(nullable=False, ge=0)
    revenue: decimal_type(EVENT_REVENUE_TYPE) = pa.Field(nullable=False, ge=0)
    view_to_purchase_rate: T.DoubleType() = pa.Field(nullable=True, ge=0)
    hours_processed: T.IntegerType() = pa.Field(nullable=False, in_range={"min_value": 0, "max_value": 24})
    day_status: T.StringType() = pa.Field(nullable=False, isin=list(CLICKSTREAM_DAY_STATUSES))

    Config = type("Config", (), STRICT)


class CategoryFunnelDaily(pa.DataFrameModel):
    """`ecommerce_catalog.analytics.category_funnel_daily`: each top-level category's funnel of a UTC day."""

    event_date: T.DateType() = pa.Field(nullable=False)
    top_category: T.StringType() = pa.Field(nullable=False)
    sessions: T.LongType() = pa.Field(nullable=False, ge=0)
    purchase_sessions: T.LongType() = pa.Field(nullable=False, ge=0)
    revenue: decimal_type(EVENT_REVENUE_TYPE) = pa.Field(nullable=False, ge=0)
    hours_processed: T.IntegerType() = pa.Field(nullable=False, in_range={"min_value": 0, "max_value": 24})
    day_status: T.StringType() = pa.Field(nullable=False, isin=list(CLICKSTREAM_DAY_STATUSES))

    Config = type("Config", (), STRICT)
