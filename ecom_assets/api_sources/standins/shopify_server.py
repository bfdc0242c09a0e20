"""A Shopify Admin API stand-in for tests and the demo: Shopify's own GraphQL schema, executable, over a seeded store.

Shopify publishes no Admin API mock. This one builds the schema from Shopify's introspection
(`shopify_schema`) with graphql-core, so a query the real schema rejects is rejected here too,
and serves a seeded store: customers, products with variants, locations with inventory levels,
orders with line items, all with `gid://shopify/...` ids. As the real API it has:

- client-credentials authentication (`POST /admin/oauth/access_token`), then
  `X-Shopify-Access-Token` on `POST /admin/api/<version>/graphql.json` (only the served version);
- connections with `first`/`last` (at most 250), opaque cursors, `pageInfo`, `reverse`,
  `sortKey` (`ID`, `CREATED_AT`, `UPDATED_AT`) and `query` filters on `created_at`/`updated_at`
  (`updated_at:>='2026-01-01T00:00:00Z'`);
- a query cost in `extensions.cost` (2 per connection plus `first` times its node's cost, 1 per
  object, scalars free; the actual cost counts the nodes returned, and the difference is given
  back to the bucket after the query), a leaky bucket (2,000 points, 100 restored per second,
  Shopify's standard plan), and `THROTTLED` errors in the body with HTTP 200 when a query costs more than is left.

Mutations create what the sample job sends (`customerCreate`, `productCreate`,
`productVariantsBulkCreate`, `orderCreate`, `refundCreate`), each costing 10 points as on Shopify.

`POST /_config/throttle {"maximum": 50, "restore_rate": 10}` shrinks the bucket; `POST /_config/update
{"type": "Order", "number": 3, "fields": {...}}` changes an object and stamps its `updatedAt`.

    python -m ecom_assets.api_sources.standins.shopify_server --port 8421 --orders 200
"""

import argparse
import base64
import json
import random
import re
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from aiohttp import web
from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    build_client_schema,
    execute,
    get_named_type,
    is_leaf_type,
    parse,
    validate,
)
from graphql.language import OperationDefinitionNode
from graphql.utilities import value_from_ast_untyped

from ecom_assets.api_sources.standins import running_server
from ecom_assets.api_sources.standins.shopify_schema import API_VERSION, introspection

MAX_PAGE = 250
MAX_QUERY_COST = 1000
MUTATION_COST = 10
"""What Shopify charges for each mutation of a request, beyond its payload's objects."""
_SEARCH_TERM = re.compile(r"^(created_at|updated_at):(>=|<=|>|<)?'?([0-9TZ:.+-]+)'?$")


def gid(kind: str, number: int) -> str:
    """A Shopify global id."""
    return f"gid://shopify/{kind}/{number}"


