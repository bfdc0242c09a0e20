"""The clickstream's hourly and daily assets on real Spark and Delta: silver, catalog items, funnels, checks."""

import csv
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from dagster import (
    DagsterInstance,
    Definitions,
    ResourceDefinition,
    build_run_status_sensor_context,
    build_schedule_context,
    build_sensor_context,
    materialize,
)

from ecom_assets.clickstream.definitions import CLICKSTREAM_ASSETS
from ecom_assets.clickstream.jobs import (
    clickstream_daily_job,
    clickstream_day_close_schedule,
    clickstream_days_sensor,
    clickstream_hourly_job,
    clickstream_hours_sensor,
    consecutive_hour_ranges,
    ended_days,
)
from ecom_assets.clickstream.rules import ClickstreamRules
from ecom_assets.clickstream.tables import (
    CATEGORY_FUNNEL_DAILY,
    CLICKSTREAM_EVENTS,
    DIM_CATALOG_ITEMS,
    FUNNEL_DAILY,
    FUNNEL_HOURLY,
    PRODUCT_FUNNEL_DAILY,
)
from ecom_assets.platform.alerts import check_failure_email, failed_checks
from ecom_assets.platform.dates import DateRange
from ecom_assets.platform.quality_policy import DataQualityPolicy
from ecom_assets.platform.tables import ETL_ERRORS
from ecom_assets_tests.clickstream.landing import land_events
from ecom_assets_tests.clickstream.reference import SHARED_SAMPLE, independent_hourly_funnel
from resources import LocalLandingZone
from resources.lakehouse import Lakehouse

INGEST, HOURLY, DAILY = CLICKSTREAM_ASSETS[:1], CLICKSTREAM_ASSETS[1:4], CLICKSTREAM_ASSETS[4:]


def _line(
    hour: int, minute: int, event_type: str, product: int, price: str, user: int, session: str, brand: str = "acme"
) -> str:
    return (
        f"2019-10-01 {hour:02d}:{minute:02d}:00 UTC,{event_type},{product},2053013555631882655,"
        f"electronics.audio,{brand},{price},{user},{session}"
    )


class Runner:
    """Materializes clickstream assets on one instance, warehouse and landing root."""

    def __init__(self, test_spark, root: Path) -> None:
        self.instance = DagsterInstance.ephemeral()
        self.lakehouse = Lakehouse(warehouse_root=str(root / "warehouse"))
        self.resources = {
            "spark": test_spark,
            "landing": LocalLandingZone(root=str(root / "landing")),
            "lakehouse": self.lakehouse,
            "quality": DataQualityPolicy(),
            "clickstream_rules": ClickstreamRules(bot_max_events_per_minute=3),
            "step_launcher": ResourceDefinition.none_resource(),
        }

    def run(self, assets, first: str | None = None, last: str | None = None, raise_on_error: bool = True):
        tags = {}
        if first:
            tags = {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last or first}
        return materialize(
            assets, instance=self.instance, resources=self.resources, tags=tags, raise_on_error=raise_on_error
        )

    def rows(self, spark, table, order: str | None = None) -> list:
        frame = self.lakehouse.read(spark, table)
        return (frame.orderBy(order) if order else frame).collect()


@pytest.fixture
def runner(test_spark, tmp_path) -> Runner:
    return Runner(test_spark, tmp_path)


def _checks(result) -> dict[tuple[str, str | None], bool]:
    return {
        (evaluation.check_name, evaluation.partition): evaluation.passed
        for evaluation in result.get_asset_check_evaluations()
    }


