"""One day of bronze, silver and gold materialized several times in one process: what a warm JVM would give.

Each run goes through the code location's own assets and resources, on the Dagster instance in
`DAGSTER_HOME`; the first run pays the Spark session's start and the JVM's class loading and
compiling, the later ones find them done, as a process kept between runs (or a shared Spark
Connect server) would.

    python benchmarks/warm_one_day.py --day 2011-09-30 [--runs 3]
"""

import argparse
import time

from dagster import AssetKey, AssetsDefinition, DagsterInstance, materialize

from ecom_assets.definitions import defs
from ecom_assets.sales.tables import ORDER_TRANSACTIONS, ORDERS_CLEANED, SALES_METRICS

CORE_KEYS = {AssetKey(list(table.parts)) for table in (ORDER_TRANSACTIONS, ORDERS_CLEANED, SALES_METRICS)}


def core_assets() -> list[AssetsDefinition]:
    """The code location's bronze, silver and gold assets: the work the plain script does."""
    return [a for a in defs.assets if isinstance(a, AssetsDefinition) and CORE_KEYS & set(a.keys)]


def main() -> None:
    """Materialize the day `--runs` times in this process; print each run's seconds (`warm_one_day seconds=a,b,c`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--day", required=True)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    assets = core_assets()
    seconds = []
    with DagsterInstance.get() as instance:
        for _ in range(args.runs):
            started = time.perf_counter()
            materialize(assets, instance=instance, resources=defs.resources, partition_key=args.day)
            seconds.append(time.perf_counter() - started)
    print(f"warm_one_day seconds={','.join(f'{s:.1f}' for s in seconds)}")


if __name__ == "__main__":
    main()
