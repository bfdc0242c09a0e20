"""Dagster side of the data-quality checks: specs on the assets, one evaluation per partition, the results table.

The checks run inside their asset's step over the rows the step is about to publish (audit
before publish), and report one `AssetCheckEvaluation` per day, so a range run (a single-run
backfill) still gives every partition its own verdict.

- A daily table quarantines a day whose blocking check failed: the day's stored rows stay as
  they were, the check is reported failed with ERROR severity, and its `published` check says
  why; the step goes on with the run's other days, and every table downstream quarantines the
  day too (see `assets.common.QuarantineLog`).
- A table checked as a whole (a snapshot or a dimension) is not written when a blocking check
  fails; the failed evaluation then fails the step, and Dagster skips its downstream assets.
"""

import json
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    MetadataValue,
    Output,
    PartitionsDefinition,
)
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from ecom_assets.platform.dates import HOUR_KEY_FORMAT, DateRange
from ecom_assets.platform.outcomes import CheckOutcome, OutcomesByDay
from ecom_assets.platform.partitions import daily_partitions
from ecom_assets.platform.privacy import masked_record
from ecom_assets.platform.quarantine import QuarantineLog, read_quarantine_log, record_quarantine
from ecom_assets.platform.tables import DATA_QUALITY_RESULTS, TableName, asset_key
from resources import Lakehouse
from resources.lakehouse import MergeCounts


@dataclass(frozen=True)
class Check:
    """A named check of an asset; ERROR checks block downstream assets, WARN checks only report.

    A per-partition check gives each day of a run its own verdict; otherwise the check judges
    what the run left in the table (a snapshot or a whole dimension) once per run.
    """

    name: str
    description: str
    severity: AssetCheckSeverity = AssetCheckSeverity.ERROR
    per_partition: bool = True
    gates: bool = True
    """Whether an ERROR verdict gates publishing (False for a check that reports a decision already taken)."""

    @property
    def blocking(self) -> bool:
        """ERROR checks gate publishing and the downstream assets of the run."""
        return self.severity == AssetCheckSeverity.ERROR and self.gates


WARN = AssetCheckSeverity.WARN

SCHEMA_CHECK = Check("schema", "The stored rows of each day conform to the table's pandera model.")
TABLE_SCHEMA_CHECK = Check(
    "schema", "The rows the run stored conform to the table's pandera model.", per_partition=False
)

PUBLISHED_CHECK = Check(
    "published",
    "The day's rows were published: no blocking check failed on them, here or upstream. A quarantined day keeps"
    " its previously published rows (or none) until a rerun publishes it.",
    gates=False,
)

RESULTS_SCHEMA = T.StructType(
    [
        T.StructField("result_id", T.StringType()),
        T.StructField("check_name", T.StringType()),
        T.StructField("asset", T.StringType()),
        T.StructField("partition_date", T.DateType()),
        T.StructField("passed", T.BooleanType()),
        T.StructField("severity", T.StringType()),
        T.StructField("blocking", T.BooleanType()),
        T.StructField("summary", T.StringType()),
        T.StructField("observed", T.StringType()),
        T.StructField("run_id", T.StringType()),
        T.StructField("evaluated_at", T.TimestampType()),
    ]
)
"""`ecommerce_catalog.logs.data_quality_results`: one row per check evaluation; `observed` is JSON."""


def check_specs(
    table: TableName, checks: Iterable[Check], partitions_def: PartitionsDefinition | None = daily_partitions
) -> list[AssetCheckSpec]:
    """The check specs of a table's asset, partitioned like the asset (`partitions_def`) for per-partition checks."""
    return [
        AssetCheckSpec(
            check.name,
            asset=asset_key(table),
            description=check.description,
            blocking=check.blocking,
            partitions_def=partitions_def if check.per_partition else None,
        )
        for check in checks
    ]


def _metadata(outcome_observed: Mapping, expected: Mapping, sample: Sequence[Mapping]) -> dict:
    numbers = {
        name: value
        for name, value in outcome_observed.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }
    metadata: dict = {**numbers, "observed": MetadataValue.json(dict(outcome_observed))}
    if expected:
        metadata["expected"] = MetadataValue.json(dict(expected))
    if sample:
        metadata["failing_rows"] = MetadataValue.json([masked_record(row) for row in sample])
    return metadata