def test_landed_hours_become_silver_events_catalog_versions_and_funnels_with_every_line_accounted_for(
    spark, runner, tmp_path
):
    landing = tmp_path / "landing"
    land_events(
        landing,
        0,
        "a.csv",
        _line(0, 1, "view", 10, "5.00", 1, "s1"),
        _line(0, 2, "cart", 10, "5.00", 1, "s1"),
        _line(0, 3, "purchase", 10, "5.00", 1, "s1"),
        _line(0, 3, "purchase", 10, "5.00", 1, "s1"),  # an exact duplicate
        _line(0, 10, "view", 11, "2.00", 2, "s2"),
        _line(0, 50, "view", 11, "2.00", 3, ""),  # no session: user 3's derived session starts here
        _line(0, 11, "click", 11, "2.00", 2, "s2"),  # unknown type
        _line(0, 12, "purchase", 11, "0.00", 2, "s2"),  # a purchase at price 0
    )
    land_events(
        landing,
        1,
        "b.csv",
        _line(1, 5, "view", 11, "2.00", 3, ""),  # 15 minutes later: the same derived session
        _line(1, 6, "purchase", 11, "2.50", 3, ""),  # a new price: item 11's version 2
        _line(1, 7, "view", 10, "5.00", 4, "s4", brand="")[:40],  # truncated last line
        end="",
    )
    runner.run(INGEST)
    result = runner.run(HOURLY, "2019-10-01-00:00", "2019-10-01-02:00")
    checks = _checks(result)
    assert checks and all(passed for (name, _), passed in checks.items() if name != "conversion_rate_anomaly")

    silver = runner.rows(spark, CLICKSTREAM_EVENTS, "event_time")
    assert len(silver) == 7
    derived = {row.session_id for row in silver if row.user_id == 3}
    assert derived == {"3-20191001T005000"}, "one inactivity session across the hour boundary"
    errors = {(row.error_type, row.partition_date) for row in runner.rows(spark, ETL_ERRORS)}
    assert errors == {
        ("unknown_event_type", date(2019, 10, 1)),
        ("unpriced_purchase", date(2019, 10, 1)),
        ("malformed_line", date(2019, 10, 1)),
    }
    conservation = {
        key: evaluation.metadata
        for evaluation in result.get_asset_check_evaluations()
        if evaluation.check_name == "line_conservation"
        for key in [evaluation.partition]
    }
    assert conservation["2019-10-01-00:00"]["bronze_lines"].value == 8
    assert conservation["2019-10-01-00:00"]["duplicates_removed"].value == 1
    assert conservation["2019-10-01-00:00"]["lines_rejected"].value == 2
    assert conservation["2019-10-01-01:00"]["lines_rejected"].value == 1

    versions = {(row.product_id, row.version): row for row in runner.rows(spark, DIM_CATALOG_ITEMS)}
    assert versions[(11, 1)].price == Decimal("2.00") and versions[(11, 1)].valid_to == datetime(2019, 10, 1, 1, 6)
    assert versions[(11, 2)].price == Decimal("2.50") and versions[(11, 2)].is_current

    hourly = {row.hour: row for row in runner.rows(spark, FUNNEL_HOURLY)}
    assert set(hourly) == {datetime(2019, 10, 1, hour) for hour in range(3)}
    first = hourly[datetime(2019, 10, 1, 0)]
    assert (first.sessions, first.view_sessions, first.cart_sessions, first.purchase_sessions) == (3, 3, 1, 1)
    assert (first.purchases, first.revenue, first.conversion_rate) == (1, Decimal("5.00"), 0.3333)
    second = hourly[datetime(2019, 10, 1, 1)]
    assert (second.sessions, second.purchases, second.revenue, second.conversion_rate) == (1, 1, Decimal("2.50"), 1.0)
    empty = hourly[datetime(2019, 10, 1, 2)]
    assert (empty.sessions, empty.purchases, empty.conversion_rate) == (0, 0, None), "an hour without traffic"

    daily_result = runner.run(DAILY, "2019-10-01")
    assert all(_checks(daily_result).values())
    [day] = runner.rows(spark, FUNNEL_DAILY)
    assert (day.sessions, day.purchases, day.revenue) == (3, 2, Decimal("7.50"))
    assert (day.hours_processed, day.day_status) == (3, "partial"), "3 of 24 hours in: never shown as complete"
    products = {row.product_id: row for row in runner.rows(spark, PRODUCT_FUNNEL_DAILY)}
    assert (products[11].views, products[11].purchases, products[11].revenue) == (3, 1, Decimal("2.50"))
    assert products[11].price_at_day_end == Decimal("2.50"), "the version in effect when the day closed"
    [category] = runner.rows(spark, CATEGORY_FUNNEL_DAILY)
    assert (category.top_category, category.sessions, category.revenue) == ("electronics", 3, Decimal("7.50"))


@pytest.mark.slow  # several runs end to end: the full suite runs it
def test_rerunning_an_hour_after_more_files_land_replaces_it_and_keeps_the_sessions_ids(spark, runner, tmp_path):
    landing = tmp_path / "landing"
    land_events(landing, 0, "a.csv", _line(0, 40, "view", 10, "5.00", 7, ""))
    land_events(landing, 1, "a.csv", _line(1, 0, "view", 10, "5.00", 7, ""))
    runner.run(INGEST)
    runner.run(HOURLY, "2019-10-01-00:00")
    runner.run(HOURLY, "2019-10-01-01:00")
    land_events(landing, 1, "late.csv", _line(1, 20, "cart", 10, "5.00", 7, ""))
    runner.run(INGEST)
    runner.run(HOURLY, "2019-10-01-01:00")
    silver = runner.rows(spark, CLICKSTREAM_EVENTS, "event_time")
    assert [row.event_type for row in silver] == ["view", "view", "cart"]
    assert {row.session_id for row in silver} == {"7-20191001T004000"}, "hour by hour equals one pass"
    hourly = {row.hour: row for row in runner.rows(spark, FUNNEL_HOURLY)}
    assert hourly[datetime(2019, 10, 1, 1)].cart_sessions == 1


