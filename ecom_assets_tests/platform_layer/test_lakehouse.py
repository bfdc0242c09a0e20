"""The lakehouse on Spark's Delta Lake: commits, versions, time travel, MERGE counts, OPTIMIZE and VACUUM."""

import functools
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from delta.tables import DeltaMergeBuilder
from deltalake import write_deltalake
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ecom_assets.platform.dates import DateRange
from ecom_assets.platform.tables import TableName
from ecom_assets.sales.sample_data import generate
from ecom_assets.sales.tables import ORDER_TRANSACTIONS, SALES_METRICS
from resources import Lakehouse
from resources.lakehouse import ChangesUnavailable
from resources.spark import SESSION_SETTINGS

SCRATCH = TableName("ecommerce_catalog", "processed", "scratch")
RETENTION_CHECK = "spark.databricks.delta.retentionDurationCheck.enabled"


def day_rows(spark, day: date, keys: range, value: str = "a"):
    return spark.createDataFrame([(f"k{key}", day, value) for key in keys], "key string, day date, value string")


def data_files(lakehouse: Lakehouse, table: TableName) -> set[str]:
    """The Parquet files in the table's folder, counted on disk (not through Delta)."""
    return {str(path) for path in Path(lakehouse.location(table)).rglob("*.parquet") if "_delta_log" not in path.parts}


def referenced_files(rows) -> set[str]:
    """The data files the rows are read from (files of the table version read, holding such rows)."""
    return {row["file"] for row in rows.select(F.col("_metadata.file_path").alias("file")).distinct().collect()}


def test_pipeline_tables_are_delta_tables_written_by_spark(spark, landing_root, lakehouse, run_days):
    day = DateRange(date(2011, 1, 4), date(2011, 1, 4))
    generate(landing_root, day)
    assert run_days(day).success

    for table in (ORDER_TRANSACTIONS, SALES_METRICS):
        (first,) = lakehouse.history(table)
        assert first.engine.startswith("Apache-Spark/4.2") and "Delta-Lake/4.4" in first.engine
        assert (Path(lakehouse.location(table)) / "_delta_log" / "00000000000000000000.json").is_file()


def test_a_rewrite_makes_a_new_version_and_the_previous_one_stays_readable(spark, lakehouse):
    day = date(2011, 1, 4)
    lakehouse.replace_date_range(SCRATCH, day_rows(spark, day, range(4)), "day", DateRange(day, day))
    first_version = lakehouse.history(SCRATCH)[0].version
    before = sorted(lakehouse.read(spark, SCRATCH).collect())

    lakehouse.replace_date_range(SCRATCH, day_rows(spark, day, range(2), "b"), "day", DateRange(day, day))

    assert lakehouse.history(SCRATCH)[0].version > first_version
    assert sorted(lakehouse.read(spark, SCRATCH).collect()) != before
    assert sorted(lakehouse.read(spark, SCRATCH, version=first_version).collect()) == before


def test_replacing_a_date_range_replaces_only_that_range_in_one_commit(spark, lakehouse):
    first, second = date(2011, 1, 3), date(2011, 1, 4)
    lakehouse.replace_date_range(
        SCRATCH,
        day_rows(spark, first, range(3)).union(day_rows(spark, second, range(2))),
        "day",
        DateRange(first, second),
    )
    version = lakehouse.history(SCRATCH)[0].version

    lakehouse.replace_date_range(SCRATCH, day_rows(spark, second, range(5), "b"), "day", DateRange(second, second))

    assert lakehouse.history(SCRATCH)[0].version == version + 1, "one commit"
    rows = {(row["day"], row["value"]) for row in lakehouse.read(spark, SCRATCH).collect()}
    assert rows == {(first, "a"), (second, "b")}
    assert lakehouse.read(spark, SCRATCH, filters=[("day", "=", second)]).count() == 5
    with pytest.raises(Exception, match="(?i)replaceWhere|does not conform|violate"):
        lakehouse.replace_date_range(SCRATCH, day_rows(spark, first, range(1)), "day", DateRange(second, second))


