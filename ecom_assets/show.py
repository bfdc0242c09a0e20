"""Print a pipeline table where the settings say the tables are (delta-rs for tables by path, no Spark).

python -m ecom_assets.show ecommerce_catalog.analytics.sales_metrics [--limit 40]
"""

import argparse

from ecom_assets import tables
from resources.settings import Settings
from resources.table_reader import TableReader

KNOWN_TABLES = {name.full_name: name for name in vars(tables).values() if isinstance(name, tables.TableName)}


def main(argv: list[str] | None = None) -> None:
    """Command line: print the newest rows of one table as text."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table", choices=sorted(KNOWN_TABLES))
    parser.add_argument("--limit", type=int, default=40)
    args = parser.parse_args(argv)
    reader = TableReader(Settings.from_environment())
    location = reader.location(KNOWN_TABLES[args.table])
    if not reader.exists(KNOWN_TABLES[args.table]):
        raise SystemExit(f"{args.table} has not been materialized yet ({location})")
    frame = reader.to_pandas(KNOWN_TABLES[args.table])
    if "order_date" in frame.columns:
        frame = frame.sort_values("order_date")
    print(f"{args.table}  ({len(frame):,} rows at {location})")
    print(frame.tail(args.limit).to_string(index=False))


if __name__ == "__main__":
    main()
