"""The clickstream transforms on tiny hand-made events: typing, sessions, bots, point-in-time items, the funnel."""

import csv
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from ecom_assets.clickstream.transforms import (
    EVENT_CSV_OPTIONS,
    RAW_EVENT_COLUMNS,
    RAW_EVENT_SCHEMA,
    accepted_events,
    catalog_item_versions,
    category_funnel,
    flag_bots,
    funnel,
    last_derived_sessions,
    parse_events,
    product_funnel,
    rejected_event_errors,
    sessionize,
    with_item_in_effect,
)
from ecom_assets.platform.columns import line_outcome
from ecom_assets_tests.clickstream.reference import SHARED_SAMPLE, independent_hourly_funnel

SESSION = "8f5a3c1e-0000-4000-8000-000000000001"
EVENT_SCHEMA = (
    "event_id string, event_time timestamp, event_type string, product_id long, category_code string, "
    "brand string, price decimal(12,2), user_id long, user_session string"
)


RAW_COLUMNS = (*RAW_EVENT_COLUMNS, "corrupt_record", "source_file")
GOOD_LINE = {
    "event_time": "2019-10-01 00:00:04 UTC",
    "event_type": "view",
    "product_id": "1004237",
    "category_id": "2053013555631882655",
    "category_code": "electronics.smartphone",
    "brand": "apple",
    "price": "1081.98",
    "user_id": "535871217",
    "user_session": SESSION,
    "corrupt_record": None,
    "source_file": "events-1.csv",
}


def _raw(spark: SparkSession, *changes: dict[str, str | None]):
    """Raw lines as bronze holds them: a good line with each of `changes` applied."""
    rows = [tuple((GOOD_LINE | change)[name] for name in RAW_COLUMNS) for change in changes]
    return spark.createDataFrame(rows, ", ".join(f"{name} string" for name in RAW_COLUMNS))


def _at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2019, 10, 1, hour, minute, second)


def _events(spark: SparkSession, *events: tuple):
    """Events as (event_id, event_time, event_type, product_id, category_code, brand, price, user_id, user_session)."""
    return spark.createDataFrame(
        [(e[0], e[1], e[2], e[3], e[4], e[5], Decimal(e[6]), e[7], e[8]) for e in events], EVENT_SCHEMA
    )


def test_a_good_line_is_typed_with_a_utc_timestamp_decimal_price_long_ids_and_empty_text_as_null(spark):
    parsed = parse_events(_raw(spark, {"category_code": "", "brand": " "})).collect()
    assert len(parsed) == 1
    event = parsed[0]
    assert event.rejection_reason is None and event.delivery_rank == 1
    assert event.event_time == datetime(2019, 10, 1, 0, 0, 4)  # the session's time zone is UTC
    assert event.price == Decimal("1081.98") and event.product_id == 1004237 and event.user_id == 535871217
    assert event.category_id == 2053013555631882655
    assert event.category_code is None and event.brand is None


def test_each_unreadable_line_is_rejected_with_its_reason_and_every_line_comes_out_once(spark):
    lines = [
        {},
        {"corrupt_record": "2019-10-01 00:00:05 UTC,view,1004"},
        {"event_time": "01/10/2019 00:00"},
        {"event_type": "wishlist"},
        {"user_id": "abc"},
        {"product_id": ""},
        {"price": "-1.00"},
        {"price": "n/a"},
    ]
    parsed = parse_events(_raw(spark, *lines))
    reasons = sorted(str(row.rejection_reason) for row in parsed.collect())
    assert reasons == sorted(
        [
            "None",
            "malformed_line",
            "unreadable_event_time",
            "unknown_event_type",
            "unreadable_id",
            "unreadable_id",
            "unreadable_price",
            "unreadable_price",
        ]
    )
    assert accepted_events(parsed).count() == 1
    errors = rejected_event_errors(parsed, "clickstream_events", "silver", datetime(2019, 10, 2, tzinfo=UTC))
    by_type = {row.error_type: row for row in errors.collect()}
    assert errors.count() == 7
    assert "wishlist" in by_type["unknown_event_type"].error_message
    assert by_type["malformed_line"].record == "2019-10-01 00:00:05 UTC,view,1004"


def test_an_exact_duplicate_line_is_kept_once_and_counted_as_a_duplicate(spark):
    parsed = parse_events(_raw(spark, {}, {"event_type": " view "}, {"price": "1081.99"}))
    outcomes = sorted(row.outcome for row in parsed.select(line_outcome().alias("outcome")).collect())
    assert outcomes == ["duplicate", "kept", "kept"]
    assert accepted_events(parsed).count() == 2