def test_a_writer_replacing_its_scope_with_nothing_commits_only_when_it_held_rows_there(spark, lakehouse):
    first, second = date(2011, 1, 3), date(2011, 1, 4)
    shared = TableName("ecommerce_catalog", "logs", "scratch_shared")
    lakehouse.replace_date_range(
        shared, day_rows(spark, first, range(3)).withColumn("asset", F.lit("a")), "day", DateRange(first, first)
    )
    version = lakehouse.history(shared)[0].version
    nothing = day_rows(spark, first, range(0)).withColumn("asset", F.lit("a"))

    assert not lakehouse.replace_scope(shared, nothing, "day", DateRange(second, second), {"asset": "a"})
    assert not lakehouse.replace_scope(shared, nothing, "day", DateRange(first, first), {"asset": "b"})
    assert not lakehouse.replace_scope(shared, nothing, "day", DateRange(first, first), {"asset": "a"}, [first])
    assert lakehouse.history(shared)[0].version == version, "a replacement that changes nothing makes no commit"

    assert lakehouse.replace_scope(shared, nothing, "day", DateRange(first, second), {"asset": "a"})
    assert lakehouse.history(shared)[0].version == version + 1
    assert lakehouse.read(spark, shared).count() == 0
    again = day_rows(spark, second, range(2)).withColumn("asset", F.lit("a"))
    assert lakehouse.replace_scope(shared, again, "day", DateRange(second, second), {"asset": "a"})
    assert lakehouse.read(spark, shared).count() == 2


def test_quarantined_days_keep_their_stored_rows_through_a_replace_and_a_merge(spark, lakehouse):
    days = [date(2011, 1, 3) + timedelta(days=offset) for offset in range(3)]
    run = DateRange(days[0], days[-1])
    merged = TableName("ecommerce_catalog", "processed", "scratch_merged")
    first = functools.reduce(
        DataFrame.union, [day_rows(spark, day, range(10 * day.day, 10 * day.day + 3)) for day in days]
    )
    lakehouse.replace_date_range(SCRATCH, first, "day", run)
    lakehouse.merge_on_key(merged, first, "key")
    rerun = functools.reduce(
        DataFrame.union, [day_rows(spark, day, range(10 * day.day, 10 * day.day + 2), "b") for day in days]
    )

    lakehouse.replace_date_range(SCRATCH, rerun, "day", run, keep_days=[days[1]])
    lakehouse.merge_on_key(merged, rerun, "key", delete_unmatched_in=("day", run), keep_days=[days[1]])

    for table in (SCRATCH, merged):
        counts = {
            (row["day"], row["value"]): row["count"]
            for row in lakehouse.read(spark, table).groupBy("day", "value").count().collect()
        }
        assert counts == {(days[0], "b"): 2, (days[1], "a"): 3, (days[2], "b"): 2}, table.full_name


def test_replacing_keys_rewrites_only_their_versions_and_keeps_a_concurrent_writer_s_other_keys(spark, lakehouse):
    identity = ["key", "version"]

    def versions(*rows):
        return spark.createDataFrame(list(rows), "key string, version int, value string")

    def keys(*names):
        return spark.createDataFrame([(name,) for name in names], "key string")

    lakehouse.replace_keys(SCRATCH, versions(("a", 1, "x"), ("a", 2, "x"), ("b", 1, "x")), identity, keys("a", "b"))
    rebuilt_from_what_was_read = versions(("a", 1, "y"))  # a's history, rebuilt: one version now
    versions(("c", 1, "other")).write.format("delta").mode("append").saveAsTable(
        lakehouse.identifier(SCRATCH)
    )  # another writer commits in between

    counts = lakehouse.replace_keys(SCRATCH, rebuilt_from_what_was_read, identity, keys("a"))

    stored = sorted(map(tuple, lakehouse.read(spark, SCRATCH).collect()))
    assert stored == [("a", 1, "y"), ("b", 1, "x"), ("c", 1, "other")]
    assert (counts.inserted, counts.updated, counts.deleted) == (0, 1, 1)