def test_lines_of_an_hour_before_the_partitions_are_named_by_the_ingestion_and_left_out_of_its_hours(runner, tmp_path):
    early = "2019-09-30 23:59:00 UTC,view,10,2053013555631882655,,,1.00,1,s1"
    land_events(tmp_path / "landing", 0, "a.csv", early, _line(0, 1, "view", 10, "1.00", 1, "s1"))
    [materialization] = runner.run(INGEST).asset_materializations_for_node(INGEST[0].op.name)
    assert materialization.metadata["hours_appended"].value == ["2019-09-30-23:00", "2019-10-01-00:00"]
    assert materialization.metadata["hours_outside_partitions"].value == ["2019-09-30-23:00"]


def test_a_user_over_the_configured_events_per_minute_is_counted_as_a_bot_session(spark, runner, tmp_path):
    burst = [_line(0, 5, "view", 10 + n, "1.00", 9, "bot") for n in range(4)]
    land_events(tmp_path / "landing", 0, "a.csv", *burst, _line(0, 6, "view", 10, "1.00", 8, "human"))
    runner.run(INGEST)
    runner.run(HOURLY, "2019-10-01-00:00")
    flags = {row.user_id: row.is_bot for row in runner.rows(spark, CLICKSTREAM_EVENTS)}
    assert flags == {9: True, 8: False}
    [hour] = runner.rows(spark, FUNNEL_HOURLY)
    assert (hour.sessions, hour.bot_sessions) == (2, 1)


