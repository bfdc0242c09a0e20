"""`processed.shipments` rebuilt from what changed in its inputs equals a full rebuild, whatever order days load in."""

import random
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from pyspark.sql import functions as F

from ecom_assets.feeds.shipment_changes import shipments_to_rebuild
from ecom_assets.feeds.tables import SHIPMENTS, SHIPPING_UPDATES, VALIDATION_RESULTS
from ecom_assets.feeds.transforms.shipments import shipment_history
from ecom_assets.platform.dates import DateRange
from ecom_assets.platform.tables import ETL_ERRORS, QUARANTINED_DAYS

FIRST_DAY = date(2024, 5, 1)
DAYS = 10
ORDERS = [f"5{n:05d}" for n in range(12)]
UPDATES_SCHEMA = (
    "order_id string, shipping_method string, shipping_cost decimal(12,2), currency string, tracking_number string,"
    " package_weight double, estimated_delivery date, actual_delivery date, business_date date,"
    " created_timestamp timestamp, batch_id string"
)
FAILED_SCHEMA = "asset string, partition_date date, reason string"
QUARANTINED_SCHEMA = "asset string, partition_date date, error_type string, record string"
VALIDATION = VALIDATION_RESULTS.full_name
pytestmark = pytest.mark.slow  # about four minutes of rebuilds: the full suite runs them


def day_updates(rng: random.Random, day: date, load: int) -> list[tuple]:
    """A batch's shipping records: some orders, a method or delivery that may change, maybe two records of one
    order on the day, maybe none at all."""
    records = []
    for order in rng.sample(ORDERS, rng.randint(0, 5)):
        for stamp in range(rng.choice([1, 1, 2])):
            delivered = FIRST_DAY + timedelta(days=rng.randrange(DAYS + 5)) if rng.random() < 0.4 else None
            records.append(
                (
                    order,
                    rng.choice(["standard", "express"]),
                    Decimal(rng.choice(["4.95", "9.95"])),
                    "GBP",
                    f"T-{order}",
                    1.5,
                    FIRST_DAY + timedelta(days=rng.randrange(DAYS + 5)),
                    delivered,
                    day,
                    datetime(day.year, day.month, day.day, 8 + stamp),
                    f"batch-{day:%d}-{load}",
                )
            )
    return records


def load_ranges(rng: random.Random, loads: int) -> list[DateRange]:
    """Runs over one or two days: out of order, overlapping, reloading (correcting) days already loaded."""
    starts = [rng.randrange(DAYS) for _ in range(loads)]
    return [
        DateRange(
            FIRST_DAY + timedelta(days=start), FIRST_DAY + timedelta(days=min(DAYS - 1, start + rng.randrange(2)))
        )
        for start in starts
    ]


def load(spark, lakehouse, rng: random.Random, days: DateRange, number: int, state: dict) -> None:
    """What a feeds run writes for its days: the shipping updates, then validation's verdicts on them."""
    updates = []
    for day in days:
        state["updates"][day] = day_updates(rng, day, number)
        updates += state["updates"][day]
    rows = spark.createDataFrame(updates, UPDATES_SCHEMA)
    lakehouse.replace_date_range(SHIPPING_UPDATES, rows, "business_date", days)
    validate(spark, lakehouse, rng, days, state)


def validate(spark, lakehouse, rng: random.Random, days: DateRange, state: dict, verdict_only: bool = False) -> None:
    """What validation writes for its days (also when it reruns alone, on updates already loaded): the batches it
    failed, and the records it quarantined, of the shipping rules and of another feed's rule that must not matter.
    `verdict_only`: only whether a batch failed changes, its quarantined records stay."""
    failed, quarantined = [], []
    for day in days:
        state["failed"][day] = rng.random() < (0.5 if verdict_only else 0.15)
        if state["failed"][day]:
            failed.append((VALIDATION, day, "high_findings"))
        if not verdict_only or day not in state["quarantined"]:
            state["quarantined"][day] = [
                (VALIDATION, day, rng.choice(["shipment_without_order", "delivery_before_order"]), record[0])
                for record in state["updates"].get(day, [])
                if rng.random() < 0.2
            ] + [(VALIDATION, day, "negative_stock", rng.choice(ORDERS))]
        quarantined += state["quarantined"][day]
    scope = {"asset": VALIDATION}
    lakehouse.replace_date_range(
        QUARANTINED_DAYS, spark.createDataFrame(failed, FAILED_SCHEMA), "partition_date", days, scope=scope
    )
    lakehouse.replace_date_range(
        ETL_ERRORS, spark.createDataFrame(quarantined, QUARANTINED_SCHEMA), "partition_date", days, scope=scope
    )


