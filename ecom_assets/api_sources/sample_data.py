"""Synthetic data sent through the APIs, as the shop's own systems send it: a Stripe account filled through Stripe's
official client."""

import stripe

CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}


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
