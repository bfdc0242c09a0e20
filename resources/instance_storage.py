"""The Dagster instance's storage on PostgreSQL, with connections kept open between calls.

dagster-postgres opens its engines with `NullPool`: every storage call (and a run makes
several per event) connects, authenticates and disconnects. This storage is dagster-postgres's,
with each of its three parts (runs, event log, schedules) holding one pooled connection instead,
as the webserver's own storage does (`optimize_for_webserver`), without a statement timeout.
More per-event costs go too: the event log remembers which of its tables exist instead of
asking the server's catalog on every check evaluation and materialization; a partitioned step's
materializations are stored in batches (Dagster's `DAGSTER_EVENT_BATCH_SIZE`); and the events
Dagster hands over one at a time although they come in bursts (a range run's check evaluations, a
partition per check, and the planned materializations of a new run) are stored a batch per
transaction. Configure it in `dagster.yaml` (`instance/postgres.yaml`).
"""

import logging
import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as db
from dagster import DagsterEventType
from dagster._core.errors import DagsterInvariantViolationError
from dagster._core.event_api import EventLogEntry
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable, SqlEventLogStorageTable
from dagster._serdes import ConfigurableClassData, serialize_value
from dagster_postgres import DagsterPostgresStorage
from dagster_postgres.auth import PgTokenProvider
from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.utils import get_token_provider_from_config, pg_url_from_config
from psycopg2.extras import execute_values

POOL_RECYCLE_SECONDS = 3600
"""A pooled connection older than this is replaced, so a server-side idle timeout never meets a stale one."""
POOL_MAX_OVERFLOW = 10
"""Connections opened beyond the pooled one when threads (the webserver, the daemon) call at once; closed after."""


EVENT_BATCH_SIZE_ENV = "DAGSTER_EVENT_BATCH_SIZE"
EVENT_BATCH_SIZE = "100"
"""Materializations of a partitioned step stored per INSERT, unless `DAGSTER_EVENT_BATCH_SIZE` says otherwise."""
HELD_CHECK_EVALUATIONS = 200
"""A run's check evaluations held in memory at most before they are stored together."""

PLANNED_EVENTS = {DagsterEventType.ASSET_MATERIALIZATION_PLANNED, DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED}
"""The events a new run announces its steps' assets and checks with, handed over as one batch."""

logger = logging.getLogger(__name__)


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


def _is_run_check_evaluation(event: EventLogEntry) -> bool:
    """Whether the event is a check evaluation reported by a run (a runless one goes its own way)."""
    return bool(event.run_id) and event.dagster_event_type == DagsterEventType.ASSET_CHECK_EVALUATION


