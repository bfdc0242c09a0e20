"""The API sources area: Stripe's and Shopify's lists landed by dlt, loaded into bronze, kept current in silver."""

from dagster import AssetSelection, Definitions, ScheduleDefinition, define_asset_job
from dagster_dlt import DagsterDltResource

from ecom_assets.api_sources.shopify.assets import (
    SHOPIFY_API_GROUP,
    SHOPIFY_GROUP,
    shopify_api,
    shopify_objects_raw,
    shopify_order_lines,
    shopify_orders,
)
from ecom_assets.api_sources.stripe.assets import (
    STRIPE_API_GROUP,
    STRIPE_GROUP,
    STRIPE_SILVER_ASSETS,
    stripe_api,
    stripe_objects_raw,
)

STRIPE_ASSETS = [stripe_api, stripe_objects_raw, *STRIPE_SILVER_ASSETS]
SHOPIFY_ASSETS = [shopify_api, shopify_objects_raw, shopify_orders, shopify_order_lines]
API_SOURCE_ASSETS = [*STRIPE_ASSETS, *SHOPIFY_ASSETS]
"""Every asset of the area: the API lists' landing, bronze and silver."""


def hourly_pull(source: str, groups: list[str], minute: int) -> tuple:
    """A source's job (its landing, bronze and silver groups) and its hourly schedule at `minute` past."""
    job = define_asset_job(
        f"{source}_job",
        selection=AssetSelection.groups(*groups),
        description=f"Pull {source.capitalize()}'s lists incrementally, load the new loads into bronze, merge silver.",
    )
    schedule = ScheduleDefinition(
        name=f"{source}_hourly_schedule",
        job=job,
        cron_schedule=f"{minute} * * * *",
        execution_timezone="UTC",
        description=f"Every hour at :{minute:02d} UTC, pull what changed in {source.capitalize()} since the last pull.",
    )
    return job, schedule


stripe_job, stripe_schedule = hourly_pull("stripe", [STRIPE_API_GROUP, STRIPE_GROUP], 15)
shopify_job, shopify_schedule = hourly_pull("shopify", [SHOPIFY_API_GROUP, SHOPIFY_GROUP], 10)

defs = Definitions(
    assets=API_SOURCE_ASSETS,
    jobs=[stripe_job, shopify_job],
    schedules=[stripe_schedule, shopify_schedule],
    resources={"dlt_runner": DagsterDltResource()},
)
