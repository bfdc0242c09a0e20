"""Stripe's transforms on tiny DataFrames, and the list reading on recorded pages shaped as Stripe answers."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pyspark.sql import functions as F

from ecom_assets.api_sources.bronze import BRONZE_COLUMNS
from ecom_assets.api_sources.current_state import newer_than_stored
from ecom_assets.api_sources.http import ApiFailed
from ecom_assets.api_sources.loads import landed_row
from ecom_assets.api_sources.stripe.source import list_pages
from ecom_assets.api_sources.stripe.transforms import (
    latest_states,
    major_units,
    observations,
    typed_observations,
)

INGESTED = datetime(2026, 12, 1, tzinfo=UTC)


def _bronze(spark, *lines: tuple[str, str, dict]):
    """Bronze rows from (load id, resource, landed object) triples."""
    rows = []
    for index, (load_id, resource, obj) in enumerate(lines):
        record = json.dumps({"id": obj.get("id"), "created": obj.get("created"), "object": obj})
        rows.append((load_id, resource, f"line{index}", obj.get("id"), record, "f.jsonl.gz", INGESTED))
    schema = "load_id string, resource string, line_id string, object_id string, record string, "
    schema += "source_file string, ingested_at timestamp"
    return spark.createDataFrame(rows, schema).select(*BRONZE_COLUMNS)


def _customer(identifier: str, name: str, created: int = 1_700_000_000) -> dict:
    return {"id": identifier, "object": "customer", "created": created, "name": name, "email": "a@example.com"}


def _event(kind: str, created: int, obj: dict) -> dict:
    return {"id": f"evt_{created}", "object": "event", "type": kind, "created": created, "data": {"object": obj}}


@pytest.mark.parametrize(
    ("minor", "currency", "major"),
    [
        (1999, "gbp", "19.990"),
        (700, "jpy", "700.000"),
        (12345, "kwd", "12.345"),
        (5, "usd", "0.050"),
        (0, "eur", "0.000"),
    ],
)
def test_minor_units_become_exact_major_units_by_the_currencys_exponent(spark, minor, currency, major):
    frame = spark.createDataFrame([(minor, currency)], "minor bigint, currency string")
    assert frame.select(major_units(F.col("minor"), F.col("currency"))).first()[0] == Decimal(major)


def test_the_latest_observation_wins_and_a_deletion_is_final_even_when_an_older_update_comes_later(spark):
    bronze = _bronze(
        spark,
        ("1700000100.000001", "customers", _customer("cus_a", "Ann")),
        ("1700000100.000001", "events", _event("customer.updated", 1_700_000_200, _customer("cus_a", "Ann Smith"))),
        ("1700000100.000001", "customers", _customer("cus_b", "Bob")),
        ("1700000300.5", "events", _event("customer.deleted", 1_700_000_250, _customer("cus_b", "Bob"))),
        ("1700000400.5", "events", _event("customer.updated", 1_700_000_260, _customer("cus_b", "Bob Late"))),
    )
    latest = latest_states(typed_observations(observations(bronze, "customers"), "customers"))
    states = {row["id"]: (row["name"], row["deleted"]) for row in latest.collect()}
    assert states == {"cus_a": ("Ann Smith", False), "cus_b": ("Bob", True)}


def test_a_list_snapshot_taken_after_an_event_wins_over_it(spark):
    bronze = _bronze(
        spark,
        ("1700000300.25", "customers", _customer("cus_a", "Ann Smith")),
        ("1700000300.25", "events", _event("customer.updated", 1_700_000_200, _customer("cus_a", "Ann"))),
    )
    [row] = latest_states(typed_observations(observations(bronze, "customers"), "customers")).collect()
    assert row["name"] == "Ann Smith"
    assert row["observed_at"] == datetime(2023, 11, 14, 22, 18, 20, 250000)


def test_stored_states_are_never_undeleted_or_replaced_by_older_ones(spark):
    stored = spark.createDataFrame(
        [("a", datetime(2026, 1, 2), False), ("b", datetime(2026, 1, 2), True), ("c", datetime(2026, 1, 2), False)],
        "id string, observed_at timestamp, deleted boolean",
    )
    candidates = spark.createDataFrame(
        [
            ("a", datetime(2026, 1, 1), False),  # older: kept out
            ("b", datetime(2026, 1, 3), False),  # an undeletion: kept out
            ("c", datetime(2026, 1, 1), True),  # a deletion seen late: taken
            ("d", datetime(2026, 1, 1), False),  # new: taken
        ],
        "id string, observed_at timestamp, deleted boolean",
    )
    assert sorted(row["id"] for row in newer_than_stored(candidates, stored).collect()) == ["c", "d"]


def test_unusable_records_are_named_with_their_reason(spark):
    charge = {"object": "charge", "created": 1_700_000_000, "currency": "usd", "amount": 100}
    bronze = _bronze(
        spark,
        ("1700000100.5", "charges", {**charge, "id": "ch_ok"}),
        ("1700000100.5", "charges", {**charge, "id": "ch_text", "amount": "12a"}),
        ("1700000100.5", "charges", {**charge, "id": "ch_none", "amount": None}),
        ("1700000100.5", "charges", {**charge, "id": "ch_cur", "currency": "dollars"}),
        ("1700000100.5", "charges", {**charge, "id": "ch_time", "created": "yesterday"}),
        ("1700000100.5", "charges", {**charge, "id": "bad id!"}),
        ("1700000100.5", "charges", {**charge, "id": "ch_frac", "amount": 1.5}),
    )
    typed = typed_observations(observations(bronze, "charges"), "charges")
    problems = {row["id"]: row["problem"] for row in typed.collect()}
    assert problems == {
        "ch_ok": None,
        "ch_text": "invalid_amount",
        "ch_none": "invalid_amount",
        "ch_cur": "invalid_currency",
        "ch_time": "invalid_created",
        "bad id!": "invalid_id",
        "ch_frac": "invalid_amount",
    }


def test_a_landed_row_keeps_any_item_and_takes_only_well_typed_ids_and_times():
    assert landed_row({"id": "cus_1", "created": 5}, "created", "created", int) == {
        "id": "cus_1",
        "created": 5,
        "object": {"id": "cus_1", "created": 5},
    }
    assert landed_row({"id": 7, "created": True}, "created", "created", int) == {
        "id": None,
        "created": None,
        "object": {"id": 7, "created": True},
    }
    assert landed_row("text", "created", "created", int) == {
        "id": None,
        "created": None,
        "object": {"unexpected": "text"},
    }
    shopify_node = {"id": "gid://shopify/Order/1", "updatedAt": 5}
    assert landed_row(shopify_node, "updated_at", "updatedAt", str)["updated_at"] is None, "Shopify's cursor is text"


class RecordedAnswers:
    """Answers recorded from Stripe's list endpoints, served in order; the requests they answered are kept."""

    def __init__(self, *pages: dict) -> None:
        self.pages = list(pages)
        self.asked: list[dict] = []

    def get(self, url, params, auth, stream):
        self.asked.append(dict(params))
        return _Answer(self.pages.pop(0))


