"""Payment reconciliation on tiny silver tables: which charge pays for which order, each status's rule, and the
checks' verdicts. One shop holds every case (an order or charge per case), reconciled once."""

from datetime import date, datetime
from decimal import Decimal

import pytest

from ecom_assets.api_sources.reconciliation.checks import every_charge_accounted, unmatched_outcome
from ecom_assets.api_sources.reconciliation.transforms import payment_reconciliation, unmatched_by_day

ORDERS = (
    "id string, name string, currency string, total_price decimal(23,3), total_refunded decimal(23,3), "
    "created_at timestamp, processed_at timestamp, cancelled_at timestamp, deleted boolean"
)
CHARGES = (
    "id string, payment_intent string, amount decimal(23,3), amount_captured decimal(23,3), currency string, "
    "captured boolean, status string, metadata string, created_at timestamp, deleted boolean"
)
INTENTS = "id string, metadata string, deleted boolean"
REFUNDS = "id string, charge string, amount decimal(23,3), status string, deleted boolean"
PLACED = datetime(2026, 11, 3, 10, 0)
CHARGED = datetime(2026, 11, 4, 9, 0)


def _gid(number: int) -> str:
    return f"gid://shopify/Order/{number}"


def _order(number: int, total: str, refunded: str = "0", cancelled: bool = False, currency: str = "GBP") -> tuple:
    return (
        _gid(number), f"#{1000 + number}", currency, Decimal(total), Decimal(refunded),
        PLACED, PLACED, PLACED if cancelled else None, False,
    )  # fmt: skip


def _charge(identifier: str, amount: str, order: str | None = None, intent: str | None = None, **fields) -> tuple:
    metadata = f'{{"order_id":"{order}"}}' if order else "{}"
    return (
        identifier, intent, Decimal(amount), fields.get("captured_part"), fields.get("currency", "gbp"),
        fields.get("captured", True), fields.get("status", "succeeded"), metadata, CHARGED, False,
    )  # fmt: skip


def _refund(identifier: str, charge: str, amount: str, status: str = "succeeded") -> tuple:
    return (identifier, charge, Decimal(amount), status, False)


SHOP = {
    "orders": [
        _order(1, "30.00"),  # two charges, one naming the order by its bare number
        _order(2, "12.50"),  # named by the payment intent
        _order(3, "40.00"),  # nothing paid
        _order(4, "40.00"),  # part paid
        _order(5, "40.00"),  # paid 45
        _order(6, "40.00"),  # failed and uncaptured charges, a pending refund
        _order(7, "40.00"),  # captured in part
        _order(8, "40.00", refunded="10.00"),  # refunds agree
        _order(9, "40.00"),  # Stripe refunded alone
        _order(10, "40.00"),  # overpaid, refunded back
        _order(11, "40.00", cancelled=True),  # cancelled, never paid
        _order(12, "20.00"),  # a charge in EUR names it
    ],
    "charges": [
        _charge("ch_1b", "10.00", _gid(1)),
        _charge("ch_1a", "20.00", "1"),
        _charge("ch_2", "12.50", intent="pi_2"),
        _charge("ch_4", "15.00", _gid(4)),
        _charge("ch_5", "45.00", _gid(5)),
        _charge("ch_6", "40.00", _gid(6)),
        _charge("ch_6_failed", "40.00", _gid(6), status="failed"),
        _charge("ch_6_uncaptured", "40.00", _gid(6), captured=False),
        _charge("ch_7", "40.00", _gid(7), captured_part=Decimal("30.00")),
        _charge("ch_8", "40.00", _gid(8)),
        _charge("ch_9", "40.00", _gid(9)),
        _charge("ch_10", "50.00", _gid(10)),
        _charge("ch_no_order", "9.99"),
        _charge("ch_unknown_order", "9.99", _gid(999)),
        _charge("ch_euro", "9.99", _gid(12), currency="eur"),
    ],
    "intents": [("pi_2", f'{{"order_id":"{_gid(2)}"}}', False)],
    "refunds": [
        _refund("re_6", "ch_6", "5.00", status="pending"),
        _refund("re_8a", "ch_8", "4.00"),
        _refund("re_8b", "ch_8", "6.00"),
        _refund("re_9", "ch_9", "7.50"),
        _refund("re_10", "ch_10", "10.00"),
    ],
}


@pytest.fixture(scope="module")
def shop_tables(spark):
    return [
        spark.createDataFrame(SHOP[name], schema).cache()
        for name, schema in (("orders", ORDERS), ("charges", CHARGES), ("intents", INTENTS), ("refunds", REFUNDS))
    ]


@pytest.fixture(scope="module")
def reconciled(shop_tables):
    """The shop's reconciliation by order gid, or by charge id for an orphan charge."""
    rows = payment_reconciliation(*shop_tables).collect()
    return {(row["order_id"] or row["charge_ids"][0]): row.asDict() for row in rows}


def _judged(row: dict) -> tuple:
    return (row["status"], row["captured"], row["stripe_refunded"], row["unmatched_amount"], row["note"])


def test_every_order_gets_one_row_and_every_charge_no_order_accounts_for_one_of_its_own(reconciled):
    orphans = {"ch_no_order", "ch_unknown_order", "ch_euro"}
    assert set(reconciled) == {_gid(number) for number in range(1, 13)} | orphans


