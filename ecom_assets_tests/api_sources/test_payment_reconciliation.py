"""Payments reconciled with orders end to end: `ecom-sample api` sends a shop's orders and payments through both
APIs (to the two stand-ins), the sources are pulled, and the reconciliation finds exactly what was planted."""

import os
import re
import secrets
import subprocess
from decimal import Decimal

import pytest
from dagster import AssetCheckSeverity, DagsterInstance, EnvVar, ResourceDefinition, materialize
from dagster_dlt import DagsterDltResource

from ecom_assets.api_sources.definitions import API_SOURCE_ASSETS
from ecom_assets.api_sources.standins import shopify_server, stripe_server
from ecom_assets.api_sources.tables import PAYMENT_RECONCILIATION, SHOPIFY_ORDERS, STRIPE_REFUNDS
from ecom_assets.platform.quality_policy import DataQualityPolicy
from ecom_assets_tests.conftest import BIN
from ecom_assets_tests.leaks import tables_holding
from resources import Lakehouse, LocalLandingZone, ShopifyApi, StripeApi

ORDERS = 9


@pytest.fixture
def shop(monkeypatch):
    """An empty shop and a Stripe account, their secrets in the environment as a deployment sets them."""
    stripe_key = f"sk_test_{secrets.token_hex(12)}"
    monkeypatch.setenv("ECOM_STRIPE_API_KEY", stripe_key)
    monkeypatch.setenv("ECOM_SHOPIFY_CLIENT_SECRET", "standin-secret")
    empty = ("--orders", "0", "--customers", "0", "--products", "0")
    with stripe_server.running_standin() as stripe_url, shopify_server.running_standin(*empty) as shop_url:
        monkeypatch.setenv("ECOM_STRIPE_API_BASE", stripe_url)
        monkeypatch.setenv("ECOM_SHOPIFY_SHOP_URL", shop_url)
        monkeypatch.setenv("ECOM_SHOPIFY_CLIENT_ID", "standin-client")
        yield {"stripe": stripe_url, "shopify": shop_url, "stripe_key": stripe_key}


def _planted(output: str) -> dict[str, str]:
    """What `ecom-sample api` says it planted: order gid or charge id → the status it must get."""
    statuses = {
        "never paid": "unpaid",
        "refunded in part, in Stripe and Shopify alike": "matched",
        "refunded in part, in Stripe only": "refund_mismatch",
        "paid in full, then charged 5.00 more": "overpaid",
    }
    planted = dict(re.findall(r"planted: order (\S+) (.+)", output))
    expected = {order: statuses[kind] for order, kind in planted.items()}
    expected.update(dict.fromkeys(re.findall(r"planted: charge (\S+) for no order", output), "orphan_charge"))
    return expected


@pytest.mark.slow
def test_the_reconciliation_finds_exactly_the_planted_faults_with_their_amounts(spark, test_spark, tmp_path, shop):
    sent = subprocess.run(
        [BIN / "ecom-sample", "api", "--orders", str(ORDERS), "--seed", "5"],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ,
    )
    assert sent.returncode == 0, sent.stderr
    assert shop["stripe_key"] not in sent.stdout + sent.stderr
    planted = _planted(sent.stdout)
    assert sorted(planted.values()) == ["matched", "orphan_charge", "overpaid", "refund_mismatch", "unpaid"]

    lakehouse = Lakehouse(warehouse_root=str(tmp_path / "warehouse"))
    resources = {
        "spark": test_spark,
        "landing": LocalLandingZone(root=str(tmp_path / "landing")),
        "lakehouse": lakehouse,
        "quality": DataQualityPolicy(reconciliation_unmatched_threshold=1.0),
        "step_launcher": ResourceDefinition.none_resource(),
        "stripe": StripeApi(api_key=EnvVar("ECOM_STRIPE_API_KEY"), api_base=shop["stripe"], lookback_seconds=0),
        "shopify": ShopifyApi(
            shop_url=shop["shopify"], client_id="standin-client", client_secret=EnvVar("ECOM_SHOPIFY_CLIENT_SECRET")
        ),
        "dlt_runner": DagsterDltResource(),
    }
    result = materialize(API_SOURCE_ASSETS, resources=resources, instance=DagsterInstance.ephemeral())

    rows = {
        row["order_id"] or row["charge_ids"][0]: row for row in lakehouse.read(spark, PAYMENT_RECONCILIATION).collect()
    }
    orders = {row["id"]: row for row in lakehouse.read(spark, SHOPIFY_ORDERS).collect()}
    assert len(orders) == ORDERS
    expected = {**dict.fromkeys(orders, "matched"), **planted}
    assert {key: row["status"] for key, row in rows.items()} == expected

    refunds = {row["charge"]: row["amount"] for row in lakehouse.read(spark, STRIPE_REFUNDS).collect()}
    for key, status in expected.items():
        row = rows[key]
        if status == "unpaid":
            assert row["unmatched_amount"] == orders[key]["total_price"] and row["charge_ids"] == []
        elif status == "overpaid":
            assert row["unmatched_amount"] == Decimal("5.00") and len(row["charge_ids"]) == 2
        elif status == "refund_mismatch":
            assert row["unmatched_amount"] == refunds[row["charge_ids"][0]] == row["stripe_refunded"]
            assert row["shopify_refunded"] == 0
        elif status == "orphan_charge":
            assert (row["order_id"], row["unmatched_amount"]) == (None, Decimal("12.34"))
        else:
            assert row["unmatched_amount"] == 0 and row["captured"] - row["stripe_refunded"] == (
                row["order_total"] - row["shopify_refunded"]
            )
    assert any(row["stripe_refunded"] > 0 for key, row in rows.items() if expected[key] == "matched"), (
        "the planted refund made on both sides is matched"
    )

    verdicts = {
        e.check_name: (e.passed, e.severity)
        for e in result.get_asset_check_evaluations()
        if e.asset_key.path[-1] == PAYMENT_RECONCILIATION.table
    }
    assert verdicts == {
        "schema": (True, AssetCheckSeverity.ERROR),
        "every_charge_accounted": (True, AssetCheckSeverity.ERROR),
        "unmatched_within_threshold": (False, AssetCheckSeverity.WARN),
    }
    assert not tables_holding(spark, tmp_path / "warehouse", shop["stripe_key"])


def test_ecom_sample_api_without_the_secrets_says_which_it_needs_and_sends_nothing():
    secrets_unset = {
        name: value
        for name, value in os.environ.items()
        if name not in ("ECOM_STRIPE_API_KEY", "ECOM_SHOPIFY_CLIENT_SECRET")
    }
    sent = subprocess.run(
        [BIN / "ecom-sample", "api"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**secrets_unset, "ECOM_SHOPIFY_SHOP_URL": "http://127.0.0.1:9"},
    )
    assert sent.returncode == 1
    assert "set ECOM_STRIPE_API_KEY and ECOM_SHOPIFY_CLIENT_SECRET" in sent.stderr
