"""Unity Catalog three-level names of every table the pipeline owns."""

from dataclasses import dataclass

CATALOG = "ecommerce_catalog"


@dataclass(frozen=True)
class TableName:
    """A `catalog.schema.table` name; the asset key and the storage path both derive from it."""

    catalog: str
    schema: str
    table: str
    cluster_by: str | None = None
    """A date column whose days the table's files keep together: a rerun of one day then rewrites only the files
    holding that day, not every file of the table."""

    @property
    def full_name(self) -> str:
        """The dotted Unity Catalog name, e.g. `ecommerce_catalog.raw.order_transactions`."""
        return f"{self.catalog}.{self.schema}.{self.table}"

    @property
    def parts(self) -> list[str]:
        """The three name parts, in order; used as asset key path and folder path."""
        return [self.catalog, self.schema, self.table]


ORDER_TRANSACTIONS = TableName(CATALOG, "raw", "order_transactions")
ORDERS_CLEANED = TableName(CATALOG, "processed", "orders_cleaned", cluster_by="landing_date")
SALES_METRICS = TableName(CATALOG, "analytics", "sales_metrics", cluster_by="order_date")
PRODUCT_DAILY_SALES = TableName(CATALOG, "processed", "product_daily_sales", cluster_by="order_date")
CUSTOMER_DAILY_SALES = TableName(CATALOG, "processed", "customer_daily_sales", cluster_by="order_date")
DIM_PRODUCTS = TableName(CATALOG, "processed", "dim_products")
DIM_CUSTOMERS = TableName(CATALOG, "processed", "dim_customers")
DIM_PROMOTIONS = TableName(CATALOG, "processed", "dim_promotions")
ORDERS_ENRICHED = TableName(CATALOG, "processed", "orders_enriched", cluster_by="order_date")
CATEGORY_REVENUE_DAILY = TableName(CATALOG, "analytics", "category_revenue_daily", cluster_by="order_date")
SEASONAL_SALES = TableName(CATALOG, "analytics", "seasonal_sales", cluster_by="order_date")
CUSTOMER_LIFETIME_VALUE = TableName(CATALOG, "analytics", "customer_lifetime_value")
PRODUCT_PERFORMANCE = TableName(CATALOG, "analytics", "product_performance")
PROMOTION_UPLIFT = TableName(CATALOG, "analytics", "promotion_uplift")
CUSTOMER_FEED = TableName(CATALOG, "raw", "customer_feed", cluster_by="business_date")
PRODUCT_FEED = TableName(CATALOG, "raw", "product_feed", cluster_by="business_date")
INVENTORY_FEED = TableName(CATALOG, "raw", "inventory_feed", cluster_by="business_date")
SHIPPING_FEED = TableName(CATALOG, "raw", "shipping_feed", cluster_by="business_date")
CUSTOMER_UPDATES = TableName(CATALOG, "processed", "customer_updates", cluster_by="business_date")
PRODUCT_UPDATES = TableName(CATALOG, "processed", "product_updates", cluster_by="business_date")
INVENTORY_SNAPSHOTS = TableName(CATALOG, "processed", "inventory_snapshots", cluster_by="business_date")
SHIPPING_UPDATES = TableName(CATALOG, "processed", "shipping_updates", cluster_by="business_date")
SHIPMENTS = TableName(CATALOG, "processed", "shipments")
SHIPPING_PERFORMANCE = TableName(CATALOG, "analytics", "shipping_performance", cluster_by="order_date")
INVENTORY_DAILY = TableName(CATALOG, "analytics", "inventory_daily", cluster_by="business_date")
SEGMENT_ANALYSIS = TableName(CATALOG, "analytics", "segment_analysis", cluster_by="order_date")
CLICKSTREAM_EVENTS_RAW = TableName(CATALOG, "raw", "clickstream_events")
CLICKSTREAM_EVENTS = TableName(CATALOG, "processed", "clickstream_events", cluster_by="event_hour")
DIM_CATALOG_ITEMS = TableName(CATALOG, "processed", "dim_catalog_items")
FUNNEL_HOURLY = TableName(CATALOG, "analytics", "funnel_hourly", cluster_by="hour")
FUNNEL_DAILY = TableName(CATALOG, "analytics", "funnel_daily", cluster_by="event_date")
PRODUCT_FUNNEL_DAILY = TableName(CATALOG, "analytics", "product_funnel_daily", cluster_by="event_date")
CATEGORY_FUNNEL_DAILY = TableName(CATALOG, "analytics", "category_funnel_daily", cluster_by="event_date")
VALIDATION_RESULTS = TableName(CATALOG, "logs", "validation_results", cluster_by="business_date")
PROCESSING_LOG = TableName(CATALOG, "logs", "processing_log")
ETL_ERRORS = TableName(CATALOG, "logs", "etl_errors", cluster_by="partition_date")
DATA_QUALITY_RESULTS = TableName(CATALOG, "logs", "data_quality_results")
LANDING_DELIVERIES = TableName(CATALOG, "logs", "landing_deliveries")
QUARANTINED_DAYS = TableName(CATALOG, "logs", "quarantined_days")


def tables_owned() -> tuple[TableName, ...]:
    """Every table above, in order of definition."""
    return tuple(value for value in globals().values() if isinstance(value, TableName))
