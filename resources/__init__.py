"""Resources that hide where data lives and where Spark runs; `deployment_resources` picks them from the settings."""

from dagster import ResourceDefinition
from dagster_aws.s3 import S3Resource

from resources.api_sources import ShopifyApi, StripeApi, shopify_for, stripe_for
from resources.email import SmtpEmailResource, email_for
from resources.lakehouse import Lakehouse
from resources.landing import LandingZone, LocalLandingZone, S3LandingZone
from resources.settings import Settings
from resources.spark import LocalSparkSession, SparkSessionResource
from resources.untrusted import LandingLimits


def lakehouse_for(settings: Settings) -> Lakehouse:
    """The tables: by path under the warehouse root, or by catalog name when there is none."""
    return Lakehouse(
        warehouse_root=settings.warehouse_root, catalog=settings.catalog, checkpoint_root=settings.checkpoint_root
    )


def landing_for(settings: Settings) -> LandingZone:
    """`s3://<bucket>/<prefix>` when a landing bucket is set, else the landing folder.

    S3 credentials come from the environment (boto3's chain: `AWS_ACCESS_KEY_ID`, ... or an
    instance profile); `ECOM_S3_ENDPOINT_URL` points at an S3-compatible server instead of AWS.
    """
    limits = LandingLimits(**settings.landing_limits)
    if not settings.landing_bucket:
        return LocalLandingZone(root=settings.landing_root, limits=limits)
    s3 = S3Resource(endpoint_url=settings.s3_endpoint_url, region_name=settings.aws_region)
    return S3LandingZone(s3=s3, bucket=settings.landing_bucket, prefix=settings.landing_prefix, limits=limits)


def local_spark_for(settings: Settings) -> LocalSparkSession:
    """The in-process Spark session, with S3 access when landing files or tables live on S3."""
    return LocalSparkSession(
        s3=settings.uses_s3, s3_endpoint_url=settings.s3_endpoint_url, s3_region=settings.aws_region
    )


def _shared_resources(settings: Settings) -> dict:
    return {
        "landing": landing_for(settings),
        "lakehouse": lakehouse_for(settings),
        "email": email_for(settings.email),
        "stripe": stripe_for(settings.apis),
        "shopify": shopify_for(settings.apis),
    }


def local_resources(settings: Settings) -> dict:
    """The embedded local default: landing folder (or S3 bucket), Delta tables by path, in-process Spark.

    Steps run in the Dagster run's own process (no step launcher).
    """
    return {
        **_shared_resources(settings),
        "spark": local_spark_for(settings),
        "step_launcher": ResourceDefinition.none_resource(),
    }


def databricks_resources(settings: Settings) -> dict:
    """Steps launched on Databricks, on the cluster's Spark, S3 landing, tables in Unity Catalog.

    On the cluster itself (`DATABRICKS_RUNTIME_VERSION` is set there) the step already runs
    where it should, so it gets no launcher and needs no Databricks credentials.
    """
    from resources.databricks import ClusterSparkSession, run_cluster_step_launcher

    return {
        **_shared_resources(settings),
        "spark": ClusterSparkSession(),
        "step_launcher": ResourceDefinition.none_resource()
        if settings.on_databricks_cluster
        else run_cluster_step_launcher(settings),
    }


def deployment_resources(settings: Settings | None = None) -> dict:
    """The resource set the settings name (`ECOM_DEPLOYMENT`): `local` (the default) or `databricks`."""
    settings = settings or Settings.from_environment()
    return databricks_resources(settings) if settings.deployment == "databricks" else local_resources(settings)


__all__ = [
    "Lakehouse",
    "LandingLimits",
    "LandingZone",
    "LocalLandingZone",
    "LocalSparkSession",
    "S3LandingZone",
    "Settings",
    "SmtpEmailResource",
    "ShopifyApi",
    "SparkSessionResource",
    "StripeApi",
    "databricks_resources",
    "deployment_resources",
    "lakehouse_for",
    "landing_for",
    "local_resources",
    "local_spark_for",
]
