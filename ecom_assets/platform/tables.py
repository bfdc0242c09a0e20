"""Table names: the type every area names its tables with, and the log tables every area writes.

Each area names its own tables in its `tables` module; `tables_owned` lists them all once the
areas are imported (the table maintenance job vacuums each).
"""

from dataclasses import dataclass

from dagster import AssetKey

from resources.settings import DEFAULT_CATALOG

CATALOG = DEFAULT_CATALOG
"""The catalog part of every table's name and asset key (`ECOM_CATALOG` moves the Unity Catalog tables, not the
keys)."""


_OWNED: dict[str, "TableName"] = {}


@dataclass(frozen=True)
class TableName:
    """A `catalog.schema.table` name; the asset key and the storage path both derive from it."""

    catalog: str
    schema: str
    table: str
    cluster_by: str | None = None
    """A date column whose days the table's files keep together: a rerun of one day then rewrites only the files
    holding that day, not every file of the table."""
    keeps_changes: bool = False
    """Whether Delta records the table's changes (its change data feed), for a step that carries its own table
    forward from what changed in this one since it last ran."""

    def __post_init__(self) -> None:
        _OWNED.setdefault(self.full_name, self)

    @property
    def full_name(self) -> str:
        """The dotted Unity Catalog name, e.g. `ecommerce_catalog.raw.order_transactions`."""
        return f"{self.catalog}.{self.schema}.{self.table}"

    @property
    def parts(self) -> list[str]:
        """The three name parts, in order; used as asset key path and folder path."""
        return [self.catalog, self.schema, self.table]


ETL_ERRORS = TableName(CATALOG, "logs", "etl_errors", cluster_by="partition_date", keeps_changes=True)
DATA_QUALITY_RESULTS = TableName(CATALOG, "logs", "data_quality_results")
QUARANTINED_DAYS = TableName(CATALOG, "logs", "quarantined_days", keeps_changes=True)


def tables_owned() -> tuple[TableName, ...]:
    """Every table named so far (each area's `tables` module names its own when imported), in order of naming."""
    return tuple(_OWNED.values())


def asset_key(table: TableName) -> AssetKey:
    """The asset key of a table mirrors its Unity Catalog name."""
    return AssetKey(table.parts)