def iso(moment: datetime) -> str:
    """A DateTime as Shopify writes it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def money(amount: Decimal, currency: str) -> dict:
    """A MoneyBag (shop and presentment money alike)."""
    value = {"amount": str(amount), "currencyCode": currency}
    return {"shopMoney": value, "presentmentMoney": value}


def stored_order(
    number: int,
    lines: list[tuple[str | None, str, str | None, int, Decimal]],
    currency: str,
    customer_id: str | None,
    financial_status: str,
    created: str,
    processed: str,
) -> dict:
    """An order as the store keeps it, from its lines (SKU, title, variant id, quantity, unit price): line items
    with ids, totals, nothing refunded."""
    items = [
        {
            "id": gid("LineItem", number * 100 + index),
            "sku": sku,
            "title": title,
            "quantity": quantity,
            "currentQuantity": quantity,
            "variant": {"id": variant} if variant else None,
            "originalUnitPriceSet": money(price, currency),
        }
        for index, (sku, title, variant, quantity, price) in enumerate(lines)
    ]
    total = sum((price * quantity for _, _, _, quantity, price in lines), Decimal("0.00"))
    return {
        "number": number,
        "id": gid("Order", number),
        "name": f"#{1000 + number}",
        "createdAt": created,
        "processedAt": processed,
        "updatedAt": created,
        "cancelledAt": None,
        "test": False,
        "currencyCode": currency,
        "displayFinancialStatus": financial_status,
        "customer": {"id": customer_id} if customer_id else None,
        "totalPriceSet": money(total, currency),
        "currentTotalPriceSet": money(total, currency),
        "totalRefundedSet": money(Decimal("0.00"), currency),
        "lineItems": items,
    }


class Store:
    """The seeded shop: objects by type, each a dict of the schema's field names."""

    def __init__(
        self, customers: int, products: int, orders: int, seed: int, start: datetime, max_lines: int = 5
    ) -> None:
        rng = random.Random(seed)
        self.lock = threading.Lock()
        self.objects: dict[str, list[dict]] = {"Customer": [], "Product": [], "Order": [], "Location": []}
        self.refunds = 0
        moment = start
        for number in range(1, customers + 1):
            moment += timedelta(seconds=rng.randint(1, 600))
            self.objects["Customer"].append(
                {
                    "number": number,
                    "id": gid("Customer", number),
                    "firstName": f"First{number}",
                    "lastName": f"Last{number}",
                    "email": f"customer{number}@example.com",
                    "createdAt": iso(moment),
                    "updatedAt": iso(moment),
                    "numberOfOrders": "0",
                    "amountSpent": {"amount": "0.00", "currencyCode": "GBP"},
                }
            )
        variants = []
        for number in range(1, products + 1):
            moment += timedelta(seconds=rng.randint(1, 600))
            product_variants = []
            for index in range(rng.randint(1, 3)):
                variant_number = len(variants) + 1
                variant = {
                    "id": gid("ProductVariant", variant_number),
                    "sku": f"SKU-{number}-{index}",
                    "price": str(Decimal(rng.randint(100, 9999)) / 100),
                    "updatedAt": iso(moment),
                    "inventoryItem": {"id": gid("InventoryItem", variant_number), "sku": f"SKU-{number}-{index}"},
                }
                variants.append(variant)
                product_variants.append(variant)
            self.objects["Product"].append(
                {
                    "number": number,
                    "id": gid("Product", number),
                    "title": f"Product {number}",
                    "handle": f"product-{number}",
                    "status": "ACTIVE",
                    "vendor": "Acme",
                    "productType": rng.choice(["Mugs", "Lamps", "Bags"]),
                    "createdAt": iso(moment),
                    "updatedAt": iso(moment),
                    "variants": product_variants,
                }
            )
        for number, name in ((1, "Warehouse"), (2, "Shop floor")):
            levels = [
                {
                    "id": f"{gid('InventoryLevel', number * 100000 + index)}?inventory_item_id={index}",
                    "updatedAt": iso(moment),
                    "item": variant["inventoryItem"],
                    "location": {"id": gid("Location", number), "name": name},
                    "quantities": [{"id": f"q{number}-{index}", "name": "available", "quantity": rng.randint(0, 50)}],
                }
                for index, variant in enumerate(variants, start=1)
            ]
            self.objects["Location"].append(
                {"number": number, "id": gid("Location", number), "name": name, "inventoryLevels": levels}
            )
        for number in range(1, orders + 1):
            moment += timedelta(seconds=rng.randint(1, 600))
            customer = rng.choice(self.objects["Customer"]) if customers else None
            lines = []
            for _ in range(rng.randint(1, max_lines)):
                variant = rng.choice(variants)
                lines.append(
                    (variant["sku"], variant["sku"], variant["id"], rng.randint(1, 4), Decimal(variant["price"]))
                )
            self.objects["Order"].append(
                stored_order(
                    number, lines, "GBP", customer["id"] if customer else None, "PAID", iso(moment), iso(moment)
                )
            )

    def update(self, kind: str, number: int, fields: dict) -> dict:
        """Change an object's fields and stamp its `updatedAt` now."""
        with self.lock:
            [found] = [item for item in self.objects[kind] if item["number"] == number]
            found.update(fields, updatedAt=iso(datetime.now(UTC)))
            return found

    def add(self, kind: str, fields: dict) -> dict:
        """A new object of `kind` with the next number, created and updated now."""
        with self.lock:
            number = len(self.objects[kind]) + 1
            now = iso(datetime.now(UTC))
            created = {"number": number, "id": gid(kind, number), "createdAt": now, "updatedAt": now, **fields}
            self.objects[kind].append(created)
            return created

    def find(self, identifier: str) -> dict | None:
        """The object with the gid `identifier` (variants too), or None."""
        kind = identifier.removeprefix("gid://shopify/").split("/")[0]
        with self.lock:
            if kind == "ProductVariant":
                items = [variant for product in self.objects["Product"] for variant in product["variants"]]
            else:
                items = self.objects.get(kind, [])
            return next((item for item in items if item["id"] == identifier), None)


