"""Resources that hide where data lives and where Spark runs."""

import os
from pathlib import Path

from resources.lakehouse import DeltaRsLakehouse, Lakehouse
from resources.landing import LandingZone, LocalLandingZone
from resources.spark import SparkSessionResource

DEFAULT_DATA_ROOT = Path("data")
"""Relative to the working directory: `data/raw/ecommerce_sales/...` and `data/warehouse/...`."""


def local_resources() -> dict:
    """The embedded local default: landing folder, delta-rs warehouse and in-process Spark.

    `ECOM_LANDING_ROOT` and `ECOM_WAREHOUSE_ROOT` override the folders.
    """
    landing_root = os.environ.get("ECOM_LANDING_ROOT", str(DEFAULT_DATA_ROOT))
    warehouse_root = os.environ.get("ECOM_WAREHOUSE_ROOT", str(DEFAULT_DATA_ROOT / "warehouse"))
    return {
        "spark": SparkSessionResource(),
        "landing": LocalLandingZone(root=landing_root),
        "lakehouse": DeltaRsLakehouse(warehouse_root=warehouse_root),
    }


__all__ = [
    "DeltaRsLakehouse",
    "Lakehouse",
    "LandingZone",
    "LocalLandingZone",
    "SparkSessionResource",
    "local_resources",
]
