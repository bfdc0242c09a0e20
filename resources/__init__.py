"""Resources that hide where data lives and where Spark runs."""

import os
from pathlib import Path

from resources.email import SmtpEmailResource, email_from_environment
from resources.lakehouse import DeltaRsLakehouse, Lakehouse
from resources.landing import LandingZone, LocalLandingZone
from resources.quality import DataQualityPolicy
from resources.spark import SparkSessionResource

DEFAULT_DATA_ROOT = Path("data")
"""Relative to the working directory: `data/raw/ecommerce_sales/...` and `data/warehouse/...`."""


def local_lakehouse() -> DeltaRsLakehouse:
    """The local warehouse: `ECOM_WAREHOUSE_ROOT`, by default `data/warehouse`."""
    return DeltaRsLakehouse(warehouse_root=os.environ.get("ECOM_WAREHOUSE_ROOT", str(DEFAULT_DATA_ROOT / "warehouse")))


def local_resources() -> dict:
    """The embedded local default: landing folder, delta-rs warehouse, in-process Spark, alert mailer, check thresholds.

    `ECOM_LANDING_ROOT` (default `data`) and `ECOM_WAREHOUSE_ROOT` override the folders.
    """
    return {
        "spark": SparkSessionResource(),
        "landing": LocalLandingZone(root=os.environ.get("ECOM_LANDING_ROOT", str(DEFAULT_DATA_ROOT))),
        "lakehouse": local_lakehouse(),
        "email": email_from_environment(),
        "quality": DataQualityPolicy(),
    }


__all__ = [
    "DataQualityPolicy",
    "DeltaRsLakehouse",
    "Lakehouse",
    "LandingZone",
    "LocalLandingZone",
    "SmtpEmailResource",
    "SparkSessionResource",
    "local_lakehouse",
    "local_resources",
]
