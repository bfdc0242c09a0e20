"""Dimensions and business metrics on tiny hand-built DataFrames, against hand-computed expectations."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from pyspark.sql import functions as F

from ecom_assets.sales.rules import (
    BusinessRulesError,
    CategoryRule,
    CategoryRules,
    PriceBand,
    Promotion,
    load_category_rules,
    load_promotions,
)
from ecom_assets.sales.transforms.business import (
    category_revenue_daily,
    customer_lifetime_value,
    monthly_country_sales,
    product_performance,
    promotion_uplift,
    seasonal_sales,
    weekday_hour_sales,
    with_net_revenue_share_before,
)
from ecom_assets.sales.transforms.dimensions import (
    CUSTOMER_FEED_SCHEMA,
    PRODUCT_FEED_SCHEMA,
    categorized,
    customer_daily_sales,
    customer_versions,
    enrich_lines,
    price_band,
    product_daily_sales,
    promotions_frame,
    rebuild_for,
)
from ecom_assets.sales.transforms.product_history import full_history, product_versions
from ecom_assets.sales.transforms.silver import SILVER_COLUMNS

RULES = CategoryRules(
    rules=(
        CategoryRule("Seasonal", "Christmas", ("CHRISTMAS",)),
        CategoryRule("Candles", "Candles", ("CANDLE", "T-LIGHT")),
        CategoryRule("Bags", "Bags", ("BAG",)),
    ),
    other_category="Other",
    price_bands=(PriceBand("cheap", Decimal(0)), PriceBand("mid", Decimal("2.50")), PriceBand("dear", Decimal(10))),
)
D = [date(2011, 3, 1) + timedelta(days=n) for n in range(10)]  # D[0] is a Tuesday

SILVER_SCHEMA = (
    "line_id string, invoice_no string, stock_code string, description string, quantity int, "
    "unit_price decimal(12,3), line_amount decimal(18,3), currency string, invoice_ts timestamp, "
    "order_date date, customer_id string, is_guest boolean, country string, line_type string, "
    "landing_date date, source_file_name string"
)


def order_lines(spark, *lines: dict):
    """Silver lines from dicts of the fields that matter; `line_amount` = quantity × unit_price."""
    rows = []
    for number, given in enumerate(lines):
        day = given.get("day", D[0])
        quantity, price = given.get("qty", 1), Decimal(given.get("price", "1.00"))
        invoice = given.get("invoice", f"5{number:05d}")
        kind = given.get("kind", "return" if invoice.startswith("C") else "sale")
        customer = given.get("customer", "100")
        rows.append(
            {
                "line_id": f"{number:064d}",
                "invoice_no": invoice,
                "stock_code": given.get("stock", "P1"),
                "description": given.get("description", "RED BAG"),
                "quantity": quantity,
                "unit_price": price,
                "line_amount": quantity * price,
                "currency": "GBP",
                "invoice_ts": datetime.combine(day, datetime.min.time()) + timedelta(hours=given.get("hour", 10)),
                "order_date": day,
                "customer_id": customer,
                "is_guest": customer is None,
                "country": given.get("country", "United Kingdom"),
                "line_type": kind,
                "landing_date": day,
                "source_file_name": f"{day:%Y/%m/%d}/day.csv",
            }
        )
    return spark.createDataFrame([tuple(row[c] for c in SILVER_COLUMNS) for row in rows], SILVER_SCHEMA)


def by(rows, *keys):
    return {tuple(row[k] for k in keys) if len(keys) > 1 else row[keys[0]]: row.asDict() for row in rows}


# --- rules files -------------------------------------------------------------------------------


def test_the_shipped_rules_and_calendar_load_and_every_promotion_scope_is_a_category():
    rules = load_category_rules()
    promotions = load_promotions(rules.categories)
    assert rules.other_category in rules.categories and len(rules.rules) >= 20
    assert {p.scope for p in promotions} <= {*rules.categories, "all"}


@pytest.mark.parametrize(
    "text, complaint",
    [
        ("promotions: [{name: A, start: 2011-01-05, end: 2011-01-01, discount: 0.1, scope: all}]", "start <= end"),
        ("promotions: [{name: A, start: 2011-01-01, end: 2011-01-05, discount: 1.5, scope: all}]", "between 0 and 1"),
        ("promotions: [{name: A, start: 2011-01-01, end: 2011-01-05, discount: 0.1, scope: Toys}]", "'Toys'"),
        (
            "promotions: [{name: A, start: 2011-01-01, end: 2011-01-02, discount: 0.1, scope: all},"
            " {name: A, start: 2011-02-01, end: 2011-02-02, discount: 0.1, scope: all}]",
            "repeated: A",
        ),
        ("promotions: {name: A}", "a list under 'promotions'"),
    ],
)
def test_a_bad_promotions_calendar_is_refused_naming_the_entry(tmp_path, text, complaint):
    path = tmp_path / "promotions.yaml"
    path.write_text(text)
    with pytest.raises(BusinessRulesError, match=complaint) as raised:
        load_promotions(["Bags"], path)
    assert str(path) in str(raised.value)


def test_category_rules_need_keywords_and_rising_price_bands(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("price_bands: [{name: a, from: 0}]\nrules: [{category: Bags, subcategory: Bags, keywords: []}]")
    with pytest.raises(BusinessRulesError, match="rule 1: 'keywords'"):
        load_category_rules(path)
    path.write_text("price_bands: [{name: a, from: 1}]\nrules: [{category: Bags, subcategory: Bags, keywords: [BAG]}]")
    with pytest.raises(BusinessRulesError, match="start from 0"):
        load_category_rules(path)


# --- categories and price bands ---------------------------------------------------------------


@pytest.mark.parametrize(
    "description, category",
    [
        ("CHRISTMAS CANDLE", "Seasonal"),  # first matching rule wins
        ("white t-light holder", "Candles"),  # case-insensitive, hyphenated keyword
        ("JUMBO BAGS RED", "Bags"),  # plural
        ("BAGGAGE TAG", "Other"),  # whole words only
        ("TEA SET", "Other"),
        (None, "Other"),
    ],
)
def test_a_description_gets_the_first_matching_rules_category_or_other(spark, description, category):
    row = spark.createDataFrame([(description,)], "d string").select(categorized(F.col("d"), RULES).alias("c")).first()
    assert row["c"]["category"] == category


def test_price_bands_include_their_lower_bound(spark):
    prices = spark.createDataFrame([(Decimal(p),) for p in ("0.10", "2.49", "2.50", "10.00")], "p decimal(12,3)")
    assert [r["b"] for r in prices.select(price_band(F.col("p"), RULES).alias("b")).collect()] == [
        "cheap",
        "cheap",
        "mid",
        "dear",
    ]


# --- per-day summaries ---------------------------------------------------------------------------


def test_product_day_takes_the_most_frequent_sale_description_and_price_and_leaves_fees_out(spark):
    lines = order_lines(
        spark,
        {"invoice": "1", "description": "RED BAG", "price": "2.00", "qty": 2},
        {"invoice": "2", "description": "RED BAG", "price": "2.00", "qty": 1},
        {"invoice": "2", "description": "RED BAG (DAMAGED)", "price": "1.50", "qty": 10},
        {"invoice": "C3", "description": "RETURNED BAG", "price": "2.00", "qty": -1},
        {"invoice": "4", "stock": "POST", "description": "POSTAGE", "price": "18.00", "kind": "fee"},
        {"invoice": "C5", "stock": "P9", "description": "OLD MUG", "price": "3.00", "qty": -2, "day": D[1]},
    )
    days = by(product_daily_sales(lines).collect(), "stock_code", "order_date")
    assert set(days) == {("P1", D[0]), ("P9", D[1])}
    assert days[("P1", D[0])] == {
        "order_date": D[0],
        "stock_code": "P1",
        "description": "RED BAG",
        "typical_unit_price": Decimal("2.000"),
        "sale_lines": 3,
        "orders": 2,
        "units_sold": 13,
        "gross_revenue": Decimal("21.000"),
        "returned_units": 1,
        "returns_amount": Decimal("2.000"),
    }
    return_only = days[("P9", D[1])]
    assert return_only["description"] == "OLD MUG" and return_only["typical_unit_price"] is None
    assert (return_only["units_sold"], return_only["returned_units"], return_only["returns_amount"]) == (
        0,
        2,
        Decimal("6.000"),
    )


def test_customer_day_sums_sales_and_returns_of_known_customers_only(spark):
    lines = order_lines(
        spark,
        {"invoice": "1", "qty": 2, "price": "5.00", "country": "France"},
        {"invoice": "1", "qty": 1, "price": "1.00", "country": "France"},
        {"invoice": "2", "qty": 1, "price": "4.00", "country": "France"},
        {"invoice": "C3", "qty": -1, "price": "5.00", "country": "France"},
        {"invoice": "4", "qty": 1, "price": "9.00", "customer": None},
    )
    (row,) = customer_daily_sales(lines).collect()
    assert row.asDict() == {
        "order_date": D[0],
        "customer_id": "100",
        "country": "France",
        "orders": 2,
        "units_sold": 4,
        "gross_revenue": Decimal("15.000"),
        "returns_amount": Decimal("5.000"),
    }


# --- SCD2 ------------------------------------------------------------------------------------------


def product_days(spark, *states):
    """Product day summaries from (day, description, typical price) of product P1."""
    lines = order_lines(spark, *({"day": d, "description": text, "price": price} for d, text, price in states))
    return product_daily_sales(lines)


def versions(frame, key="stock_code"):
    return sorted((row.asDict() for row in frame.collect()), key=lambda r: (r[key], r["version"]))


def test_scd2_opens_a_version_on_a_change_not_on_a_repeat_and_again_on_a_change_back(spark):
    history = product_days(
        spark,
        (D[0], "RED BAG", "2.00"),
        (D[1], "RED BAG", "2.00"),  # no change
        (D[3], "RED CHRISTMAS BAG", "2.00"),  # change: description and category
        (D[5], "RED CHRISTMAS BAG", "3.00"),  # change: price band
        (D[8], "RED BAG", "2.00"),  # change back: a new version, not the first reopened
    )
    built = full_history(history, no_feed(spark, PRODUCT_FEED_SCHEMA), RULES)
    rows = versions(built.versions)
    assert [
        (r["version"], r["description"], r["category"], r["price_band"], r["effective_from"], r["effective_to"])
        for r in rows
    ] == [
        (1, "RED BAG", "Bags", "cheap", D[0], D[2]),
        (2, "RED CHRISTMAS BAG", "Seasonal", "cheap", D[3], D[4]),
        (3, "RED CHRISTMAS BAG", "Seasonal", "mid", D[5], D[7]),
        (4, "RED BAG", "Bags", "cheap", D[8], None),
    ]
    assert [r["is_current"] for r in rows] == [False, False, False, True]
    assert [(r["first_seen"], r["last_seen"]) for r in built.facts.collect()] == [(D[0], D[8])]
    assert [r["typical_unit_price"] for r in rows] == [
        Decimal("2.000"),
        Decimal("2.000"),
        Decimal("3.000"),
        Decimal("2.000"),
    ]


def test_scd2_history_does_not_depend_on_the_order_days_are_loaded(spark):
    states = [(D[0], "RED BAG", "2.00"), (D[3], "RED CHRISTMAS BAG", "2.00"), (D[8], "RED BAG", "2.00")]
    at_once = versions(product_versions(product_days(spark, *states), no_feed(spark, PRODUCT_FEED_SCHEMA), RULES))
    later_first = product_versions(product_days(spark, states[2]), no_feed(spark, PRODUCT_FEED_SCHEMA), RULES)
    summaries = product_days(spark, *states)
    touched = summaries.where(f"order_date <= '{D[3]}'").select("stock_code").distinct()
    rebuilt = rebuild_for(
        later_first, product_versions(summaries, no_feed(spark, PRODUCT_FEED_SCHEMA), RULES), touched, "stock_code"
    )
    assert versions(rebuilt) == at_once


def test_customer_segment_and_country_changes_open_versions(spark):
    lines = order_lines(
        spark,
        {"day": D[0], "invoice": "1", "price": "100.00"},  # 1 order, £100: Low
        {"day": D[1], "invoice": "2", "price": "50.00"},  # 2 orders: Medium
        {"day": D[2], "invoice": "3", "price": "10.00"},  # still Medium: no new version
        {"day": D[3], "invoice": "4", "price": "2000.00"},  # £2,160: High
        {"day": D[4], "invoice": "5", "price": "1.00", "country": "EIRE"},  # country change
        {
            "day": D[5],
            "invoice": "C6",
            "qty": -1,
            "price": "2000.00",
            "country": "EIRE",
        },  # refund: 5 orders, still High
    )
    rows = versions(customer_versions(customer_daily_sales(lines), no_feed(spark, CUSTOMER_FEED_SCHEMA)), "customer_id")
    assert [(r["segment"], r["country"], r["effective_from"], r["effective_to"], r["is_current"]) for r in rows] == [
        ("Low Value", "United Kingdom", D[0], D[0], False),
        ("Medium Value", "United Kingdom", D[1], D[2], False),
        ("High Value", "United Kingdom", D[3], D[3], False),
        ("High Value", "EIRE", D[4], None, True),
    ]
    assert {(r["first_order_date"], r["last_order_date"]) for r in rows} == {(D[0], D[4])}


def no_feed(spark, schema):
    return spark.createDataFrame([], schema)


def feed_records(spark, schema, *records: dict):
    """Feed records from dicts of the fields that matter; `created_timestamp` defaults to noon of the business day."""
    columns = spark.createDataFrame([], schema).columns
    rows = [
        tuple(
            record.get(column, datetime.combine(record["business_date"], datetime.min.time()) + timedelta(hours=12))
            if column == "created_timestamp"
            else record.get(column)
            for column in columns
        )
        for record in records
    ]
    return spark.createDataFrame(rows, schema)


def test_a_tier_change_in_the_customers_feed_opens_a_second_version_and_feed_values_win_over_inferred(spark):
    lines = order_lines(
        spark,
        {"day": D[1], "invoice": "1", "price": "10.00"},
        {"day": D[6], "invoice": "2", "price": "10.00"},
        {"day": D[1], "invoice": "3", "price": "10.00", "customer": "200", "country": "EIRE"},
    )
    feed = feed_records(
        spark,
        CUSTOMER_FEED_SCHEMA,
        # before the first sale: applies from the first sale day on
        {"customer_id": "100", "business_date": D[0], "customer_tier": "silver", "country": "France", "city": "Lyon"},
        # a feed-only day: the tier change opens a version that day
        {"customer_id": "100", "business_date": D[4], "customer_tier": "bronze", "country": "France"},
        {
            "customer_id": "100",
            "business_date": D[4],
            "customer_tier": "gold",
            "country": "France",
            "email": "a@example.com",
            "created_timestamp": datetime(2011, 3, 5, 18),
        },  # the day's later record wins
        {"customer_id": "300", "business_date": D[2], "customer_tier": "gold"},  # never bought: not a dimension row
    )
    rows = versions(customer_versions(customer_daily_sales(lines), feed), "customer_id")
    assert [
        (r["customer_id"], r["customer_tier"], r["country"], r["city"], r["email"], r["segment"], r["attribute_source"])
        for r in rows
    ] == [
        ("100", "silver", "France", "Lyon", None, "Low Value", "feed"),
        ("100", "gold", "France", None, "a@example.com", "Low Value", "feed"),
        ("100", "gold", "France", None, "a@example.com", "Medium Value", "feed"),  # the second order, from sales
        ("200", None, "EIRE", None, None, "Low Value", "inferred"),
    ]
    assert [(r["version"], r["effective_from"], r["effective_to"], r["is_current"]) for r in rows] == [
        (1, D[1], D[3], False),
        (2, D[4], D[5], False),
        (3, D[6], None, True),
        (1, D[1], None, True),
    ]
    assert {(r["first_order_date"], r["last_order_date"]) for r in rows if r["customer_id"] == "100"} == {(D[1], D[6])}


def test_products_take_the_feeds_name_catalog_category_brand_price_and_discontinued_flag_else_inferred(spark):
    lines = order_lines(
        spark,
        {"day": D[0], "description": "RED BAG", "price": "2.00"},
        {"day": D[5], "description": "RED BAG", "price": "2.00"},
        {"day": D[0], "stock": "P2", "description": "WHITE CANDLE", "price": "1.00"},
    )
    feed = feed_records(
        spark,
        PRODUCT_FEED_SCHEMA,
        {
            "stock_code": "P1",
            "business_date": D[2],
            "product_name": "Red bag",
            "category": "Accessories",
            "subcategory": None,
            "brand": "Acme",
            "price": Decimal("2.10"),
            "discontinued": False,
        },
        {
            "stock_code": "P1",
            "business_date": D[3],
            "product_name": "Red bag",
            "category": "Accessories",
            "brand": "Acme",
            "price": Decimal("2.10"),
            "discontinued": True,
        },
    )
    rows = versions(product_versions(product_daily_sales(lines), feed, RULES))
    assert [
        (
            r["stock_code"],
            r["version"],
            r["product_name"],
            r["category"],
            r["catalog_category"],
            r["catalog_subcategory"],
            r["brand"],
            r["list_price"],
            r["is_discontinued"],
            r["attribute_source"],
            r["effective_from"],
            r["effective_to"],
        )
        for r in rows
    ] == [
        ("P1", 1, "RED BAG", "Bags", "Bags", "Bags", None, None, None, "inferred", D[0], D[1]),
        ("P1", 2, "Red bag", "Bags", "Accessories", "Bags", "Acme", Decimal("2.10"), False, "feed", D[2], D[2]),
        ("P1", 3, "Red bag", "Bags", "Accessories", "Bags", "Acme", Decimal("2.10"), True, "feed", D[3], None),
        ("P2", 1, "WHITE CANDLE", "Candles", "Candles", "Candles", None, None, None, "inferred", D[0], None),
    ]
    prices = [r["typical_unit_price"] for r in rows if r["stock_code"] == "P1"]
    assert prices == [Decimal("2.000")] * 3, "a version opened on a feed day carries the price sold at before"


# --- enrichment ----------------------------------------------------------------------------------


def test_lines_get_the_category_and_promotion_in_effect_on_their_order_day(spark):
    history = product_days(spark, (D[0], "RED BAG", "2.00"), (D[3], "RED CHRISTMAS BAG", "2.00"))
    dim = product_versions(history, no_feed(spark, PRODUCT_FEED_SCHEMA), RULES)
    promotions = (
        Promotion("Bag week", D[1], D[4], Decimal("0.10"), "Bags"),
        Promotion("Big sale", D[4], D[4], Decimal("0.30"), "all"),
        Promotion("Small sale", D[4], D[4], Decimal("0.05"), "all"),
    )
    lines = order_lines(
        spark,
        {"day": D[2], "description": "ANY TEXT"},  # version 1 in effect: Bags, in Bag week
        {"day": D[3], "description": "ANY TEXT"},  # version 2: Seasonal, not in Bag week
        {"day": D[4], "description": "ANY TEXT"},  # two 'all' promotions: the larger discount wins
        {"day": D[2], "stock": "POST", "description": "POSTAGE", "kind": "fee"},  # no version: own description
    )
    rows = sorted(
        enrich_lines(lines, dim, promotions, RULES).collect(), key=lambda r: (r["order_date"], r["stock_code"])
    )
    assert [(r["product_category"], r["promotion_name"], r["promotion_discount"], r["is_promoted"]) for r in rows] == [
        ("Bags", "Bag week", Decimal("0.100"), True),
        ("Other", None, None, False),
        ("Seasonal", None, None, False),
        ("Seasonal", "Big sale", Decimal("0.300"), True),
    ]
    assert lines.count() == len(rows)


# --- gold ------------------------------------------------------------------------------------------


def enriched(spark, *lines):
    return enrich_lines(
        order_lines(spark, *lines),
        product_versions(product_days(spark), no_feed(spark, PRODUCT_FEED_SCHEMA), RULES),
        (),
        RULES,
    )


def test_category_revenue_per_day_sums_sale_lines_by_category(spark):
    rows = by(
        category_revenue_daily(
            enriched(
                spark,
                {"invoice": "1", "description": "RED BAG", "qty": 3, "price": "1.005"},
                {"invoice": "2", "description": "BLUE BAG", "qty": 1, "price": "2.00"},
                {"invoice": "2", "description": "CANDLE", "qty": 2, "price": "4.00"},
                {"invoice": "C3", "description": "CANDLE", "qty": -1, "price": "4.00"},
            )
        ).collect(),
        "product_category",
    )
    assert {c: (r["revenue"], r["orders"], r["units_sold"], r["sale_lines"]) for c, r in rows.items()} == {
        "Bags": (Decimal("5.02"), 2, 4, 2),
        "Candles": (Decimal("8.00"), 1, 2, 1),
    }


def test_seasonal_sales_rolls_up_to_month_by_country_and_weekday_by_hour(spark):
    seasonal = seasonal_sales(
        order_lines(
            spark,
            {"day": D[0], "invoice": "1", "hour": 9, "price": "10.00"},
            {"day": D[0], "invoice": "1", "hour": 9, "price": "5.00"},
            {"day": D[0], "invoice": "2", "hour": 14, "price": "7.00", "country": "France"},
            {"day": D[7], "invoice": "3", "hour": 9, "price": "1.00"},  # the next Tuesday
            {"day": D[0], "invoice": "C4", "qty": -1, "price": "5.00"},
        )
    )
    first = by(seasonal.collect(), "order_date", "hour", "country")[(D[0], 9, "United Kingdom")]
    assert (first["year_month"], first["weekday"], first["weekday_number"], first["revenue"], first["orders"]) == (
        "2011-03",
        "Tuesday",
        2,
        Decimal("15.00"),
        1,
    )
    monthly = by(monthly_country_sales(seasonal).collect(), "year_month", "country")
    assert {k: (r["revenue"], r["orders"]) for k, r in monthly.items()} == {
        ("2011-03", "United Kingdom"): (Decimal("16.00"), 2),
        ("2011-03", "France"): (Decimal("7.00"), 1),
    }
    straddling = seasonal_sales(
        order_lines(
            spark,
            {"invoice": "9", "hour": 11, "price": "3.00"},
            {"invoice": "9", "hour": 12, "price": "4.00"},
        )
    ).collect()
    assert [(r["hour"], r["revenue"], r["orders"]) for r in straddling] == [(11, Decimal("7.00"), 1)], (
        "an order straddling an hour counts once, at its first line's hour"
    )
    hourly = by(weekday_hour_sales(seasonal).collect(), "weekday", "hour")
    assert {k: (r["revenue"], r["orders"]) for k, r in hourly.items()} == {
        ("Tuesday", 9): (Decimal("16.00"), 2),
        ("Tuesday", 14): (Decimal("7.00"), 1),
    }


def test_customer_lifetime_value_follows_the_stated_model(spark):
    lines = order_lines(
        spark,
        {"day": D[0], "invoice": "1", "qty": 10, "price": "10.00"},
        {"day": D[0], "invoice": "2", "qty": 5, "price": "10.00"},
        {"day": D[4], "invoice": "3", "qty": 5, "price": "10.00"},
        {"day": D[4], "invoice": "C4", "qty": -2, "price": "10.00"},
        {"day": D[1], "invoice": "C5", "qty": -1, "price": "3.00", "customer": "200"},  # only ever returned
    )
    days = customer_daily_sales(lines)
    dim = customer_versions(days, no_feed(spark, CUSTOMER_FEED_SCHEMA)).where("is_current")
    as_of = D[9]
    rows = by(customer_lifetime_value(days, dim, as_of).collect(), "customer_id")
    a = rows["100"]
    # 3 orders, £200 gross, £20 returned; first order D0 (tenure 9 days), last D4 (recency 5 days)
    expected = 180 / 3 * (3 / 30 * 365) * 0.5 ** (5 / 90)
    assert (a["orders"], a["gross_revenue"], a["returns_amount"], a["net_revenue"]) == (
        3,
        Decimal("200.00"),
        Decimal("20.00"),
        Decimal("180.00"),
    )
    assert (a["avg_order_value"], a["tenure_days"], a["recency_days"], a["historic_clv"]) == (
        Decimal("66.67"),
        9,
        5,
        Decimal("180.00"),
    )
    assert abs(float(a["predicted_clv_12m"]) - expected) < 0.006
    assert (a["segment"], a["country"], a["as_of_date"]) == ("Medium Value", "United Kingdom", as_of)
    b = rows["200"]
    assert (b["orders"], b["net_revenue"], b["first_order_date"], b["predicted_clv_12m"], b["segment"]) == (
        0,
        Decimal("-3.00"),
        None,
        Decimal("0.00"),
        "Low Value",
    )


def test_product_tiers_follow_the_pareto_cuts_and_return_rate_is_units_returned_over_sold(spark):
    lines = order_lines(
        spark,
        {"stock": "PA", "description": "RED BAG", "qty": 60, "price": "1.00"},
        {"stock": "PB", "description": "CANDLE", "qty": 30, "price": "1.00"},
        {"stock": "PB", "invoice": "C1", "description": "CANDLE", "qty": -3, "price": "1.00", "day": D[1]},
        {"stock": "PC", "description": "MUG", "qty": 12, "price": "1.00"},
        {"stock": "PD", "description": "PEN", "qty": 1, "price": "1.00"},
        {"stock": "PE", "invoice": "C2", "description": "CHRISTMAS TREE", "qty": -1, "price": "5.00"},
    )
    summaries = product_daily_sales(lines)
    built = full_history(summaries, no_feed(spark, PRODUCT_FEED_SCHEMA), RULES)
    current = built.versions.where("is_current").join(
        built.facts.select("stock_code", "first_seen", "last_seen"), "stock_code"
    )
    rows = by(product_performance(summaries, current, RULES, D[1]).collect(), "stock_code")
    # net revenue 60, 27, 12, 1 (total 100): share before each product 0, .60, .87, .99
    assert {code: rows[code]["tier"] for code in rows} == {
        "PA": "Star Performer",
        "PB": "High Performer",
        "PC": "Medium Performer",
        "PD": "Low Performer",
        "PE": "Low Performer",
    }
    assert (rows["PB"]["return_rate"], rows["PB"]["net_revenue"], rows["PA"]["return_rate"]) == (
        0.1,
        Decimal("27.00"),
        0.0,
    )
    assert (rows["PE"]["category"], rows["PE"]["units_sold"], rows["PE"]["return_rate"]) == ("Seasonal", 0, None)


def test_the_pareto_share_before_each_row_matches_a_global_ranking_with_ties_and_non_positive_rows(spark):
    # values crowded into one band, ties broken by code, spread over many bands, zero and negative
    nets = [Decimal("100.00"), Decimal("100.00"), Decimal("99.99"), Decimal("97.50"), Decimal("0.01")]
    nets += [Decimal(f"{3**power}.25") for power in range(12)] + [Decimal("0.00"), Decimal("-40.00")]
    rows = [(f"P{index:03d}", net) for index, net in enumerate(nets)]
    frame = spark.createDataFrame(rows, "code string, net decimal(18,2)")

    shares = dict(with_net_revenue_share_before(frame, "net", "code", "share").select("code", "share").collect())

    total = sum(net for _, net in rows if net > 0)
    expected, before = {}, Decimal(0)
    for code, net in sorted(rows, key=lambda row: (-row[1], row[0])):
        expected[code] = float(before / total)
        before += max(net, Decimal(0))
    assert set(shares) == set(expected)
    assert all(float(shares[code]) == pytest.approx(share, abs=1e-6) for code, share in expected.items())


def test_promotion_uplift_compares_promotion_days_with_clean_baseline_days(spark):
    start = date(2011, 6, 1)
    promotions = promotions_frame(
        spark,
        [
            Promotion("Bag week", start, start + timedelta(days=1), Decimal("0.10"), "Bags"),
            Promotion("Earlier bags", start - timedelta(days=3), start - timedelta(days=3), Decimal("0.20"), "Bags"),
            Promotion("Future", date(2012, 1, 1), date(2012, 1, 2), Decimal("0.10"), "all"),
        ],
    )
    metric_days = {start - timedelta(days=n): n for n in (1, 2, 3, 40)} | {start: 0, start + timedelta(days=1): 0}
    daily = spark.createDataFrame(
        [(d, Decimal(100), 10) for d in metric_days], "order_date date, gross_revenue decimal(18,2), order_count long"
    )
    bag_revenue = {
        start: 30,
        start + timedelta(days=1): 50,
        start - timedelta(days=1): 20,
        start - timedelta(days=3): 99,
    }
    categories = spark.createDataFrame(
        [(d, "Bags", Decimal(v), 2) for d, v in bag_revenue.items()],
        "order_date date, product_category string, revenue decimal(18,2), orders long",
    )
    rows = by(promotion_uplift(promotions, categories, daily, start + timedelta(days=1)).collect(), "promotion_name")
    bag = rows["Bag week"]
    # promotion: 30 and 50 → 40/day; baseline: day -1 (20) and day -2 (0, no bag sales); day -3 ran
    # another bag promotion and day -40 is outside the 28-day window → 10/day
    assert (bag["promotion_days"], bag["baseline_days"], bag["revenue_per_day"], bag["baseline_revenue_per_day"]) == (
        2,
        2,
        Decimal("40.00"),
        Decimal("10.00"),
    )
    assert bag["revenue_uplift"] == 3.0 and bag["orders_uplift"] == 1.0
    future = rows["Future"]
    assert (future["promotion_days"], future["revenue_uplift"]) == (0, None)
    assert rows["Earlier bags"]["revenue_per_day"] == Decimal("99.00")