class CheckReporter:
    """Collects a step's check outcomes, logs failures, writes the results table, yields the evaluations."""

    def __init__(
        self, context: AssetExecutionContext, table: TableName, quarantine_log: QuarantineLog | None = None
    ) -> None:
        """`quarantine_log`: `logs.quarantined_days` on the run's days (none: not read). The days an upstream table
        quarantined are not reported (the table does not publish them), only their `published` verdict."""
        self._context = context
        self._table = table
        self._upstream_quarantine = quarantine_log.upstream_of(table) if quarantine_log else {}
        self._may_hold_quarantined_days = quarantine_log is None or quarantine_log.holds(table)
        self._outputs: list[Output] = []
        self._outcomes: list[tuple[Check, date, CheckOutcome]] = []
        self._rows: list[tuple] = []
        self._quarantined: dict[date, str] = {}
        self._check_seconds = 0.0

    @classmethod
    def for_daily_table(
        cls,
        context: AssetExecutionContext,
        table: TableName,
        session: SparkSession,
        lakehouse: Lakehouse,
        days: DateRange,
    ) -> "CheckReporter":
        """The reporter of a daily table's step, with `logs.quarantined_days` on the run's days read once."""
        return cls(context, table, read_quarantine_log(session, lakehouse, days))

    @property
    def upstream_quarantine(self) -> dict[date, str]:
        """The run's days an upstream table quarantined, with why."""
        return dict(self._upstream_quarantine)

    @contextmanager
    def computing(self) -> Iterator[None]:
        """Count the block's time as the step's check time, which `publish` logs (the benchmark reads it)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self._check_seconds += time.perf_counter() - started

    def add(self, check: Check, outcomes: OutcomesByDay) -> None:
        """Record one check's outcomes (the assets are not subsettable: every check is always selected).

        A per-partition check has one outcome per day; any other check one outcome, recorded in
        the results table under the day it is keyed by and reported without a partition.
        """
        if not check.per_partition and len(outcomes) != 1:
            raise ValueError(f"check {check.name} judges the table once per run, got {len(outcomes)} outcomes")
        check_key = AssetCheckKey(asset_key(self._table), check.name)
        self._outputs.append(
            Output(None, output_name=self._context.assets_def.get_output_name_for_asset_check_key(check_key))
        )
        now = datetime.now(UTC)
        for day, outcome in sorted(outcomes.items()):
            if check.per_partition and check != PUBLISHED_CHECK and day in self._upstream_quarantine:
                continue
            self._outcomes.append((check, day, outcome))
            details = {
                "observed": dict(outcome.observed),
                "expected": dict(outcome.expected),
                "failing_sample": list(outcome.failing_sample),
                "partition": _partition_key(day),
            }
            self._rows.append(
                (
                    str(uuid.uuid4()),
                    check.name,
                    self._table.full_name,
                    _partition_date(day),
                    outcome.passed,
                    check.severity.value,
                    check.blocking,
                    outcome.summary,
                    json.dumps(details, default=str),
                    self._context.run_id,
                    now,
                )
            )
            if not outcome.passed:
                log = self._context.log.warning if check.severity == WARN else self._context.log.error
                when = f"on {day}" if check.per_partition else "on the table"
                log(f"check {check.name} ({check.severity.value}) failed {when}: {outcome.summary}")

    def quarantine(self, days: Sequence[date]) -> dict[date, str]:
        """Decide which of the run's days the table keeps out, and record the verdicts of its `published` check.

        A day is quarantined when a blocking per-partition check failed on it, or when an upstream
        table quarantined it. Returns the quarantined days with their reasons. Their failed
        evaluations are reported without blocking, so the step still publishes the other days and
        the run goes on downstream.
        """
        reasons = {day: [reason] for day, reason in self._upstream_quarantine.items() if day in set(days)}
        for check, day, outcome in self._outcomes:
            if check.blocking and check.per_partition and not outcome.passed:
                reasons.setdefault(day, []).append(f"check {check.name} failed: {outcome.summary}")
        self._quarantined = {day: "; ".join(texts) for day, texts in sorted(reasons.items())}
        self.add(
            PUBLISHED_CHECK,
            {
                day: CheckOutcome(False, f"quarantined, not published: {self._quarantined[day]}")
                if day in self._quarantined
                else CheckOutcome(True, "published")
                for day in days
            },
        )
        return dict(self._quarantined)

    def replace_passing_days(
        self, lakehouse: Lakehouse, rows: DataFrame, date_column: str, days: DateRange, **write_options: Any
    ) -> dict[date, str]:
        """Audit, then publish a daily table: replace the run's days but the quarantined ones (see `quarantine`)
        and record those in `logs.quarantined_days`; returns them with their reasons.

        When a check of the whole table blocks, nothing is written: the table stays as it was and
        the failed evaluation fails the step.
        """
        quarantined = self.quarantine(days.days())
        if not self.table_passes():
            return quarantined
        lakehouse.replace_date_range(self._table, rows, date_column, days, keep_days=quarantined, **write_options)
        self._record_quarantine(lakehouse, rows.sparkSession, days, quarantined)
        return quarantined

    def merge_passing_days(
        self, lakehouse: Lakehouse, rows: DataFrame, key: str, date_column: str, days: DateRange
    ) -> tuple[dict[date, str], MergeCounts]:
        """Audit, then publish a daily table kept by key: MERGE the run's days but the quarantined ones, deleting
        stored rows of those days missing from `rows` (see `Lakehouse.merge_on_key`), and record the quarantined
        days; returns them with their reasons, and what the MERGE did."""
        quarantined = self.quarantine(days.days())
        merged = lakehouse.merge_on_key(
            self._table, rows, key, delete_unmatched_in=(date_column, days), keep_days=quarantined
        )
        self._record_quarantine(lakehouse, rows.sparkSession, days, quarantined)
        return quarantined, merged

    def _record_quarantine(
        self, lakehouse: Lakehouse, session: SparkSession, days: DateRange, quarantined: Mapping[date, str]
    ) -> None:
        """Record the quarantined days in `logs.quarantined_days`, skipping the write when it changes nothing."""
        record_quarantine(
            self._context, lakehouse, session, self._table, days, quarantined, self._may_hold_quarantined_days
        )

    def overwrite_if_passing(self, lakehouse: Lakehouse, rows: DataFrame, built_from: int | None = None) -> None:
        """Audit, then publish a table checked as a whole: overwrite it unless a blocking check failed, in which
        case it stays as it was and the failed evaluation fails the step. `built_from`: see `Lakehouse.overwrite`."""
        if self.table_passes() and not lakehouse.overwrite(self._table, rows, built_from):
            self._context.log.info(
                f"{self._table.full_name} not written: it already holds a snapshot of the same or later data"
            )

    def passes_everywhere(self) -> bool:
        """Whether every blocking check passed on every partition of the run; when one failed, says so in the run
        log (a table published all or nothing, such as the clickstream's hours, must then not be written)."""
        failures = sorted(
            {
                f"{check.name} on {_partition_key(key)}"
                for check, key, outcome in self._outcomes
                if check.blocking and not outcome.passed
            }
        )
        if failures:
            self._context.log.error(
                f"{self._table.full_name} not written, readers keep what it held: blocking check(s) failed:"
                f" {', '.join(failures[:10])}"
            )
        return not failures

    def table_passes(self) -> bool:
        """Whether every blocking check of the whole table passed; when one failed, says so in the run log (the
        table must then not be written)."""
        failures = [
            check.name
            for check, _, outcome in self._outcomes
            if check.blocking and not check.per_partition and not outcome.passed
        ]
        if failures:
            self._context.log.error(
                f"{self._table.full_name} not written, readers keep its previous version: blocking check(s)"
                f" {', '.join(failures)} failed on the rows it would have published"
            )
        return not failures

    def publish(self, lakehouse: Lakehouse) -> list[Output | AssetCheckEvaluation]:
        """Hand the results to the lakehouse for the data-quality table; returns the events for the step to yield.

        The results table gets them in one commit when the run ends (`Lakehouse.append_when_run_ends`).
        Each check's output comes first (Dagster expects one per check), then one evaluation per
        check and day; a quarantined day's evaluations do not block (see `quarantine`).
        """
        lakehouse.append_when_run_ends(DATA_QUALITY_RESULTS, self._rows, RESULTS_SCHEMA)
        self._context.log.info(
            f"checks of {self._table.full_name} computed in {self._check_seconds:.2f} s"
            f" ({len(self._outcomes)} evaluation(s))"
        )
        evaluations = [
            AssetCheckEvaluation(
                asset_key=asset_key(self._table),
                check_name=check.name,
                passed=outcome.passed,
                metadata=_metadata(outcome.observed, outcome.expected, outcome.failing_sample),
                severity=check.severity,
                description=outcome.summary,
                blocking=check.blocking and not (check.per_partition and day in self._quarantined),
                partition=_partition_key(day) if check.per_partition else None,
            )
            for check, day, outcome in self._outcomes
        ]
        return [*self._outputs, *evaluations]


def _partition_key(key: date | str) -> str:
    """A check's partition key: a day's ISO date, or an hour's key as it is."""
    return key.isoformat() if isinstance(key, date) else key


def _partition_date(key: date | str) -> date:
    """The day a partition key falls on, for the results table's `partition_date`."""
    return key if isinstance(key, date) else datetime.strptime(key, HOUR_KEY_FORMAT).date()