def test_an_order_paid_in_full_by_its_charges_is_matched_and_lists_them(reconciled):
    row = reconciled[_gid(1)]
    assert _judged(row) == ("matched", Decimal("30.000"), Decimal("0.000"), Decimal("0.000"), None)
    assert row["charge_ids"] == ["ch_1a", "ch_1b"]
    assert row["reconciliation_date"] == date(2026, 11, 3), "the day the order was placed"


def test_a_charge_names_its_order_through_its_payment_intent_when_its_own_metadata_does_not(reconciled):
    assert (reconciled[_gid(2)]["status"], reconciled[_gid(2)]["charge_ids"]) == ("matched", ["ch_2"])


@pytest.mark.parametrize(
    ("number", "status", "unmatched", "note"),
    [
        (3, "unpaid", "40.000", "no captured charge"),
        (4, "unpaid", "25.000", "part captured"),
        (5, "overpaid", "5.000", "captured more than the order total"),
        (7, "unpaid", "10.000", "part captured"),
    ],
)
def test_an_order_short_or_over_its_total_is_unpaid_or_overpaid_by_the_gap(reconciled, number, status, unmatched, note):
    row = reconciled[_gid(number)]
    assert (row["status"], row["unmatched_amount"], row["note"]) == (status, Decimal(unmatched), note)


def test_only_succeeded_captured_charges_and_succeeded_refunds_count(reconciled):
    row = reconciled[_gid(6)]
    assert (row["status"], row["charge_ids"], row["stripe_refunded"]) == ("matched", ["ch_6"], Decimal("0.000"))


def test_refunds_both_sides_agree_on_are_matched_and_a_refund_only_stripe_made_is_a_mismatch(reconciled):
    assert _judged(reconciled[_gid(8)])[:2] == ("matched", Decimal("40.000"))
    assert _judged(reconciled[_gid(9)]) == (
        "refund_mismatch", Decimal("40.000"), Decimal("7.500"), Decimal("7.500"),
        "Stripe refunded 7.500, Shopify 0.000",
    )  # fmt: skip


def test_an_overpayment_refunded_back_is_matched(reconciled):
    assert reconciled[_gid(10)]["status"] == "matched"


def test_a_cancelled_order_never_paid_owes_nothing(reconciled):
    assert _judged(reconciled[_gid(11)])[::3] == ("matched", Decimal("0.000"))
    assert reconciled[_gid(11)]["note"] == "cancelled before any payment"


@pytest.mark.parametrize(
    ("charge", "note"),
    [
        ("ch_no_order", "names no order (its and its payment intent's metadata)"),
        ("ch_unknown_order", "names an order Shopify has not delivered"),
        ("ch_euro", "charged in EUR, the order is in GBP"),
    ],
)
def test_a_charge_no_order_accounts_for_is_an_orphan_on_the_day_it_was_made(reconciled, charge, note):
    orphan = reconciled[charge]
    assert (orphan["status"], orphan["order_id"], orphan["unmatched_amount"], orphan["note"]) == (
        "orphan_charge", None, Decimal("9.990"), note,
    )  # fmt: skip
    assert orphan["reconciliation_date"] == date(2026, 11, 4)
    assert reconciled[_gid(12)]["status"] == "unpaid", "the order the euro charge named is still owed"


def test_unmatched_amounts_add_up_per_day_and_currency_leaving_matched_rows_out(shop_tables):
    days = {
        (row["reconciliation_date"], row["currency"]): (row["rows_unmatched"], row["unmatched_amount"])
        for row in unmatched_by_day(payment_reconciliation(*shop_tables)).collect()
    }
    orders_owed = Decimal("40") + 25 + 5 + 10 + Decimal("7.5") + 20
    assert days == {
        (date(2026, 11, 3), "GBP"): (6, orders_owed),
        (date(2026, 11, 4), "GBP"): (2, Decimal("19.98")),
        (date(2026, 11, 4), "EUR"): (1, Decimal("9.99")),
    }


def test_the_charge_check_fails_when_a_charge_is_missing_or_counted_twice_and_passes_when_each_is_once(shop_tables):
    rows = payment_reconciliation(*shop_tables).cache()
    charges = shop_tables[1].cache()
    assert every_charge_accounted(rows, charges).passed
    missing = every_charge_accounted(rows.where("NOT array_contains(charge_ids, 'ch_euro')"), charges)
    assert (missing.passed, missing.observed["charges_missing"]) == (False, 1)
    assert missing.observed["currency_totals_differing"] == {"EUR": {"stripe": "9.990", "reconciliation": None}}
    twice = every_charge_accounted(rows.unionByName(rows.where("status = 'orphan_charge'")), charges)
    assert (twice.passed, twice.observed["charges_in_several_rows"]) == (False, 3)


def test_the_unmatched_check_warns_on_the_days_over_the_threshold_only():
    days = [
        {
            "reconciliation_date": date(2026, 11, day),
            "currency": "GBP",
            "rows_unmatched": rows,
            "unmatched_amount": amount,
        }
        for day, rows, amount in ((3, 2, Decimal("65")), (4, 1, Decimal("3")))
    ]
    over = unmatched_outcome([_Row(day) for day in days], Decimal("50"))
    assert (over.passed, over.observed["days_over_threshold"], len(over.failing_sample)) == (False, 1, 1)
    assert "65 GBP on 2026-11-03" in over.summary
    assert unmatched_outcome([_Row(day) for day in days], Decimal("65")).passed


class _Row(dict):
    """A dict that answers `asDict` as a Spark row does."""

    def asDict(self):  # noqa: N802 - Spark's name
        return dict(self)
