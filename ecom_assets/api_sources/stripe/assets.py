"""Stripe's assets: one extraction asset per API list (dlt, landing its loads), bronze loading them, silver per type.

Extraction runs in the run's own process (HTTP, no Spark); bronze and silver are Spark steps
like every table's, on Databricks in production.
"""

from collections.abc import Iterator
from functools import partial

from dagster import AssetExecutionContext, AssetsDefinition, MaterializeResult
from dagster_dlt import DagsterDltResource, dlt_assets

from ecom_assets.api_sources.bronze import landed_loads_asset
from ecom_assets.api_sources.extraction import LandingTranslator, definition_pipeline, land, landing_key
from ecom_assets.api_sources.silver import current_state_asset
from ecom_assets.api_sources.stripe.source import RESOURCES, SOURCE_NAME, stripe_source
from ecom_assets.api_sources.stripe.transforms import (
    OBJECT_TYPES,
    error_rows,
    latest_states,
    observations,
    silver_rows,
    typed_observations,
)
from ecom_assets.api_sources.tables import (
    STRIPE_CHARGES,
    STRIPE_CUSTOMERS,
    STRIPE_OBJECTS_RAW,
    STRIPE_PAYMENT_INTENTS,
    STRIPE_REFUNDS,
)
from ecom_assets.platform.tables import TableName
from resources import LandingZone, StripeApi

STRIPE_API_GROUP = "stripe_api"
STRIPE_GROUP = "stripe"
SILVER_TABLES = {
    "customers": STRIPE_CUSTOMERS,
    "charges": STRIPE_CHARGES,
    "payment_intents": STRIPE_PAYMENT_INTENTS,
    "refunds": STRIPE_REFUNDS,
}


@dlt_assets(
    dlt_source=stripe_source(),
    dlt_pipeline=definition_pipeline(SOURCE_NAME),
    name="stripe_api",
    dagster_dlt_translator=LandingTranslator(
        SOURCE_NAME,
        STRIPE_API_GROUP,
        lambda name: f"Stripe's `/v1/{name}` pulled incrementally on `created` (with a look-back window).",
    ),
)
def stripe_api(
    context: AssetExecutionContext, dlt_runner: DagsterDltResource, stripe: StripeApi, landing: LandingZone
) -> Iterator[MaterializeResult]:
    """Pull the selected Stripe lists and land them as one dlt load; each list's asset gets its rows and cursor."""
    source = stripe_source(
        api_key=stripe.api_key,
        api_base=stripe.api_base,
        lookback_seconds=stripe.lookback_seconds,
        attempts=stripe.attempts,
    )
    yield from land(context, dlt_runner, landing, source, cursor="created")


stripe_objects_raw = landed_loads_asset(
    SOURCE_NAME, STRIPE_OBJECTS_RAW, STRIPE_GROUP, [landing_key(SOURCE_NAME, resource) for resource in RESOURCES]
)


def stripe_silver_asset(resource: str, table: TableName) -> AssetsDefinition:
    """The silver asset holding the current state of each Stripe object of `resource`."""
    return current_state_asset(
        table,
        STRIPE_OBJECTS_RAW,
        STRIPE_GROUP,
        f"The current state of each Stripe {OBJECT_TYPES[resource]} by `id`, merged from its list and its events "
        "(latest observation wins; a deletion is final: `deleted`); amounts in minor units and exact major units by "
        "currency.",
        typed=lambda bronze: typed_observations(observations(bronze, resource), resource),
        errors=partial(error_rows, resource=resource),
        rows=lambda typed: silver_rows(latest_states(typed), resource),
    )


STRIPE_SILVER_ASSETS = [stripe_silver_asset(resource, table) for resource, table in SILVER_TABLES.items()]
