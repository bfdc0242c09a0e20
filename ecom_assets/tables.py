"""Unity Catalog three-level names of every table the pipeline owns."""

from dataclasses import dataclass

CATALOG = "ecommerce_catalog"


@dataclass(frozen=True)
class TableName:
    """A `catalog.schema.table` name; the asset key and the storage path both derive from it."""

    catalog: str
    schema: str
    table: str

    @property
    def full_name(self) -> str:
        """The dotted Unity Catalog name, e.g. `ecommerce_catalog.raw.order_transactions`."""
        return f"{self.catalog}.{self.schema}.{self.table}"

    @property
    def parts(self) -> list[str]:
        """The three name parts, in order; used as asset key path and folder path."""
        return [self.catalog, self.schema, self.table]


ORDER_TRANSACTIONS = TableName(CATALOG, "raw", "order_transactions")
ORDERS_CLEANED = TableName(CATALOG, "processed", "orders_cleaned")
SALES_METRICS = TableName(CATALOG, "analytics", "sales_metrics")
ETL_ERRORS = TableName(CATALOG, "logs", "etl_errors")
DATA_QUALITY_RESULTS = TableName(CATALOG, "logs", "data_quality_results")