def test_events_without_a_session_are_split_per_user_after_thirty_minutes_of_inactivity(spark):
    events = _events(
        spark,
        ("a", _at(10, 0), "view", 1, None, None, "1", 7, None),
        ("b", _at(10, 20), "view", 1, None, None, "1", 7, None),
        ("c", _at(10, 50), "view", 1, None, None, "1", 7, None),  # exactly 30 minutes later: a new session
        ("d", _at(11, 19), "cart", 1, None, None, "1", 7, None),
        ("e", _at(10, 5), "view", 1, None, None, "1", 7, SESSION),  # the export's session wins
    )
    carried = spark.createDataFrame([], "user_id long, last_event_time timestamp, session_id string")
    sessions = {row.event_id: row.session_id for row in sessionize(events, 30, carried).collect()}
    assert sessions == {
        "a": "7-20191001T100000",
        "b": "7-20191001T100000",
        "c": "7-20191001T105000",
        "d": "7-20191001T105000",
        "e": SESSION,
    }


def test_a_session_crossing_into_the_next_window_keeps_its_id_and_an_expired_one_does_not(spark):
    first_hour = _events(
        spark,
        ("a", _at(9, 30), "view", 1, None, None, "1", 8, None),
        ("b", _at(9, 50), "view", 1, None, None, "1", 8, None),
        ("c", _at(9, 0), "view", 1, None, None, "1", 9, None),
    )
    none_carried = spark.createDataFrame([], "user_id long, last_event_time timestamp, session_id string")
    carried = last_derived_sessions(sessionize(first_hour, 30, none_carried))
    assert {(row.user_id, row.session_id) for row in carried.collect()} == {
        (8, "8-20191001T093000"),
        (9, "9-20191001T090000"),
    }
    next_hour = _events(
        spark,
        ("d", _at(10, 10), "view", 1, None, None, "1", 8, None),
        ("e", _at(10, 10), "view", 1, None, None, "1", 9, None),
    )
    sessions = {row.event_id: row.session_id for row in sessionize(next_hour, 30, carried).collect()}
    assert sessions == {"d": "8-20191001T093000", "e": "9-20191001T101000"}
    whole_run = {
        row.event_id: row.session_id for row in sessionize(first_hour.union(next_hour), 30, none_carried).collect()
    }
    assert whole_run["d"] == sessions["d"] and whole_run["e"] == sessions["e"]


def test_a_user_over_the_events_per_minute_limit_is_flagged_a_bot_for_that_hour(spark):
    events = _events(
        spark,
        *[(f"bot-{n}", _at(10, 1, n), "view", 1, None, None, "1", 1, "s-bot") for n in range(4)],
        ("bot-later-minute", _at(10, 40), "view", 1, None, None, "1", 1, "s-bot"),
        ("bot-next-hour", _at(11, 5), "view", 1, None, None, "1", 1, "s-bot-2"),
        *[(f"human-{n}", _at(10, 1, n), "view", 1, None, None, "1", 2, "s-human") for n in range(3)],
    )
    flagged = {row.event_id: row.is_bot for row in flag_bots(events, 3).collect()}
    assert {name for name, is_bot in flagged.items() if is_bot} == {
        "bot-0",
        "bot-1",
        "bot-2",
        "bot-3",
        "bot-later-minute",
    }


def test_a_price_or_brand_change_opens_a_catalog_item_version_and_events_join_the_one_in_effect(spark):
    events = _events(
        spark,
        ("a", _at(10, 0), "view", 1, "electronics.phone", "apple", "10.00", 5, "s"),
        ("b", _at(10, 5), "view", 1, "electronics.phone", "apple", "10.00", 5, "s"),
        ("c", _at(10, 10), "purchase", 1, "electronics.phone", "apple", "12.00", 5, "s"),
        ("d", _at(10, 20), "view", 1, "electronics.phone", "apple", "10.00", 6, "t"),
        ("e", _at(10, 30), "view", 1, "electronics.phone", "samsung", "10.00", 6, "t"),
        ("f", _at(10, 0), "view", 2, None, None, "3.50", 6, "t"),
    )
    versions = catalog_item_versions(events)
    rows = sorted(
        (r.product_id, r.version, r.price, r.brand, r.valid_from, r.valid_to, r.is_current) for r in versions.collect()
    )
    assert rows == [
        (1, 1, Decimal("10.00"), "apple", _at(10, 0), _at(10, 10), False),
        (1, 2, Decimal("12.00"), "apple", _at(10, 10), _at(10, 20), False),
        (1, 3, Decimal("10.00"), "apple", _at(10, 20), _at(10, 30), False),
        (1, 4, Decimal("10.00"), "samsung", _at(10, 30), None, True),
        (2, 1, Decimal("3.50"), None, _at(10, 0), None, True),
    ]
    other_events = _events(
        spark,
        ("x", _at(10, 12), "purchase", 1, None, None, "0.00", 9, "u"),
        ("y", _at(9, 59), "view", 1, None, None, "0.00", 9, "u"),
    )
    joined = {r.event_id: (r.item_version, r.item_price) for r in with_item_in_effect(other_events, versions).collect()}
    assert joined == {"x": (2, Decimal("12.00")), "y": (None, None)}


