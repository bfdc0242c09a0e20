"""The clickstream's partitionings: UTC hours from the first hour of the events, and UTC days of those hours."""

from dagster import DailyPartitionsDefinition, HourlyPartitionsDefinition

CLICKSTREAM_FIRST_HOUR = "2019-10-01-00:00"


clickstream_hours = HourlyPartitionsDefinition(start_date=CLICKSTREAM_FIRST_HOUR, timezone="UTC")
"""The clickstream's silver and hourly tables: UTC hours from the first hour of the events."""


clickstream_days = DailyPartitionsDefinition(start_date=CLICKSTREAM_FIRST_HOUR[:10], timezone="UTC")
"""The clickstream's daily tables: UTC days, each mapped from its 24 hours."""
