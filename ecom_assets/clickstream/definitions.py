"""The clickstream area: the web shop's event files streamed into bronze, then built into hours and days."""

from dagster import Definitions

from ecom_assets.clickstream.daily import category_funnel_daily, funnel_daily, product_funnel_daily
from ecom_assets.clickstream.hourly import clickstream_events, dim_catalog_items, funnel_hourly
from ecom_assets.clickstream.ingest import clickstream_events_raw
from ecom_assets.clickstream.jobs import (
    clickstream_daily_job,
    clickstream_day_close_schedule,
    clickstream_days_sensor,
    clickstream_file_sensor,
    clickstream_hourly_job,
    clickstream_hourly_schedule,
    clickstream_hours_sensor,
    clickstream_ingest_job,
)
from ecom_assets.clickstream.rules import ClickstreamRules

CLICKSTREAM_ASSETS = [
    clickstream_events_raw,
    clickstream_events,
    dim_catalog_items,
    funnel_hourly,
    funnel_daily,
    product_funnel_daily,
    category_funnel_daily,
]
"""The web shop's behaviour events: `clickstream_ingest_job` (file sensor, hourly schedule) streams them in,
`clickstream_hourly_job` (hours sensor, day-close schedule) builds their hours, `clickstream_daily_job` (days sensor)
their days."""

defs = Definitions(
    assets=CLICKSTREAM_ASSETS,
    jobs=[clickstream_ingest_job, clickstream_hourly_job, clickstream_daily_job],
    schedules=[clickstream_hourly_schedule, clickstream_day_close_schedule],
    sensors=[clickstream_file_sensor, clickstream_hours_sensor, clickstream_days_sensor],
    resources={"clickstream_rules": ClickstreamRules()},
)