def _funnel_events(spark: SparkSession):
    events = _events(
        spark,
        ("1", _at(10, 0), "view", 1, "electronics.phone", "apple", "5.00", 1, "s1"),
        ("2", _at(10, 1), "cart", 1, "electronics.phone", "apple", "5.00", 1, "s1"),
        ("3", _at(10, 2), "purchase", 1, "electronics.phone", "apple", "5.00", 1, "s1"),
        ("4", _at(10, 3), "purchase", 2, None, None, "2.50", 1, "s1"),
        ("5", _at(10, 5), "view", 1, "electronics.phone", "apple", "5.00", 2, "s2"),
        ("6", _at(10, 6), "view", 2, None, None, "2.50", 2, "s2"),
        ("7", _at(10, 7), "view", 2, None, None, "2.50", 3, "s3"),
        ("8", _at(10, 8), "cart", 2, None, None, "2.50", 3, "s3"),
        ("9", _at(10, 9), "view", 1, "electronics.phone", "apple", "5.00", 4, "s4"),
        ("10", _at(11, 0), "remove_from_cart", 1, "electronics.phone", "apple", "5.00", 5, "s5"),
    )
    return events.withColumns(
        {
            "hour": F.date_trunc("hour", "event_time"),
            "event_date": F.to_date("event_time"),
            "session_id": F.col("user_session"),
            "is_bot": F.col("user_id") == 4,
        }
    )


def test_the_hourly_funnel_counts_sessions_per_step_purchases_revenue_rates_and_bots(spark):
    figures = {row.hour: row.asDict() for row in funnel(_funnel_events(spark), "hour").collect()}
    ten = figures[_at(10, 0)]
    assert ten == {
        "hour": _at(10, 0),
        "sessions": 4,
        "view_sessions": 4,
        "cart_sessions": 2,
        "purchase_sessions": 1,
        "purchases": 2,
        "revenue": Decimal("7.50"),
        "view_to_cart": 0.5,
        "cart_to_purchase": 0.5,
        "conversion_rate": 0.25,
        "bot_sessions": 1,
    }
    eleven = figures[_at(11, 0)]
    assert (eleven["sessions"], eleven["view_sessions"], eleven["revenue"]) == (1, 0, Decimal("0.00"))
    assert eleven["view_to_cart"] is None and eleven["cart_to_purchase"] is None and eleven["conversion_rate"] == 0.0


def test_the_product_and_category_funnels_count_per_day_with_unknown_for_an_empty_category(spark):
    events = _funnel_events(spark)
    products = {row.product_id: row for row in product_funnel(events).collect()}
    assert (products[1].views, products[1].carts, products[1].purchases, products[1].revenue) == (
        3,
        1,
        1,
        Decimal("5.00"),
    )
    assert products[1].view_to_purchase_rate == 0.3333
    assert (products[2].views, products[2].carts, products[2].purchases, products[2].revenue) == (
        2,
        1,
        1,
        Decimal("2.50"),
    )
    categories = {row.top_category: row for row in category_funnel(events).collect()}
    assert set(categories) == {"electronics", "unknown"}
    assert (categories["electronics"].sessions, categories["electronics"].purchase_sessions) == (4, 1)
    assert categories["electronics"].revenue == Decimal("5.00")
    assert (categories["unknown"].sessions, categories["unknown"].purchase_sessions) == (3, 1)
    assert categories["unknown"].revenue == Decimal("2.50")
    assert {row.event_date for row in category_funnel(events).collect()} == {date(2019, 10, 1)}


@pytest.mark.skipif(not SHARED_SAMPLE.exists(), reason=f"the real clickstream sample is not at {SHARED_SAMPLE}")
def test_the_shared_sample_read_as_landed_gives_the_funnel_an_independent_computation_gives(spark, tmp_path):
    content = SHARED_SAMPLE.read_text(encoding="utf-8")
    with SHARED_SAMPLE.open(newline="", encoding="utf-8") as handle:
        lines = list(csv.reader(handle))[1:]
    landed = tmp_path / "events.csv"
    landed.write_text(content + content.splitlines()[1][:40] + "\n", encoding="utf-8")  # a truncated last line
    raw = (
        spark.read.options(**EVENT_CSV_OPTIONS)
        .schema(RAW_EVENT_SCHEMA)
        .csv(str(landed))
        .withColumn("source_file", F.col("_metadata.file_path"))
    )
    parsed = parse_events(raw).cache()
    unique = list(dict.fromkeys(tuple(line) for line in lines))
    outcomes = Counter(row.outcome for row in parsed.select(line_outcome().alias("outcome")).collect())
    assert outcomes == {"kept": len(unique), "duplicate": len(lines) - len(unique), "malformed_line": 1}

    none_carried = spark.createDataFrame([], "user_id long, last_event_time timestamp, session_id string")
    events = flag_bots(sessionize(accepted_events(parsed), 30, none_carried), 5)
    hourly = funnel(events.withColumn("hour", F.date_trunc("hour", "event_time")), "hour")
    figures = {row.hour: row.asDict() for row in hourly.collect()}
    expected = independent_hourly_funnel([list(line) for line in unique], 5)
    assert set(figures) == set(expected) == {datetime(2019, 10, 1, hour) for hour in range(3)}
    for hour, independent in expected.items():
        assert {name: figures[hour][name] for name in independent} == independent, hour
    assert sum(h["bot_sessions"] for h in expected.values()) > 0, "the sample has users over the limit"
