"""Print a pipeline table where the settings say the tables are (delta-rs for tables by path, no Spark).

python -m ecom_assets.cli.show ecommerce_catalog.analytics.sales_metrics [--limit 40]
"""

import argparse
import shutil

import pandas as pd

from ecom_assets.api_sources import tables as api_tables  # noqa: F401 - each area names its tables
from ecom_assets.clickstream import tables as clickstream_tables  # noqa: F401
from ecom_assets.feeds import tables as feed_tables  # noqa: F401
from ecom_assets.platform.tables import tables_owned
from ecom_assets.sales import tables as sales_tables  # noqa: F401
from resources.settings import Settings
from resources.table_reader import TableReader

KNOWN_TABLES = {name.full_name: name for name in tables_owned()}
ORDERING_COLUMNS = ("order_date", "partition_date", "event_time", "evaluated_at", "reconciliation_date")
"""The first of these a table has orders its rows, so the newest are printed last."""
MAX_CELL_CHARACTERS = 40


def render_rows(frame: pd.DataFrame, limit: int, width: int) -> str:
    """The newest `limit` rows of a table as text no wider than `width` (wider tables wrap into column blocks),
    with a line saying how many rows were printed of how many."""
    if frame.empty:
        return f"the table is empty: 0 rows (columns: {', '.join(frame.columns)})"
    ordering = next((column for column in ORDERING_COLUMNS if column in frame.columns), None)
    if ordering:
        frame = frame.sort_values(ordering, kind="stable")
    shown = frame.tail(limit)
    text = shown.to_string(index=False, line_width=width, max_colwidth=MAX_CELL_CHARACTERS)
    which = f"the last {len(shown):,}" if len(shown) < len(frame) else f"all {len(frame):,}"
    order = f" by {ordering}" if ordering else ""
    return f"{text}\n({which} of {len(frame):,} rows{order}; --limit N prints more)"


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
    print(f"{args.table} at {location}")
    print(render_rows(frame, args.limit, shutil.get_terminal_size().columns))


if __name__ == "__main__":
    main()
