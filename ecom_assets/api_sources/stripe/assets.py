"""Stripe's assets: one extraction asset per API list (dlt, landing its loads), bronze loading them, silver per type.

Extraction runs in the run's own process (HTTP, no Spark); bronze and silver are Spark steps
like every table's, on Databricks in production.
"""

import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import dlt
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData
from pyspark.sql import functions as F

from ecom_assets.api_sources.bronze import landed_loads_asset
from ecom_assets.api_sources.loads import (
    source_folder,
)
from ecom_assets.api_sources.stripe.source import RESOURCES, SOURCE_NAME, stripe_source
from ecom_assets.api_sources.stripe.transforms import (
    OBJECT_TYPES,
    error_rows,
    latest_states,
    newer_than_stored,
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
from ecom_assets.platform.checks import Check
from ecom_assets.platform.outcomes import CheckOutcome
from ecom_assets.platform.table_asset import TableStep, staged, table_asset
from ecom_assets.platform.tables import ETL_ERRORS, TableName
from resources import LandingZone, StripeApi
from resources.api_sources import api_landing_destination
from resources.lakehouse import MergeCounts, utc_instant

dlt.config["runtime.dlthub_telemetry"] = False  # dlt would report usage to dltHub over the network

STRIPE_API_GROUP = "stripe_api"
STRIPE_GROUP = "stripe"
PIPELINE_NAME = "ecom_stripe"
SILVER_TABLES = {
    "customers": STRIPE_CUSTOMERS,
    "charges": STRIPE_CHARGES,
    "payment_intents": STRIPE_PAYMENT_INTENTS,
    "refunds": STRIPE_REFUNDS,
}
REREAD_WINDOW = timedelta(hours=1)
"""Silver reads the bronze rows ingested since an hour before the newest it merged: a bronze run that started
earlier but committed later (two runs at once) is still read. Re-reading is harmless (merges by id and time)."""


def landing_key(resource: str) -> AssetKey:
    """The asset key of one Stripe list's landed loads."""
    return AssetKey(["api_landing", SOURCE_NAME, resource])


class StripeLandingTranslator(DagsterDltTranslator):
    """Each Stripe list is the asset `api_landing/stripe/<list>`, in the `stripe_api` group."""

    def get_asset_spec(self, data: DltResourceTranslatorData):
        """The list's asset: its landing key, no upstream, kinds dlt and stripe."""
        name = data.resource.name
        return (
            super()
            .get_asset_spec(data)
            .replace_attributes(
                key=landing_key(name),
                deps=[],
                group_name=STRIPE_API_GROUP,
                kinds={"dlt", "stripe"},
                description=f"Stripe's `/v1/{name}` pulled incrementally on `created` (with a look-back window) "
                f"and landed by dlt under `{source_folder(SOURCE_NAME)}/{name}/` as gzip'd JSON lines.",
            )
        )


def landing_pipeline(landing: LandingZone, working_dir: str) -> dlt.Pipeline:
    """The dlt pipeline landing Stripe's loads; its state lives beside them (restored from there every run), so
    `working_dir` can be thrown away after the run."""
    return dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        destination=api_landing_destination(landing),
        dataset_name=SOURCE_NAME,
        pipelines_dir=working_dir,
    )


@dlt_assets(
    dlt_source=stripe_source(),
    # only names the destination's kind for the asset specs; each run builds its own (`landing_pipeline`)
    dlt_pipeline=dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        destination="filesystem",
        dataset_name=SOURCE_NAME,
        pipelines_dir=f"{tempfile.gettempdir()}/ecom-dlt-definitions",
    ),
    name="stripe_api",
    dagster_dlt_translator=StripeLandingTranslator(),
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
    with tempfile.TemporaryDirectory(prefix="dlt-") as working_dir:
        pipeline = landing_pipeline(landing, working_dir)
        for result in dlt_runner.run(context=context, dlt_source=source, dlt_pipeline=pipeline):
            yield _with_cursor(result, pipeline)


