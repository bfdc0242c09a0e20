"""The operational feeds' contract (trigger verification) and typing rules, on tiny hand-made inputs."""

import hashlib
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from ecom_assets.feeds.contract import (
    FEED_COLUMNS,
    bytes_opener,
    data_rows,
    feed_file_path,
    parse_trigger,
    trigger_for,
    verify_batch,
)
from ecom_assets.feeds.transforms.gold import (
    cover_window_start,
    inventory_daily,
    segment_analysis,
    tier_as_of,
    unexplained_stock_drops,
)
from ecom_assets.feeds.transforms.records import (
    FEED_PARSERS,
    accepted,
    normalize_phone,
    parse_boolean,
    parse_date,
    parse_timestamp,
    rejected_record_errors,
)
from ecom_assets.feeds.transforms.shipments import shipment_history, shipping_performance
from ecom_assets.feeds.transforms.validation import inventory_product_flags, sales_flags, shipment_order_flags

DAY = date(2011, 1, 4)


def _csv(domain: str, *records: list[str]) -> bytes:
    lines = [",".join(FEED_COLUMNS[domain]), *(",".join(record) for record in records)]
    return ("\n".join(lines) + "\n").encode()


def _customer(customer_id: str = "17850", **values: str) -> list[str]:
    record = dict.fromkeys(FEED_COLUMNS["customers"], "")
    record |= {"customer_id": customer_id, "email": "ann@example.com", "customer_tier": "gold"} | values
    return [record[name] for name in FEED_COLUMNS["customers"]]


def _batch(files: dict[str, bytes]) -> tuple[bytes, dict[str, bytes]]:
    by_path = {feed_file_path(domain, DAY): content for domain, content in files.items()}
    trigger = trigger_for(
        "batch-1",
        DAY,
        [(domain, feed_file_path(domain, DAY), content) for domain, content in files.items()],
        datetime(2011, 1, 5, 1, tzinfo=UTC),
    )
    return trigger.to_json().encode(), by_path


def test_a_trigger_whose_files_match_it_makes_a_complete_batch():
    trigger, files = _batch({"customers": _csv("customers", _customer())})
    verdict = verify_batch(DAY, trigger, bytes_opener(files))
    assert verdict.complete and verdict.reason == ""
    assert verdict.trigger.file_for("customers").rows == 1


def test_a_file_changed_after_its_trigger_was_written_fails_the_batch_on_checksum_and_rows():
    trigger, files = _batch({"customers": _csv("customers", _customer())})
    path = feed_file_path("customers", DAY)
    files[path] = _csv("customers", _customer(), _customer("12345"))
    verdict = verify_batch(DAY, trigger, bytes_opener(files))
    assert not verdict.complete
    assert "SHA-256" in verdict.reason and "has 2 data rows, the trigger states 1" in verdict.reason


def test_a_missing_file_a_missing_trigger_and_a_wrong_business_date_are_each_named():
    trigger, files = _batch({"customers": _csv("customers", _customer()), "inventory": _csv("inventory")})
    del files[feed_file_path("inventory", DAY)]
    assert (
        f"raw/{feed_file_path('inventory', DAY)} is missing" in verify_batch(DAY, trigger, bytes_opener(files)).reason
    )
    assert "no trigger raw/triggers/trigger_2011_01_04.json" in verify_batch(DAY, None, bytes_opener(files)).reason
    assert "says business_date 2011-01-04" in verify_batch(date(2011, 1, 5), trigger, bytes_opener(files)).reason


def test_a_file_with_other_columns_than_the_contract_fails_its_batch():
    content = b"customer_id,email\n17850,a@b.com\n"
    path = feed_file_path("customers", DAY)
    trigger = trigger_for("b", DAY, [("customers", path, content)], datetime.now(UTC)).to_json()
    verdict = verify_batch(DAY, trigger.encode(), bytes_opener({path: content}))
    assert "the contract's are customer_id, first_name" in verdict.reason


@pytest.mark.parametrize(
    "content, complaint",
    [
        (b"{not json", "not UTF-8 JSON"),
        (b'{"batch_id": "b"}', "lacks business_date, created_at, files"),
        (b'{"batch_id":"b","business_date":"2011-13-01","created_at":"2011-01-01T00:00:00","files":[]}', "bad"),
        (b'{"batch_id":"b","business_date":"2011-01-04","created_at":"2011-01-04T00:00:00","files":[]}', "no files"),
    ],
)
def test_a_trigger_that_breaks_the_contract_is_refused_with_what_breaks_it(content, complaint):
    verdict = verify_batch(DAY, content, bytes_opener({}))
    assert not verdict.complete and complaint in verdict.reason


