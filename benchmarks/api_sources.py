"""API sources' throughput against the stand-ins: records per second landed and loaded, and an incremental load with
nothing new.

    .venv/bin/python -m benchmarks.api_sources [--customers 1000] [--orders 1000]

Starts the Stripe stand-in on 127.0.0.1 and fills it through Stripe's client (customers, each with
a card payment), then the Shopify stand-in with a seeded store; for each, runs its assets three
times in one process on one Spark session (started before the clock): the first, full load; an
incremental load with nothing new; and the extraction alone. Prints each figure; the target for
the load with nothing new is under 10 s of work.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

from dagster import DagsterInstance, EnvVar, ResourceDefinition, materialize
from dagster_dlt import DagsterDltResource

from ecom_assets.api_sources.definitions import SHOPIFY_ASSETS, STRIPE_ASSETS
from ecom_assets.api_sources.sample_data import StripeShop
from ecom_assets.api_sources.shopify.assets import shopify_api
from ecom_assets.api_sources.standins.shopify_server import running_standin as running_shopify
from ecom_assets.api_sources.standins.stripe_server import running_standin
from ecom_assets.api_sources.stripe.assets import stripe_api
from ecom_assets.platform.quality_policy import DataQualityPolicy
from resources import Lakehouse, LocalLandingZone, LocalSparkSession, ShopifyApi, StripeApi
from resources.settings import SHOPIFY_SECRET_VARIABLE, STRIPE_KEY_VARIABLE

NOTHING_NEW_TARGET_SECONDS = 10.0


def _resources(work: Path, api_base: str, spark: LocalSparkSession) -> dict:
    return {
        "spark": spark,
        "landing": LocalLandingZone(root=str(work / "landing")),
        "lakehouse": Lakehouse(warehouse_root=str(work / "warehouse")),
        "quality": DataQualityPolicy(),
        "step_launcher": ResourceDefinition.none_resource(),
        "stripe": StripeApi(api_key=EnvVar(STRIPE_KEY_VARIABLE), api_base=api_base, lookback_seconds=0),
        "shopify": ShopifyApi(
            shop_url=api_base, client_id="standin-client", client_secret=EnvVar(SHOPIFY_SECRET_VARIABLE)
        ),
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


def _print(source: str, records: int, extraction: float, full: float, nothing_new: float, steps: tuple) -> None:
    print(f"{source}, full load, extraction only:      {extraction:6.1f} s  ({records / extraction:,.0f} records/s)")
    print(f"{source}, full load, extraction to silver: {full:6.1f} s  ({records / full:,.0f} records/s)")
    met = "met" if nothing_new < NOTHING_NEW_TARGET_SECONDS else "MISSED"
    print(f"{source}, incremental with nothing new:    {nothing_new:6.1f} s  (target < 10 s: {met})")
    full_steps, idle_steps = steps
    for step, seconds in full_steps.items():
        print(f"  {step:60s} {seconds:6.1f} / {idle_steps.get(step, 0.0):5.1f} s (full / nothing new)")


def _three_runs(assets, extract_only, resources, fresh_resources) -> tuple:
    """The full load, a load with nothing new, and the extraction alone into a fresh landing."""
    instance = DagsterInstance.ephemeral()
    full, full_steps = _timed(assets, resources, instance)
    nothing_new, idle_steps = _timed(assets, resources, instance)
    extraction, _ = _timed([extract_only], fresh_resources, DagsterInstance.ephemeral())
    return extraction, full, nothing_new, (full_steps, idle_steps)


def main() -> None:
    """Fill the stand-ins, time the loads, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1000, help="Stripe customers, each with one card payment")
    parser.add_argument("--orders", type=int, default=1000, help="Shopify orders (1 to 5 line items each)")
    args = parser.parse_args()
    os.environ.setdefault(STRIPE_KEY_VARIABLE, "sk_test_benchmark")
    os.environ.setdefault(SHOPIFY_SECRET_VARIABLE, "standin-secret")
    spark = LocalSparkSession(master="local[2]", shuffle_partitions=2)
    spark.get_session()  # the JVM starts before any clock
    with tempfile.TemporaryDirectory(prefix="ecom-api-bench-") as folder:
        work = Path(folder)
        with running_standin() as api_base:
            shop = StripeShop(api_base, os.environ[STRIPE_KEY_VARIABLE])
            filling = time.perf_counter()
            for number in range(args.customers):
                customer = shop.customer(f"customer{number}@example.com", f"Customer {number}")
                shop.payment(customer, 1000 + number, "gbp", str(number))
            filled = time.perf_counter() - filling
            print(f"Stripe stand-in filled with {args.customers} customers and payments in {filled:.1f} s")
            stripe = _three_runs(
                STRIPE_ASSETS,
                stripe_api,
                _resources(work / "s", api_base, spark),
                _resources(work / "s2", api_base, spark),
            )
        # each payment lists as a payment intent, a charge and an event besides its customer and the customer's event
        _print("Stripe", args.customers * 5, *stripe)
        with running_shopify("--orders", str(args.orders), "--customers", "200", "--products", "100") as shop_url:
            shopify = _three_runs(
                SHOPIFY_ASSETS,
                shopify_api,
                _resources(work / "h", shop_url, spark),
                _resources(work / "h2", shop_url, spark),
            )
        # orders, customers, products and inventory levels (every variant at each of the two locations)
        _print("Shopify", args.orders + 200 + 100, *shopify)


if __name__ == "__main__":
    main()
