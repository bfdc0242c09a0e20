"""Quarantine: a day a table keeps out, why, and every table downstream keeping it out too.

A day whose blocking check failed (or that an upstream table quarantined) is not published: the
table keeps the rows it had for it (writes leave it out, `keep_days`), and the day is recorded in
`logs.quarantined_days` with its reason. Every table downstream reads that log once per step
(`read_quarantine_log`) and keeps the day out too. A run that publishes the day clears its row.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from dagster import AssetExecutionContext
from pyspark.sql import SparkSession

from ecom_assets.platform.dates import DateRange
from ecom_assets.platform.tables import QUARANTINED_DAYS, TableName
from resources import Lakehouse
from resources.lakehouse import within

QUARANTINED_DAYS_SCHEMA = "asset string, partition_date date, reason string, run_id string, quarantined_at timestamp"


UPSTREAM_REASON = "quarantined upstream in"


_UPSTREAM: dict[TableName, tuple[TableName, ...]] = {}
"""Each table asset's direct upstream tables, as `declare_upstream` recorded them."""


def declare_upstream(table: TableName, upstream: Sequence[TableName]) -> None:
    """Record a table asset's direct upstream tables (whose quarantined days it keeps out too)."""
    _UPSTREAM[table] = tuple(upstream)


def upstream_tables(table: TableName) -> set[TableName]:
    """Every table the table is built from, directly or through others."""
    found: set[TableName] = set()
    pending = list(_UPSTREAM.get(table, ()))
    while pending:
        parent = pending.pop()
        if parent not in found:
            found.add(parent)
            pending.extend(_UPSTREAM.get(parent, ()))
    return found


@dataclass(frozen=True)
class QuarantineLog:
    """What `logs.quarantined_days` held on a run's days when the step began: per table, the days kept out and why."""

    reasons_by_table: Mapping[str, Mapping[date, str]]

    def upstream_of(self, table: TableName) -> dict[date, str]:
        """The days that a table upstream of `table` keeps quarantined, with one line naming the tables and causes."""
        found: dict[date, dict[str, str]] = {}
        for parent in upstream_tables(table):
            for day, reason in self.reasons_by_table.get(parent.full_name, {}).items():
                found.setdefault(day, {})[parent.full_name] = reason
        return {day: _upstream_reason(reasons) for day, reasons in found.items()}

    def holds(self, table: TableName) -> bool:
        """Whether `table` had days recorded (which publishing must clear)."""
        return bool(self.reasons_by_table.get(table.full_name))


def read_quarantine_log(session: SparkSession, lakehouse: Lakehouse, days: DateRange) -> QuarantineLog:
    """`logs.quarantined_days` on the run's days (see `record_quarantine`), read once per step."""
    if not lakehouse.exists(QUARANTINED_DAYS):
        return QuarantineLog({})
    reasons: dict[str, dict[date, str]] = {}
    for row in lakehouse.read(session, QUARANTINED_DAYS, filters=within("partition_date", days)).collect():
        reasons.setdefault(row["asset"], {})[row["partition_date"]] = row["reason"]
    return QuarantineLog(reasons)


def _upstream_reason(reason_by_table: Mapping[str, str]) -> str:
    """One line naming the upstream tables that quarantined a day and the causes (not the propagated reasons)."""
    causes = [reason for reason in reason_by_table.values() if not reason.startswith(UPSTREAM_REASON)]
    tables = ", ".join(sorted(reason_by_table))
    return f"{UPSTREAM_REASON} {tables}: {'; '.join(sorted(set(causes))) or 'see those tables'}"


def record_quarantine(
    context: AssetExecutionContext,
    lakehouse: Lakehouse,
    session: SparkSession,
    table: TableName,
    days: DateRange,
    quarantined: Mapping[date, str],
    recorded: bool = True,
) -> None:
    """Replace the table's rows of `logs.quarantined_days` for the run's days with the days it kept out now.

    The table then holds, per table and day, why the day's latest run did not publish it;
    a run that publishes the day clears its row. Downstream tables read it to keep the day out too.
    `recorded=False` says the table had no row there (see `QuarantineLog.holds`): with none to
    add either, nothing is written.
    """
    scope = {"asset": table.full_name}
    for day, reason in sorted(quarantined.items()):
        context.log.error(f"{table.full_name} quarantined {day}, its stored rows stay as they were: {reason}")
    if quarantined:
        now = datetime.now(UTC)
        rows = [
            (table.full_name, day, reason[:4000], context.run_id, now) for day, reason in sorted(quarantined.items())
        ]
        lakehouse.replace_date_range(
            QUARANTINED_DAYS,
            session.createDataFrame(rows, QUARANTINED_DAYS_SCHEMA),
            "partition_date",
            days,
            scope=scope,
        )
    elif recorded:
        lakehouse.delete_date_range(QUARANTINED_DAYS, "partition_date", days, scope)