def _cursor(item: dict, sort_key: str) -> str:
    return base64.b64encode(json.dumps([_sort_value(item, sort_key), item["id"]]).encode()).decode()


def _sort_value(item: dict, sort_key: str):
    if sort_key == "UPDATED_AT":
        return item.get("updatedAt", "")
    if sort_key == "CREATED_AT":
        return item.get("createdAt", "")
    return int(item["id"].rsplit("/", 1)[-1].split("?")[0])


def _matches(item: dict, query: str | None) -> bool:
    """Whether the item passes the search `query` (terms on created_at/updated_at, ANDed)."""
    if not query:
        return True
    for term in (part for part in re.split(r"\s+(?:AND\s+)?", query.strip()) if part):
        match = _SEARCH_TERM.match(term)
        if not match:
            raise GraphQLError(f"Unsupported search term in the stand-in: {term[:80]}")
        field, operator, value = match.groups()
        stamp = item.get("updatedAt" if field == "updated_at" else "createdAt", "")
        bound = iso(datetime.fromisoformat(value.replace("Z", "+00:00")))
        passed = {
            None: stamp[:10] == bound[:10],
            ">": stamp > bound,
            ">=": stamp >= bound,
            "<": stamp < bound,
            "<=": stamp <= bound,
        }[operator]
        if not passed:
            return False
    return True


def connection(items: list[dict], args: dict, sortable: bool = True) -> dict:
    """A connection over `items` as Shopify pages it: filtered, sorted, after/before a cursor, first/last."""
    first, last = args.get("first"), args.get("last")
    if (first is None) == (last is None):
        raise GraphQLError("you must provide one of first or last")
    size = first if first is not None else last
    if size < 0 or size > MAX_PAGE:
        raise GraphQLError(f"The value of first or last must be within 0-{MAX_PAGE}")
    sort_key = args.get("sortKey") or "ID" if sortable else "ID"
    chosen = sorted(
        (item for item in items if _matches(item, args.get("query"))),
        key=lambda item: (_sort_value(item, sort_key), _sort_value(item, "ID")),
        reverse=bool(args.get("reverse")),
    )
    keys = [_cursor(item, sort_key) for item in chosen]
    start, end = 0, len(chosen)
    if args.get("after") in keys:
        start = keys.index(args["after"]) + 1
    elif args.get("after"):
        raise GraphQLError("Invalid cursor for the after argument")
    if args.get("before") in keys:
        end = keys.index(args["before"])
    window = list(range(start, end))
    page = window[:size] if first is not None else window[-size:] if size else []
    nodes = [chosen[index] for index in page]
    return {
        "edges": [{"cursor": keys[index], "node": chosen[index]} for index in page],
        "nodes": nodes,
        "pageInfo": {
            "hasNextPage": bool(page) and page[-1] < end - 1,
            "hasPreviousPage": bool(page) and page[0] > start,
            "startCursor": keys[page[0]] if page else None,
            "endCursor": keys[page[-1]] if page else None,
        },
    }


def _with_connections(item: dict) -> dict:
    """The object as the executor sees it: its nested lists served as connections."""
    served = dict(item)
    for name in ("lineItems", "variants", "inventoryLevels"):
        if name in item:
            served[name] = lambda info, _items=item[name], **args: connection(
                [_with_connections(child) for child in _items], args, sortable=False
            )
    return served


