"""The API sources area: Stripe's and Shopify's lists landed by dlt, loaded into bronze, kept current in silver, and
payments reconciled with orders in gold."""

from dagster import AssetSelection, Definitions, ScheduleDefinition, define_asset_job
from dagster_dlt import DagsterDltResource

from ecom_assets.api_sources.reconciliation.assets import PAYMENTS_GROUP, payment_reconciliation_asset
from ecom_assets.api_sources.shopify.assets import (
    SHOPIFY_API_GROUP,
    SHOPIFY_GROUP,
    SHOPIFY_SILVER_ASSETS,
    shopify_api,
    shopify_objects_raw,
)
from ecom_assets.api_sources.stripe.assets import (
    STRIPE_API_GROUP,
    STRIPE_GROUP,
    STRIPE_SILVER_ASSETS,
    stripe_api,
    stripe_objects_raw,
)

STRIPE_ASSETS = [stripe_api, stripe_objects_raw, *STRIPE_SILVER_ASSETS]
SHOPIFY_ASSETS = [shopify_api, shopify_objects_raw, *SHOPIFY_SILVER_ASSETS]
PAYMENTS_ASSETS = [payment_reconciliation_asset]
API_SOURCE_ASSETS = [*STRIPE_ASSETS, *SHOPIFY_ASSETS, *PAYMENTS_ASSETS]
"""Every asset of the area: the API lists' landing, bronze and silver, and the reconciliation."""


def hourly(name: str, groups: list[str], minute: int, does: str, when: str) -> tuple:
    """A job of the asset `groups` (it `does` ...) and its schedule every hour at `minute` past (`when` ...)."""
    job = define_asset_job(f"{name}_job", selection=AssetSelection.groups(*groups), description=does)
    schedule = ScheduleDefinition(
        name=f"{name}_hourly_schedule",
        job=job,
        cron_schedule=f"{minute} * * * *",
        execution_timezone="UTC",
        description=f"Every hour at :{minute:02d} UTC, {when}",
    )
    return job, schedule


def hourly_pull(source: str, groups: list[str], minute: int) -> tuple:
    """A source's job (its landing, bronze and silver groups) and its hourly schedule at `minute` past."""
    title = source.capitalize()
    return hourly(
        source,
        groups,
        minute,
        f"Pull {title}'s lists incrementally, load the new loads into bronze, merge silver.",
        f"pull what changed in {title} since the last pull.",
    )


stripe_job, stripe_schedule = hourly_pull("stripe", [STRIPE_API_GROUP, STRIPE_GROUP], 15)
shopify_job, shopify_schedule = hourly_pull("shopify", [SHOPIFY_API_GROUP, SHOPIFY_GROUP], 10)
payments_job, payments_schedule = hourly(
    "payments",
    [PAYMENTS_GROUP],
    30,
    "Reconcile Shopify's orders with Stripe's charges and refunds from both sources' current states.",
    "after both sources' pulls, reconcile payments with orders.",
)

defs = Definitions(
    assets=API_SOURCE_ASSETS,
    jobs=[stripe_job, shopify_job, payments_job],
    schedules=[stripe_schedule, shopify_schedule, payments_schedule],
    resources={"dlt_runner": DagsterDltResource()},
)
