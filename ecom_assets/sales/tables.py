"""The sales area's tables: bronze, silver, gold, the dimensions, the business tables and the delivery log."""

from ecom_assets.platform.tables import CATALOG, TableName

ORDER_TRANSACTIONS = TableName(CATALOG, "raw", "order_transactions")
ORDERS_CLEANED = TableName(CATALOG, "processed", "orders_cleaned", cluster_by="landing_date")
SALES_METRICS = TableName(CATALOG, "analytics", "sales_metrics", cluster_by="order_date")
CUSTOMER_FIRST_SALES = TableName(CATALOG, "analytics", "customer_first_sales")
PRODUCT_DAILY_SALES = TableName(CATALOG, "processed", "product_daily_sales", cluster_by="order_date")
CUSTOMER_DAILY_SALES = TableName(CATALOG, "processed", "customer_daily_sales", cluster_by="order_date")
DIM_PRODUCTS = TableName(CATALOG, "processed", "dim_products")
PRODUCT_FACTS = TableName(CATALOG, "processed", "product_facts")
DIM_CUSTOMERS = TableName(CATALOG, "processed", "dim_customers")
DIM_PROMOTIONS = TableName(CATALOG, "processed", "dim_promotions")
ORDERS_ENRICHED = TableName(CATALOG, "processed", "orders_enriched", cluster_by="order_date")
CATEGORY_REVENUE_DAILY = TableName(CATALOG, "analytics", "category_revenue_daily", cluster_by="order_date")
SEASONAL_SALES = TableName(CATALOG, "analytics", "seasonal_sales", cluster_by="order_date")
CUSTOMER_LIFETIME_VALUE = TableName(CATALOG, "analytics", "customer_lifetime_value")
PRODUCT_PERFORMANCE = TableName(CATALOG, "analytics", "product_performance")
PROMOTION_UPLIFT = TableName(CATALOG, "analytics", "promotion_uplift")
LANDING_DELIVERIES = TableName(CATALOG, "logs", "landing_deliveries")
