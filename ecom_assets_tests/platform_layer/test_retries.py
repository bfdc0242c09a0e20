"""A step that loses Delta's write-conflict check, or the network, is retried; any other failure is recorded once."""

from datetime import date

import pytest
from dagster import DagsterEventType, ResourceDefinition, materialize
from delta.exceptions import ConcurrentAppendException

from ecom_assets.platform.table_asset import TableStep, table_asset
from ecom_assets.platform.tables import ETL_ERRORS, TableName

FLAKY = TableName("ecommerce_catalog", "processed", "flaky")
DAY = "2011-01-05"


def flaky_asset(error: Exception):
    """A table asset whose first attempt fails with `error`; later attempts succeed."""

    @table_asset(FLAKY, group="test", description="Fails its first attempt.")
    def flaky(step: TableStep) -> None:
        if step.context.retry_number == 0:
            raise error

    return flaky


def run(asset, test_spark, lakehouse):
    return materialize(
        [asset],
        resources={"spark": test_spark, "lakehouse": lakehouse, "step_launcher": ResourceDefinition.none_resource()},
        partition_key=DAY,
        raise_on_error=False,
    )


def attempts(result) -> int:
    return 1 + sum(1 for event in result.all_events if event.event_type == DagsterEventType.STEP_UP_FOR_RETRY)


@pytest.mark.parametrize(
    "transient",
    [
        ConcurrentAppendException("Files were added to the root of the table by a concurrent update."),
        ConnectionError("Connection reset by peer"),
    ],
    ids=["write_conflict", "network"],
)
def test_a_transient_failure_retries_the_step_and_leaves_no_failure_behind(spark, test_spark, lakehouse, transient):
    result = run(flaky_asset(transient), test_spark, lakehouse)

    assert result.success and attempts(result) == 2
    assert not lakehouse.exists(ETL_ERRORS), "a retried failure is not a failure of the day"


def test_any_other_failure_fails_at_once_and_is_recorded_for_its_day(spark, test_spark, lakehouse):
    result = run(flaky_asset(ValueError("a bad rules file")), test_spark, lakehouse)

    assert not result.success and attempts(result) == 1
    (error,) = lakehouse.read(spark, ETL_ERRORS).collect()
    assert (error["partition_date"], error["error_type"]) == (date(2011, 1, 5), "step_failed")
    assert "a bad rules file" in error["error_message"]
