"""A second Spark driver for the concurrency test: appends rows to one Delta table on S3, one commit each.

python s3_writer.py ENDPOINT WAREHOUSE_ROOT WRITER APPENDS
"""

import sys

from ecom_assets.platform.tables import TableName
from resources import Lakehouse, LocalSparkSession

TABLE = TableName("ecommerce_catalog", "logs", "concurrent")


def main() -> None:
    """Append `APPENDS` times three rows tagged with the writer's name."""
    endpoint, warehouse_root, writer, appends = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    spark = LocalSparkSession(
        master="local[1]", shuffle_partitions=1, driver_memory="1g", class_archive="", s3=True, s3_endpoint_url=endpoint
    ).get_session()
    lakehouse = Lakehouse(warehouse_root=warehouse_root)
    for number in range(appends):
        rows = spark.createDataFrame([(writer, number)] * 3, "writer string, n int")
        lakehouse.append(TABLE, rows)
    print(f"{writer} appended {appends} times")


if __name__ == "__main__":
    main()
