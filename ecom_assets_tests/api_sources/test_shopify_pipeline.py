"""Shopify to silver against the stand-in: every order with every line item (nested pages drained), then only what
changed, and a throttled API waited out."""

import pytest
import requests
from dagster import DagsterInstance, EnvVar, ResourceDefinition, materialize
from dagster_dlt import DagsterDltResource
from pyspark.sql import functions as F

from ecom_assets.api_sources.definitions import SHOPIFY_ASSETS
from ecom_assets.api_sources.standins.shopify_schema import API_VERSION
from ecom_assets.api_sources.standins.shopify_server import running_standin
from ecom_assets.api_sources.tables import SHOPIFY_ORDER_LINES, SHOPIFY_ORDERS
from ecom_assets.platform.quality_policy import DataQualityPolicy
from resources import Lakehouse, LocalLandingZone, ShopifyApi

SECRET_VARIABLE = "ECOM_SHOPIFY_CLIENT_SECRET"
ORDERS = 30


@pytest.fixture
def shopify(monkeypatch):
    monkeypatch.setenv(SECRET_VARIABLE, "standin-secret")
    with running_standin("--orders", str(ORDERS), "--max-lines", "45", "--customers", "8", "--products", "12") as url:
        yield url


def _resources(test_spark, tmp_path, url: str) -> dict:
    return {
        "spark": test_spark,
        "landing": LocalLandingZone(root=str(tmp_path / "landing")),
        "lakehouse": Lakehouse(warehouse_root=str(tmp_path / "warehouse")),
        "quality": DataQualityPolicy(),
        "step_launcher": ResourceDefinition.none_resource(),
        "shopify": ShopifyApi(shop_url=url, client_id="standin-client", client_secret=EnvVar(SECRET_VARIABLE)),
        "dlt_runner": DagsterDltResource(),
    }


def _lines_per_order(url: str) -> dict[str, int]:
    """Each order's line items as the API counts them, asked one order at a time with the largest page."""
    token = requests.post(
        f"{url}/admin/oauth/access_token",
        data={"grant_type": "client_credentials", "client_id": "standin-client", "client_secret": "standin-secret"},
    ).json()["access_token"]
    counts = {}
    for number in range(1, ORDERS + 1):
        order = f"gid://shopify/Order/{number}"
        answer = requests.post(
            f"{url}/admin/api/{API_VERSION}/graphql.json",
            json={
                "query": "query($id: ID!) { order(id: $id) { lineItems(first: 250) { nodes { id } } } }",
                "variables": {"id": order},
            },
            headers={"X-Shopify-Access-Token": token},
        ).json()
        counts[order] = len(answer["data"]["order"]["lineItems"]["nodes"])
    return counts


def _landed(result, resource: str) -> dict:
    [event] = [
        e for e in result.get_asset_materialization_events() if e.asset_key.path == ["api_landing", "shopify", resource]
    ]
    return {name: value.value for name, value in event.materialization.metadata.items()}


def test_every_order_lands_with_every_line_item_then_only_the_changed_order(spark, test_spark, tmp_path, shopify):
    resources = _resources(test_spark, tmp_path, shopify)
    instance = DagsterInstance.ephemeral()
    lakehouse = resources["lakehouse"]
    first = materialize(SHOPIFY_ASSETS, resources=resources, instance=instance)

    assert _landed(first, "orders")["rows_landed"] == ORDERS
    expected = _lines_per_order(shopify)
    assert max(expected.values()) > 20, "some orders have more lines than the first nested page"
    lines = lakehouse.read(spark, SHOPIFY_ORDER_LINES).groupBy("order_id").count().collect()
    assert {row["order_id"]: row["count"] for row in lines} == expected
    orders = {row["id"]: row for row in lakehouse.read(spark, SHOPIFY_ORDERS).collect()}
    assert {order: row["line_count"] for order, row in orders.items()} == expected
    sums = (
        lakehouse.read(spark, SHOPIFY_ORDER_LINES)
        .groupBy("order_id")
        .agg(F.sum(F.col("unit_price") * F.col("quantity")).alias("total"))
    )
    assert all(orders[row["order_id"]]["total_price"] == row["total"] for row in sums.collect())

    requests.post(
        f"{shopify}/_config/update",
        json={"type": "Order", "number": 5, "fields": {"displayFinancialStatus": "REFUNDED"}},
    ).raise_for_status()
    second = materialize(SHOPIFY_ASSETS, resources=resources, instance=instance)
    assert _landed(second, "orders")["rows_landed"] == 1, "only the changed order is listed again"
    orders = {row["id"]: row for row in lakehouse.read(spark, SHOPIFY_ORDERS).collect()}
    assert orders["gid://shopify/Order/5"]["financial_status"] == "REFUNDED"
    assert len(orders) == ORDERS
    assert lakehouse.read(spark, SHOPIFY_ORDER_LINES).count() == sum(expected.values())


@pytest.mark.slow
def test_a_throttled_api_is_waited_out(spark, test_spark, tmp_path, shopify):
    requests.post(f"{shopify}/_config/throttle", json={"maximum": 1000, "restore_rate": 400}).raise_for_status()
    resources = _resources(test_spark, tmp_path, shopify)
    assert materialize(SHOPIFY_ASSETS, resources=resources, instance=DagsterInstance.ephemeral()).success
    assert resources["lakehouse"].read(spark, SHOPIFY_ORDERS).count() == ORDERS