class BatchingEventLogStorage(TableRememberingEventLogStorage):
    """The table-remembering event log, storing a run's bursts of events a batch per transaction.

    dagster-postgres stores each check evaluation on its own: an INSERT into the event log and an
    UPDATE of its execution row, two transactions. A run's check evaluations are held in memory
    instead, in the order they came, and stored together (one INSERT, one UPDATE, one INSERT of
    the rows no planned event made) before any other event is stored, when
    `HELD_CHECK_EVALUATIONS` are held, before this storage's reads of a run's events or of check
    executions, and when it is closed. So the event log's order is kept, and a step's evaluations
    are stored before its success or failure. A process that dies mid-step loses the evaluations
    it held: that step never finished. The planned materializations of a new run, which Dagster
    hands over as a batch that dagster-postgres stores one by one, go in one transaction too, with
    their planned check evaluations (a row per check and partition). If a batch fails, its events
    are stored one by one, as dagster-postgres would.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """The table-remembering event log, holding no check evaluation yet."""
        super().__init__(*args, **kwargs)
        self._held_check_evaluations: list[EventLogEntry] = []
        self._held_lock = threading.Lock()

    def store_event(self, event: EventLogEntry) -> None:
        """Hold a run's check evaluation; store any other event after the evaluations held before it."""
        if _is_run_check_evaluation(event):
            with self._held_lock:
                self._held_check_evaluations.append(event)
                full = len(self._held_check_evaluations) >= HELD_CHECK_EVALUATIONS
            if full:
                self.store_held_check_evaluations()
            return
        self.store_held_check_evaluations()
        super().store_event(event)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """Store a batch after the evaluations held; a new run's planned events in one transaction."""
        self.store_held_check_evaluations()
        if len(events) < 2 or any(event.dagster_event_type not in PLANNED_EVENTS for event in events):
            super().store_event_batch(events)
            return
        with self.index_transaction() as conn:
            stored = list(zip(events, self._insert_rows(conn, [self._event_to_row(e) for e in events]), strict=True))
            assets = [
                (e, i) for e, i in stored if e.dagster_event_type == DagsterEventType.ASSET_MATERIALIZATION_PLANNED
            ]
            if assets:
                self._store_asset_event_tags(conn, [event for event, _ in assets], [id_ for _, id_ in assets])
                for event, event_id in {event.dagster_event.asset_key: (event, id_) for event, id_ in assets}.values():
                    self._store_asset_event(conn, event, event_id)  # the last of each asset, as one by one leaves it
            checks = [
                row
                for event, event_id in stored
                if event.dagster_event_type == DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED
                for row in self._planned_execution_rows(event, event_id)
            ]
            if checks:
                conn.execute(AssetCheckExecutionsTable.insert(), checks)

    def store_held_check_evaluations(self) -> None:
        """Store the check evaluations held, in one transaction (one by one if that fails)."""
        with self._held_lock:
            held, self._held_check_evaluations = self._held_check_evaluations, []
        if not held:
            return
        try:
            with self.index_transaction() as conn:
                rows = [self._event_to_row(event) for event in held]
                self._record_check_executions(conn, held, rows, self._insert_rows(conn, rows))
        except Exception as error:  # the batch rolled back: nothing of it is stored
            logger.warning(
                "Storing %d check evaluations together failed (%s); storing them one by one", len(held), error
            )
            for event in held:
                super().store_event(event)

    def get_records_for_run(self, *args: Any, **kwargs: Any) -> Any:
        """A run's events, the check evaluations held included."""
        self.store_held_check_evaluations()
        return super().get_records_for_run(*args, **kwargs)

    def get_asset_check_execution_history(self, *args: Any, **kwargs: Any) -> Any:
        """A check's executions, the evaluations held included."""
        self.store_held_check_evaluations()
        return super().get_asset_check_execution_history(*args, **kwargs)

    def get_latest_asset_check_execution_by_key(self, *args: Any, **kwargs: Any) -> Any:
        """The checks' latest executions, the evaluations held included."""
        self.store_held_check_evaluations()
        return super().get_latest_asset_check_execution_by_key(*args, **kwargs)

    def dispose(self) -> None:
        """Store the evaluations held, then close."""
        self.store_held_check_evaluations()
        super().dispose()

    def _insert_rows(self, conn: db.Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
        """Insert event-log rows (`_event_to_row`'s) together (SQLAlchemy's multi-row INSERT); their ids, in order."""
        statement = SqlEventLogStorageTable.insert().returning(
            SqlEventLogStorageTable.c.id, sort_by_parameter_order=True
        )
        result = conn.execute(statement, list(rows))
        return [int(row[0]) for row in result.fetchall()]

    def _planned_execution_rows(self, event: EventLogEntry, event_id: int) -> list[dict[str, Any]]:
        """The `asset_check_executions` rows a planned check evaluation makes, one per partition, as Dagster's."""
        planned = event.get_dagster_event().event_specific_data
        keys = planned.partitions_subset.get_partition_keys() if planned.partitions_subset else [None]
        shared = {
            "asset_key": planned.asset_key.to_string(),
            "check_name": planned.check_name,
            "run_id": event.run_id,
            "execution_status": AssetCheckExecutionRecordStatus.PLANNED.value,
            "evaluation_event": serialize_value(event),
            "evaluation_event_timestamp": self._event_insert_timestamp(event),
            "evaluation_event_storage_id": event_id,
        }
        return [{**shared, "partition": key} for key in keys]

    def _record_check_executions(
        self, conn: db.Connection, events: Sequence[EventLogEntry], rows: Sequence[dict[str, Any]], ids: list[int]
    ) -> None:
        """Mark each evaluation's execution row (the one its planned event made) with its outcome, or add the row.

        Dagster does this one evaluation at a time, the later of two on one row winning; here the last
        evaluation of each row is written, in one UPDATE and one INSERT. `rows` are the events' event-log
        rows, whose serialized event and timestamp the execution rows share (each event is serialized once).
        """
        latest: dict[tuple, dict[str, Any]] = {}
        for event, event_row, event_id in zip(events, rows, ids, strict=True):
            evaluation = event.get_dagster_event().asset_check_evaluation_data
            target = evaluation.target_materialization_data
            row = {
                "asset_key": evaluation.asset_key.to_string(),
                "check_name": evaluation.check_name,
                "run_id": event.run_id,
                "partition": evaluation.partition,
                "execution_status": (
                    AssetCheckExecutionRecordStatus.SUCCEEDED
                    if evaluation.passed
                    else AssetCheckExecutionRecordStatus.FAILED
                ).value,
                "evaluation_event": event_row["event"],
                "evaluation_event_timestamp": event_row["timestamp"],
                "evaluation_event_storage_id": event_id,
                "materialization_event_storage_id": target.storage_id if target else None,
            }
            latest[(row["asset_key"], row["check_name"], row["run_id"], row["partition"])] = row
        executions = list(latest.values())
        updated = _update_execution_rows(conn, executions)
        found = set(updated)
        if len(updated) != len(found):
            raise DagsterInvariantViolationError(
                "Updated more than one row for a check evaluation, as a result of duplicate AssetCheckPlanned events."
            )
        missing = [row for number, row in enumerate(executions) if number not in found]
        if missing:
            conn.execute(AssetCheckExecutionsTable.insert().values(missing))


_EXECUTION_ROW_COLUMNS = {
    "asset_key": "TEXT",
    "check_name": "TEXT",
    "run_id": "TEXT",
    "partition": "TEXT",
    "execution_status": "TEXT",
    "evaluation_event": "TEXT",
    "evaluation_event_timestamp": "TIMESTAMP",
    "evaluation_event_storage_id": "BIGINT",
    "materialization_event_storage_id": "BIGINT",
}
_EXECUTION_ROW_KEY = ("asset_key", "check_name", "run_id")
_EXECUTION_ROW_OUTCOME = (
    "execution_status",
    "evaluation_event",
    "evaluation_event_timestamp",
    "evaluation_event_storage_id",
    "materialization_event_storage_id",
)


def _update_execution_rows(conn: db.Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Set each row's outcome in `asset_check_executions`; the numbers (positions in `rows`) of the rows found.

    A row is found by asset, check, run and partition through the table's unique index on those
    columns: a partition is matched with `=` and a missing one with `IS NULL`, in two UPDATEs, since
    `IS NOT DISTINCT FROM` cannot use the index and made every UPDATE scan the whole table (every
    run's executions). The values go to the server as psycopg2's VALUES lists, not as bound
    parameters for SQLAlchemy to compile (ten per row).
    """
    assignments = ", ".join(f"{column} = v.{column}" for column in _EXECUTION_ROW_OUTCOME)
    matches = " AND ".join(f"t.{column} = v.{column}" for column in _EXECUTION_ROW_KEY)
    template = "(%s::INTEGER, " + ", ".join(f"%s::{sql_type}" for sql_type in _EXECUTION_ROW_COLUMNS.values()) + ")"
    updated = []
    with conn.connection.cursor() as cursor:  # inside the connection's open transaction
        for partitioned, partition_match in ((True, "t.partition = v.partition"), (False, "t.partition IS NULL")):
            numbered = [
                (number, *(row[column] for column in _EXECUTION_ROW_COLUMNS))
                for number, row in enumerate(rows)
                if (row["partition"] is not None) is partitioned
            ]
            if not numbered:
                continue
            statement = (
                f"UPDATE asset_check_executions AS t SET {assignments} "
                f"FROM (VALUES %s) AS v(number, {', '.join(_EXECUTION_ROW_COLUMNS)}) "
                f"WHERE {matches} AND {partition_match} RETURNING v.number"
            )
            returned = execute_values(
                cursor, statement, numbered, template=template, page_size=len(numbered), fetch=True
            )
            updated += [number for (number,) in returned]
    return updated


class PooledPostgresStorage(DagsterPostgresStorage):
    """dagster-postgres's run, event-log and schedule storage, each reusing one open connection."""

    def __init__(
        self,
        postgres_url: str,
        should_autocreate_tables: bool = True,
        inst_data: ConfigurableClassData | None = None,
        token_provider: PgTokenProvider | None = None,
    ) -> None:
        """dagster-postgres's storage with the batching, table-remembering event log in place of its own (which
        holds no connection: building it cost one catalog query)."""
        super().__init__(postgres_url, should_autocreate_tables, inst_data, token_provider)
        self._event_log_storage = BatchingEventLogStorage(
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