def test_a_trigger_reads_back_as_written():
    path = feed_file_path("shipping", DAY)
    trigger = trigger_for("b-7", DAY, [("shipping", path, b"h\n1\n2\n")], datetime(2011, 1, 5, tzinfo=UTC))
    assert parse_trigger(trigger.to_json().encode()) == trigger
    assert trigger.files[0].sha256 == hashlib.sha256(b"h\n1\n2\n").hexdigest()


def test_rows_count_records_not_lines_so_a_quoted_line_break_is_one_row():
    assert data_rows(b'a,b\n1,"two\nlines"\n3,4\n') == 2
    assert data_rows(b"a,b\n") == 0


def test_dates_read_iso_and_day_first_and_timestamps_with_or_without_zone(spark: SparkSession):
    texts = ["2011-01-04", "04/01/2011", "4/1/2011", "04.01.2011", "2011-01-04T23:30:00Z", "", "13/13/2011", None]
    rows = spark.createDataFrame([(text,) for text in texts], "text string")
    parsed = [row[0] for row in rows.select(parse_date(rows.text)).collect()]
    assert parsed == [DAY] * 5 + [None, None, None]
    stamps = spark.createDataFrame(
        [("2011-01-04T09:30:00Z",), ("04/01/2011 09:30",), ("2011-01-04 09:30:00",)], "t string"
    )
    assert {row[0].strftime("%Y-%m-%d %H:%M") for row in stamps.select(parse_timestamp(stamps.t)).collect()} == {
        "2011-01-04 09:30"
    }


def test_booleans_read_the_words_an_export_writes(spark: SparkSession):
    words = ["TRUE", "1", "yes", "Y", "false", "0", "No", "", "maybe"]
    rows = spark.createDataFrame([(word,) for word in words], "w string")
    assert [row[0] for row in rows.select(parse_boolean(rows.w)).collect()] == [True] * 4 + [False] * 3 + [None] * 2


def test_phone_numbers_lose_their_punctuation_and_a_00_prefix_becomes_plus(spark: SparkSession):
    rows = spark.createDataFrame([("+44 (0)20 7946-0958",), ("0044.20.7946.0958",), ("  ",)], "p string")
    assert [row[0] for row in rows.select(normalize_phone(rows.p)).collect()] == [
        "+4402079460958",
        "+442079460958",
        None,
    ]


def _bronze(spark: SparkSession, domain: str, records: list[dict]) -> "DataFrame":  # noqa: F821
    columns = FEED_COLUMNS[domain]
    rows = [
        tuple(record.get(name, "") for name in columns) + (record.get("corrupt_record"), "b1", DAY, "f.csv")
        for record in records
    ]
    schema = ", ".join(f"{name} string" for name in columns)
    return spark.createDataFrame(
        rows, f"{schema}, corrupt_record string, batch_id string, business_date date, source_file_name string"
    )


def test_a_customer_with_a_bad_email_is_kept_with_the_email_null_and_the_issue_named(spark: SparkSession):
    bronze = _bronze(
        spark,
        "customers",
        [
            {"customer_id": "17850.0", "email": "Ann@Example.COM", "phone": "020 7946 0958", "customer_tier": "Gold"},
            {"customer_id": "12346", "email": "not-an-address", "date_of_birth": "31/02/1980"},
            {"customer_id": " ", "email": "x@y.org"},
        ],
    )
    parsed = FEED_PARSERS["customers"](bronze)
    kept = {row["customer_id"]: row for row in accepted(parsed).collect()}
    assert set(kept) == {"17850", "12346"}
    assert kept["17850"]["email"] == "ann@example.com" and kept["17850"]["customer_tier"] == "gold"
    assert kept["17850"]["phone"] == "02079460958" and kept["17850"]["format_issues"] == []
    assert kept["12346"]["email"] is None and kept["12346"]["date_of_birth"] is None
    assert kept["12346"]["format_issues"] == [
        "email 'not-an-address' is not an email address",
        "date_of_birth '31/02/1980' is not a date",
    ]
    errors = rejected_record_errors(parsed, "raw.customers", "step", datetime.now(UTC)).collect()
    assert [(row["error_type"], row["partition_date"]) for row in errors] == [("missing_customer_id", DAY)]


