"""The Dagster instance on PostgreSQL, as `instance/postgres.yaml` configures it, against a real server."""

import os
import time

import pytest
from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetCheckSpec,
    AssetKey,
    AssetMaterialization,
    BackfillPolicy,
    DagsterEventType,
    DagsterInstance,
    DailyPartitionsDefinition,
    MaterializeResult,
    Output,
    PartitionKeyRange,
    asset,
    materialize,
)
from dagster._core.event_api import EventLogEntry
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from dagster._core.test_utils import create_run_for_test
from dagster._serdes import deserialize_value

from ecom_assets_tests.servers import SERVER_LOGS, postgres_connection
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


def log_everything(credentials: dict[str, str]) -> None:
    """Have the server log every new session and every statement to its log as it happens (no reporting delay)."""
    connection = postgres_connection(credentials)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("ALTER SYSTEM SET log_connections = on")
            cursor.execute("ALTER SYSTEM SET log_statement = 'all'")
            cursor.execute("SELECT pg_reload_conf()")
    finally:
        connection.close()
    time.sleep(0.5)  # the server reloads its settings on its next loop


def logged(credentials: dict[str, str], text: str) -> int:
    """How many lines of the server's log hold `text` so far."""
    log = SERVER_LOGS[credentials["DAGSTER_PG_PORT"]]
    return sum(text in line for line in log.read_text(errors="replace").splitlines())


def sessions_opened(credentials: dict[str, str]) -> int:
    """How many sessions the server has opened so far (each logs `connection authorized`)."""
    return logged(credentials, "connection authorized")


CATALOG_LOOKUP = "pg_catalog.pg_class"
"""What a statement asking whether a table exists reads (SQLAlchemy's `has_table`, Dagster's table checks)."""


def test_the_postgresql_instance_stores_a_runs_events_over_one_kept_connection(postgres_instance):
    instance, credentials = postgres_instance
    log_everything(credentials)
    run = create_run_for_test(instance, job_name="probe")
    before = sessions_opened(credentials)
    postgres_connection(credentials).close()  # one session of our own: the count must see it
    assert sessions_opened(credentials) == before + 1, "the log counts every session"
    for number in range(EVENTS):
        instance.report_engine_event(f"event {number}", run)
    opened = sessions_opened(credentials) - before - 1
    assert len([entry for entry in instance.all_logs(run.run_id) if entry.message.startswith("event ")]) == EVENTS
    assert opened <= 3, f"{opened} new sessions for {EVENTS} events: the storage connects per call"


def test_the_postgresql_instance_asks_whether_its_tables_exist_once_not_per_event(postgres_instance):
    instance, credentials = postgres_instance
    log_everything(credentials)
    key = AssetKey(["probe"])
    first = logged(credentials, CATALOG_LOOKUP)
    instance.report_runless_asset_event(AssetCheckEvaluation(key, "check", passed=True))  # tables seen once
    before = logged(credentials, CATALOG_LOOKUP)
    assert before > first, "the first check evaluation asks whether its tables exist, and the log counts it"
    for number in range(EVENTS):
        instance.report_runless_asset_event(AssetCheckEvaluation(key, "check", passed=True, metadata={"n": number}))
        instance.report_runless_asset_event(AssetMaterialization(key, metadata={"n": number}))
    lookups = logged(credentials, CATALOG_LOOKUP) - before
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


FAILING_DAY = 3
"""Every seventh day of `checked_days_probe`'s range, from the fourth, fails its check."""


@asset(
    partitions_def=PARTITIONS,
    backfill_policy=BackfillPolicy.single_run(),
    check_specs=[
        AssetCheckSpec("day_counted", asset="checked_days_probe", partitions_def=PARTITIONS),
        AssetCheckSpec("range_counted", asset="checked_days_probe"),
    ],
)
def checked_days_probe(context):
    """A partitioned asset whose one step materializes every day of its range, then checks each day and the range."""
    yield MaterializeResult(metadata={"days": len(context.partition_keys)})
    for check_key in context.assets_def.check_keys:  # the checks' outputs; their evaluations follow
        yield Output(None, output_name=context.assets_def.get_output_name_for_asset_check_key(check_key))
    for number, day in enumerate(context.partition_keys):
        passed = number % 7 != FAILING_DAY
        yield AssetCheckEvaluation(
            asset_key=context.asset_key, check_name="day_counted", passed=passed, partition=day, metadata={"n": number}
        )
    yield AssetCheckEvaluation(asset_key=context.asset_key, check_name="range_counted", passed=True)