def test_a_snapshot_built_from_older_inputs_never_replaces_one_built_from_newer_ones(spark, lakehouse):
    day = date(2011, 1, 3)
    lakehouse.replace_date_range(SCRATCH, day_rows(spark, day, range(2)), "day", DateRange(day, day))
    snapshot = TableName("ecommerce_catalog", "analytics", "scratch_snapshot")
    older = lakehouse.pin([SCRATCH])
    lakehouse.replace_date_range(SCRATCH, day_rows(spark, day, range(3), "b"), "day", DateRange(day, day))
    newer = lakehouse.pin([SCRATCH])

    def built(inputs):
        return inputs.read(spark, SCRATCH).groupBy("value").count()

    assert lakehouse.overwrite(snapshot, built(newer), newer.built_from)
    assert not lakehouse.overwrite(snapshot, built(older), older.built_from), "the run that read earlier lands later"

    assert [tuple(row) for row in lakehouse.read(spark, snapshot).collect()] == [("b", 3)]
    assert [tuple(row) for row in built(older).collect()] == [("a", 2)], "a pinned read stays at its version"


def test_merge_counts_are_the_merge_s_own_even_when_another_writer_commits_right_after_it(
    spark, lakehouse, monkeypatch
):
    day = date(2011, 1, 3)
    lakehouse.replace_date_range(SCRATCH, day_rows(spark, day, range(10)), "day", DateRange(day, day))
    real_execute = DeltaMergeBuilder.execute
    interleaved = []

    def execute_then_another_writer_commits(builder):
        """The MERGE commits; another writer commits right after it, before the caller has read any count."""
        result = real_execute(builder)
        day_rows(spark, day, range(100, 103), "other").write.format("delta").mode("append").saveAsTable(
            lakehouse.identifier(SCRATCH)
        )
        interleaved.append(lakehouse.history(SCRATCH, limit=1)[0].operation)
        return result

    monkeypatch.setattr(DeltaMergeBuilder, "execute", execute_then_another_writer_commits)

    counts = lakehouse.merge_on_key(SCRATCH, day_rows(spark, day, range(5, 20), "m"), "key")

    assert interleaved == ["WRITE"], "the other writer's commit landed between the MERGE and its counts"
    assert (counts.inserted, counts.updated, counts.deleted) == (10, 5, 0)
    assert lakehouse.read(spark, SCRATCH).count() == 20 + 3


def test_a_merge_replacing_a_day_deletes_its_missing_keys_and_rewrites_no_file_of_other_days(spark, lakehouse):
    days = [date(2011, 1, 3) + timedelta(days=offset) for offset in range(3)]
    for day in days:  # each day in its own data files
        lakehouse.merge_on_key(SCRATCH, day_rows(spark, day, range(10 * day.day, 10 * day.day + 4)), "key")
    files_before = referenced_files(lakehouse.read(spark, SCRATCH))
    last = days[-1]
    files_of_last_day = referenced_files(lakehouse.read(spark, SCRATCH, filters=[("day", "=", last)]))
    delivered_again = day_rows(spark, last, range(10 * last.day, 10 * last.day + 2), "b")  # 2 of its 4 keys

    counts = lakehouse.merge_on_key(SCRATCH, delivered_again, "key", delete_unmatched_in=("day", DateRange(last, last)))

    assert (counts.inserted, counts.updated, counts.deleted) == (0, 2, 2)
    (merge,) = [entry for entry in lakehouse.history(SCRATCH, limit=1) if entry.operation == "MERGE"]
    assert int(merge.metrics["numTargetFilesRemoved"]) == len(files_of_last_day), "only that day's files rewritten"
    assert files_before - files_of_last_day <= referenced_files(lakehouse.read(spark, SCRATCH))
    rows = {(row["day"], row["value"]) for row in lakehouse.read(spark, SCRATCH).collect()}
    assert rows == {(days[0], "a"), (days[1], "a"), (last, "b")}
    assert lakehouse.read(spark, SCRATCH).count() == 4 + 4 + 2


