"""The sales area: landing files to bronze, silver and gold, the dimensions and the business tables."""

from dagster import AssetSpec, Definitions

from ecom_assets.platform.log_tables import log_table_spec
from ecom_assets.platform.tables import asset_key
from ecom_assets.sales.bronze import order_transactions
from ecom_assets.sales.business import (
    category_revenue_daily,
    customer_lifetime_value,
    product_performance,
    promotion_uplift,
    seasonal_sales,
)
from ecom_assets.sales.business_rules import BusinessRules
from ecom_assets.sales.dimensions import (
    customer_daily_sales,
    dim_customers,
    dim_products,
    dim_promotions,
    orders_enriched,
    product_daily_sales,
)
from ecom_assets.sales.gold import sales_metrics
from ecom_assets.sales.jobs import daily_sales_job, daily_sales_schedule, landing_file_sensor
from ecom_assets.sales.silver import orders_cleaned
from ecom_assets.sales.tables import (
    CUSTOMER_FIRST_SALES,
    DIM_PRODUCTS,
    LANDING_DELIVERIES,
    ORDER_TRANSACTIONS,
    PRODUCT_FACTS,
    SALES_METRICS,
)

SALES_ASSETS = [
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

LANDING_DELIVERIES_LOG = log_table_spec(
    LANDING_DELIVERIES,
    "Each day's delivery status as bronze found it: delivered, awaited, missing, closed or unreadable.",
    [asset_key(ORDER_TRANSACTIONS)],
)

CUSTOMER_FIRST_SALES_STATE = AssetSpec(
    asset_key(CUSTOMER_FIRST_SALES),
    deps=[asset_key(SALES_METRICS)],
    description=(
        "Each customer's first sale day over every day gold has loaded; gold keeps it as it loads days (new and"
        " returning customers are counted against it) instead of reading all of silver each day."
    ),
    group_name="gold",
    kinds={"spark", "delta"},
    metadata={"table": CUSTOMER_FIRST_SALES.full_name},
)

PRODUCT_FACTS_STATE = AssetSpec(
    asset_key(PRODUCT_FACTS),
    deps=[asset_key(DIM_PRODUCTS)],
    description=(
        "Per product: its first and last sale day, and the state `dim_products` carries forward from (the last"
        " observed day's sales and feed record, the current version's price counts), so a day reads its own days"
        " instead of the product's whole history."
    ),
    group_name="dimensions",
    kinds={"spark", "delta"},
    metadata={"table": PRODUCT_FACTS.full_name},
)

defs = Definitions(
    assets=[*SALES_ASSETS, LANDING_DELIVERIES_LOG, CUSTOMER_FIRST_SALES_STATE, PRODUCT_FACTS_STATE],
    jobs=[daily_sales_job],
    schedules=[daily_sales_schedule],
    sensors=[landing_file_sensor],
    resources={"business_rules": BusinessRules()},
)
