"""`dim_products` carried forward from `product_facts` run by run equals the full recomputation, whatever the loads."""

import random
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from pyspark.sql import functions as F

from ecom_assets.sales.rules import CategoryRule, CategoryRules, PriceBand
from ecom_assets.sales.transforms.dimensions import PRODUCT_FEED_SCHEMA
from ecom_assets.sales.transforms.product_history import (
    continue_products,
    days_to_apply,
    first_replaced_versions,
    full_history,
    observed_days,
    run_seeds,
    with_versions_replaced,
)
from ecom_assets.sales.transforms.silver import UNIT_PRICE_TYPE

RULES = CategoryRules(
    rules=(CategoryRule("Seasonal", "Christmas", ("CHRISTMAS",)), CategoryRule("Bags", "Bags", ("BAG",))),
    other_category="Other",
    price_bands=(PriceBand("cheap", Decimal(0)), PriceBand("mid", Decimal("2.50")), PriceBand("dear", Decimal(10))),
)
FIRST_DAY = date(2024, 3, 1)
DAYS = 10
PRODUCTS = ["P0", "P1", "P2", "P3"]
SALES_SCHEMA = f"stock_code string, order_date date, description string, typical_unit_price {UNIT_PRICE_TYPE}"


def day_sales(rng: random.Random, day: date) -> list[tuple]:
    """A day's product summaries: some products sold (few descriptions and prices, so versions repeat and change
    back), some only returned (no typical price: not an observed day)."""
    rows = []
    for product in PRODUCTS:
        roll = rng.random()
        if roll < 0.5:
            description = rng.choice(["RED BAG", "RED CHRISTMAS BAG", "WHITE CANDLE"])
            rows.append((product, day, description, Decimal(rng.choice(["1.00", "2.00", "3.00", "12.00"]))))
        elif roll < 0.6:
            rows.append((product, day, "RED BAG", None))
    return rows


def day_feed(rng: random.Random, day: date) -> list[tuple]:
    """A day's products-feed batch: some products get one or two records (the later one wins), fields often null."""
    rows = []
    for product in rng.sample(PRODUCTS, rng.randint(0, 2)):
        for _ in range(rng.randint(1, 2)):
            created = datetime.combine(day, datetime.min.time()) + timedelta(minutes=rng.randrange(1440))
            rows.append(
                (
                    product,
                    rng.choice([None, "Red bag", "Candle"]),
                    rng.choice([None, "Accessories"]),
                    None,
                    rng.choice([None, "Acme"]),
                    rng.choice([None, Decimal("2.10"), Decimal("4.00")]),
                    rng.choice([None, False, True]),
                    day,
                    created,
                )
            )
    return rows


class Store:
    """What the two tables hold, carried run by run as the asset carries them."""

    def __init__(self, spark):
        self.spark = spark
        self.dim = None
        self.facts = None
        self.rebuilt_from_history = 0

    def run(self, sales, feed, start: date, end: date) -> None:
        """One run of the days `start`..`end` over what is loaded (`sales`, `feed`)."""
        if self.facts is None:
            new_days, touched = None, observed_days(sales, feed).select("stock_code")
        else:
            new_days = observed_days(
                sales.where(F.col("order_date").between(start, end)),
                feed.where(F.col("business_date").between(start, end)),
            )
            touched = new_days.select("stock_code")
        seeds = self.frozen(run_seeds(self.facts, touched, start, end))
        rebuilds = seeds.where("rebuild").count()
        self.rebuilt_from_history += rebuilds if self.facts is not None else 0
        whole = observed_days(sales, feed) if rebuilds or self.facts is None else None
        run = continue_products(seeds.select("stock_code", "seed"), days_to_apply(seeds, new_days, whole), RULES)
        versions, facts = run.versions, run.facts
        if self.facts is None:
            self.dim, self.facts = self.frozen(versions), self.frozen(facts)
            return
        processed = seeds.select("stock_code")
        self.dim = self.frozen(with_versions_replaced(self.dim, first_replaced_versions(seeds), versions))
        self.facts = self.frozen(self.facts.join(processed, "stock_code", "left_anti").unionByName(facts))

    def frozen(self, frame):
        """The frame's rows as they are now (no lineage back to what a later run replaces)."""
        return self.spark.createDataFrame(frame.collect(), frame.schema)


def rows(frame) -> list[dict]:
    return sorted(
        (row.asDict(recursive=True) for row in frame.collect()), key=lambda r: (r["stock_code"], r.get("version"))
    )


