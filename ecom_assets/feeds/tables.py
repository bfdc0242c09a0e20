"""The operational feeds' tables: bronze and silver per domain, validation, shipments, stock and segments, and the
feed steps' processing log."""

from ecom_assets.platform.tables import CATALOG, TableName

CUSTOMER_FEED = TableName(CATALOG, "raw", "customer_feed", cluster_by="business_date")
PRODUCT_FEED = TableName(CATALOG, "raw", "product_feed", cluster_by="business_date")
INVENTORY_FEED = TableName(CATALOG, "raw", "inventory_feed", cluster_by="business_date")
SHIPPING_FEED = TableName(CATALOG, "raw", "shipping_feed", cluster_by="business_date")
CUSTOMER_UPDATES = TableName(CATALOG, "processed", "customer_updates", cluster_by="business_date")
PRODUCT_UPDATES = TableName(CATALOG, "processed", "product_updates", cluster_by="business_date")
INVENTORY_SNAPSHOTS = TableName(CATALOG, "processed", "inventory_snapshots", cluster_by="business_date")
SHIPPING_UPDATES = TableName(CATALOG, "processed", "shipping_updates", cluster_by="business_date", keeps_changes=True)
SHIPMENTS = TableName(CATALOG, "processed", "shipments")
SHIPPING_PERFORMANCE = TableName(CATALOG, "analytics", "shipping_performance", cluster_by="order_date")
INVENTORY_DAILY = TableName(CATALOG, "analytics", "inventory_daily", cluster_by="business_date")
SEGMENT_ANALYSIS = TableName(CATALOG, "analytics", "segment_analysis", cluster_by="order_date")
VALIDATION_RESULTS = TableName(CATALOG, "logs", "validation_results", cluster_by="business_date")
PROCESSING_LOG = TableName(CATALOG, "logs", "processing_log")
