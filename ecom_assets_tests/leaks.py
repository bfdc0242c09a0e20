"""Searching everything a run leaves behind for a planted secret: tables, files, and text."""

import gzip
from pathlib import Path

from pyspark.sql import functions as F


def tables_holding(spark, warehouse: Path, marker: str) -> dict[str, int]:
    """Rows of every Delta table under the warehouse whose values, as JSON, hold `marker`."""
    found = {}
    for log in warehouse.rglob("_delta_log"):
        table = spark.read.format("delta").load(str(log.parent))
        hits = table.where(F.to_json(F.struct(*table.columns)).contains(marker)).count()
        if hits:
            found[str(log.parent.relative_to(warehouse))] = hits
    return found


def files_holding(folder: Path, marker: bytes) -> list[str]:
    """The files below `folder` holding `marker` (gzip'd files searched uncompressed too)."""
    found = []
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        content = path.read_bytes()
        if path.suffix == ".gz":
            content += gzip.decompress(content)
        if marker in content:
            found.append(str(path))
    return found
