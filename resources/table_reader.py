"""Reading the pipeline's tables for people, without a Spark session: the steward report and `show`.

Tables addressed by path (a local folder or `s3a://`) are read by delta-rs, straight from the
Delta log Spark wrote: no JVM, answers in a second. Tables addressed by catalog name (Unity
Catalog) can only be resolved by Spark, so there the reader uses the Spark session of the
cluster it runs on.
"""

from collections.abc import Sequence
from typing import Any

import pandas as pd
from deltalake import DeltaTable

from resources.lakehouse import Filter, TableName
from resources.settings import Settings


def delta_storage_options(settings: Settings) -> dict[str, str] | None:
    """Object-store options for delta-rs on S3; credentials come from the environment (`AWS_*`)."""
    if "://" not in (settings.warehouse_root or ""):
        return None
    options = {"AWS_REGION": settings.aws_region}
    if endpoint := settings.s3_endpoint_url:
        options.update(AWS_ENDPOINT_URL=endpoint, AWS_ALLOW_HTTP=str(endpoint.startswith("http://")).lower())
    return options


class TableReader:
    """Reads whole tables, or their rows matching filters, into pandas; where the tables are comes from `settings`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        from resources import lakehouse_for

        self.lakehouse = lakehouse_for(settings)

    @property
    def by_path(self) -> bool:
        """Whether tables are addressed by path (read by delta-rs) rather than by catalog name (read by Spark)."""
        return self.settings.warehouse_root is not None

    def location(self, table: TableName) -> str:
        """Where the table lives: its path, or its catalog name."""
        return self.lakehouse.location(table)

    def _delta_table(self, table: TableName) -> DeltaTable:
        return DeltaTable(
            self.location(table).replace("s3a://", "s3://", 1), storage_options=delta_storage_options(self.settings)
        )

    def exists(self, table: TableName) -> bool:
        """Whether the table has been created."""
        if not self.by_path:
            return self.lakehouse.exists(table)
        uri = self.location(table).replace("s3a://", "s3://", 1)
        return DeltaTable.is_deltatable(uri, storage_options=delta_storage_options(self.settings))

    def to_pandas(self, table: TableName, filters: Sequence[Filter] = ()) -> pd.DataFrame:
        """The table's current rows matching every filter, as pandas."""
        if not self.by_path:
            from pyspark.sql import SparkSession

            return self.lakehouse.read(SparkSession.builder.getOrCreate(), table, filters=filters).toPandas()
        arrow_filters: list[tuple[str, str, Any]] | None = [tuple(f) for f in filters] or None
        return self._delta_table(table).to_pandas(filters=arrow_filters)