def test_products_reject_an_unreadable_price_and_read_discontinued_words(spark: SparkSession):
    bronze = _bronze(
        spark,
        "products",
        [
            {"product_id": "85123A", "price": "2.55", "discontinued": "yes"},
            {"product_id": "71053", "price": "3,39"},
            {"product_id": "22752", "price": "-1"},
            {"product_id": "21730", "price": "4.25", "discontinued": ""},
        ],
    )
    parsed = FEED_PARSERS["products"](bronze)
    kept = {row["product_id"]: row for row in accepted(parsed).collect()}
    assert kept["85123A"]["price"] == Decimal("2.55") and kept["85123A"]["discontinued"] is True
    assert kept["21730"]["discontinued"] is False
    reasons = {row["product_id"]: row["rejection_reason"] for row in parsed.collect() if row["rejection_reason"]}
    assert reasons == {"71053": "unreadable_price", "22752": "negative_price"}


def test_inventory_needs_a_whole_stock_number_and_a_malformed_line_is_rejected_whole(spark: SparkSession):
    bronze = _bronze(
        spark,
        "inventory",
        [
            {"product_id": "85123A", "stock_quantity": "12", "warehouse_location": ""},
            {"product_id": "71053", "stock_quantity": "many"},
            {"product_id": "x", "corrupt_record": "x,1,2,3,4,5,6,7"},
        ],
    )
    parsed = FEED_PARSERS["inventory"](bronze)
    [kept] = accepted(parsed).collect()
    assert kept["stock_quantity"] == 12 and kept["warehouse_location"] == "unknown"
    errors = {
        row["error_type"]: row["record"]
        for row in rejected_record_errors(parsed, "a", "s", datetime.now(UTC)).collect()
    }
    assert set(errors) == {"unreadable_stock_quantity", "malformed_csv_line"}
    assert errors["malformed_csv_line"] == "x,1,2,3,4,5,6,7"


def test_a_shipment_with_an_unreadable_delivery_date_is_rejected_and_an_empty_one_is_awaited(spark: SparkSession):
    bronze = _bronze(
        spark,
        "shipping",
        [
            {"order_id": "536365", "shipping_method": "Standard", "estimated_delivery": "07/01/2011"},
            {"order_id": "536366", "shipping_method": "express", "actual_delivery": "soon"},
        ],
    )
    parsed = FEED_PARSERS["shipping"](bronze)
    [kept] = accepted(parsed).collect()
    assert kept["shipping_method"] == "standard" and kept["estimated_delivery"] == date(2011, 1, 7)
    assert kept["actual_delivery"] is None
    assert [row["rejection_reason"] for row in parsed.collect() if row["rejection_reason"]] == [
        "unreadable_actual_delivery"
    ]


SHIPPING_SCHEMA = (
    "order_id string, shipping_method string, shipping_cost decimal(12,2), currency string, tracking_number string,"
    " package_weight double, estimated_delivery date, actual_delivery date, business_date date,"
    " created_timestamp timestamp, batch_id string"
)


def _update(order, method, estimated, actual, day, cost="4.95"):
    return (order, method, Decimal(cost), "GBP", f"T-{order}", 1.0, estimated, actual, day, None, f"b{day.day}")


def test_a_shipment_gets_a_version_per_change_keeps_its_delivery_and_loses_quarantined_records(spark: SparkSession):
    d = {n: date(2011, 1, n) for n in range(3, 12)}
    updates = spark.createDataFrame(
        [
            _update("A", "standard", d[7], None, d[3]),
            _update("A", "standard", d[7], None, d[4]),  # no change: no version
            _update("A", "standard", d[7], d[9], d[10]),  # delivered late: version 2
            _update("A", "standard", d[7], None, d[11]),  # resent without the delivery: no version
            _update("B", "express", d[5], None, d[3]),  # quarantined by validation
            _update("C", "standard", d[8], None, d[4]),
            _update("C", "express", d[6], None, d[5]),  # method changed: version 2
        ],
        SHIPPING_SCHEMA,
    )
    kept_out = spark.createDataFrame([("B", d[3])], "order_id string, business_date date")

    history = sorted(
        shipment_history(updates.orderBy(F.rand(3)), kept_out).collect(), key=lambda r: (r.order_id, r.version)
    )

    assert [(r.order_id, r.version, r.valid_from, r.valid_to, r.is_current, r.actual_delivery) for r in history] == [
        ("A", 1, d[3], d[10], False, None),
        ("A", 2, d[10], None, True, d[9]),
        ("C", 1, d[4], d[5], False, None),
        ("C", 2, d[5], None, True, None),
    ]
    assert history[3].shipping_method == "express"