class _Answer:
    status_code = 200

    def __init__(self, body: dict) -> None:
        self.body = json.dumps(body).encode()

    def iter_content(self, size):
        yield self.body


def _page(ids_created: list[tuple[str, int]], has_more: bool) -> dict:
    data = [{"id": identifier, "object": "charge", "created": created} for identifier, created in ids_created]
    return {"object": "list", "url": "/v1/charges", "has_more": has_more, "data": data}


def test_lists_are_read_newest_first_to_the_last_page_after_the_last_id_with_the_created_bound():
    answers = RecordedAnswers(
        _page([("ch_9", 900), ("ch_8", 800)], has_more=True),
        _page([("ch_7", 700), ("ch_6", 600)], has_more=True),
        _page([("ch_5", 500)], has_more=False),
    )
    pages = list(list_pages(answers, "https://api.stripe.com", "sk_test_x", "charges", created_from=450))
    assert [[item["id"] for item in page] for page in pages] == [["ch_9", "ch_8"], ["ch_7", "ch_6"], ["ch_5"]]
    assert answers.asked == [
        {"limit": 100, "created[gte]": 450},
        {"limit": 100, "created[gte]": 450, "starting_after": "ch_8"},
        {"limit": 100, "created[gte]": 450, "starting_after": "ch_6"},
    ]


def test_a_first_load_asks_for_everything_and_a_list_that_never_ends_fails():
    answers = RecordedAnswers(_page([("ch_1", 100)], has_more=False))
    assert len(list(list_pages(answers, "https://api.stripe.com", "k", "charges", created_from=0))) == 1
    assert answers.asked == [{"limit": 100}]
    stuck = RecordedAnswers(_page([("ch_1", 100)], has_more=True), _page([("ch_1", 100)], has_more=True))
    with pytest.raises(ApiFailed, match="no new id to continue after"):
        list(list_pages(stuck, "https://api.stripe.com", "k", "charges", created_from=0))
