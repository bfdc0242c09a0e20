"""Shopify's transforms on tiny bronze frames: which nodes are usable, what an unusable one's error row says, and
the silver rows of the ones that are."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ecom_assets.api_sources.bronze import BRONZE_SCHEMA
from ecom_assets.api_sources.shopify.transforms import (
    customer_rows,
    error_rows,
    inventory_level_rows,
    latest_nodes,
    typed_nodes,
    variant_rows,
)

UPDATED = "2026-11-02T10:00:00Z"


def _bronze(spark, resource: str, *nodes):
    rows = [
        ("1764", resource, f"line{index}", None, json.dumps({"object": node}), "f.jsonl.gz", datetime(2026, 11, 3))
        for index, node in enumerate(nodes)
    ]
    return spark.createDataFrame(rows, BRONZE_SCHEMA)


def _problems(spark, resource: str, *nodes) -> dict[str, str]:
    typed = typed_nodes(_bronze(spark, resource, *nodes), resource)
    errors = error_rows(typed, resource=resource, asset="t", step="s", occurred_at=datetime.now(UTC)).collect()
    return {row["error_message"]: row["error_type"] for row in errors}


def test_customers_keep_their_spend_exactly_and_a_customer_without_an_id_or_time_is_an_error_row(spark):
    good = {"id": "gid://shopify/Customer/1", "updatedAt": UPDATED, "email": "a@example.com",
            "numberOfOrders": "3", "amountSpent": {"amount": "10.105", "currencyCode": "GBP"}}  # fmt: skip
    assert _problems(
        spark, "customers", good, {"email": "x@example.com", "updatedAt": UPDATED}, {"id": good["id"]}
    ) == {
        "shopify customers (no valid id): the node has no valid gid": "invalid_id",
        "shopify customers gid://shopify/Customer/1: `updatedAt` is missing or not an instant": "invalid_updated_at",
    }
    [row] = customer_rows(latest_nodes(typed_nodes(_bronze(spark, "customers", good), "customers"))).collect()
    assert (row["number_of_orders"], row["amount_spent"], row["currency"]) == (3, Decimal("10.105"), "GBP")


def test_a_product_with_an_unreadable_variant_price_is_rejected_whole_and_good_variants_list_their_items(spark):
    variant = {"id": "gid://shopify/ProductVariant/7", "sku": "MUG-1", "price": "4.50", "updatedAt": UPDATED,
               "inventoryItem": {"id": "gid://shopify/InventoryItem/7"}}  # fmt: skip
    good = {"id": "gid://shopify/Product/1", "updatedAt": UPDATED, "variants": [variant]}
    bad = {"id": "gid://shopify/Product/2", "updatedAt": UPDATED, "variants": [{**variant, "price": "4,50"}]}
    assert _problems(spark, "products", good, bad) == {
        "shopify products gid://shopify/Product/2: a variant has no valid id or price": "invalid_variant"
    }
    typed = typed_nodes(_bronze(spark, "products", good, bad), "products")
    [row] = variant_rows(latest_nodes(typed)).collect()
    assert (row["product_id"], row["sku"], row["price"], row["inventory_item_id"]) == (
        "gid://shopify/Product/1", "MUG-1", Decimal("4.500"), "gid://shopify/InventoryItem/7",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("quantities", "available"),
    [([{"name": "available", "quantity": 12}], 12), ([{"name": "on_hand", "quantity": 5}], None)],
)
def test_an_inventory_level_needs_a_whole_available_quantity(spark, quantities, available):
    level = {"id": "gid://shopify/InventoryLevel/100001?inventory_item_id=1", "updatedAt": UPDATED,
             "item": {"id": "gid://shopify/InventoryItem/1", "sku": "MUG-1"}, "quantities": quantities,
             "location": {"id": "gid://shopify/Location/1", "name": "Warehouse"}}  # fmt: skip
    problems = _problems(spark, "inventory_levels", level)
    if available is None:
        assert list(problems.values()) == ["invalid_quantity"]
    else:
        assert problems == {}
        [row] = inventory_level_rows(
            latest_nodes(typed_nodes(_bronze(spark, "inventory_levels", level), "inventory_levels"))
        ).collect()
        assert (row["available"], row["location_name"], row["sku"]) == (12, "Warehouse", "MUG-1")


def test_an_order_whose_refund_total_is_unreadable_is_an_error_row(spark):
    order = {"id": "gid://shopify/Order/1", "updatedAt": UPDATED, "currencyCode": "GBP",
             "totalPriceSet": {"shopMoney": {"amount": "10.00"}},
             "totalRefundedSet": {"shopMoney": {"amount": "ten"}}, "lineItems": []}  # fmt: skip
    assert _problems(spark, "orders", order) == {
        "shopify orders gid://shopify/Order/1: `totalRefundedSet` is not a decimal": "invalid_amount"
    }
