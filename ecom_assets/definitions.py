"""The code location: every asset, job and resource of the e-commerce lakehouse."""

from dagster import Definitions, in_process_executor

from ecom_assets.alerts import check_failure_email_sensor, run_failure_email_sensor
from ecom_assets.assets.bronze import order_transactions
from ecom_assets.assets.business import (
    category_revenue_daily,
    customer_lifetime_value,
    product_performance,
    promotion_uplift,
    seasonal_sales,
)
from ecom_assets.assets.clickstream import clickstream_events_raw
from ecom_assets.assets.clickstream_daily import category_funnel_daily, funnel_daily, product_funnel_daily
from ecom_assets.assets.clickstream_hourly import clickstream_events, dim_catalog_items, funnel_hourly
from ecom_assets.assets.dimensions import (
    customer_daily_sales,
    dim_customers,
    dim_products,
    dim_promotions,
    orders_enriched,
    product_daily_sales,
)
from ecom_assets.assets.feed_gold import inventory_daily_asset, segment_analysis_asset
from ecom_assets.assets.feed_validation import validation_results
from ecom_assets.assets.feeds import FEED_BRONZE_ASSETS, FEED_SILVER_ASSETS
from ecom_assets.assets.gold import sales_metrics
from ecom_assets.assets.logs import log_table_specs
from ecom_assets.assets.shipments import shipments, shipping_performance_daily
from ecom_assets.assets.silver import orders_cleaned
from ecom_assets.jobs import (
    clickstream_daily_job,
    clickstream_day_close_schedule,
    clickstream_hourly_job,
    clickstream_hourly_schedule,
    clickstream_ingest_job,
    daily_sales_job,
    daily_sales_schedule,
    lakehouse_maintenance_job,
    lakehouse_maintenance_schedule,
    operational_feeds_job,
)
from ecom_assets.sensors import (
    clickstream_days_sensor,
    clickstream_file_sensor,
    clickstream_hours_sensor,
    feed_trigger_sensor,
    landing_file_sensor,
)
from resources import deployment_resources

TABLE_ASSETS = [
    order_transactions,
    orders_cleaned,
    sales_metrics,
    product_daily_sales,
    customer_daily_sales,
    dim_products,
    dim_customers,
    dim_promotions,
    orders_enriched,
    category_revenue_daily,
    seasonal_sales,
    customer_lifetime_value,
    product_performance,
    promotion_uplift,
]
"""The sales pipeline's assets: the daily sales job runs them."""
FEED_ASSETS = [
    *FEED_BRONZE_ASSETS,
    *FEED_SILVER_ASSETS,
    validation_results,
    shipments,
    shipping_performance_daily,
    inventory_daily_asset,
    segment_analysis_asset,
]
"""The operational feeds' assets: a feed batch's run (`operational_feeds_job`) runs them, and the sales pipeline's
dimensions that take feed attributes (`jobs.FEED_FED_DIMENSIONS`)."""
CLICKSTREAM_ASSETS = [
    clickstream_events_raw,
    clickstream_events,
    dim_catalog_items,
    funnel_hourly,
    funnel_daily,
    product_funnel_daily,
    category_funnel_daily,
]
"""The web shop's behaviour events: `clickstream_ingest_job` (file sensor, hourly schedule) streams them in,
`clickstream_hourly_job` (hours sensor, day-close schedule) builds their hours, `clickstream_daily_job` (days sensor)
their days."""

defs = Definitions(
    assets=[
        *TABLE_ASSETS,
        *FEED_ASSETS,
        *CLICKSTREAM_ASSETS,
        *log_table_specs([*TABLE_ASSETS, *FEED_ASSETS, *CLICKSTREAM_ASSETS[1:]]),
    ],
    jobs=[
        daily_sales_job,
        operational_feeds_job,
        clickstream_ingest_job,
        clickstream_hourly_job,
        clickstream_daily_job,
        lakehouse_maintenance_job,
    ],
    schedules=[
        daily_sales_schedule,
        clickstream_hourly_schedule,
        clickstream_day_close_schedule,
        lakehouse_maintenance_schedule,
    ],
    sensors=[
        landing_file_sensor,
        feed_trigger_sensor,
        clickstream_file_sensor,
        clickstream_hours_sensor,
        clickstream_days_sensor,
        run_failure_email_sensor,
        check_failure_email_sensor,
    ],
    resources=deployment_resources(),
    # One process per run: every step shares the run's Spark session instead of starting its own JVM.
    executor=in_process_executor,
)