def test_shipping_performance_counts_on_time_late_and_open_shipments_per_order_date_and_method(spark: SparkSession):
    d = {n: date(2011, 1, n) for n in range(3, 12)}
    current = spark.createDataFrame(
        [
            _update("A", "standard", d[7], d[6], d[10], "4.00"),  # on time, 3 days
            _update("B", "standard", d[7], d[9], d[10], "5.00"),  # late, 6 days
            _update("C", "standard", d[7], None, d[4], "6.00"),  # not delivered yet
            _update("D", "express", d[5], d[5], d[6], "9.95"),  # on time, 1 day, ordered the 4th
            _update("Z", "express", d[5], d[5], d[6], "9.95"),  # no such invoice
        ],
        SHIPPING_SCHEMA,
    )
    orders = spark.createDataFrame(
        [("A", d[3]), ("B", d[3]), ("C", d[3]), ("D", d[4])], "invoice_no string, order_date date"
    )

    rows = {(r.order_date, r.shipping_method): r for r in shipping_performance(current, orders).collect()}

    standard = rows[(d[3], "standard")]
    assert (standard.shipments, standard.delivered, standard.on_time) == (3, 2, 1)
    assert standard.on_time_rate == 0.5 and standard.avg_delivery_days == 4.5
    assert standard.avg_shipping_cost == Decimal("5.00")
    express = rows[(d[4], "express")]
    assert (express.shipments, express.on_time_rate, express.avg_delivery_days) == (1, 1.0, 1.0)
    assert len(rows) == 2


def test_inventory_daily_sums_warehouses_and_covers_stock_by_the_trailing_28_day_mean(spark: SparkSession):
    day = date(2011, 2, 1)
    snapshots = spark.createDataFrame(
        [(day, "A", 30), (day, "A", 26), (day, "B", 0), (day, "C", 10), (date(2011, 1, 31), "A", 99)],
        "business_date date, product_id string, stock_quantity int",
    )
    sold = spark.createDataFrame(
        [
            (day, "A", 4),
            (date(2011, 1, 5), "A", 10),  # 27 days before: inside the window
            (date(2011, 1, 4), "A", 1000),  # 28 days before: outside
            (date(2011, 1, 20), "B", 28),
        ],
        "order_date date, stock_code string, units_sold long",
    )

    rows = {r.product_id: r for r in inventory_daily(snapshots, sold, [day]).collect()}

    assert (rows["A"].stock_on_hand, rows["A"].units_sold, rows["A"].mean_daily_units_sold) == (56, 4, 0.5)
    assert rows["A"].days_of_cover == 112.0 and not rows["A"].stock_out
    assert (rows["B"].days_of_cover, rows["B"].stock_out) == (0.0, True)
    assert (rows["C"].units_sold, rows["C"].days_of_cover) == (0, None), "no sales in the window: no cover figure"
    assert cover_window_start(day) == date(2011, 1, 5)


def test_sales_take_the_tier_in_effect_on_their_day_and_are_summed_per_tier(spark: SparkSession):
    lines = spark.createDataFrame(
        [
            ("1", "17850", date(2011, 1, 3), "sale", Decimal("10.000")),
            ("2", "17850", date(2011, 1, 5), "sale", Decimal("20.000")),
            ("2", "17850", date(2011, 1, 5), "sale", Decimal("5.000")),
            ("3", "13047", date(2011, 1, 5), "sale", Decimal("7.000")),
            ("4", None, date(2011, 1, 5), "sale", Decimal("3.000")),
            ("C5", "17850", date(2011, 1, 5), "return", Decimal("-20.000")),
        ],
        "invoice_no string, customer_id string, order_date date, line_type string, line_amount decimal(18,3)",
    )
    history = spark.createDataFrame(
        [
            ("17850", "silver", date(2011, 1, 2), None),
            ("17850", "gold", date(2011, 1, 5), None),
            ("13047", None, date(2011, 1, 1), None),
        ],
        "customer_id string, customer_tier string, business_date date, created_timestamp timestamp",
    )

    rows = {(r.order_date.day, r.customer_tier): r for r in segment_analysis(tier_as_of(lines, history)).collect()}

    assert set(rows) == {(3, "silver"), (5, "gold"), (5, "unknown"), (5, "guest")}
    assert (rows[(5, "gold")].revenue, rows[(5, "gold")].orders, rows[(5, "gold")].customers) == (
        Decimal("25.000"),
        1,
        1,
    )
    assert (rows[(5, "guest")].orders, rows[(5, "guest")].customers) == (1, 0)
    assert rows[(3, "silver")].revenue == Decimal("10.000")


