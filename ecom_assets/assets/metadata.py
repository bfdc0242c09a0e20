"""Metadata helpers shared by the assets: asset keys from table names, previews."""

from dagster import AssetKey, MetadataValue
from pyspark.sql import DataFrame

from ecom_assets.tables import TableName

PREVIEW_ROWS = 5


def asset_key(table: TableName) -> AssetKey:
    """The asset key of a table mirrors its Unity Catalog name."""
    return AssetKey(table.parts)


def preview(rows: DataFrame, limit: int = PREVIEW_ROWS) -> MetadataValue:
    """A small Markdown table of the first rows, for the asset page."""
    records = rows.limit(limit).collect()
    header = "| " + " | ".join(rows.columns) + " |"
    rule = "| " + " | ".join("---" for _ in rows.columns) + " |"
    lines = ["| " + " | ".join(_cell(value) for value in record) + " |" for record in records]
    return MetadataValue.md("\n".join([header, rule, *lines]))


def _cell(value: object) -> str:
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")
