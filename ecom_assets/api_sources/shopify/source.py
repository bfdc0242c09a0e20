"""The Shopify source: orders with their line items, customers, products with their variants, and inventory levels,
pulled from the GraphQL Admin API by dlt.

Orders, customers and products are incremental on `updatedAt`: each list asks
`query: "updated_at:>='<cursor>'"` with `sortKey: UPDATED_AT` and follows cursors to the last
page; nested connections (an order's line items, a product's variants, a location's inventory
levels) are drained page by page, never truncated. Inventory levels are read whole every run (the
API filters a location's levels by no time) and only those whose `updatedAt` moved since the last
pull are landed (dlt's cursor, kept in its state). Requests are paced by the query cost Shopify
reports, and a `THROTTLED` answer (in the body, with HTTP 200) waits for the bucket to refill; 429 and
5xx answers retry with backoff.
"""

import time
from collections.abc import Iterator
from typing import Any

import dlt
from dlt.sources import DltResource

from ecom_assets.api_sources.http import ApiFailed, api_message, json_answer, retrying_client
from ecom_assets.api_sources.loads import landed_row
from resources.settings import SHOPIFY_API_VERSION

SOURCE_NAME = "shopify"
RESOURCES = ("orders", "customers", "products", "inventory_levels")
MAX_PAGES = 100_000
THROTTLE_WAITS = 20
"""THROTTLED answers waited out for one request before the load fails."""
EPOCH = "1970-01-01T00:00:00Z"

ORDER_FIELDS = """id name createdAt updatedAt processedAt cancelledAt test currencyCode displayFinancialStatus
  customer { id }
  totalPriceSet { shopMoney { amount currencyCode } }
  currentTotalPriceSet { shopMoney { amount currencyCode } }
  totalRefundedSet { shopMoney { amount currencyCode } }"""
VARIANT_FIELDS = "id sku price updatedAt inventoryItem { id }"
LINE_FIELDS = (
    "id sku title quantity currentQuantity variant { id } originalUnitPriceSet { shopMoney { amount currencyCode } }"
)
LISTS = {
    "orders": (
        "orders",
        f"{ORDER_FIELDS} lineItems(first: 20) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {LINE_FIELDS} }} }}",
        10,
    ),
    "customers": (
        "customers",
        "id firstName lastName email createdAt updatedAt numberOfOrders amountSpent { amount currencyCode }",
        50,
    ),
    "products": (
        "products",
        "id title handle status vendor productType createdAt updatedAt "
        f"variants(first: 25) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {VARIANT_FIELDS} }} }}",
        10,
    ),
}
"""Per incremental list: its QueryRoot field, the fields asked of each node, and the page size (kept under the
1,000-point cost limit with the nested page included)."""
NESTED = {
    "orders": ("order", "lineItems", 100, LINE_FIELDS),
    "products": ("product", "variants", 100, VARIANT_FIELDS),
}
"""Per list, the nested connection drained when its first page has more: root field, connection, page size, fields."""
LEVEL_FIELDS = 'id updatedAt item { id sku } quantities(names: ["available"]) { name quantity }'


class ShopifyGraphql:
    """The Admin API's GraphQL endpoint of one shop and API version, with a client-credentials token."""

    def __init__(self, shop_url: str, client_id: str, client_secret: str, api_version: str, attempts: int) -> None:
        self.client = retrying_client(attempts=attempts)
        self.endpoint = f"{shop_url.rstrip('/')}/admin/api/{api_version}/graphql.json"
        answer = self.client.post(
            f"{shop_url.rstrip('/')}/admin/oauth/access_token",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret},
            stream=True,
        )
        token = json_answer(answer, "Shopify POST /admin/oauth/access_token")
        if not isinstance(token, dict) or not isinstance(token.get("access_token"), str):
            raise ApiFailed("Shopify POST /admin/oauth/access_token: no access token in the answer")
        self.headers = {"X-Shopify-Access-Token": token["access_token"]}
        self.available: float | None = None
        self.restore_rate = 50.0
        self.last_cost = 0

    def ask(self, query: str, variables: dict, what: str) -> dict:
        """The query's `data`, paced by the reported cost; THROTTLED answers are waited out, other errors fail."""
        for _ in range(THROTTLE_WAITS):
            if self.available is not None and self.last_cost > self.available:
                time.sleep((self.last_cost - self.available) / self.restore_rate)
            response = self.client.post(
                self.endpoint, json={"query": query, "variables": variables}, headers=self.headers, stream=True
            )
            answer = json_answer(response, what)
            cost = (answer.get("extensions") or {}).get("cost") or {} if isinstance(answer, dict) else {}
            status = cost.get("throttleStatus") or {}
            if status:
                self.available = float(status.get("currentlyAvailable", 0))
                self.restore_rate = float(status.get("restoreRate") or 50.0)
                self.last_cost = int(cost.get("requestedQueryCost") or 0)
            errors = answer.get("errors") if isinstance(answer, dict) else None
            if errors and _code(errors) == "THROTTLED":
                continue
            if errors:
                raise ApiFailed(f"{what}: {api_message({'errors': errors})}")
            if not isinstance(answer.get("data"), dict):
                raise ApiFailed(f"{what}: the answer has no data")
            return answer["data"]
        raise ApiFailed(f"{what}: still THROTTLED after {THROTTLE_WAITS} waits")