def full_rebuild(spark, state: dict) -> set[tuple]:
    """Every shipment's history recomputed from everything loaded: the rows the table must hold."""
    kept = [record for day, records in state["updates"].items() if not state["failed"][day] for record in records]
    kept_out = [
        (record, day)
        for day, rows in state["quarantined"].items()
        for _, _, rule, record in rows
        if rule != "negative_stock"
    ]
    history = shipment_history(
        spark.createDataFrame(kept, UPDATES_SCHEMA),
        spark.createDataFrame(kept_out, "order_id string, business_date date"),
    )
    return {tuple(row) for row in history.collect()}


def stored(spark, lakehouse) -> set[tuple]:
    return {tuple(row) for row in lakehouse.read(spark, SHIPMENTS).collect()}


@pytest.mark.parametrize("seed", [3, 11])
def test_shipments_rebuilt_from_their_inputs_changes_equal_a_full_rebuild_over_random_loads(spark, lakehouse, seed):
    rng = random.Random(seed)
    state = {"updates": {}, "failed": {}, "quarantined": {}}
    rebuilt_changed = []
    for number, days in enumerate(load_ranges(rng, 10)):
        if number and rng.random() < 0.4:  # validation rerun alone: the updates stay as they were
            validate(spark, lakehouse, rng, days, state, verdict_only=rng.random() < 0.5)
        else:
            load(spark, lakehouse, rng, days, number, state)
        if number and rng.random() < 0.3:
            continue  # the shipments step did not run (or failed) after this load: the next run must catch up
        rebuild = shipments_to_rebuild(spark, lakehouse)
        before = lakehouse.history(SHIPMENTS, limit=1)[0].version if lakehouse.exists(SHIPMENTS) else None
        rebuild.publish(lakehouse)
        if not rebuild.whole:
            rebuilt_changed.append(rebuild.orders.count())
            if not rebuilt_changed[-1]:
                assert lakehouse.history(SHIPMENTS, limit=1)[0].version == before, "nothing to rebuild, no commit"

        assert stored(spark, lakehouse) == full_rebuild(spark, state), f"after load {number} of {days}"
    assert rebuilt_changed, "later runs rebuilt only the changed shipments"
    assert min(rebuilt_changed) < len(ORDERS), "some run rebuilt fewer shipments than all"


def test_a_table_without_a_record_of_its_inputs_is_rebuilt_whole_then_only_what_changes(spark, lakehouse):
    rng = random.Random(5)
    state = {"updates": {}, "failed": {}, "quarantined": {}}
    first, second = DateRange(FIRST_DAY, FIRST_DAY + timedelta(days=2)), DateRange(FIRST_DAY, FIRST_DAY)
    load(spark, lakehouse, rng, first, 0, state)
    shipments_to_rebuild(spark, lakehouse).publish(lakehouse)
    # rows written without the note of their inputs' versions, as by hand or by a version before the note
    lakehouse.overwrite(SHIPMENTS, lakehouse.read(spark, SHIPMENTS).localCheckpoint(eager=True))

    again = shipments_to_rebuild(spark, lakehouse)
    assert again.whole and "no record" in again.reason
    again.publish(lakehouse)

    load(spark, lakehouse, rng, second, 1, state)
    changed = shipments_to_rebuild(spark, lakehouse)
    assert not changed.whole
    assert {row["order_id"] for row in changed.orders.collect()} <= set(ORDERS)
    changed.publish(lakehouse)
    assert stored(spark, lakehouse) == full_rebuild(spark, state)


def test_inputs_created_without_a_change_feed_are_rebuilt_whole_once_and_get_one(spark, lakehouse):
    rng = random.Random(9)
    state = {"updates": {}, "failed": {}, "quarantined": {}}
    load(spark, lakehouse, rng, DateRange(FIRST_DAY, FIRST_DAY), 0, state)
    shipments_to_rebuild(spark, lakehouse).publish(lakehouse)
    for table in (SHIPPING_UPDATES, ETL_ERRORS):  # as an installation from before the change feeds had them
        lakehouse.set_table_property(table, "delta.enableChangeDataFeed", "false")
    load(spark, lakehouse, rng, DateRange(FIRST_DAY + timedelta(days=1), FIRST_DAY + timedelta(days=1)), 1, state)

    rebuild = shipments_to_rebuild(spark, lakehouse)
    assert rebuild.whole and "not all known" in rebuild.reason
    rebuild.publish(lakehouse)
    assert lakehouse.table_property(SHIPPING_UPDATES, "delta.enableChangeDataFeed") == "true"

    load(spark, lakehouse, rng, DateRange(FIRST_DAY, FIRST_DAY), 2, state)
    after = shipments_to_rebuild(spark, lakehouse)
    assert not after.whole
    after.publish(lakehouse)
    assert stored(spark, lakehouse) == full_rebuild(spark, state)
    assert lakehouse.read(spark, SHIPMENTS).where(F.col("is_current")).count() == len(
        {row[0] for row in stored(spark, lakehouse)}
    )
