"""Stripe's assets: one extraction asset per API list (dlt, landing its loads), bronze loading them, silver per type.

Extraction runs in the run's own process (HTTP, no Spark); bronze and silver are Spark steps
like every table's, on Databricks in production.
"""

from collections.abc import Iterator
from datetime import UTC, datetime

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue
from dagster_dlt import DagsterDltResource, dlt_assets

from ecom_assets.api_sources.bronze import (
    UNIQUE_IDS,
    landed_loads_asset,
    merge_current_states,
    unique_ids,
    unmerged_bronze,
)
from ecom_assets.api_sources.extraction import LandingTranslator, definition_pipeline, land, landing_key
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
from ecom_assets.platform.table_asset import TableStep, table_asset
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


def stripe_silver_asset(resource: str, table: TableName):
    """The silver asset holding the current state of each Stripe object of `resource`."""

    def build(step: TableStep) -> None:
        """Merge the objects' latest states from the bronze rows not yet merged; reject unusable records."""
        stored, bronze, since = unmerged_bronze(step, table, STRIPE_OBJECTS_RAW)
        typed = typed_observations(observations(bronze, resource), resource).persist()
        try:
            errors = error_rows(
                typed, asset=table.full_name, step=step.step_name, resource=resource, occurred_at=datetime.now(UTC)
            )
            candidates = silver_rows(latest_states(typed), resource)
            counts, rejected = merge_current_states(step, table, stored, errors, candidates)
        finally:
            typed.unpersist()
        step.reporter.add(UNIQUE_IDS, {datetime.now(UTC).date(): unique_ids(step, table, "id")})
        step.metadata.update(
            {
                "inserted": counts.inserted,
                "updated": counts.updated,
                "rejected_to_error_table": rejected,
                "read_bronze_since": MetadataValue.text(since),
                **step.table_metadata(step.lakehouse.read(step.session, table).limit(5)),
            }
        )

    build.__name__ = build.__qualname__ = table.table
    return table_asset(
        table,
        group=STRIPE_GROUP,
        partitions_def=None,
        reads=[STRIPE_OBJECTS_RAW],
        description=f"The current state of each Stripe {OBJECT_TYPES[resource]} by `id`, merged from its list and "
        "its events (latest observation wins; a deletion is final: `deleted`); amounts in minor units and exact "
        "major units by currency. A record that cannot be used goes to the error table with its reason.",
        checks=[UNIQUE_IDS],
    )(build)


STRIPE_SILVER_ASSETS = [stripe_silver_asset(resource, table) for resource, table in SILVER_TABLES.items()]
