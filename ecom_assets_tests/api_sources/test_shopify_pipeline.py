"""Shopify to silver against the stand-in: every order with every line item (nested pages drained), then only what
changed, and a throttled API waited out."""

import os
import secrets

import pytest
import requests
from dagster import DagsterInstance, EnvVar, ResourceDefinition, materialize
from dagster_dlt import DagsterDltResource
from pyspark.sql import functions as F

from ecom_assets.api_sources.definitions import SHOPIFY_ASSETS
from ecom_assets.api_sources.standins.shopify_schema import API_VERSION
from ecom_assets.api_sources.standins.shopify_server import running_standin
from ecom_assets.api_sources.tables import (
    SHOPIFY_CUSTOMERS,
    SHOPIFY_INVENTORY_LEVELS,
    SHOPIFY_ORDER_LINES,
    SHOPIFY_ORDERS,
    SHOPIFY_PRODUCT_VARIANTS,
    SHOPIFY_PRODUCTS,
)
from ecom_assets.platform.quality_policy import DataQualityPolicy
from ecom_assets_tests.leaks import files_holding, tables_holding
from resources import Lakehouse, LocalLandingZone, ShopifyApi

SECRET_VARIABLE = "ECOM_SHOPIFY_CLIENT_SECRET"
ORDERS = 20


@pytest.fixture
def client_secret(monkeypatch) -> str:
    secret = f"shpss_{secrets.token_hex(16)}"
    monkeypatch.setenv(SECRET_VARIABLE, secret)
    return secret


@pytest.fixture
def shopify(client_secret):
    shop = ("--orders", str(ORDERS), "--max-lines", "45", "--customers", "8", "--products", "12")
    with running_standin(*shop, "--client-id", "standin-client", "--client-secret", client_secret) as url:
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


def _ask(url: str, query: str, variables: dict | None = None) -> dict:
    """A query's data, asked of the API directly with a token of the app's own."""
    token = requests.post(
        f"{url}/admin/oauth/access_token",
        data={
            "grant_type": "client_credentials",
            "client_id": "standin-client",
            "client_secret": os.environ[SECRET_VARIABLE],
        },
    ).json()["access_token"]
    answer = requests.post(
        f"{url}/admin/api/{API_VERSION}/graphql.json",
        json={"query": query, "variables": variables or {}},
        headers={"X-Shopify-Access-Token": token},
    ).json()
    assert "errors" not in answer, answer["errors"]
    return answer["data"]


def _lines_per_order(url: str) -> dict[str, int]:
    """Each order's line items as the API counts them, asked one order at a time with the largest page."""
    query = "query($id: ID!) { order(id: $id) { lineItems(first: 250) { nodes { id } } } }"
    return {
        f"gid://shopify/Order/{number}": len(
            _ask(url, query, {"id": f"gid://shopify/Order/{number}"})["order"]["lineItems"]["nodes"]
        )
        for number in range(1, ORDERS + 1)
    }


def _shop_contents(url: str) -> dict:
    """Customers, variants per product, and each inventory level's available quantity, as the API answers them."""
    customers = _ask(url, "{ customers(first: 250) { nodes { id } } }")["customers"]["nodes"]
    products = _ask(url, "{ products(first: 50) { nodes { id variants(first: 10) { nodes { id } } } } }")
    locations = _ask(
        url,
        '{ locations(first: 2) { nodes { inventoryLevels(first: 100) { nodes { id quantities(names: ["available"]) '
        "{ quantity } } } } } }",
    )
    return {
        "customers": {node["id"] for node in customers},
        "variants": {
            node["id"]: {variant["id"] for variant in node["variants"]["nodes"]}
            for node in products["products"]["nodes"]
        },
        "available": {
            level["id"]: level["quantities"][0]["quantity"]
            for location in locations["locations"]["nodes"]
            for level in location["inventoryLevels"]["nodes"]
        },
    }


def _landed(result, resource: str) -> dict:
    [event] = [
        e for e in result.get_asset_materialization_events() if e.asset_key.path == ["api_landing", "shopify", resource]
    ]
    return {name: value.value for name, value in event.materialization.metadata.items()}


@pytest.mark.slow  # several runs end to end: the full suite runs it
def test_every_order_lands_with_every_line_item_then_only_the_changed_order_and_never_a_secret(
    spark, test_spark, tmp_path, shopify, client_secret, capfd
):
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
    shop = _shop_contents(shopify)
    assert {row["id"] for row in lakehouse.read(spark, SHOPIFY_CUSTOMERS).collect()} == shop["customers"]
    variants = lakehouse.read(spark, SHOPIFY_PRODUCT_VARIANTS).collect()
    assert {
        product: {row["variant_id"] for row in variants if row["product_id"] == product} for product in shop["variants"]
    } == shop["variants"]
    products = {row["id"]: row["variant_count"] for row in lakehouse.read(spark, SHOPIFY_PRODUCTS).collect()}
    assert products == {product: len(ids) for product, ids in shop["variants"].items()}
    levels = lakehouse.read(spark, SHOPIFY_INVENTORY_LEVELS).collect()
    assert {row["id"]: row["available"] for row in levels} == shop["available"]

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

    event_log = "\n".join(str(event) for run in (first, second) for event in instance.all_logs(run.run_id))
    captured = capfd.readouterr()
    for secret in (client_secret, "shpat_"):  # the app's secret, and any access token exchanged for it
        assert tables_holding(spark, tmp_path / "warehouse", secret) == {}
        assert files_holding(tmp_path / "landing", secret.encode()) == []
        assert secret not in event_log + captured.out + captured.err


@pytest.mark.slow
def test_a_throttled_api_is_waited_out(spark, test_spark, tmp_path, shopify):
    requests.post(f"{shopify}/_config/throttle", json={"maximum": 1000, "restore_rate": 400}).raise_for_status()
    resources = _resources(test_spark, tmp_path, shopify)
    assert materialize(SHOPIFY_ASSETS, resources=resources, instance=DagsterInstance.ephemeral()).success
    assert resources["lakehouse"].read(spark, SHOPIFY_ORDERS).count() == ORDERS
