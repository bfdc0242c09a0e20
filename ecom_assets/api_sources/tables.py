"""The API sources' tables: the landed records as delivered (bronze), each object's current state (silver), and
payments reconciled with orders (gold)."""

from ecom_assets.platform.tables import CATALOG, TableName

MONEY_TYPE = "decimal(23,3)"
"""Money in major units in every table of the area: exact for every currency Stripe and Shopify have (thousandths
for the three-decimal currencies; minor units are whole numbers up to 8 digits in practice)."""

STRIPE_OBJECTS_RAW = TableName(CATALOG, "raw", "stripe_objects")
STRIPE_CUSTOMERS = TableName(CATALOG, "processed", "stripe_customers")
STRIPE_CHARGES = TableName(CATALOG, "processed", "stripe_charges")
STRIPE_PAYMENT_INTENTS = TableName(CATALOG, "processed", "stripe_payment_intents")
STRIPE_REFUNDS = TableName(CATALOG, "processed", "stripe_refunds")
SHOPIFY_OBJECTS_RAW = TableName(CATALOG, "raw", "shopify_objects")
SHOPIFY_ORDERS = TableName(CATALOG, "processed", "shopify_orders")
SHOPIFY_ORDER_LINES = TableName(CATALOG, "processed", "shopify_order_lines")
SHOPIFY_CUSTOMERS = TableName(CATALOG, "processed", "shopify_customers")
SHOPIFY_PRODUCTS = TableName(CATALOG, "processed", "shopify_products")
SHOPIFY_PRODUCT_VARIANTS = TableName(CATALOG, "processed", "shopify_product_variants")
SHOPIFY_INVENTORY_LEVELS = TableName(CATALOG, "processed", "shopify_inventory_levels")
PAYMENT_RECONCILIATION = TableName(CATALOG, "analytics", "payment_reconciliation")
