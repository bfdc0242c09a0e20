"""The clickstream's tables: bronze lines, silver events, catalog items and the hourly and daily funnels."""

from ecom_assets.platform.tables import CATALOG, TableName

CLICKSTREAM_EVENTS_RAW = TableName(CATALOG, "raw", "clickstream_events")
CLICKSTREAM_EVENTS = TableName(CATALOG, "processed", "clickstream_events", cluster_by="event_hour")
DIM_CATALOG_ITEMS = TableName(CATALOG, "processed", "dim_catalog_items")
FUNNEL_HOURLY = TableName(CATALOG, "analytics", "funnel_hourly", cluster_by="hour")
FUNNEL_DAILY = TableName(CATALOG, "analytics", "funnel_daily", cluster_by="event_date")
PRODUCT_FUNNEL_DAILY = TableName(CATALOG, "analytics", "product_funnel_daily", cluster_by="event_date")
CATEGORY_FUNNEL_DAILY = TableName(CATALOG, "analytics", "category_funnel_daily", cluster_by="event_date")
