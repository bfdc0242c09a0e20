"""The contract of `analytics.payment_reconciliation` (pandera's PySpark backend)."""

import pandera.pyspark as pa
from pyspark.sql import types as T

from ecom_assets.api_sources.reconciliation.transforms import STATUSES
from ecom_assets.api_sources.tables import MONEY_TYPE
from ecom_assets.platform.schemas import STRICT, decimal_type


class PaymentReconciliation(pa.DataFrameModel):
    """One row per Shopify order (its day: when it was placed) and one per orphan Stripe charge (when it was made)."""

    reconciliation_date: T.DateType() = pa.Field(nullable=False)
    order_id: T.StringType() = pa.Field(nullable=True)
    order_name: T.StringType() = pa.Field(nullable=True)
    charge_ids: T.ArrayType(T.StringType(), True) = pa.Field(nullable=False)
    currency: T.StringType() = pa.Field(nullable=False, str_matches=r"^[A-Z]{3}$")
    order_total: decimal_type(MONEY_TYPE) = pa.Field(nullable=True)
    shopify_refunded: decimal_type(MONEY_TYPE) = pa.Field(nullable=True, ge=0)
    captured: decimal_type(MONEY_TYPE) = pa.Field(nullable=False, ge=0)
    stripe_refunded: decimal_type(MONEY_TYPE) = pa.Field(nullable=False, ge=0)
    unmatched_amount: decimal_type(MONEY_TYPE) = pa.Field(nullable=False)
    status: T.StringType() = pa.Field(nullable=False, isin=list(STATUSES))
    note: T.StringType() = pa.Field(nullable=True)

    Config = type("Config", (), STRICT)
