"""The Dagster instance's storage on PostgreSQL, with connections kept open between calls.

dagster-postgres opens its engines with `NullPool`: every storage call (and a run makes
several per event) connects, authenticates and disconnects. This storage is dagster-postgres's,
with each of its three parts (runs, event log, schedules) holding one pooled connection instead,
as the webserver's own storage does (`optimize_for_webserver`), without a statement timeout.
Configure it in `dagster.yaml` (`instance/postgres.yaml`).
"""

from collections.abc import Mapping
from typing import Any

from dagster._serdes import ConfigurableClassData
from dagster_postgres import DagsterPostgresStorage
from dagster_postgres.utils import get_token_provider_from_config, pg_url_from_config

POOL_RECYCLE_SECONDS = 3600
"""A pooled connection older than this is replaced, so a server-side idle timeout never meets a stale one."""
POOL_MAX_OVERFLOW = 10
"""Connections opened beyond the pooled one when threads (the webserver, the daemon) call at once; closed after."""


class PooledPostgresStorage(DagsterPostgresStorage):
    """dagster-postgres's run, event-log and schedule storage, each reusing one open connection."""

    @classmethod
    def from_config_value(  # ty: ignore[invalid-method-override]
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> "PooledPostgresStorage":
        """Open the storage that `dagster.yaml`'s `storage: custom:` block configures (dagster-postgres's schema)."""
        storage = cls(
            inst_data=inst_data,
            postgres_url=pg_url_from_config(config_value),
            should_autocreate_tables=config_value.get("should_autocreate_tables", True),
            token_provider=get_token_provider_from_config(config_value),
        )
        for part in (storage.run_storage, storage.event_log_storage, storage.schedule_storage):
            part.optimize_for_webserver(
                statement_timeout=0, pool_recycle=POOL_RECYCLE_SECONDS, max_overflow=POOL_MAX_OVERFLOW
            )
        return storage
