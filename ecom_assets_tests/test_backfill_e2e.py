"""A backfill launched on a real `dagster dev` (webserver + daemon) runs as one run and succeeds."""

import time
from datetime import date

import pytest

from ecom_assets.dates import DateRange
from ecom_assets.sample_data import generate
from ecom_assets_tests.dagster_dev import dagster_dev, graphql

pytestmark = pytest.mark.slow

ASSETS = [
    ["ecommerce_catalog", "raw", "order_transactions"],
    ["ecommerce_catalog", "processed", "orders_cleaned"],
    ["ecommerce_catalog", "analytics", "sales_metrics"],
]
LAUNCH = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  }
}"""
STATUS = """
query Status($id: String!, $tag: String!) {
  partitionBackfillOrError(backfillId: $id) { ... on PartitionBackfill { status } }
  runsOrError(filter: {tags: [{key: "dagster/backfill", value: $tag}]}) {
    ... on Runs { results { runId status tags { key value } } }
  }
}"""


def test_a_three_day_backfill_through_the_daemon_is_one_successful_run(tmp_path, dagster_home):
    days = DateRange(date(2011, 1, 4), date(2011, 1, 6))
    generate(tmp_path / "data", days)
    with dagster_dev(tmp_path, dagster_home) as base_url:
        launched = graphql(
            base_url,
            LAUNCH,
            {
                "params": {
                    "partitionNames": [day.isoformat() for day in days],
                    "assetSelection": [{"path": path} for path in ASSETS],
                    "fromFailure": False,
                }
            },
        )["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        backfill_id = launched["backfillId"]

        deadline = time.monotonic() + 300
        while True:
            state = graphql(base_url, STATUS, {"id": backfill_id, "tag": backfill_id})
            runs = state["runsOrError"]["results"]
            status = state["partitionBackfillOrError"]["status"]
            if status in ("COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"):
                break
            assert time.monotonic() < deadline, f"backfill still {status} with runs {runs}"
            time.sleep(3)

    assert status in ("COMPLETED", "COMPLETED_SUCCESS"), (status, runs)
    assert len(runs) == 1, "the single-run backfill policy makes the range one run"
    tags = {tag["key"]: tag["value"] for tag in runs[0]["tags"]}
    assert runs[0]["status"] == "SUCCESS"
    assert (tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]) == (
        "2011-01-04",
        "2011-01-06",
    )
    assert (tmp_path / "data/warehouse/ecommerce_catalog/analytics/sales_metrics/_delta_log").is_dir()
