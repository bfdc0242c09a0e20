"""The Shopify stand-in answers as the Admin API does on what the Shopify source relies on: Shopify's own schema
(queries it rejects are rejected), client-credentials tokens, cursor pages that end, search filters and sort keys,
query cost in `extensions`, and THROTTLED answers in the body when the bucket runs dry."""

import time

import pytest
import requests

from ecom_assets.api_sources.standins.shopify_schema import API_VERSION
from ecom_assets.api_sources.standins.shopify_server import running_standin

ORDERS = 23


@pytest.fixture(scope="module")
def shopify():
    with running_standin("--orders", str(ORDERS), "--customers", "5", "--products", "4") as url:
        yield url


def _token(url: str, secret: str = "standin-secret") -> requests.Response:
    return requests.post(
        f"{url}/admin/oauth/access_token",
        data={"grant_type": "client_credentials", "client_id": "standin-client", "client_secret": secret},
    )


def _ask(url: str, query: str, variables: dict | None = None, version: str = API_VERSION) -> requests.Response:
    headers = {"X-Shopify-Access-Token": _token(url).json()["access_token"]}
    return requests.post(
        f"{url}/admin/api/{version}/graphql.json", json={"query": query, "variables": variables or {}}, headers=headers
    )


PAGE = """query Orders($after: String, $search: String) {
  orders(first: 5, after: $after, sortKey: UPDATED_AT, query: $search) {
    pageInfo { hasNextPage endCursor }
    nodes { id name updatedAt lineItems(first: 1) { pageInfo { hasNextPage endCursor } nodes { id quantity } } }
  }
}"""
LINES = """query Lines($id: ID!, $after: String) {
  order(id: $id) { lineItems(first: 1, after: $after) { pageInfo { hasNextPage endCursor } nodes { id quantity } } }
}"""


def _all_orders(url: str, search: str | None = None) -> list[dict]:
    orders, after = [], None
    while True:
        page = _ask(url, PAGE, {"after": after, "search": search}).json()["data"]["orders"]
        orders.extend(page["nodes"])
        if not page["pageInfo"]["hasNextPage"]:
            return orders
        after = page["pageInfo"]["endCursor"]


def test_only_a_client_credentials_token_opens_the_api_and_only_the_served_version(shopify):
    assert _token(shopify, secret="wrong").status_code == 401
    anonymous = requests.post(
        f"{shopify}/admin/api/{API_VERSION}/graphql.json", json={"query": "{ orders(first: 1) { nodes { id } } }"}
    )
    assert anonymous.status_code == 401
    assert _ask(shopify, "{ orders(first: 1) { nodes { id } } }", version="2023-01").status_code == 404


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("{ orders(first: 1) { nodes { nope } } }", "Cannot query field 'nope' on type 'Order'"),
        ("{ orders(first: 1) { nodes { lineItems { nodes { id } } } } }", None),  # connections need first or last
        ('{ orders(first: "ten") { nodes { id } } }', "Int cannot represent non-integer value"),
        ("{ order { id } }", "argument 'id' of type 'ID!' is required"),
    ],
)
def test_queries_the_real_schema_rejects_are_rejected(shopify, query, message):
    errors = _ask(shopify, query).json()["errors"]
    assert errors
    if message:
        assert message in errors[0]["message"]
    else:
        assert errors[0]["message"] == "you must provide one of first or last"


def test_cursor_pages_end_hold_every_order_once_in_update_order_and_nested_lines_drain(shopify):
    orders = _all_orders(shopify)
    assert len(orders) == ORDERS and len({order["id"] for order in orders}) == ORDERS
    assert [order["updatedAt"] for order in orders] == sorted(order["updatedAt"] for order in orders)
    assert all(order["id"].startswith("gid://shopify/Order/") for order in orders)
    many = next(order for order in orders if order["lineItems"]["pageInfo"]["hasNextPage"])
    lines, after = list(many["lineItems"]["nodes"]), many["lineItems"]["pageInfo"]["endCursor"]
    while after:
        page = _ask(shopify, LINES, {"id": many["id"], "after": after}).json()["data"]["order"]["lineItems"]
        lines.extend(page["nodes"])
        after = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
    assert len(lines) == len({line["id"] for line in lines}) >= 2


def test_an_updated_at_search_returns_what_changed_since(shopify):
    orders = _all_orders(shopify)
    since = orders[-1]["updatedAt"]
    assert [order["id"] for order in _all_orders(shopify, f"updated_at:>='{since}'")] == [orders[-1]["id"]]
    changed = requests.post(f"{shopify}/_config/update", json={"type": "Order", "number": 3, "fields": {"note": "x"}})
    newer = _all_orders(shopify, f"updated_at:>'{since}'")
    assert [order["id"] for order in newer] == [changed.json()]


def test_the_cost_is_reported_and_a_dry_bucket_answers_throttled_in_the_body(shopify):
    query = "{ orders(first: 10) { nodes { id lineItems(first: 5) { nodes { id } } } } }"
    answer = _ask(shopify, query).json()
    assert answer["extensions"]["cost"]["requestedQueryCost"] == 2 + 10 * (1 + 2 + 5 * 1)
    too_big = _ask(shopify, "{ orders(first: 250) { nodes { lineItems(first: 250) { nodes { id } } } } }").json()
    assert too_big["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    requests.post(f"{shopify}/_config/throttle", json={"maximum": 100, "restore_rate": 50}).raise_for_status()
    try:
        assert "data" in _ask(shopify, query).json()
        throttled = _ask(shopify, query)
        assert throttled.status_code == 200
        assert throttled.json()["errors"][0]["extensions"]["code"] == "THROTTLED"
        assert throttled.json()["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] < 82
        time.sleep(1.5)
        assert "data" in _ask(shopify, query).json(), "the bucket refills at its restore rate"
    finally:
        requests.post(f"{shopify}/_config/throttle", json={"maximum": 2000, "restore_rate": 100}).raise_for_status()
