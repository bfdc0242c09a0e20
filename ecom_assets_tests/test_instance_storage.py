"""The Dagster instance on PostgreSQL, as `instance/postgres.yaml` configures it, against a real server."""

import os
import time

import pytest
from dagster import DagsterInstance
from dagster._core.test_utils import create_run_for_test

from ecom_assets_tests.servers import postgres_connection

EVENTS = 100


def sessions_opened(credentials: dict[str, str]) -> int:
    """How many sessions the server has opened on the instance's database so far."""
    time.sleep(1.5)  # backends report their statistics at most once a second
    connection = postgres_connection(credentials)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", (credentials["DAGSTER_PG_DB"],))
            return cursor.fetchone()[0]
    finally:
        connection.close()


def test_the_postgresql_instance_stores_a_runs_events_over_one_kept_connection(postgres_instance):
    instance, credentials = postgres_instance
    run = create_run_for_test(instance, job_name="probe")
    before = sessions_opened(credentials)
    for number in range(EVENTS):
        instance.report_engine_event(f"event {number}", run)
    opened = sessions_opened(credentials) - before - 1  # the count's own session
    assert len([entry for entry in instance.all_logs(run.run_id) if entry.message.startswith("event ")]) == EVENTS
    assert opened <= 3, f"{opened} new sessions for {EVENTS} events: the storage connects per call"


def test_the_postgresql_instance_takes_its_credentials_from_the_environment(postgres_dagster_home):
    home, credentials = postgres_dagster_home
    config = (home / "dagster.yaml").read_text()
    assert credentials["DAGSTER_PG_PASSWORD"] not in config
    assert all(f"env: {name}" in config for name in credentials)
    assert "DAGSTER_PG_PASSWORD" not in os.environ
    with pytest.raises(Exception, match="DAGSTER_PG"):
        DagsterInstance.from_config(str(home))
