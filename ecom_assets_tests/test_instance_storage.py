"""The Dagster instance on PostgreSQL, as `instance/postgres.yaml` configures it, against a real server."""

import os
import time

import pytest
from dagster import (
    AssetCheckEvaluation,
    AssetKey,
    AssetMaterialization,
    BackfillPolicy,
    DagsterInstance,
    DailyPartitionsDefinition,
    MaterializeResult,
    asset,
    materialize,
)
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from dagster._core.test_utils import create_run_for_test

from ecom_assets_tests.servers import postgres_connection
from resources.instance_storage import EVENT_BATCH_SIZE_ENV

EVENTS = 100


def query_server(credentials: dict[str, str], query: str, parameters: tuple = ()) -> int:
    """The one figure a query returns, asked on a connection of its own."""
    connection = postgres_connection(credentials)
    try:
        with connection.cursor() as cursor:
            cursor.execute(query, parameters)
            return cursor.fetchone()[0]
    finally:
        connection.close()


def server_statistic(credentials: dict[str, str], query: str, parameters: tuple = ()) -> int:
    """One figure of the server's statistics views, once backends have reported."""
    time.sleep(1.5)  # backends report their statistics at most once a second
    return query_server(credentials, query, parameters)


def sessions_opened(credentials: dict[str, str]) -> int:
    """How many sessions the server has opened on the instance's database so far."""
    query = "SELECT sessions FROM pg_stat_database WHERE datname = %s"
    return server_statistic(credentials, query, (credentials["DAGSTER_PG_DB"],))


def catalog_lookups(credentials: dict[str, str]) -> int:
    """Scans of the server's table catalog (pg_class) so far: how Dagster asks whether a table exists."""
    return server_statistic(
        credentials, "SELECT seq_scan + idx_scan FROM pg_stat_sys_tables WHERE relname = 'pg_class'"
    )


def test_the_postgresql_instance_stores_a_runs_events_over_one_kept_connection(postgres_instance):
    instance, credentials = postgres_instance
    run = create_run_for_test(instance, job_name="probe")
    before = sessions_opened(credentials)
    for number in range(EVENTS):
        instance.report_engine_event(f"event {number}", run)
    opened = sessions_opened(credentials) - before - 1  # the count's own session
    assert len([entry for entry in instance.all_logs(run.run_id) if entry.message.startswith("event ")]) == EVENTS
    assert opened <= 3, f"{opened} new sessions for {EVENTS} events: the storage connects per call"


def test_the_postgresql_instance_asks_whether_its_tables_exist_once_not_per_event(postgres_instance):
    instance, credentials = postgres_instance
    key = AssetKey(["probe"])
    instance.report_runless_asset_event(AssetCheckEvaluation(key, "check", passed=True))  # tables seen once
    before = catalog_lookups(credentials)
    for number in range(EVENTS):
        instance.report_runless_asset_event(AssetCheckEvaluation(key, "check", passed=True, metadata={"n": number}))
        instance.report_runless_asset_event(AssetMaterialization(key, metadata={"n": number}))
    lookups = catalog_lookups(credentials) - before
    assert instance.get_latest_materialization_event(key).asset_materialization.metadata["n"].value == EVENTS - 1
    # dagster-postgres's own event log makes about 176 here: it asks before each check evaluation and each event's tags
    assert lookups < EVENTS, f"{lookups} catalog lookups for {2 * EVENTS} events: a table check per event"


PARTITIONS = DailyPartitionsDefinition(start_date="2011-01-01")


@asset(partitions_def=PARTITIONS, backfill_policy=BackfillPolicy.single_run())
def days_probe(context) -> MaterializeResult:
    """A partitioned asset whose one step materializes every day of its range."""
    return MaterializeResult(metadata={"days": len(context.partition_keys)})


def materialization_transactions(instance: DagsterInstance, credentials: dict[str, str]) -> int:
    """One run materializes `days_probe` over 50 days; returns the server transactions its materializations took
    (rows inserted together share their transaction id, `xmin`)."""
    tags = {ASSET_PARTITION_RANGE_START_TAG: "2011-01-01", ASSET_PARTITION_RANGE_END_TAG: "2011-02-19"}
    result = materialize([days_probe], instance=instance, tags=tags)
    assert len(result.get_asset_materialization_events()) == 50
    query = (
        "SELECT count(DISTINCT xmin::text) FROM event_logs"
        " WHERE run_id = %s AND dagster_event_type = 'ASSET_MATERIALIZATION'"
    )
    return query_server(credentials, query, (result.run_id,))


def test_the_postgresql_instance_stores_a_partitioned_steps_materializations_in_batches(postgres_instance, monkeypatch):
    instance, credentials = postgres_instance

    batched = materialization_transactions(instance, credentials)
    monkeypatch.setenv(EVENT_BATCH_SIZE_ENV, "0")
    one_by_one = materialization_transactions(instance, credentials)

    assert batched == 1, "the 50 materializations in one INSERT"
    assert one_by_one == 50, "Dagster's own default: one INSERT per materialization"


def test_the_postgresql_instance_takes_its_credentials_from_the_environment(postgres_dagster_home):
    home, credentials = postgres_dagster_home
    config = (home / "dagster.yaml").read_text()
    assert credentials["DAGSTER_PG_PASSWORD"] not in config
    assert all(f"env: {name}" in config for name in credentials)
    assert "DAGSTER_PG_PASSWORD" not in os.environ
    with pytest.raises(Exception, match="DAGSTER_PG"):
        DagsterInstance.from_config(str(home))
