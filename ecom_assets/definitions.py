"""The code location: each business area's definitions, merged, on the platform's and the deployment's resources."""

from dagster import Definitions, in_process_executor

from ecom_assets.api_sources import definitions as api_sources
from ecom_assets.clickstream import definitions as clickstream
from ecom_assets.dashboards import definitions as dashboards
from ecom_assets.feeds import definitions as feeds
from ecom_assets.platform.alerts import check_failure_email_sensor, run_failure_email_sensor
from ecom_assets.platform.log_tables import log_table_specs
from ecom_assets.platform.maintenance import lakehouse_maintenance_job, lakehouse_maintenance_schedule
from ecom_assets.platform.quality_policy import DataQualityPolicy
from ecom_assets.sales import definitions as sales
from resources import deployment_resources


def platform_definitions() -> Definitions:
    """What every area shares: the log tables, table maintenance, the alert sensors, the resources and the executor."""
    return Definitions(
        assets=log_table_specs(
            [
                *sales.SALES_ASSETS,
                *feeds.FEED_ASSETS,
                *clickstream.CLICKSTREAM_ASSETS[1:],
                *api_sources.STRIPE_ASSETS[1:],
                *api_sources.SHOPIFY_ASSETS[1:],
                *api_sources.PAYMENTS_ASSETS,
            ]
        ),
        jobs=[lakehouse_maintenance_job],
        schedules=[lakehouse_maintenance_schedule],
        sensors=[run_failure_email_sensor, check_failure_email_sensor],
        resources={**deployment_resources(), "quality": DataQualityPolicy()},
        # One process per run: every step shares the run's Spark session instead of starting its own JVM.
        executor=in_process_executor,
    )


defs = Definitions.merge(
    platform_definitions(), sales.defs, feeds.defs, clickstream.defs, api_sources.defs, dashboards.defs
)