class Root:
    """The QueryRoot's fields over the store, and the mutations that fill it (customers, products with variants,
    orders, refunds), each answering with its payload and `userErrors` as Shopify does."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _listed(self, kind: str, args: dict) -> dict:
        with self.store.lock:
            items = [_with_connections(item) for item in self.store.objects[kind]]
        return connection(items, args)

    def orders(self, info, **args):  # noqa: D102 - the schema documents the fields
        return self._listed("Order", args)

    def _one(self, kind: str, identifier: str):
        with self.store.lock:
            found = [item for item in self.store.objects[kind] if item["id"] == identifier]
        return _with_connections(found[0]) if found else None

    def order(self, info, id):  # noqa: A002, D102 - the schema's argument name
        return self._one("Order", id)

    def product(self, info, id):  # noqa: A002, D102
        return self._one("Product", id)

    def location(self, info, id=None):  # noqa: A002, D102
        return self._one("Location", id)

    def customers(self, info, **args):  # noqa: D102
        return self._listed("Customer", args)

    def products(self, info, **args):  # noqa: D102
        return self._listed("Product", args)

    def locations(self, info, **args):  # noqa: D102
        return self._listed("Location", args)

    def customerCreate(self, info, input):  # noqa: A002, D102, N802 - the schema's names
        fields = {name: input.get(name) for name in ("firstName", "lastName", "email")}
        customer = self.store.add(
            "Customer", {**fields, "numberOfOrders": "0", "amountSpent": {"amount": "0.00", "currencyCode": "GBP"}}
        )
        return {"customer": customer, "userErrors": []}

    def productCreate(self, info, product=None, **_):  # noqa: D102, N802
        product = product or {}
        fields = {name: product.get(name) for name in ("title", "vendor", "productType")}
        created = self.store.add(
            "Product", {**fields, "handle": product.get("handle") or "", "status": "ACTIVE", "variants": []}
        )
        return {"product": _with_connections(created), "userErrors": []}

    def productVariantsBulkCreate(self, info, productId, variants, **_):  # noqa: N802, N803, D102
        product = self.store.find(productId)
        if product is None:
            return {"product": None, "productVariants": None, "userErrors": [_user_error("productId", "not found")]}
        created = []
        with self.store.lock:
            for asked in variants:
                number = sum(len(item["variants"]) for item in self.store.objects["Product"]) + 1
                sku = (asked.get("inventoryItem") or {}).get("sku") or ""
                variant = {
                    "id": gid("ProductVariant", number),
                    "sku": sku,
                    "price": str(asked.get("price") or "0.00"),
                    "updatedAt": iso(datetime.now(UTC)),
                    "inventoryItem": {"id": gid("InventoryItem", number), "sku": sku},
                }
                product["variants"].append(variant)
                created.append(variant)
            product["updatedAt"] = iso(datetime.now(UTC))
        return {"product": _with_connections(product), "productVariants": created, "userErrors": []}

    def orderCreate(self, info, order, options=None):  # noqa: D102, N802
        currency = order.get("currency") or "GBP"
        lines = []
        for index, asked in enumerate(order.get("lineItems") or []):
            variant = self.store.find(asked["variantId"]) if asked.get("variantId") else None
            given = ((asked.get("priceSet") or {}).get("shopMoney") or {}).get("amount")
            if variant is None and given is None:
                return {"order": None, "userErrors": [_user_error(f"lineItems.{index}", "has no variant or price")]}
            sku = variant["sku"] if variant else asked.get("sku")
            price = Decimal(str(given if given is not None else variant["price"]))
            lines.append((sku, asked.get("title") or sku or "", variant and variant["id"], asked["quantity"], price))
        now = iso(datetime.now(UTC))
        with self.store.lock:
            number = len(self.store.objects["Order"]) + 1
            created = stored_order(
                number,
                lines,
                currency,
                order.get("customerId"),
                order.get("financialStatus") or "PENDING",
                now,
                order.get("processedAt") or now,
            )
            created["test"] = bool(order.get("test"))
            self.store.objects["Order"].append(created)
        return {"order": _with_connections(created), "userErrors": []}

    def refundCreate(self, info, input):  # noqa: A002, D102, N802
        order = self.store.find(input["orderId"])
        if order is None:
            return {"refund": None, "order": None, "userErrors": [_user_error("orderId", "not found")]}
        amount = sum((Decimal(str(t["amount"])) for t in input.get("transactions") or [] if t["kind"] == "REFUND"),
                     Decimal("0.00"))  # fmt: skip
        currency = order["currencyCode"]
        with self.store.lock:
            refunded = Decimal(order["totalRefundedSet"]["shopMoney"]["amount"]) + amount
            total = Decimal(order["totalPriceSet"]["shopMoney"]["amount"])
            if refunded > total and not input.get("allowOverRefunding"):
                return {"refund": None, "order": None, "userErrors": [_user_error("transactions", "over refunds")]}
            order["totalRefundedSet"] = money(refunded, currency)
            order["displayFinancialStatus"] = "REFUNDED" if refunded == total else "PARTIALLY_REFUNDED"
            order["updatedAt"] = iso(datetime.now(UTC))
            self.store.refunds += 1
            refund = {"id": gid("Refund", self.store.refunds), "totalRefundedSet": money(amount, currency)}
        return {"refund": refund, "order": _with_connections(order), "userErrors": []}


def _user_error(field: str, message: str) -> dict:
    return {"field": field.split("."), "message": message}


def query_cost(schema, document, variables: dict, data: dict | None = None) -> int:
    """The cost of the document's operation, as Shopify counts it (see the module): requested (each connection
    counted at its `first`/`last`) without `data`, actual (each connection at the nodes it returned) with it."""
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if hasattr(definition, "type_condition")
    }
    operation = next(
        definition for definition in document.definitions if isinstance(definition, OperationDefinitionNode)
    )

    def argument(node: FieldNode, name: str):
        for argument_node in node.arguments or ():
            if argument_node.name.value == name:
                return value_from_ast_untyped(argument_node.value, variables)
        return None

    def fields_of(selection_set) -> Iterator[FieldNode]:
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FragmentSpreadNode):
                yield from fields_of(fragments[selection.name.value].selection_set)
            elif isinstance(selection, InlineFragmentNode):
                yield from fields_of(selection.selection_set)
            elif isinstance(selection, FieldNode) and not selection.name.value.startswith("__"):
                yield selection

    def cost(selection_set, parent, value, requested: bool) -> int:
        total = 0
        for selection in fields_of(selection_set):
            named = get_named_type(parent.fields[selection.name.value].type)
            if is_leaf_type(named):
                continue
            key = selection.alias.value if selection.alias else selection.name.value
            found = value.get(key) if isinstance(value, dict) else None
            items = found if isinstance(found, list) else [found]
            if named.name.endswith("Connection"):
                if requested:
                    size = argument(selection, "first") or argument(selection, "last") or 0
                    total += 2 + size * cost(selection.selection_set, named, None, True)
                else:
                    total += sum(2 + cost(selection.selection_set, named, item, False) for item in items if item)
            elif named.name.endswith("Edge") or selection.name.value == "pageInfo":
                total += (
                    cost(selection.selection_set, named, found, requested)
                    if requested
                    else sum(cost(selection.selection_set, named, item, False) for item in items if item)
                )
            elif requested:
                total += 1 + cost(selection.selection_set, named, None, True)
            else:
                total += sum(1 + cost(selection.selection_set, named, item, False) for item in items if item)
        return total

    if operation.operation.value == "mutation":
        payloads = cost(operation.selection_set, schema.mutation_type, data, data is None)
        return payloads + MUTATION_COST * sum(1 for _ in fields_of(operation.selection_set))
    return cost(operation.selection_set, schema.query_type, data, data is None)


class Bucket:
    """Shopify's leaky bucket of query points."""

    def __init__(self, maximum: float = 2000.0, restore_rate: float = 100.0) -> None:
        self.maximum, self.restore_rate = maximum, restore_rate
        self.available, self.stamp = maximum, time.monotonic()
        self.lock = threading.Lock()

    def take(self, cost: int) -> bool:
        """Spend `cost` points if that many are left."""
        with self.lock:
            now = time.monotonic()
            self.available = min(self.maximum, self.available + (now - self.stamp) * self.restore_rate)
            self.stamp = now
            if cost > self.available:
                return False
            self.available -= cost
            return True

    def refund(self, points: int) -> None:
        """Give back what a query was charged beyond its actual cost."""
        with self.lock:
            self.available = min(self.maximum, self.available + points)

    def status(self) -> dict:
        """The throttle status Shopify reports."""
        return {
            "maximumAvailable": self.maximum,
            "currentlyAvailable": int(self.available),
            "restoreRate": self.restore_rate,
        }