def _with_cursor(result: MaterializeResult, pipeline: dlt.Pipeline) -> MaterializeResult:
    """The list's materialization with its landed rows, its `created` cursor and the load id added."""
    resource = result.asset_key.path[-1]
    state = pipeline.state.get("sources", {}).get(SOURCE_NAME, {}).get("resources", {}).get(resource, {})
    cursor = state.get("incremental", {}).get("created", {}).get("last_value")
    normalized = pipeline.last_trace.last_normalize_info
    load_ids = pipeline.last_trace.last_load_info.loads_ids if pipeline.last_trace.last_load_info else []
    return MaterializeResult(
        asset_key=result.asset_key,
        metadata={
            **(result.metadata or {}),
            "rows_landed": MetadataValue.int(normalized.row_counts.get(resource, 0) if normalized else 0),
            "created_cursor": MetadataValue.int(int(cursor)) if cursor is not None else MetadataValue.text("none yet"),
            "created_cursor_utc": MetadataValue.text(
                datetime.fromtimestamp(int(cursor), UTC).isoformat() if cursor else "none yet"
            ),
            "load_ids": MetadataValue.json(list(load_ids)),
        },
    )


stripe_objects_raw = landed_loads_asset(
    SOURCE_NAME, STRIPE_OBJECTS_RAW, STRIPE_GROUP, [landing_key(resource) for resource in RESOURCES]
)


UNIQUE_IDS = Check(
    "unique_ids",
    "Each object id is stored once, and no stored row lacks an id.",
    per_partition=False,
)


def stripe_silver_asset(resource: str, table: TableName):
    """The silver asset holding the current state of each Stripe object of `resource`."""

    def build(step: TableStep) -> None:
        """Merge the objects' latest states from the bronze rows not yet merged; reject unusable records."""
        stored = step.lakehouse.read(step.session, table) if step.lakehouse.exists(table) else None
        since = stored.agg(F.max("ingested_at")).first()[0] if stored is not None else None
        filters = [("ingested_at", ">=", utc_instant(since - REREAD_WINDOW))] if since else []
        bronze = step.read(STRIPE_OBJECTS_RAW, filters=filters)
        typed = typed_observations(observations(bronze, resource), resource).persist()
        try:
            errors = error_rows(
                typed, asset=table.full_name, step=step.step_name, resource=resource, occurred_at=datetime.now(UTC)
            )
            rejected = errors.count()
            if rejected:
                step.lakehouse.merge_on_key(ETL_ERRORS, errors, "error_id")
            candidates = silver_rows(latest_states(typed), resource)
            if stored is not None:
                candidates = newer_than_stored(candidates, stored.join(candidates.select("id"), "id", "left_semi"))
            with staged(candidates) as rows:
                changed = stored is None or not rows.isEmpty()
                counts = step.lakehouse.merge_on_key(table, rows, "id") if changed else MergeCounts(0, 0, 0)
        finally:
            typed.unpersist()
        step.reporter.add(UNIQUE_IDS, {datetime.now(UTC).date(): _unique_ids(step, table)})
        step.metadata.update(
            {
                "inserted": counts.inserted,
                "updated": counts.updated,
                "rejected_to_error_table": rejected,
                "read_bronze_since": MetadataValue.text(str(since - REREAD_WINDOW) if since else "the beginning"),
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


def _unique_ids(step: TableStep, table: TableName) -> CheckOutcome:
    """How many ids the table stores more than once, and how many rows lack one."""
    figures = (
        step.lakehouse.read(step.session, table)
        .agg(
            F.count("*").alias("rows"),
            F.countDistinct("id").alias("ids"),
            F.count_if(F.col("id").isNull()).alias("null_ids"),
        )
        .first()
    )
    repeated = figures["rows"] - figures["null_ids"] - figures["ids"]
    passed = repeated == 0 and figures["null_ids"] == 0
    summary = (
        f"{figures['ids']} object(s), each once"
        if passed
        else f"{repeated} repeated id(s), {figures['null_ids']} without"
    )
    return CheckOutcome(
        passed, summary, {"rows": figures["rows"], "ids": figures["ids"], "null_ids": figures["null_ids"]}
    )


STRIPE_SILVER_ASSETS = [stripe_silver_asset(resource, table) for resource, table in SILVER_TABLES.items()]