@pytest.mark.slow  # about two and a half minutes: the full suite runs it
@pytest.mark.parametrize("seed", [11])
def test_products_carried_forward_equal_the_full_recomputation_over_random_loads(spark, seed):
    rng = random.Random(seed)
    loaded_sales: dict[date, list[tuple]] = {}
    loaded_feed: dict[date, list[tuple]] = {}
    store = Store(spark)
    plans = [(0, 0, "both"), (1, 1, "both"), (1, 1, "feed")]  # a day, the next, then its feed batch rerun alone
    plans += [(d, d, rng.choice(["both", "both", "feed"])) for d in range(2, 6)]  # in order
    plans += [(start, min(DAYS - 1, start + rng.randrange(3)), "both") for start in rng.sample(range(DAYS), 4)]
    for start, end, what in plans:
        for n in range(start, end + 1):
            day = FIRST_DAY + timedelta(days=n)
            if what == "both" and (day not in loaded_sales or rng.random() < 0.5):  # new, or corrected on reload
                loaded_sales[day] = day_sales(rng, day)
            loaded_feed[day] = day_feed(rng, day)
        sales = spark.createDataFrame([r for day in loaded_sales.values() for r in day], SALES_SCHEMA)
        sales = sales.where(F.col("typical_unit_price").isNotNull())
        feed = spark.createDataFrame([r for day in loaded_feed.values() for r in day], PRODUCT_FEED_SCHEMA)
        store.run(sales, feed, FIRST_DAY + timedelta(days=start), FIRST_DAY + timedelta(days=end))

        expected = full_history(sales, feed, RULES)
        expected_dim, expected_facts = expected.versions, expected.facts
        assert rows(store.dim) == rows(expected_dim), f"dim_products after loading days {start}..{end} ({what})"
        stored_facts = {r["stock_code"]: r for r in rows(store.facts)}
        full_facts = {r["stock_code"]: r for r in rows(expected_facts)}
        assert {code: (r["first_seen"], r["last_seen"], r["state"]) for code, r in stored_facts.items()} == {
            code: (r["first_seen"], r["last_seen"], r["state"]) for code, r in full_facts.items()
        }, f"product_facts after loading days {start}..{end} ({what})"
        last_days = spark.createDataFrame(
            [(code, fact["state"]["day"]) for code, fact in stored_facts.items()], "stock_code string, last_day date"
        )
        before_last = full_history(
            sales.join(last_days, "stock_code").where(F.col("order_date") < F.col("last_day")).drop("last_day"),
            feed.join(last_days, "stock_code").where(F.col("business_date") < F.col("last_day")).drop("last_day"),
            RULES,
        )
        states_before_last = {r["stock_code"]: r["state"] for r in rows(before_last.facts)}
        for code, fact in stored_facts.items():
            if fact["previous"] is None:
                continue  # not known: a rerun of the product's last day rebuilds it
            no_state = dict.fromkeys(fact["previous"])
            assert fact["previous"] == states_before_last.get(code, no_state), f"{code}'s state before its last day"
    assert store.rebuilt_from_history > 0, "the loads went back before some product's later history"


def test_a_product_sold_every_day_carries_its_price_counts_instead_of_rereading_its_days(spark):
    sales = spark.createDataFrame(
        [
            ("P1", FIRST_DAY + timedelta(days=n), "RED BAG", Decimal(price))
            for n, price in enumerate(["2.00", "2.00", "2.00", "2.40"])  # one price band: one version
        ],
        SALES_SCHEMA,
    )
    no_feed = spark.createDataFrame([], PRODUCT_FEED_SCHEMA)
    store = Store(spark)
    store.run(
        sales.where(F.col("order_date") < FIRST_DAY + timedelta(days=3)),
        no_feed,
        FIRST_DAY,
        FIRST_DAY + timedelta(days=2),
    )
    (fact,) = rows(store.facts)
    assert fact["state"]["version_prices"] == {Decimal("2.000"): 3}
    last_day = FIRST_DAY + timedelta(days=3)
    store.run(sales, no_feed, last_day, last_day)
    assert store.rebuilt_from_history == 0
    (version,) = rows(store.dim)
    assert (version["version"], version["typical_unit_price"], version["effective_from"]) == (
        1,
        Decimal("2.000"),
        FIRST_DAY,
    )
    (fact,) = rows(store.facts)
    assert fact["state"]["version_prices"] == {Decimal("2.000"): 3, Decimal("2.400"): 1}
    assert (fact["first_seen"], fact["last_seen"], fact["previous"]["day"]) == (
        FIRST_DAY,
        last_day,
        FIRST_DAY + timedelta(days=2),
    )
