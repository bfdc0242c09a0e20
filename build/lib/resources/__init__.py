"""Resources that hide where data lives and where Spark runs."""

import os
from pathlib import Path

from dagster import ResourceDefinition
from dagster_aws.s3 import S3Resource

from resources.business_rules import BusinessRules
from resources.email import SmtpEmailResource, email_from_environment
from resources.lakehouse import DeltaRsLakehouse, Lakehouse
from resources.landing import LandingZone, LocalLandingZone, S3LandingZone
from resources.quality import DataQualityPolicy
from resources.spark import LocalSparkSession, SparkSessionResource

DEFAULT_DATA_ROOT = Path("data")
"""Relative to the working directory: `data/raw/ecommerce_sales/...` and `data/warehouse/...`."""


def local_lakehouse() -> DeltaRsLakehouse:
    """The local warehouse: `ECOM_WAREHOUSE_ROOT`, by default `data/warehouse`."""
    return DeltaRsLakehouse(warehouse_root=os.environ.get("ECOM_WAREHOUSE_ROOT", str(DEFAULT_DATA_ROOT / "warehouse")))


def landing_from_environment(stage_for_spark: bool = True) -> LandingZone:
    """`s3://$ECOM_LANDING_BUCKET/$ECOM_LANDING_PREFIX` when a bucket is set, else the folder `ECOM_LANDING_ROOT`.

    S3 credentials come from the environment (boto3's chain: `AWS_ACCESS_KEY_ID`, ... or an
    instance profile); `ECOM_S3_ENDPOINT_URL` points at an S3-compatible server instead of AWS.
    """
    bucket = os.environ.get("ECOM_LANDING_BUCKET")
    if not bucket:
        return LocalLandingZone(root=os.environ.get("ECOM_LANDING_ROOT", str(DEFAULT_DATA_ROOT)))
    s3 = S3Resource(
        endpoint_url=os.environ.get("ECOM_S3_ENDPOINT_URL") or None,
        region_name=os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1")),
    )
    return S3LandingZone(
        s3=s3, bucket=bucket, prefix=os.environ.get("ECOM_LANDING_PREFIX", ""), stage_for_spark=stage_for_spark
    )


def local_resources() -> dict:
    """The embedded local default: landing folder (or S3 bucket), delta-rs warehouse, in-process Spark.

    `ECOM_LANDING_ROOT` (default `data`) and `ECOM_WAREHOUSE_ROOT` override the folders; steps
    run in the Dagster run's own process (no step launcher).
    """
    return {
        "spark": LocalSparkSession(),
        "landing": landing_from_environment(),
        "lakehouse": local_lakehouse(),
        "email": email_from_environment(),
        "quality": DataQualityPolicy(),
        "business_rules": BusinessRules(),
        "step_launcher": ResourceDefinition.none_resource(),
    }


def databricks_resources() -> dict:
    """Steps launched on Databricks, Spark of the cluster, S3 landing read by Spark itself, Unity Catalog tables.

    `ECOM_LAKEHOUSE=delta_rs` keeps the delta-rs warehouse at `ECOM_WAREHOUSE_ROOT` instead of
    Unity Catalog (a cluster without Unity Catalog, or the tests' Databricks stand-in).
    """
    from resources.databricks import ClusterSparkSession, UnityCatalogLakehouse, databricks_step_launcher

    tables = os.environ.get("ECOM_LAKEHOUSE", "unity_catalog")
    if tables not in ("unity_catalog", "delta_rs"):
        raise ValueError(f"ECOM_LAKEHOUSE must be unity_catalog or delta_rs, not {tables!r}")
    return {
        "spark": ClusterSparkSession(),
        "landing": landing_from_environment(stage_for_spark=False),
        "lakehouse": UnityCatalogLakehouse() if tables == "unity_catalog" else local_lakehouse(),
        "email": email_from_environment(),
        "quality": DataQualityPolicy(),
        "business_rules": BusinessRules(),
        "step_launcher": databricks_step_launcher(),
    }


DEPLOYMENTS = {"local": local_resources, "databricks": databricks_resources}


def deployment_resources() -> dict:
    """The resource set `ECOM_DEPLOYMENT` names: `local` (the default) or `databricks`."""
    deployment = os.environ.get("ECOM_DEPLOYMENT", "local")
    if deployment not in DEPLOYMENTS:
        raise ValueError(f"ECOM_DEPLOYMENT must be one of {', '.join(DEPLOYMENTS)}, not {deployment!r}")
    return DEPLOYMENTS[deployment]()


__all__ = [
    "BusinessRules",
    "DataQualityPolicy",
    "DeltaRsLakehouse",
    "Lakehouse",
    "LandingZone",
    "LocalLandingZone",
    "LocalSparkSession",
    "SmtpEmailResource",
    "SparkSessionResource",
    "S3LandingZone",
    "databricks_resources",
    "deployment_resources",
    "landing_from_environment",
    "local_lakehouse",
    "local_resources",
]
