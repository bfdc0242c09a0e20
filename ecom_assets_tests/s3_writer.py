"""A second Spark driver for the concurrency test: appends rows to one Delta table on S3, one commit each.

python s3_writer.py ENDPOINT WAREHOUSE_ROOT WRITER APPENDS BARRIER_DIR

Each writer reads the table, then waits at a barrier (a file per writer in BARRIER_DIR) until every
writer has read it, so their first appends race for the same version.
"""

import sys
import time
from pathlib import Path

from ecom_assets.platform.tables import TableName
from resources import Lakehouse, LocalSparkSession

TABLE = TableName("ecommerce_catalog", "logs", "concurrent")
WRITERS = 2


def main() -> None:
    """Append `APPENDS` times three rows tagged with the writer's name."""
    endpoint, warehouse_root, writer, appends = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    barrier = Path(sys.argv[5])
    spark = LocalSparkSession(
        master="local[1]", shuffle_partitions=1, driver_memory="1g", class_archive="", s3=True, s3_endpoint_url=endpoint
    ).get_session()
    lakehouse = Lakehouse(warehouse_root=warehouse_root)
    lakehouse.history(TABLE, limit=1)  # the table read, as a writer's transaction reads it
    (barrier / f"ready-{writer}").touch()
    deadline = time.monotonic() + 300
    while len(list(barrier.glob("ready-*"))) < WRITERS:
        if time.monotonic() > deadline:
            raise SystemExit(f"{writer}: the other writer never reached the barrier")
        time.sleep(0.01)
    for number in range(appends):
        rows = spark.createDataFrame([(writer, number)] * 3, "writer string, n int")
        lakehouse.append(TABLE, rows)
    print(f"{writer} appended {appends} times")


if __name__ == "__main__":
    main()