def test_a_table_created_from_many_days_keeps_each_day_in_few_files_so_rerunning_one_rewrites_only_those(
    spark, lakehouse
):
    clustered = TableName("ecommerce_catalog", "processed", "clustered", cluster_by="day")
    days = [date(2011, 1, 3) + timedelta(days=offset) for offset in range(4)]
    interleaved = spark.createDataFrame(  # rows of every day in turn, as a multi-day load reads them
        [(f"k{day.day}_{n}", day, "a") for n in range(6) for day in days], "key string, day date, value string"
    ).repartition(2)
    lakehouse.merge_on_key(clustered, interleaved, "key")
    last = days[-1]
    files = referenced_files(lakehouse.read(spark, clustered))
    files_of_last_day = referenced_files(lakehouse.read(spark, clustered, filters=[("day", "=", last)]))

    rerun = spark.createDataFrame(
        [(f"k{last.day}_{n}", last, "b") for n in range(6)], "key string, day date, value string"
    )
    lakehouse.merge_on_key(clustered, rerun, "key", delete_unmatched_in=("day", DateRange(last, last)))

    assert len(files) == 2 and len(files_of_last_day) == 1, "two files of day ranges, the last day in one"
    (merge,) = [entry for entry in lakehouse.history(clustered, limit=1) if entry.operation == "MERGE"]
    assert int(merge.metrics["numTargetFilesRemoved"]) == 1
    assert {row["value"] for row in lakehouse.read(spark, clustered, filters=[("day", "=", last)]).collect()} == {"b"}


def test_optimize_and_vacuum_report_the_files_they_really_compacted_and_deleted(spark, lakehouse):
    for offset in range(4):
        day = date(2011, 1, 3) + timedelta(days=offset)
        lakehouse.replace_date_range(SCRATCH, day_rows(spark, day, range(3)), "day", DateRange(day, day))
    on_disk_before = data_files(lakehouse, SCRATCH)

    report = lakehouse.compact_and_vacuum(SCRATCH, retention_hours=0)

    on_disk_after = data_files(lakehouse, SCRATCH)
    assert report.files_before == len(on_disk_before) >= 4
    assert report.files_after == 1 == len(on_disk_after), "compacted into one file, the others vacuumed"
    assert report.files_vacuumed == len(on_disk_before - on_disk_after) == len(on_disk_before)
    assert lakehouse.read(spark, SCRATCH).count() == 12


def test_vacuum_keeps_files_within_the_table_s_retention_and_its_safety_check_stays_on(spark, lakehouse):
    day = date(2011, 1, 3)
    lakehouse.replace_date_range(SCRATCH, day_rows(spark, day, range(3)), "day", DateRange(day, day))
    lakehouse.replace_date_range(SCRATCH, day_rows(spark, day, range(4)), "day", DateRange(day, day))
    files = data_files(lakehouse, SCRATCH)

    report = lakehouse.compact_and_vacuum(SCRATCH, retention_hours=168)

    assert report.files_vacuumed == 0 and files <= data_files(lakehouse, SCRATCH), "nothing younger was deleted"
    assert spark.conf.get(RETENTION_CHECK) == SESSION_SETTINGS[RETENTION_CHECK] == "true"
    with pytest.raises(Exception, match="(?i)retention"):
        spark.sql(f"VACUUM {lakehouse.identifier(SCRATCH)} RETAIN 0 HOURS")