def _code(errors: Any) -> str | None:
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return (errors[0].get("extensions") or {}).get("code")
    return None


def _connection(data: dict, field: str, what: str) -> dict:
    found = data.get(field) if isinstance(data, dict) else None
    if not isinstance(found, dict) or not isinstance(found.get("nodes"), list):
        raise ApiFailed(f"{what}: the answer has no {field} connection")
    return found


def pages(
    api: ShopifyGraphql, field: str, fields: str, size: int, search: str | None, sort_key: str | None = "UPDATED_AT"
) -> Iterator[list[dict]]:
    """Every page of a QueryRoot connection (by `sort_key`, with the search `query` when given), to the last."""
    order = f" sortKey: {sort_key}," if sort_key else ""
    query = (
        f"query Page($after: String, $search: String) {{ {field}(first: {size}, after: $after,{order}"
        f" query: $search) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {fields} }} }} }}"
    )
    after = None
    for _ in range(MAX_PAGES):
        page = _connection(
            api.ask(query, {"after": after, "search": search}, f"Shopify {field}"), field, f"Shopify {field}"
        )
        yield page["nodes"]
        info = page.get("pageInfo") or {}
        if not info.get("hasNextPage"):
            return
        if not info.get("endCursor") or info.get("endCursor") == after:
            raise ApiFailed(f"Shopify {field}: hasNextPage is set but there is no new cursor")
        after = info["endCursor"]
    raise ApiFailed(f"Shopify {field}: more than {MAX_PAGES} pages")


def drained(
    api: ShopifyGraphql, root_field: str, identifier: str, nested: str, size: int, fields: str, first: dict
) -> list:
    """All nodes of a node's nested connection: the first page as listed, then the rest page by page."""
    nodes = list(first.get("nodes") or [])
    info = first.get("pageInfo") or {}
    query = (
        f"query Nested($id: ID!, $after: String) {{ {root_field}(id: $id) {{ {nested}(first: {size}, after: $after)"
        f" {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {fields} }} }} }} }}"
    )
    what = f"Shopify {root_field} {nested}"
    for _ in range(MAX_PAGES):
        if not info.get("hasNextPage"):
            return nodes
        data = api.ask(query, {"id": identifier, "after": info.get("endCursor")}, what)
        page = _connection(data.get(root_field) or {}, nested, what)
        nodes.extend(page["nodes"])
        info = page.get("pageInfo") or {}
    raise ApiFailed(f"{what}: more than {MAX_PAGES} pages")


@dlt.source(name=SOURCE_NAME, max_table_nesting=0)
def shopify_source(
    shop_url: str = "",
    client_id: str = "",
    client_secret: str = "",
    api_version: str = SHOPIFY_API_VERSION,
    attempts: int = 6,
) -> list[DltResource]:
    """Shopify's orders, customers, products (incremental on `updatedAt`) and inventory levels (read whole, only
    the levels updated since the last pull landed)."""
    columns = {"id": {"data_type": "text"}, "updated_at": {"data_type": "text"}, "object": {"data_type": "json"}}
    api_holder: list[ShopifyGraphql] = []

    def api() -> ShopifyGraphql:
        if not api_holder:
            api_holder.append(ShopifyGraphql(shop_url, client_id, client_secret, api_version, attempts))
        return api_holder[0]

    def listed(name: str) -> DltResource:
        field, fields, size = LISTS[name]

        def rows(
            updated=dlt.sources.incremental(  # noqa: B008 - how dlt declares a cursor it keeps in its state
                "updated_at", initial_value=EPOCH, on_cursor_value_missing="include"
            ),
        ) -> Iterator[list[dict]]:
            search = f"updated_at:>='{updated.start_value}'" if updated.start_value != EPOCH else None
            for page in pages(api(), field, fields, size, search):
                if name in NESTED:
                    root_field, nested, nested_size, nested_fields = NESTED[name]
                    for node in page:
                        if (
                            isinstance(node, dict)
                            and isinstance(node.get(nested), dict)
                            and isinstance(node.get("id"), str)
                        ):
                            node[nested] = drained(
                                api(), root_field, node["id"], nested, nested_size, nested_fields, node[nested]
                            )
                yield [landed_row(node, "updated_at", "updatedAt", str) for node in page]

        return dlt.resource(rows, name=name, write_disposition="append", columns=columns)

    @dlt.resource(name="inventory_levels", write_disposition="append", columns=columns)
    def inventory_levels(
        updated=dlt.sources.incremental(  # noqa: B008 - dlt keeps the cursor and drops the levels not updated since
            "updated_at", initial_value=EPOCH, on_cursor_value_missing="include"
        ),
    ) -> Iterator[list[dict]]:
        for page in pages(api(), "locations", "id name", 50, None, sort_key=None):
            for location in page:
                first = {"pageInfo": {"hasNextPage": True, "endCursor": None}, "nodes": []}
                levels = drained(api(), "location", location["id"], "inventoryLevels", 100, LEVEL_FIELDS, first)
                yield [
                    landed_row(
                        {**level, "location": {"id": location["id"], "name": location.get("name")}},
                        "updated_at",
                        "updatedAt",
                        str,
                    )
                    for level in levels
                ]

    return [*(listed(name) for name in LISTS), inventory_levels]
