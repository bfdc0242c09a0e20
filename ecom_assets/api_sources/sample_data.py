"""Synthetic data sent through the APIs, as the shop's own systems send it: products, customers and orders created
in Shopify through its Admin API, their payments and refunds in Stripe through Stripe's official client, with
planted faults the reconciliation must find."""

import random
from dataclasses import dataclass, field
from decimal import Decimal

import stripe

from ecom_assets.api_sources.shopify.source import ShopifyGraphql

CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}
CURRENCY = "GBP"
PLANTED = {
    "unpaid": "never paid",
    "refunded": "refunded in part, in Stripe and Shopify alike",
    "refund_mismatch": "refunded in part, in Stripe only",
    "overpaid": "paid in full, then charged 5.00 more",
}
"""What the first orders of a sample get, in this order, and how it reads (every later order is paid in full); an
orphan charge (paying for no order) is made besides."""


class StripeShop:
    """Creates customers, payments and refunds in a Stripe account (the stand-in at `api_base`)."""

    def __init__(self, api_base: str, api_key: str) -> None:
        self.client = stripe.StripeClient(api_key, base_addresses={"api": api_base}, max_network_retries=0)

    def customer(self, email: str, name: str) -> str:
        """A new customer's id."""
        return self.client.v1.customers.create(params={"email": email, "name": name}).id

    def payment(self, customer: str, amount: int, currency: str, order_id: str) -> tuple[str, str]:
        """A confirmed card payment of `amount` minor units for an order: its payment intent's and charge's ids."""
        method = self.client.v1.payment_methods.create(params={"type": "card", "card": CARD})
        intent = self.client.v1.payment_intents.create(
            params={
                "amount": amount,
                "currency": currency,
                "customer": customer,
                "payment_method": method.id,
                "confirm": True,
                "metadata": {"order_id": order_id},
            }
        )
        charge = intent.latest_charge  # an id, or the charge itself where the server expands it
        return intent.id, charge if isinstance(charge, str) else charge.id

    def charge(self, amount: int, currency: str) -> str:
        """A card charge without a payment intent (and no order): its id."""
        method = self.client.v1.payment_methods.create(params={"type": "card", "card": CARD})
        return self.client.v1.charges.create(params={"amount": amount, "currency": currency, "source": method.id}).id

    def refund(self, charge: str, amount: int) -> str:
        """A refund of `amount` minor units of a charge: its id."""
        return self.client.v1.refunds.create(params={"charge": charge, "amount": amount}).id

    def rename(self, customer: str, name: str) -> None:
        """Change a customer's name."""
        self.client.v1.customers.update(customer, params={"name": name})

    def delete(self, customer: str) -> None:
        """Delete a customer."""
        self.client.v1.customers.delete(customer)


class ShopifyShop:
    """Creates products, customers, orders and refunds in a shop through the GraphQL Admin API's mutations."""

    def __init__(self, shop_url: str, client_id: str, client_secret: str, api_version: str) -> None:
        # one attempt: a mutation retried after a lost answer could create its object twice
        self.api = ShopifyGraphql(shop_url, client_id, client_secret, api_version, attempts=1)

    def _mutate(self, query: str, variables: dict, field_name: str) -> dict:
        payload = self.api.ask(query, variables, f"Shopify {field_name}")[field_name]
        if payload.get("userErrors"):
            raise ValueError(f"Shopify {field_name}: {payload['userErrors'][0]['message']}")
        return payload

    def product(self, title: str, product_type: str, prices: list[Decimal]) -> list[str]:
        """A new product with a variant per price: the variants' ids."""
        created = self._mutate(
            "mutation($p: ProductCreateInput) { productCreate(product: $p) { product { id } userErrors { message } } }",
            {"p": {"title": title, "productType": product_type, "vendor": "Sample"}},
            "productCreate",
        )
        product_id = created["product"]["id"]
        variants = [
            {"price": str(price), "inventoryItem": {"sku": f"{title.replace(' ', '-').upper()}-{index}"}}
            for index, price in enumerate(prices)
        ]
        payload = self._mutate(
            "mutation($id: ID!, $v: [ProductVariantsBulkInput!]!) { productVariantsBulkCreate(productId: $id, "
            "variants: $v) { productVariants { id } userErrors { message } } }",
            {"id": product_id, "v": variants},
            "productVariantsBulkCreate",
        )
        return [variant["id"] for variant in payload["productVariants"]]

    def customer(self, email: str, first_name: str, last_name: str) -> str:
        """A new customer's gid."""
        payload = self._mutate(
            "mutation($c: CustomerInput!) { customerCreate(input: $c) { customer { id } userErrors { message } } }",
            {"c": {"email": email, "firstName": first_name, "lastName": last_name}},
            "customerCreate",
        )
        return payload["customer"]["id"]

    def order(self, customer: str, lines: list[tuple[str, int]], currency: str) -> tuple[str, Decimal]:
        """A new order of (variant, quantity) lines: its gid and total."""
        payload = self._mutate(
            "mutation($o: OrderCreateOrderInput!) { orderCreate(order: $o) { order { id "
            "totalPriceSet { shopMoney { amount } } } userErrors { message } } }",
            {
                "o": {
                    "customerId": customer,
                    "currency": currency,
                    "financialStatus": "PAID",
                    "lineItems": [{"variantId": variant, "quantity": quantity} for variant, quantity in lines],
                }
            },
            "orderCreate",
        )
        order = payload["order"]
        return order["id"], Decimal(order["totalPriceSet"]["shopMoney"]["amount"])

    def refund(self, order: str, amount: Decimal) -> None:
        """Refund `amount` of an order (to its Stripe payment)."""
        transaction = {"orderId": order, "amount": str(amount), "kind": "REFUND", "gateway": "stripe"}
        self._mutate(
            "mutation($r: RefundInput!) { refundCreate(input: $r) { refund { id } userErrors { message } } }",
            {"r": {"orderId": order, "transactions": [transaction]}},
            "refundCreate",
        )


