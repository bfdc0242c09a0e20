"""The clickstream generator: its landing layout, and events with the quirks the pipeline must handle."""

import csv
from collections import Counter
from datetime import date

from pyspark.sql import functions as F

from ecom_assets.cli.sample import main
from ecom_assets.clickstream.rules import ClickstreamRules
from ecom_assets.clickstream.sample_data import CLICKSTREAM_FOLDER, write_clickstream
from ecom_assets.clickstream.transforms import (
    EVENT_CSV_OPTIONS,
    RAW_EVENT_COLUMNS,
    RAW_EVENT_SCHEMA,
    accepted_events,
    catalog_item_versions,
    category_funnel,
    flag_bots,
    funnel,
    parse_events,
    sessionize,
)
from ecom_assets.platform.columns import line_outcome
from ecom_assets.platform.dates import DateRange

TWO_DAYS = DateRange(date(2019, 10, 1), date(2019, 10, 2))


def test_events_land_in_the_folder_of_their_hour_and_generation_is_deterministic_by_seed(tmp_path):
    files = write_clickstream(tmp_path / "a", TWO_DAYS, seed=7, sessions_per_day=300)
    again = write_clickstream(tmp_path / "b", TWO_DAYS, seed=7, sessions_per_day=300)
    other = write_clickstream(tmp_path / "c", TWO_DAYS, seed=8, sessions_per_day=300)
    assert [path.read_bytes() for path in files] == [path.read_bytes() for path in again]
    assert [path.read_bytes() for path in files] != [path.read_bytes() for path in other]
    assert len({path.parent for path in files}) >= 47, "two days of hours, and the first hour of the day after"
    for path in files:
        year, month, day, hour = path.relative_to(tmp_path / "a" / CLICKSTREAM_FOLDER).parts[:4]
        with path.open(newline="") as handle:
            reader = csv.reader(handle)
            assert next(reader) == list(RAW_EVENT_COLUMNS)
            assert {line[0][:13] for line in reader} == {f"{year}-{month}-{day} {hour}"}


def test_the_command_line_writes_the_range_and_says_where(tmp_path, capsys):
    main(["clickstream", "--start", "2019-10-01", "--end", "2019-10-01", "--landing-root", str(tmp_path)])
    assert f"under {tmp_path / CLICKSTREAM_FOLDER}" in capsys.readouterr().out
    assert list((tmp_path / CLICKSTREAM_FOLDER / "2019/10/01/12").glob("events_20191001_12_20191001_*.csv"))


def test_generated_events_carry_duplicates_bots_sessionless_users_price_changes_and_empty_categories(spark, tmp_path):
    files = write_clickstream(tmp_path, TWO_DAYS, seed=3, sessions_per_day=400, faults=True)
    lines = sum(len(path.read_text().splitlines()) - 1 for path in files)
    raw = (
        spark.read.options(**EVENT_CSV_OPTIONS)
        .schema(RAW_EVENT_SCHEMA)
        .csv([str(path) for path in files])
        .withColumn("source_file", F.col("_metadata.file_path"))
    )
    parsed = parse_events(raw).cache()
    outcomes = Counter(row.outcome for row in parsed.select(line_outcome().alias("outcome")).collect())
    assert outcomes["malformed_line"] == 1 and outcomes["unknown_event_type"] == 1
    assert outcomes["duplicate"] > 0
    assert sum(outcomes.values()) == lines

    none_carried = spark.createDataFrame([], "user_id long, last_event_time timestamp, session_id string")
    events = flag_bots(
        sessionize(accepted_events(parsed), 30, none_carried), ClickstreamRules().bot_max_events_per_minute
    ).withColumns({"event_date": F.to_date("event_time"), "hour": F.date_trunc("hour", "event_time")})
    assert events.where(F.col("user_session").isNull()).count() > 0
    assert events.where(F.col("user_session").isNull() & F.col("session_id").isNull()).count() == 0
    assert events.where("is_bot").select("user_id").distinct().count() >= 2, "a bot a day"

    versions = catalog_item_versions(accepted_events(parsed))
    assert versions.where(F.col("version") > 1).count() > 0, "prices change over time"

    for day in funnel(events, "event_date").collect():
        if day.event_date in TWO_DAYS:  # the day after holds only sessions that ran past midnight
            assert day.sessions >= day.view_sessions >= day.cart_sessions >= day.purchase_sessions > 0
            assert day.revenue > 0 and day.bot_sessions >= 1
    hourly = [hour.sessions for hour in funnel(events, "hour").collect() if hour.hour.date() == date(2019, 10, 1)]
    assert len(hourly) == 24 and max(hourly) > 2 * min(hourly), "traffic follows the time of day"
    assert "unknown" in {row.top_category for row in category_funnel(events).collect()}
