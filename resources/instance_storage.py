"""The Dagster instance's storage on PostgreSQL, with connections kept open between calls.

dagster-postgres opens its engines with `NullPool`: every storage call (and a run makes
several per event) connects, authenticates and disconnects. This storage is dagster-postgres's,
with each of its three parts (runs, event log, schedules) holding one pooled connection instead,
as the webserver's own storage does (`optimize_for_webserver`), without a statement timeout.
Two more per-event costs go too: the event log remembers which of its tables exist instead of
asking the server's catalog on every check evaluation and materialization, and a partitioned
step's materializations are stored in batches (Dagster's `DAGSTER_EVENT_BATCH_SIZE`).
Configure it in `dagster.yaml` (`instance/postgres.yaml`).
"""

import os
from collections.abc import Mapping
from typing import Any

from dagster._serdes import ConfigurableClassData
from dagster_postgres import DagsterPostgresStorage
from dagster_postgres.auth import PgTokenProvider
from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.utils import get_token_provider_from_config, pg_url_from_config

POOL_RECYCLE_SECONDS = 3600
"""A pooled connection older than this is replaced, so a server-side idle timeout never meets a stale one."""
POOL_MAX_OVERFLOW = 10
"""Connections opened beyond the pooled one when threads (the webserver, the daemon) call at once; closed after."""


EVENT_BATCH_SIZE_ENV = "DAGSTER_EVENT_BATCH_SIZE"
EVENT_BATCH_SIZE = "100"
"""Materializations of a partitioned step stored per INSERT, unless `DAGSTER_EVENT_BATCH_SIZE` says otherwise."""


class TableRememberingEventLogStorage(PostgresEventLogStorage):
    """dagster-postgres's event log, asking the catalog whether a table exists only until it does.

    Dagster asks before storing each check evaluation (`supports_asset_checks`) and each asset
    event's tags: a catalog query per event. Tables are created by `dagster instance migrate`
    and never dropped by a running instance, so a "yes" holds; a "no" is asked again.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """dagster-postgres's constructor; the remembered tables start empty."""
        super().__init__(*args, **kwargs)
        self._existing_tables: set[str] = set()

    def has_table(self, table_name: str) -> bool:
        """Whether the table exists, from memory once it has been seen."""
        if table_name not in self._existing_tables and super().has_table(table_name):
            self._existing_tables.add(table_name)
        return table_name in self._existing_tables


class PooledPostgresStorage(DagsterPostgresStorage):
    """dagster-postgres's run, event-log and schedule storage, each reusing one open connection."""

    def __init__(
        self,
        postgres_url: str,
        should_autocreate_tables: bool = True,
        inst_data: ConfigurableClassData | None = None,
        token_provider: PgTokenProvider | None = None,
    ) -> None:
        """dagster-postgres's storage with the table-remembering event log in place of its own (which holds no
        connection: building it cost one catalog query)."""
        super().__init__(postgres_url, should_autocreate_tables, inst_data, token_provider)
        self._event_log_storage = TableRememberingEventLogStorage(
            postgres_url, should_autocreate_tables, token_provider=token_provider
        )

    @classmethod
    def from_config_value(  # ty: ignore[invalid-method-override]
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> "PooledPostgresStorage":
        """Open the storage that `dagster.yaml`'s `storage: custom:` block configures (dagster-postgres's schema).

        It also turns on Dagster's event batching for the process, unless `DAGSTER_EVENT_BATCH_SIZE` is set.
        """
        os.environ.setdefault(EVENT_BATCH_SIZE_ENV, EVENT_BATCH_SIZE)
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