STOCK_POSTGRES_CONFIG = """
storage:
  postgres:
    postgres_db:
      scheme: postgresql+psycopg2
      hostname: {env: DAGSTER_PG_HOST}
      port: {env: DAGSTER_PG_PORT}
      username: {env: DAGSTER_PG_USERNAME}
      password: {env: DAGSTER_PG_PASSWORD}
      db_name: {env: DAGSTER_PG_DB}
"""
"""dagster-postgres's own storage, on the same server: what the project's storage must store the same as."""


def _evaluated_partition(entry: EventLogEntry) -> str | None:
    """The partition a stored check evaluation event names (None for a planned event)."""
    dagster_event = entry.get_dagster_event()
    evaluated = dagster_event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION
    return dagster_event.asset_check_evaluation_data.partition if evaluated else None


def checked_range_run(instance: DagsterInstance, credentials: dict[str, str]) -> tuple[set, dict]:
    """Materialize `checked_days_probe` over 50 days as one run; returns its check execution rows (check,
    partition, status, the type of the event each row points to and the partition that event evaluated) and,
    per event type, its events' count, transactions, first and last storage id."""
    tags = {ASSET_PARTITION_RANGE_START_TAG: "2011-01-01", ASSET_PARTITION_RANGE_END_TAG: "2011-02-19"}
    run_id = materialize([checked_days_probe], instance=instance, tags=tags, raise_on_error=False).run_id
    connection = postgres_connection(credentials)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT e.check_name, e.partition, e.execution_status, l.dagster_event_type, l.event"
                " FROM asset_check_executions e JOIN event_logs l ON l.id = e.evaluation_event_storage_id"
                " WHERE e.run_id = %s",
                (run_id,),
            )
            executions = [
                (name, partition, status, kind, _evaluated_partition(deserialize_value(event, EventLogEntry)))
                for name, partition, status, kind, event in cursor
            ]
            cursor.execute(
                "SELECT dagster_event_type, count(*), count(DISTINCT xmin::text), min(id), max(id) FROM event_logs"
                " WHERE run_id = %s GROUP BY dagster_event_type",
                (run_id,),
            )
            events = {kind: figures for kind, *figures in cursor}
    finally:
        connection.close()
    assert len(set(executions)) == len(executions), "one execution row per check, partition and run"
    return set(executions), events


def test_the_postgresql_instance_stores_a_range_runs_check_evaluations_together_as_dagster_postgres_would(
    postgres_instance, tmp_path
):
    instance, credentials = postgres_instance
    days = PARTITIONS.get_partition_keys_in_range(PartitionKeyRange("2011-01-01", "2011-02-19"))
    stock_home = tmp_path / "stock_home"
    stock_home.mkdir()
    (stock_home / "dagster.yaml").write_text(STOCK_POSTGRES_CONFIG)

    executions, events = checked_range_run(instance, credentials)
    with DagsterInstance.from_config(str(stock_home)) as stock_instance:
        stock_executions, stock_events = checked_range_run(stock_instance, credentials)

    assert executions == stock_executions
    evaluated = {
        (name, partition, status) for name, partition, status, kind, _ in executions if kind.endswith("EVALUATION")
    }
    assert all(partition == logged for _, partition, _, kind, logged in executions if kind.endswith("EVALUATION"))
    assert evaluated == {
        ("day_counted", day, "SUCCEEDED" if number % 7 != FAILING_DAY else "FAILED") for number, day in enumerate(days)
    } | {("range_counted", None, "SUCCEEDED")}
    assert {kind: figures[0] for kind, figures in events.items()} == {
        kind: figures[0] for kind, figures in stock_events.items()
    }, "the same events"
    checks, check_transactions, _, last_check = events["ASSET_CHECK_EVALUATION"]
    assert check_transactions == 1 and stock_events["ASSET_CHECK_EVALUATION"][1] == checks, (
        "one transaction, not 2 each"
    )
    assert last_check < events["STEP_SUCCESS"][2], "the step's evaluations are stored before its success"
    assert events["ASSET_MATERIALIZATION_PLANNED"][:2] == [len(days), 1], "the planned materializations together"
    assert events["ASSET_CHECK_EVALUATION_PLANNED"][1] == 1, "and the planned check evaluations"
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [AssetCheckKey(checked_days_probe.key, "range_counted")]
    )
    assert latest[AssetCheckKey(checked_days_probe.key, "range_counted")].status.value == "SUCCEEDED"


def test_the_postgresql_instance_takes_its_credentials_from_the_environment(postgres_dagster_home):
    home, credentials = postgres_dagster_home
    config = (home / "dagster.yaml").read_text()
    assert credentials["DAGSTER_PG_PASSWORD"] not in config
    assert all(f"env: {name}" in config for name in credentials)
    assert "DAGSTER_PG_PASSWORD" not in os.environ
    with pytest.raises(Exception, match="DAGSTER_PG"):
        DagsterInstance.from_config(str(home))
