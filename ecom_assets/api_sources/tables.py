"""The API sources' tables: the landed records as delivered (bronze) and each Stripe object's current state (silver)."""

from ecom_assets.platform.tables import CATALOG, TableName

STRIPE_OBJECTS_RAW = TableName(CATALOG, "raw", "stripe_objects")
STRIPE_CUSTOMERS = TableName(CATALOG, "processed", "stripe_customers")
STRIPE_CHARGES = TableName(CATALOG, "processed", "stripe_charges")
STRIPE_PAYMENT_INTENTS = TableName(CATALOG, "processed", "stripe_payment_intents")
STRIPE_REFUNDS = TableName(CATALOG, "processed", "stripe_refunds")