def stand_in_app(store: Store, client_id: str, client_secret: str) -> web.Application:
    """The stand-in's web application."""
    schema = build_client_schema(introspection())
    tokens: set[str] = set()
    bucket = {"current": Bucket()}
    root = Root(store)

    async def access_token(request: web.Request) -> web.Response:
        asked = await request.post() if request.content_type != "application/json" else await request.json()
        if asked.get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        if asked.get("client_id") != client_id or asked.get("client_secret") != client_secret:
            return web.json_response({"error": "invalid_client"}, status=401)
        token = f"shpat_{random.SystemRandom().getrandbits(128):032x}"
        tokens.add(token)
        return web.json_response({"access_token": token, "scope": "read_orders,read_customers", "expires_in": 86399})

    async def graphql(request: web.Request) -> web.Response:
        if request.match_info["version"] != API_VERSION:
            return web.json_response({"errors": "Not Found"}, status=404)
        if request.headers.get("X-Shopify-Access-Token") not in tokens:
            return web.json_response(
                {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}, status=401
            )
        body = await request.json()
        variables = body.get("variables") or {}
        try:
            document = parse(body.get("query") or "")
        except GraphQLError as error:
            return web.json_response({"errors": [error.formatted]})
        problems = validate(schema, document)
        if problems:
            return web.json_response({"errors": [problem.formatted for problem in problems]})
        cost = query_cost(schema, document, variables)
        current = bucket["current"]
        extensions = {"cost": {"requestedQueryCost": cost, "actualQueryCost": None, "throttleStatus": current.status()}}
        if cost > MAX_QUERY_COST:
            error = {
                "message": f"Query cost is {cost}, which exceeds the single query max cost limit ({MAX_QUERY_COST}).",
                "extensions": {"code": "MAX_COST_EXCEEDED", "cost": cost, "maxCost": MAX_QUERY_COST},
            }
            return web.json_response({"errors": [error], "extensions": extensions})
        if not current.take(cost):
            extensions["cost"]["throttleStatus"] = current.status()
            return web.json_response(
                {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}], "extensions": extensions}
            )
        result = execute(schema, document, root_value=root, variable_values=variables)
        actual = query_cost(schema, document, variables, result.data or {})
        current.refund(max(cost - actual, 0))
        extensions["cost"].update(actualQueryCost=actual, throttleStatus=current.status())
        answer = {"data": result.data, "extensions": extensions}
        if result.errors:
            answer["errors"] = [error.formatted for error in result.errors]
        return web.json_response(answer)

    async def throttle(request: web.Request) -> web.Response:
        asked = await request.json()
        bucket["current"] = Bucket(float(asked["maximum"]), float(asked["restore_rate"]))
        return web.Response()

    async def update(request: web.Request) -> web.Response:
        asked = await request.json()
        return web.json_response(
            store.update(asked["type"], int(asked["number"]), asked.get("fields", {}))["id"], dumps=json.dumps
        )

    app = web.Application()
    app.router.add_post("/admin/oauth/access_token", access_token)
    app.router.add_post("/admin/api/{version}/graphql.json", graphql)
    app.router.add_post("/_config/throttle", throttle)
    app.router.add_post("/_config/update", update)
    return app


def running_standin(*arguments: str) -> AbstractContextManager[str]:
    """The stand-in in its own process on a free loopback port (`arguments` as on the command line); yields its base
    URL and stops it afterwards."""
    return running_server(__name__, *arguments)


def main() -> None:
    """Serve the stand-in on 127.0.0.1 at `--port` until stopped."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8421)
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument("--products", type=int, default=20)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-lines", type=int, default=5, help="the most line items an order gets")
    parser.add_argument("--start", default="2026-11-01T00:00:00+00:00", help="when the seeded history begins")
    parser.add_argument("--client-id", default="standin-client")
    parser.add_argument("--client-secret", default="standin-secret")
    args = parser.parse_args()
    start = datetime.fromisoformat(args.start)
    store = Store(args.customers, args.products, args.orders, args.seed, start, args.max_lines)
    app = stand_in_app(store, args.client_id, args.client_secret)
    web.run_app(app, host="127.0.0.1", port=args.port, print=lambda text: print(text, flush=True))


if __name__ == "__main__":
    main()
