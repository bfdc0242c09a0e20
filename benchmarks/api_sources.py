"""API sources' throughput against the stand-ins: records per second landed and loaded, and an incremental load with
nothing new.

    .venv/bin/python -m benchmarks.api_sources [--customers 1000]

Starts the Stripe stand-in on 127.0.0.1, fills it through Stripe's client (customers, each with a
card payment), then runs the Stripe job three times in one process on one Spark session (started
before the clock): the first, full load; an incremental load with nothing new; and the extraction
alone. Prints each figure; the target for the load with nothing new is under 10 s of work.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

from dagster import DagsterInstance, EnvVar, ResourceDefinition, materialize
from dagster_dlt import DagsterDltResource

from ecom_assets.api_sources.definitions import API_SOURCE_ASSETS
from ecom_assets.api_sources.sample_data import StripeShop
from ecom_assets.api_sources.standins.stripe_server import running_standin
from ecom_assets.api_sources.stripe.assets import stripe_api
from ecom_assets.platform.quality_policy import DataQualityPolicy
from resources import Lakehouse, LocalLandingZone, LocalSparkSession, StripeApi
from resources.settings import STRIPE_KEY_VARIABLE

NOTHING_NEW_TARGET_SECONDS = 10.0


def _resources(work: Path, api_base: str, spark: LocalSparkSession) -> dict:
    return {
        "spark": spark,
        "landing": LocalLandingZone(root=str(work / "landing")),
        "lakehouse": Lakehouse(warehouse_root=str(work / "warehouse")),
        "quality": DataQualityPolicy(),
        "step_launcher": ResourceDefinition.none_resource(),
        "stripe": StripeApi(api_key=EnvVar(STRIPE_KEY_VARIABLE), api_base=api_base, lookback_seconds=0),
        "dlt_runner": DagsterDltResource(),
    }


def _timed(assets, resources: dict, instance: DagsterInstance) -> tuple[float, dict[str, float]]:
    """The run's wall time, and each step's."""
    started = time.perf_counter()
    result = materialize(assets, resources=resources, instance=instance)
    if not result.success:
        raise SystemExit("a benchmark run failed")
    elapsed = time.perf_counter() - started
    starts, steps = {}, {}
    for record in instance.all_logs(result.run_id):
        event = record.dagster_event
        if event is not None and event.event_type_value == "STEP_START":
            starts[event.step_key] = record.timestamp
        elif event is not None and event.event_type_value == "STEP_SUCCESS":
            steps[event.step_key] = record.timestamp - starts[event.step_key]
    return elapsed, steps


def main() -> None:
    """Fill the stand-in, time the loads, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1000, help="customers, each with one card payment")
    args = parser.parse_args()
    os.environ.setdefault(STRIPE_KEY_VARIABLE, "sk_test_benchmark")
    spark = LocalSparkSession(master="local[2]", shuffle_partitions=2)
    spark.get_session()  # the JVM starts before any clock
    with running_standin() as api_base, tempfile.TemporaryDirectory(prefix="ecom-api-bench-") as folder:
        shop = StripeShop(api_base, os.environ[STRIPE_KEY_VARIABLE])
        filling = time.perf_counter()
        for number in range(args.customers):
            customer = shop.customer(f"customer{number}@example.com", f"Customer {number}")
            shop.payment(customer, 1000 + number, "gbp", str(number))
        filled = time.perf_counter() - filling
        # each payment lists as a payment intent, a charge and an event besides its customer and the customer's event
        records = args.customers * 5
        instance = DagsterInstance.ephemeral()
        resources = _resources(Path(folder), api_base, spark)
        full, full_steps = _timed(API_SOURCE_ASSETS, resources, instance)
        nothing_new, idle_steps = _timed(API_SOURCE_ASSETS, resources, instance)
        extraction, _ = _timed(
            [stripe_api], _resources(Path(folder) / "again", api_base, spark), DagsterInstance.ephemeral()
        )
    print(f"Stripe stand-in filled with {args.customers} customers and payments in {filled:.1f} s")
    print(f"full load, extraction only:            {extraction:6.1f} s  ({records / extraction:,.0f} records/s)")
    print(f"full load, extraction to silver:       {full:6.1f} s  ({records / full:,.0f} records/s)")
    verdict = f"target < {NOTHING_NEW_TARGET_SECONDS:.0f} s: " + (
        "met" if nothing_new < NOTHING_NEW_TARGET_SECONDS else "MISSED"
    )
    print(f"incremental load with nothing new:     {nothing_new:6.1f} s  ({verdict})")
    print("steps (full load / nothing new), seconds:")
    for step, seconds in full_steps.items():
        print(f"  {step:60s} {seconds:6.1f} / {idle_steps.get(step, 0.0):5.1f}")


if __name__ == "__main__":
    main()
