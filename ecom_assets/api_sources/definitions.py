"""The API sources area: Stripe's lists landed by dlt, loaded into bronze, kept current in silver."""

from dagster import AssetSelection, Definitions, ScheduleDefinition, define_asset_job
from dagster_dlt import DagsterDltResource

from ecom_assets.api_sources.stripe.assets import (
    STRIPE_API_GROUP,
    STRIPE_GROUP,
    STRIPE_SILVER_ASSETS,
    stripe_api,
    stripe_objects_raw,
)

API_SOURCE_ASSETS = [stripe_api, stripe_objects_raw, *STRIPE_SILVER_ASSETS]
"""Every asset of the area: the API lists' landing, bronze and silver."""

stripe_job = define_asset_job(
    "stripe_job",
    selection=AssetSelection.groups(STRIPE_API_GROUP, STRIPE_GROUP),
    description="Pull Stripe's lists incrementally, load the new loads into bronze, merge silver.",
)
stripe_schedule = ScheduleDefinition(
    name="stripe_hourly_schedule",
    job=stripe_job,
    cron_schedule="15 * * * *",
    execution_timezone="UTC",
    description="Every hour at :15 UTC, pull what changed in Stripe since the last pull.",
)

defs = Definitions(
    assets=API_SOURCE_ASSETS,
    jobs=[stripe_job],
    schedules=[stripe_schedule],
    resources={"dlt_runner": DagsterDltResource()},
)