def test_tables_can_be_addressed_by_catalog_name(spark, tmp_path):
    catalog_lakehouse = Lakehouse(warehouse_root=None, catalog="spark_catalog")
    table = TableName("ecommerce_catalog", f"test_{tmp_path.name[-8:].replace('-', '_')}", "names")
    assert catalog_lakehouse.identifier(table) == f"spark_catalog.{table.schema}.names"
    day = date(2011, 1, 3)
    try:
        catalog_lakehouse.replace_date_range(table, day_rows(spark, day, range(2)), "day", DateRange(day, day))
        counts = catalog_lakehouse.merge_on_key(table, day_rows(spark, day, range(3), "b"), "key")

        assert catalog_lakehouse.exists(table)
        assert (counts.inserted, counts.updated) == (1, 2)
        assert catalog_lakehouse.read(spark, table).count() == 3
    finally:
        spark.sql(f"DROP SCHEMA IF EXISTS spark_catalog.{table.schema} CASCADE")


def test_a_table_is_seen_once_another_writer_creates_it_after_this_session_found_it_missing(spark, lakehouse):
    assert not lakehouse.exists(SCRATCH)
    assert not lakehouse.exists(SCRATCH)  # asked again: a local path without a Delta log needs no Spark read

    write_deltalake(lakehouse.location(SCRATCH), pd.DataFrame({"key": ["k1"]}))  # as another process would

    assert lakehouse.exists(SCRATCH)
    assert [row["key"] for row in lakehouse.read(spark, SCRATCH).collect()] == ["k1"]


@pytest.mark.parametrize("by", ["path", pytest.param("name", marks=pytest.mark.slow)])  # by path in the quick tier
def test_a_table_that_keeps_changes_gives_each_commits_inserted_and_deleted_rows(spark, lakehouse, tmp_path, by):
    if by == "name":
        lakehouse = Lakehouse(warehouse_root=None, catalog="spark_catalog")
    schema = f"test_{tmp_path.name[-8:].replace('-', '_')}" if by == "name" else "processed"
    table = TableName("ecommerce_catalog", schema, "changes", cluster_by="day", keeps_changes=True)
    plain = TableName("ecommerce_catalog", schema, "no_changes", cluster_by="day")
    d1, d2 = date(2011, 1, 3), date(2011, 1, 4)
    try:
        for name in (table, plain):
            lakehouse.replace_date_range(name, day_rows(spark, d1, range(2)), "day", DateRange(d1, d1))
            lakehouse.replace_date_range(name, day_rows(spark, d2, range(1)), "day", DateRange(d2, d2))
            lakehouse.replace_date_range(name, day_rows(spark, d1, range(1, 3), "b"), "day", DateRange(d1, d1))

        changed = lakehouse.changes(spark, table, after_version=1, up_to_version=2)
        assert sorted((row["key"], row["value"], row["_change_type"]) for row in changed.collect()) == [
            ("k0", "a", "delete"),
            ("k1", "a", "delete"),
            ("k1", "b", "insert"),
            ("k2", "b", "insert"),
        ]
        assert lakehouse.changes(spark, table, after_version=2, up_to_version=2).count() == 0
        lakehouse.set_table_property(table, "delta.deletedFileRetentionDuration", "interval 0 hours")
        with pytest.raises(ChangesUnavailable, match="RETENTION"):  # time travel past the retention is refused
            lakehouse.changes(spark, table, after_version=1, up_to_version=2)
        with pytest.raises(ChangesUnavailable):
            lakehouse.changes(spark, plain, after_version=0, up_to_version=2)
        lakehouse.keep_changes(plain)  # from its next commit on
        lakehouse.replace_date_range(plain, day_rows(spark, d2, range(2)), "day", DateRange(d2, d2))
        inserted = lakehouse.changes(spark, plain, after_version=3, up_to_version=4).where("_change_type = 'insert'")
        assert inserted.count() == 2
    finally:
        if by == "name":
            spark.sql(f"DROP SCHEMA IF EXISTS spark_catalog.{schema} CASCADE")