def test_only_stock_vanishing_beyond_the_share_and_the_days_sales_counts_as_a_drop(spark: SparkSession):
    schema = "business_date date, product_id string, stock_on_hand long, units_sold long"
    first, second = date(2011, 3, 1), date(2011, 3, 2)
    previous = spark.createDataFrame(
        [(first, "A", 100, 0), (first, "B", 100, 0), (first, "C", 100, 0), (first, "D", 0, 0), (first, "E", 10, 0)],
        schema,
    )
    days = spark.createDataFrame(
        [
            (second, "A", 40, 0),  # 60 vanished: more than half
            (second, "B", 40, 20),  # 60 fell, 20 sold: 40 unexplained
            (second, "C", 50, 0),  # exactly half: allowed
            (second, "D", 0, 0),  # nothing to lose
            (second, "E", 500, 0),  # restocked
            (second, "F", 1, 0),  # no day before
        ],
        schema,
    )
    drops = unexplained_stock_drops(days, previous, 0.5).collect()
    assert [(row["product_id"], row["unexplained_drop"], row["drop_share"]) for row in drops] == [("A", 60, 0.6)]


def _rules(flags) -> set[tuple[str, str]]:
    return {(row.rule, row.record_key) for row in flags.collect()}


def test_a_delivery_before_its_invoices_day_and_a_shipment_naming_no_invoice_are_flagged(spark: SparkSession):
    d = {n: date(2011, 1, n) for n in range(3, 12)}
    order_days = spark.createDataFrame([("A", d[3]), ("B", d[6]), ("C", d[9])], "invoice_no string, order_date date")
    shipping = spark.createDataFrame(
        [
            _update("A", "standard", d[7], d[5], d[10]),  # delivered after A was ordered
            _update("B", "standard", d[7], d[5], d[10]),  # delivered before B was ordered
            _update("Z", "express", d[7], None, d[10]),  # no such invoice
        ],
        SHIPPING_SCHEMA,
    )

    flags = shipment_order_flags(shipping, order_days)

    assert _rules(flags) == {("delivery_before_order", "B"), ("shipment_without_order", "Z")}


def test_sales_meet_each_products_latest_record_and_unknown_products_and_customers_are_flagged(spark: SparkSession):
    d = {n: date(2011, 1, n) for n in range(3, 12)}
    history = "product_id string, discontinued boolean, business_date date, created_timestamp timestamp"
    products = spark.createDataFrame(
        [
            ("P1", True, d[3], None),
            ("P1", False, d[4], None),  # back on sale: its latest record counts
            ("P2", False, d[3], None),
            ("P2", True, d[5], None),  # discontinued before the sale
            ("P3", True, d[9], None),  # discontinued the day of the sale: not before it
            ("P9", True, d[3], None),  # never sold: no finding
        ],
        history,
    )
    customers = spark.createDataFrame([("C1",), ("C9",)], "customer_id string")
    sales = spark.createDataFrame(
        [
            ("l1", "i1", "P1", "C1", d[9], "sale"),
            ("l2", "i1", "P2", "C1", d[9], "sale"),
            ("l3", "i2", "P3", "C2", d[9], "sale"),
            ("l4", "i3", "P4", None, d[9], "sale"),
            ("l5", "i4", "P5", "C3", d[9], "return"),  # only sales are checked
        ],
        "line_id string, invoice_no string, stock_code string, customer_id string, order_date date, line_type string",
    )

    flags = sales_flags(sales, products, customers)

    assert _rules(flags) == {
        ("discontinued_product_sold", "l2"),
        ("sale_unknown_customer", "l3"),
        ("sale_unknown_product", "l4"),
    }


def test_stock_of_a_product_no_feed_names_is_flagged_once_per_warehouse(spark: SparkSession):
    d = {n: date(2011, 1, n) for n in range(3, 12)}
    products = spark.createDataFrame(
        [("P1", False, d[3], None), ("P9", False, d[4], None)],
        "product_id string, discontinued boolean, business_date date, created_timestamp timestamp",
    )
    inventory = spark.createDataFrame(
        [("P1", "Leeds", 3, d[5]), ("P2", "Leeds", 4, d[5]), ("P2", "York", 0, d[5])],
        "product_id string, warehouse_location string, stock_quantity int, business_date date",
    )

    flags = inventory_product_flags(inventory, products)

    assert _rules(flags) == {("inventory_unknown_product", "P2|Leeds"), ("inventory_unknown_product", "P2|York")}