@dataclass
class SentOrder:
    """What the sample did for one order, on each side."""

    total: Decimal
    captured: Decimal = Decimal(0)
    stripe_refunded: Decimal = Decimal(0)
    shopify_refunded: Decimal = Decimal(0)
    charges: list[str] = field(default_factory=list)


@dataclass
class SentSample:
    """Everything a sample sent: the orders by gid, the orphan charges by id with their amounts, and the counts."""

    orders: dict[str, SentOrder] = field(default_factory=dict)
    orphan_charges: dict[str, Decimal] = field(default_factory=dict)
    products: int = 0
    customers: int = 0


def _minor(amount: Decimal) -> int:
    return int(amount * 100)


def send_sample(stripe_shop: StripeShop, shop: ShopifyShop, orders: int, seed: int) -> SentSample:
    """Products, customers and `orders` orders in the shop, paid through Stripe; the first orders get the
    `PLANTED` faults, and one orphan charge is made."""
    if orders < len(PLANTED):
        raise ValueError(f"a sample needs at least {len(PLANTED)} orders for its planted faults")
    rng = random.Random(seed)
    sent = SentSample()
    variants = []
    for number, kind in enumerate(("Mugs", "Lamps", "Bags", "Mugs", "Lamps"), start=1):
        prices = [Decimal(rng.randint(150, 4999)) / 100 for _ in range(rng.randint(1, 2))]
        variants.extend(shop.product(f"Sample {kind} {number}", kind, prices))
        sent.products += 1
    people = []
    for number in range(1, max(2, orders // 3) + 1):
        email = f"buyer{number}@example.com"
        people.append(
            (shop.customer(email, f"Buyer{number}", "Sample"), stripe_shop.customer(email, f"Buyer {number}"))
        )
        sent.customers += 1
    for index in range(orders):
        shopify_customer, stripe_customer = rng.choice(people)
        lines = [(rng.choice(variants), rng.randint(1, 3)) for _ in range(rng.randint(1, 3))]
        order_id, total = shop.order(shopify_customer, lines, CURRENCY)
        order = sent.orders[order_id] = SentOrder(total)
        planted = list(PLANTED)[index] if index < len(PLANTED) else "paid"
        if planted == "unpaid":
            continue
        payments = [total, Decimal("5.00")] if planted == "overpaid" else [total]
        for amount in payments:
            _, charge = stripe_shop.payment(stripe_customer, _minor(amount), CURRENCY.lower(), order_id)
            order.charges.append(charge)
            order.captured += amount
        if planted in ("refunded", "refund_mismatch"):
            refund = (total / 4).quantize(Decimal("0.01"))
            stripe_shop.refund(order.charges[0], _minor(refund))
            order.stripe_refunded += refund
            if planted == "refunded":
                shop.refund(order_id, refund)
                order.shopify_refunded += refund
    orphan_amount = Decimal("12.34")
    sent.orphan_charges[stripe_shop.charge(_minor(orphan_amount), CURRENCY.lower())] = orphan_amount
    return sent