@pytest.mark.slow  # several runs end to end: the full suite runs it
def test_the_hours_sensor_requests_each_stretch_of_hours_an_ingestion_appended_to_once(spark, runner, tmp_path):
    landing = tmp_path / "landing"
    for hour in (0, 1, 5):
        land_events(landing, hour, "a.csv", _line(hour, 1, "view", 10, "5.00", hour, f"s{hour}"))
    definitions = Definitions(assets=CLICKSTREAM_ASSETS, jobs=[clickstream_hourly_job], resources=runner.resources)
    hourly_job = definitions.resolve_job_def(clickstream_hourly_job.name)
    assert runner.run(INGEST).success

    first = clickstream_hours_sensor(build_sensor_context(instance=runner.instance))
    ranges = [
        (r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
        for r in first.run_requests
    ]
    assert ranges == [("2019-10-01-00:00", "2019-10-01-01:00"), ("2019-10-01-05:00", "2019-10-01-05:00")]
    for request in first.run_requests:
        assert hourly_job.execute_in_process(instance=runner.instance, tags=request.tags).success
    hourly = {row.hour.hour: row.sessions for row in runner.rows(spark, FUNNEL_HOURLY)}
    assert hourly == {0: 1, 1: 1, 5: 1}

    again = clickstream_hours_sensor(build_sensor_context(instance=runner.instance, cursor=first.cursor))
    assert not again.run_requests, "each ingestion's hours are requested once"
    land_events(landing, 5, "late.csv", _line(5, 30, "purchase", 10, "5.00", 5, "s5"))
    assert runner.run(INGEST).success
    late = clickstream_hours_sensor(build_sensor_context(instance=runner.instance, cursor=first.cursor))
    assert [r.tags["dagster/asset_partition_range_start"] for r in late.run_requests] == ["2019-10-01-05:00"]


def test_consecutive_hours_are_requested_as_one_range():
    keys = ["2019-10-01-22:00", "2019-10-01-23:00", "2019-10-02-00:00", "2019-10-02-03:00"]
    assert consecutive_hour_ranges(keys) == [
        ("2019-10-01-22:00", "2019-10-02-00:00"),
        ("2019-10-02-03:00", "2019-10-02-03:00"),
    ]


def test_an_hour_whose_conversion_leaves_its_trailing_range_is_flagged_as_a_warning(spark, runner, tmp_path):
    landing = tmp_path / "landing"
    for hour in range(4):  # one purchase in two sessions: conversion 0.5
        land_events(
            landing,
            hour,
            "a.csv",
            _line(hour, 1, "purchase", 10, "5.00", 1, f"a{hour}"),
            _line(hour, 2, "view", 10, "5.00", 2, f"b{hour}"),
        )
    quiet_hour = [_line(4, minute, "view", 10, "5.00", minute, f"c{minute}") for minute in range(10)]
    land_events(landing, 4, "a.csv", *quiet_hour)
    runner.resources["clickstream_rules"] = ClickstreamRules(conversion_min_history_hours=3)
    runner.run(INGEST)
    result = runner.run(HOURLY, "2019-10-01-00:00", "2019-10-01-04:00")
    anomaly = {
        e.partition: e for e in result.get_asset_check_evaluations() if e.check_name == "conversion_rate_anomaly"
    }
    assert [key for key, e in anomaly.items() if not e.passed] == ["2019-10-01-04:00"]
    assert anomaly["2019-10-01-04:00"].severity.value == "WARN"
    assert result.success, "a warning does not stop the run"
    subject, text, _ = check_failure_email(result.run_id, failed_checks(runner.instance, result.run_id), "http://ui")
    assert "conversion_rate_anomaly" in subject and "2019-10-01-04:00" in text, "mailed like every failed check"


@pytest.mark.skipif(not SHARED_SAMPLE.exists(), reason=f"the real clickstream sample is not at {SHARED_SAMPLE}")
def test_the_shared_sample_landed_per_hour_gives_the_hourly_funnel_an_independent_computation_gives(
    spark, runner, tmp_path
):
    with SHARED_SAMPLE.open(newline="", encoding="utf-8") as handle:
        lines = list(csv.reader(handle))[1:]
    by_hour = defaultdict(list)
    for line in SHARED_SAMPLE.read_text(encoding="utf-8").splitlines()[1:]:
        by_hour[int(line[11:13])].append(line)
    for hour, hour_lines in by_hour.items():
        land_events(tmp_path / "landing", hour, "part-0.csv", *hour_lines)
    runner.run(INGEST)
    result = runner.run(HOURLY, "2019-10-01-00:00", "2019-10-01-02:00")
    assert all(passed for (name, _), passed in _checks(result).items() if name != "conversion_rate_anomaly")

    unique = list(dict.fromkeys(tuple(line) for line in lines))
    expected = independent_hourly_funnel([list(line) for line in unique], 3)
    stored = {row.hour: row.asDict() for row in runner.rows(spark, FUNNEL_HOURLY)}
    assert set(stored) == set(expected)
    for hour, independent in expected.items():
        assert {name: stored[hour][name] for name in independent} == independent, hour
    assert lakehouse_count(runner, spark) == len(unique)


def lakehouse_count(runner: Runner, spark) -> int:
    return runner.lakehouse.read(spark, CLICKSTREAM_EVENTS).count()


def test_the_day_close_schedule_requests_the_day_before_s_24_hours_at_0105_utc():
    context = build_schedule_context(scheduled_execution_time=datetime(2019, 10, 3, 1, 5, tzinfo=UTC))
    [request] = clickstream_day_close_schedule.evaluate_tick(context).run_requests
    assert request.partition_key_range.start == "2019-10-02-00:00"
    assert request.partition_key_range.end == "2019-10-02-23:00"
    assert clickstream_day_close_schedule.cron_schedule == "5 1 * * *"


def test_an_hourly_run_of_an_ended_day_makes_the_days_sensor_rebuild_that_day(spark, runner, tmp_path):
    land_events(tmp_path / "landing", 0, "a.csv", _line(0, 1, "purchase", 10, "5.00", 1, "s1"))
    definitions = Definitions(
        assets=CLICKSTREAM_ASSETS, jobs=[clickstream_hourly_job, clickstream_daily_job], resources=runner.resources
    )
    runner.run(INGEST)
    hours = definitions.resolve_job_def(clickstream_hourly_job.name).execute_in_process(
        instance=runner.instance,
        tags={
            "dagster/asset_partition_range_start": "2019-10-01-00:00",
            "dagster/asset_partition_range_end": "2019-10-01-01:00",
        },
    )
    [success] = [event for event in hours.all_events if event.event_type_value == "PIPELINE_SUCCESS"]
    context = build_run_status_sensor_context(
        sensor_name=clickstream_days_sensor.name,
        dagster_event=success,
        dagster_instance=runner.instance,
        dagster_run=hours.dagster_run,
    )
    request = clickstream_days_sensor(context)
    assert request.partition_key_range.start == request.partition_key_range.end == "2019-10-01"
    assert (
        definitions.resolve_job_def(clickstream_daily_job.name)
        .execute_in_process(instance=runner.instance, tags=request.tags)
        .success
    )
    [day] = runner.rows(spark, FUNNEL_DAILY)
    assert (day.purchases, day.hours_processed, day.day_status) == (1, 2, "partial")


def test_only_ended_days_are_rebuilt():
    assert ended_days("2019-10-01-22:00", "2019-10-02-03:00", date(2019, 10, 2)) == DateRange(
        date(2019, 10, 1), date(2019, 10, 1)
    )
    assert ended_days("2019-10-02-00:00", "2019-10-02-03:00", date(2019, 10, 2)) is None
