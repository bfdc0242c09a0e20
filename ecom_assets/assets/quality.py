"""Dagster side of the data-quality checks: specs on the assets, one evaluation per partition, the results table.

The checks run inside their asset's step, over what the step just stored, and report one
`AssetCheckEvaluation` per day, so a range run (a single-run backfill) still gives every
partition its own verdict. A failed blocking check fails the step once all results are
reported; Dagster then skips the downstream assets of the run and marks the run failed.
"""

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    MetadataValue,
    Output,
)
from pyspark.sql import types as T

from ecom_assets.assets.common import asset_key
from ecom_assets.partitions import daily_partitions
from ecom_assets.quality.outcomes import OutcomesByDay
from ecom_assets.tables import DATA_QUALITY_RESULTS, TableName
from resources import Lakehouse


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

    @property
    def blocking(self) -> bool:
        """ERROR checks gate the downstream assets of the run."""
        return self.severity == AssetCheckSeverity.ERROR


WARN = AssetCheckSeverity.WARN

SCHEMA_CHECK = Check("schema", "The stored rows of each day conform to the table's pandera model.")
TABLE_SCHEMA_CHECK = Check(
    "schema", "The rows the run stored conform to the table's pandera model.", per_partition=False
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


def check_specs(table: TableName, checks: Iterable[Check]) -> list[AssetCheckSpec]:
    """The check specs of a table's asset, partitioned like the asset for per-partition checks."""
    return [
        AssetCheckSpec(
            check.name,
            asset=asset_key(table),
            description=check.description,
            blocking=check.blocking,
            partitions_def=daily_partitions if check.per_partition else None,
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
        metadata["failing_rows"] = MetadataValue.json(list(sample))
    return metadata


class CheckReporter:
    """Collects a step's check outcomes, logs failures, writes the results table, yields the evaluations."""

    def __init__(self, context: AssetExecutionContext, table: TableName) -> None:
        self._context = context
        self._table = table
        self._outputs: list[Output] = []
        self._evaluations: list[AssetCheckEvaluation] = []
        self._rows: list[tuple] = []

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
            self._evaluations.append(
                AssetCheckEvaluation(
                    asset_key=asset_key(self._table),
                    check_name=check.name,
                    passed=outcome.passed,
                    metadata=_metadata(outcome.observed, outcome.expected, outcome.failing_sample),
                    severity=check.severity,
                    description=outcome.summary,
                    blocking=check.blocking,
                    partition=day.isoformat() if check.per_partition else None,
                )
            )
            details = {
                "observed": dict(outcome.observed),
                "expected": dict(outcome.expected),
                "failing_sample": list(outcome.failing_sample),
            }
            self._rows.append(
                (
                    str(uuid.uuid4()),
                    check.name,
                    self._table.full_name,
                    day,
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
                log = self._context.log.error if check.blocking else self._context.log.warning
                when = f"on {day}" if check.per_partition else "on the table"
                log(f"check {check.name} ({check.severity.value}) failed {when}: {outcome.summary}")

    def publish(self, lakehouse: Lakehouse) -> list[Output | AssetCheckEvaluation]:
        """Hand the results to the lakehouse for the data-quality table; returns the events for the step to yield.

        The results table gets them in one commit when the run ends (`Lakehouse.append_when_run_ends`).
        Each check's output comes first (Dagster expects one per check), then one evaluation per
        check and day.
        """
        lakehouse.append_when_run_ends(DATA_QUALITY_RESULTS, self._rows, RESULTS_SCHEMA)
        return [*self._outputs, *self._evaluations]
