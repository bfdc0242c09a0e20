"""Payment reconciliation on tiny silver tables: which charge pays for which order, each status's rule, and the
checks' verdicts."""

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


def _order(number: int, total: str, refunded: str = "0", cancelled: bool = False) -> tuple:
    return (
        f"gid://shopify/Order/{number}", f"#{1000 + number}", "GBP", Decimal(total), Decimal(refunded),
        PLACED, PLACED, PLACED if cancelled else None, False,
    )  # fmt: skip


def _charge(identifier: str, amount: str, order: str | None = None, intent: str | None = None, **fields) -> tuple:
    metadata = f'{{"order_id":"{order}"}}' if order else "{}"
    return (
        identifier, intent, Decimal(amount), fields.get("captured_part"), fields.get("currency", "gbp"),
        fields.get("captured", True), fields.get("status", "succeeded"), metadata, CHARGED, False,
    )  # fmt: skip


def _reconcile(spark, orders, charges, intents=(), refunds=()):
    frames = [
        spark.createDataFrame(list(rows), schema)
        for rows, schema in ((orders, ORDERS), (charges, CHARGES), (intents, INTENTS), (refunds, REFUNDS))
    ]
    rows = payment_reconciliation(*frames)
    return {(row["order_id"] or row["charge_ids"][0]): row.asDict() for row in rows.collect()}


def test_an_order_paid_in_full_by_its_charges_is_matched_and_lists_them(spark):
    result = _reconcile(
        spark, [_order(1, "30.00")], [_charge("ch_b", "10.00", "gid://shopify/Order/1"), _charge("ch_a", "20.00", "1")]
    )
    row = result["gid://shopify/Order/1"]
    assert (row["status"], row["charge_ids"], row["captured"], row["unmatched_amount"]) == (
        "matched", ["ch_a", "ch_b"], Decimal("30.000"), Decimal("0.000"),
    )  # fmt: skip
    assert row["reconciliation_date"] == date(2026, 11, 3)
    assert row["note"] is None


def test_a_charge_names_its_order_through_its_payment_intent_when_its_own_metadata_does_not(spark):
    result = _reconcile(
        spark,
        [_order(2, "12.50")],
        [_charge("ch_1", "12.50", intent="pi_1")],
        intents=[("pi_1", '{"order_id":"gid://shopify/Order/2"}', False)],
    )
    assert result["gid://shopify/Order/2"]["status"] == "matched"
    assert "ch_1" not in result


@pytest.mark.parametrize(
    ("captured", "status", "unmatched", "note"),
    [
        (None, "unpaid", "40.000", "no captured charge"),
        ("15.00", "unpaid", "25.000", "part captured"),
        ("45.00", "overpaid", "5.000", "captured more than the order total"),
    ],
)
def test_an_order_short_or_over_its_total_is_unpaid_or_overpaid_by_the_gap(spark, captured, status, unmatched, note):
    charges = [_charge("ch_1", captured, "gid://shopify/Order/3")] if captured else []
    row = _reconcile(spark, [_order(3, "40.00")], charges)["gid://shopify/Order/3"]
    assert (row["status"], row["unmatched_amount"], row["note"]) == (status, Decimal(unmatched), note)


def test_only_succeeded_captured_charges_and_succeeded_refunds_count(spark):
    charges = [
        _charge("ch_ok", "40.00", "gid://shopify/Order/4"),
        _charge("ch_failed", "40.00", "gid://shopify/Order/4", status="failed"),
        _charge("ch_uncaptured", "40.00", "gid://shopify/Order/4", captured=False),
    ]
    refunds = [("re_pending", "ch_ok", Decimal("5.00"), "pending", False)]
    row = _reconcile(spark, [_order(4, "40.00")], charges, refunds=refunds)["gid://shopify/Order/4"]
    assert (row["status"], row["charge_ids"], row["stripe_refunded"]) == ("matched", ["ch_ok"], Decimal("0.000"))


def test_a_charge_captured_in_part_counts_what_was_captured(spark):
    charges = [_charge("ch_part", "40.00", "gid://shopify/Order/4", captured_part=Decimal("30.00"))]
    row = _reconcile(spark, [_order(4, "40.00")], charges)["gid://shopify/Order/4"]
    assert (row["status"], row["captured"], row["unmatched_amount"]) == ("unpaid", Decimal("30.000"), Decimal("10.000"))


