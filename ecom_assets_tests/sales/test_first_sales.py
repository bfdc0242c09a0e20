"""The first-sale table updated from each run's days equals a full recomputation, whatever order days load in."""

import random
from datetime import date, timedelta

import pytest
from pyspark.sql import functions as F

from ecom_assets.platform.dates import DateRange
from ecom_assets.sales.transforms.gold import (
    FIRST_SALES_SCHEMA,
    daily_sales_metrics,
    days_with_moved_first_sales,
    first_sale_changes,
    first_sales_after,
    restate_new_customers,
    sale_customers,
    touched_first_sales,
    with_day_status,
)

FIRST_DAY = date(2024, 3, 1)
DAYS = 12
CUSTOMERS = [f"C{n}" for n in range(8)]
LINES_SCHEMA = (
    "order_date date, invoice_no string, customer_id string, quantity int, line_amount double, line_type string"
)


def day_lines(rng: random.Random, day: date) -> list[tuple]:
    """A day's silver-like lines: a few customers' sales and returns, some without a customer; maybe none at all."""
    lines = []
    for n, customer in enumerate(rng.sample([*CUSTOMERS, None], rng.randint(0, 4))):
        kind = rng.choice(["sale", "sale", "return"])
        lines.append((day, f"{day:%m%d}{n}", customer, 1, 2.0 if kind == "sale" else -2.0, kind))
    return lines


def load_ranges(rng: random.Random, loads: int) -> list[DateRange]:
    """Random runs over the days: out of order, overlapping, reloading days already loaded."""
    ranges = []
    for _ in range(loads):
        start = rng.randrange(DAYS)
        end = min(DAYS - 1, start + rng.randrange(4))
        ranges.append(DateRange(FIRST_DAY + timedelta(days=start), FIRST_DAY + timedelta(days=end)))
    return ranges


def expected_first_sales(silver: dict[date, list[tuple]]) -> dict[str, date]:
    """Each customer's first sale day over every loaded day: the full recomputation."""
    first: dict[str, date] = {}
    for day, lines in silver.items():
        for _, _, customer, _, _, kind in lines:
            if customer and kind == "sale":
                first[customer] = min(first.get(customer, day), day)
    return first


def expected_counts(silver: dict[date, list[tuple]]) -> dict[date, tuple[int, int, int]]:
    """(active, new, returning) customers per loaded day, recomputed from all of silver."""
    first = expected_first_sales(silver)
    counts = {}
    for day, lines in silver.items():
        active = {customer for _, _, customer, _, _, kind in lines if customer and kind == "sale"}
        new = sum(1 for customer in active if first[customer] == day)
        counts[day] = (len(active), new, len(active) - new)
    return counts


@pytest.mark.parametrize("seed", [7, pytest.param(21, marks=pytest.mark.slow)])  # one seed in the quick tier
def test_first_sales_and_new_customers_equal_a_full_recomputation_over_random_loads(spark, seed):
    rng = random.Random(seed)
    silver: dict[date, list[tuple]] = {}
    stored = spark.createDataFrame([], FIRST_SALES_SCHEMA)
    gold: dict[date, dict] = {}
    history_reads = restatements = 0

    def sale_days_after(customers, silver_now):
        nonlocal history_reads
        history_reads += 1
        return sale_customers(silver_now).join(customers, "customer_id", "left_semi")

    for days in load_ranges(rng, 8):
        for day in days:
            silver[day] = day_lines(rng, day)
        everything = spark.createDataFrame([line for lines in silver.values() for line in lines], LINES_SCHEMA)
        lines = spark.createDataFrame([line for day in days for line in silver[day]], LINES_SCHEMA)
        changes = first_sale_changes(
            touched_first_sales(stored, sale_customers(lines), days).cache(),
            days,
            lambda customers, silver_now=everything: sale_days_after(customers, silver_now),
        ).cache()
        statuses = spark.createDataFrame(
            [(day, "delivered") for day in days], "partition_date date, delivery_status string"
        )
        metrics = with_day_status(
            daily_sales_metrics(lines, changes.select("customer_id", "first_sale_date"), days.days()), statuses
        )
        gold.update({row["order_date"]: row.asDict() for row in metrics.collect()})
        moved = days_with_moved_first_sales(changes, days.end)
        after = first_sales_after(stored, changes)
        if moved:
            restatements += 1
            later = spark.createDataFrame([gold[day] for day in moved if day in gold], metrics.schema)
            restated = restate_new_customers(later, after.where(F.col("first_sale_date").isin(moved)))
            gold.update({row["order_date"]: row.asDict() for row in restated.collect()})
        stored = spark.createDataFrame(after.collect(), FIRST_SALES_SCHEMA)

        assert {row["customer_id"]: row["first_sale_date"] for row in stored.collect()} == expected_first_sales(silver)
        counted = {
            day: (row["active_customers"], row["new_customers"], row["returning_customers"])
            for day, row in gold.items()
        }
        assert counted == expected_counts(silver), f"after loading {days}"
    assert restatements and history_reads, "the loads moved later first sales and took some first sales away"


def test_a_corrected_file_that_takes_a_first_sale_away_moves_it_to_the_next_sale(spark):
    d1, d2, d3 = FIRST_DAY, FIRST_DAY + timedelta(days=1), FIRST_DAY + timedelta(days=2)
    stored = spark.createDataFrame([("A", d1), ("B", d2)], FIRST_SALES_SCHEMA)
    later_sales = spark.createDataFrame([("A", d3), ("B", d3)], "customer_id string, order_date date")
    corrected_d1 = spark.createDataFrame([], "customer_id string, order_date date")
    asked = []

    def sale_days_after(customers):
        asked.extend(row["customer_id"] for row in customers.collect())
        return later_sales.join(customers, "customer_id", "left_semi")

    changes = first_sale_changes(
        touched_first_sales(stored, corrected_d1, DateRange(d1, d1)), DateRange(d1, d1), sale_days_after
    )

    assert {row["customer_id"]: row["first_sale_date"] for row in first_sales_after(stored, changes).collect()} == {
        "A": d3,
        "B": d2,
    }
    assert asked == ["A"], "only the customer whose first sale went away is looked up"
    assert days_with_moved_first_sales(changes, d1) == [d3]


def test_a_run_that_moves_no_first_sale_asks_nothing_of_the_history(spark):
    day = FIRST_DAY + timedelta(days=5)
    stored = spark.createDataFrame([("A", FIRST_DAY), ("B", day)], FIRST_SALES_SCHEMA)
    rerun = spark.createDataFrame([("A", day), ("B", day)], "customer_id string, order_date date")

    def no_history(customers):
        raise AssertionError(f"history read for {customers.collect()}")

    changes = first_sale_changes(
        touched_first_sales(stored, rerun, DateRange(day, day)), DateRange(day, day), no_history
    )

    assert days_with_moved_first_sales(changes, day) == []
    assert {row["customer_id"]: row["first_sale_date"] for row in changes.collect()} == {"A": FIRST_DAY, "B": day}