def test_refunds_both_sides_agree_on_are_matched_and_a_refund_only_stripe_made_is_a_mismatch(spark):
    orders = [_order(5, "40.00", refunded="10.00"), _order(6, "40.00")]
    charges = [_charge("ch_5", "40.00", "gid://shopify/Order/5"), _charge("ch_6", "40.00", "gid://shopify/Order/6")]
    refunds = [
        ("re_5a", "ch_5", Decimal("4.00"), "succeeded", False),
        ("re_5b", "ch_5", Decimal("6.00"), "succeeded", False),
        ("re_6", "ch_6", Decimal("7.50"), "succeeded", False),
    ]
    result = _reconcile(spark, orders, charges, refunds=refunds)
    assert result["gid://shopify/Order/5"]["status"] == "matched"
    mismatch = result["gid://shopify/Order/6"]
    assert (mismatch["status"], mismatch["unmatched_amount"]) == ("refund_mismatch", Decimal("7.500"))
    assert mismatch["note"] == "Stripe refunded 7.500, Shopify 0.000"


def test_an_overpayment_refunded_back_is_matched(spark):
    charges = [_charge("ch_7", "50.00", "gid://shopify/Order/7")]
    refunds = [("re_7", "ch_7", Decimal("10.00"), "succeeded", False)]
    assert _reconcile(spark, [_order(7, "40.00")], charges, refunds=refunds)["gid://shopify/Order/7"]["status"] == (
        "matched"
    )


def test_a_cancelled_order_never_paid_owes_nothing(spark):
    row = _reconcile(spark, [_order(8, "40.00", cancelled=True)], [])["gid://shopify/Order/8"]
    assert (row["status"], row["unmatched_amount"], row["note"]) == (
        "matched", Decimal("0.000"), "cancelled before any payment",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("charge", "note"),
    [
        (_charge("ch_x", "9.99"), "names no order (its and its payment intent's metadata)"),
        (_charge("ch_x", "9.99", "gid://shopify/Order/999"), "names an order Shopify has not delivered"),
        (_charge("ch_x", "9.99", "gid://shopify/Order/9", currency="eur"), "charged in EUR, the order is in GBP"),
    ],
)
def test_a_charge_no_order_accounts_for_is_an_orphan_on_the_day_it_was_made(spark, charge, note):
    result = _reconcile(spark, [_order(9, "20.00")], [charge])
    orphan = result["ch_x"]
    assert (orphan["status"], orphan["order_id"], orphan["unmatched_amount"], orphan["note"]) == (
        "orphan_charge", None, Decimal("9.990"), note,
    )  # fmt: skip
    assert orphan["reconciliation_date"] == date(2026, 11, 4)
    assert result["gid://shopify/Order/9"]["status"] == "unpaid"


def test_unmatched_amounts_add_up_per_day_and_currency_leaving_matched_rows_out(spark):
    orders = [_order(10, "40.00"), _order(11, "25.00"), _order(12, "5.00")]
    charges = [_charge("ch_12", "5.00", "gid://shopify/Order/12"), _charge("ch_o", "3.00")]
    frames = [
        spark.createDataFrame(list(rows), schema)
        for rows, schema in ((orders, ORDERS), (charges, CHARGES), ([], INTENTS), ([], REFUNDS))
    ]
    days = {
        (row["reconciliation_date"], row["currency"]): (row["rows_unmatched"], row["unmatched_amount"])
        for row in unmatched_by_day(payment_reconciliation(*frames)).collect()
    }
    assert days == {
        (date(2026, 11, 3), "GBP"): (2, Decimal("65.000")),
        (date(2026, 11, 4), "GBP"): (1, Decimal("3.000")),
    }


def test_the_charge_check_fails_when_a_charge_is_missing_or_counted_twice_and_passes_when_each_is_once(spark):
    orders = [_order(13, "20.00")]
    charges = [_charge("ch_13", "20.00", "gid://shopify/Order/13"), _charge("ch_lost", "3.00")]
    frames = [
        spark.createDataFrame(list(rows), schema)
        for rows, schema in ((orders, ORDERS), (charges, CHARGES), ([], INTENTS), ([], REFUNDS))
    ]
    rows = payment_reconciliation(*frames)
    assert every_charge_accounted(rows, frames[1]).passed
    missing = every_charge_accounted(rows.where("status != 'orphan_charge'"), frames[1])
    assert not missing.passed
    assert (missing.observed["charges_missing"], missing.observed["currency_totals_differing"]) == (
        1, {"GBP": {"stripe": "23.000", "reconciliation": "20.000"}},
    )  # fmt: skip
    twice = every_charge_accounted(rows.unionByName(rows.where("status = 'orphan_charge'")), frames[1])
    assert (twice.passed, twice.observed["charges_in_several_rows"]) == (False, 1)


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
