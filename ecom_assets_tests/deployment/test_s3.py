"""S3 the way Databricks uses it: Spark reads landing files and reads and writes Delta tables at `s3a://`.

Against moto's S3 server on 127.0.0.1 (started for the test session, see conftest). Concurrent
writers on one table are kept safe by the conditional-PUT log store (`resources/jvm`).
"""

import csv
import subprocess
import sys
import threading
import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from dagster import AssetMaterialization, DagsterInstance, ResourceDefinition, build_sensor_context, materialize

from ecom_assets.clickstream.definitions import CLICKSTREAM_ASSETS
from ecom_assets.clickstream.jobs import clickstream_file_sensor
from ecom_assets.clickstream.rules import ClickstreamRules
from ecom_assets.clickstream.sample_data import write_clickstream
from ecom_assets.clickstream.tables import CLICKSTREAM_EVENTS_RAW, FUNNEL_DAILY
from ecom_assets.feeds.batches import archive_batch, locate_batch
from ecom_assets.feeds.jobs import FEEDS_AWAIT, feed_trigger_sensor
from ecom_assets.feeds.sample_data import write_batch
from ecom_assets.platform.dates import DateRange
from ecom_assets.platform.quality_policy import DataQualityPolicy
from ecom_assets.platform.tables import ETL_ERRORS, TableName, asset_key
from ecom_assets.sales.jobs import landing_file_sensor
from ecom_assets.sales.sample_data import generate
from ecom_assets.sales.tables import ORDER_TRANSACTIONS, SALES_METRICS
from ecom_assets_tests.conftest import PIPELINE_ASSETS
from ecom_assets_tests.reference import distinct_valid_lines, expected_day_status, expected_sales_metrics
from resources import Lakehouse, S3LandingZone, Settings, landing_for
from resources.untrusted import PathRefused

pytestmark = pytest.mark.slow
DAYS = DateRange(date(2011, 1, 4), date(2011, 1, 5))
CONCURRENT_WRITER = Path(__file__).resolve().parents[1] / "s3_writer.py"


def new_bucket(client) -> str:
    name = f"ecom-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3(s3_endpoint):
    """A boto3 client on the session's moto server."""
    return boto3.client("s3", endpoint_url=s3_endpoint)


@pytest.fixture
def landing_bucket(s3, s3_endpoint, landing_root, monkeypatch):
    """Generated landing files uploaded under `s3://<bucket>/prod/raw/ecommerce_sales/...`; the settings point there."""
    generate(landing_root, DAYS, seed=17)
    return upload_landing(s3, s3_endpoint, monkeypatch, landing_root, sorted(landing_root.rglob("*.csv")))


def upload_landing(s3, s3_endpoint, monkeypatch, root: Path, paths: list[Path]) -> str:
    """Upload `paths` (under the local landing `root`) to a new bucket's `prod/` prefix and point the settings there;
    returns the bucket."""
    bucket = new_bucket(s3)
    for path in paths:
        s3.upload_file(str(path), bucket, "prod/" + path.relative_to(root).as_posix())
    monkeypatch.setenv("ECOM_LANDING_BUCKET", bucket)
    monkeypatch.setenv("ECOM_LANDING_PREFIX", "prod/")
    monkeypatch.setenv("ECOM_S3_ENDPOINT_URL", s3_endpoint)
    return bucket


def test_spark_reads_s3_landing_files_and_writes_delta_tables_on_s3(
    test_spark, spark, s3, landing_bucket, landing_root
):
    settings = Settings.from_environment()
    landing = landing_for(settings)
    assert isinstance(landing, S3LandingZone) and settings.uses_s3
    warehouse = Lakehouse(warehouse_root=f"s3a://{new_bucket(s3)}/lakehouse")

    result = materialize(
        PIPELINE_ASSETS,
        resources={
            "spark": test_spark,
            "landing": landing,
            "lakehouse": warehouse,
            "quality": DataQualityPolicy(),
            "step_launcher": ResourceDefinition.none_resource(),
        },
        tags={
            "dagster/asset_partition_range_start": DAYS.start.isoformat(),
            "dagster/asset_partition_range_end": DAYS.end.isoformat(),
        },
    )

    assert result.success
    bucket = warehouse.warehouse_root.split("/")[2]
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert any(key.startswith("lakehouse/ecommerce_catalog/analytics/sales_metrics/_delta_log/") for key in keys)
    assert not warehouse.exists(ETL_ERRORS), "nothing was rejected"
    files = {row["source_file_name"] for row in warehouse.read(spark, ORDER_TRANSACTIONS).collect()}
    assert files and all(name.startswith("2011/01/0") for name in files), "Spark read the objects at s3a://"
    gold = {row["order_date"]: row.asDict() for row in warehouse.read(spark, SALES_METRICS).collect()}
    assert gold == expected_sales_metrics(
        distinct_valid_lines(landing_root), DAYS.days(), expected_day_status(landing_root, DAYS.days())
    ), "gold on S3 equals an independent computation from the landed files"


def test_the_landing_sensor_sees_new_and_redelivered_objects_on_s3(s3, landing_bucket):
    landing = landing_for(Settings.from_environment())

    def tick(cursor):
        instance = DagsterInstance.ephemeral()
        with build_sensor_context(instance=instance, cursor=cursor, resources={"landing": landing}) as context:
            result = landing_file_sensor(context)
        return [r.partition_key for r in result.run_requests or []], result.cursor

    days, cursor = tick(None)
    assert days == ["2011-01-04", "2011-01-05"]
    assert tick(cursor)[0] == [], "nothing changed, nothing runs"
    key = next(o["Key"] for o in s3.list_objects_v2(Bucket=landing_bucket)["Contents"] if "/2011/01/05/" in o["Key"])
    body = s3.get_object(Bucket=landing_bucket, Key=key)["Body"].read()
    s3.put_object(Bucket=landing_bucket, Key=key, Body=body + body.splitlines(keepends=True)[1])
    assert tick(cursor)[0] == ["2011-01-05"], "a re-delivered object runs its day again"


def test_of_writers_racing_for_one_table_version_exactly_one_wins(spark, s3):
    bucket = new_bucket(s3)
    jvm = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    commit = jvm.org.apache.hadoop.fs.Path(f"s3a://{bucket}/t/_delta_log/00000000000000000001.json")
    outcomes: dict[int, str] = {}

    def write(writer: int) -> None:
        try:
            store = jvm.ecom.delta.ConditionalPutLogStore(conf)
            actions = jvm.java.util.Collections.singletonList(f'{{"writer":{writer}}}').iterator()
            store.write(commit, actions, False, conf)
            outcomes[writer] = "won"
        except Exception as error:  # noqa: BLE001 - the JVM's exception arrives as a Py4J error
            outcomes[writer] = "lost" if "FileAlreadyExistsException" in str(error) else f"failed: {error}"

    threads = [threading.Thread(target=write, args=(writer,)) for writer in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes.values()) == ["lost"] * 7 + ["won"], outcomes
    (winner,) = [writer for writer, outcome in outcomes.items() if outcome == "won"]
    body = s3.get_object(Bucket=bucket, Key="t/_delta_log/00000000000000000001.json")["Body"].read()
    assert body == f'{{"writer":{winner}}}\n'.encode(), "the winner's commit is whole and nobody overwrote it"


def test_two_processes_appending_to_one_table_on_s3_lose_nothing(spark, s3, s3_endpoint, tmp_path):
    warehouse = Lakehouse(warehouse_root=f"s3a://{new_bucket(s3)}/lakehouse")
    table = TableName("ecommerce_catalog", "logs", "concurrent")
    appends = 4
    warehouse.append(table, spark.createDataFrame([], "writer string, n int"))
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    writers = [
        subprocess.Popen(
            [
                sys.executable,
                str(CONCURRENT_WRITER),
                s3_endpoint,
                warehouse.warehouse_root,
                name,
                str(appends),
                barrier,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name in ("A", "B")
    ]
    outputs = [writer.communicate(timeout=600)[0] for writer in writers]
    assert all(writer.returncode == 0 for writer in writers), "\n".join(output[-3000:] for output in outputs)

    rows = warehouse.read(spark, table).groupBy("writer").count().collect()
    assert {row["writer"]: row["count"] for row in rows} == {"A": appends * 3, "B": appends * 3}
    assert len(warehouse.history(table)) == 1 + 2 * appends, "every append is its own commit; none overwrote another"
    commits = spark.sql(f"DESCRIBE HISTORY {warehouse.identifier(table)}").select("version", "readVersion").collect()
    rebased = [
        row["version"] for row in commits if row["readVersion"] is not None and row["readVersion"] < row["version"] - 1
    ]
    assert rebased, "no commit found the version it read taken: the writers never raced, so nothing was tested"


def test_an_unreadable_object_moves_to_its_day_s_quarantine_prefix_and_leaves_the_landing_listing(s3, landing_bucket):
    landing = landing_for(Settings.from_environment())
    day = date(2011, 1, 5)
    key = "prod/raw/ecommerce_sales/2011/01/05/broken.csv"
    s3.put_object(Bucket=landing_bucket, Key=key, Body=b"InvoiceNo,StockCode\n1,2\n")
    landed = f"s3://{landing_bucket}/{key}"
    assert landed in landing.files_for_day(day)

    moved = landing.quarantine(landed)

    assert moved == f"s3://{landing_bucket}/prod/quarantine/ecommerce_sales/2011/01/05/broken.csv"
    assert landed not in landing.files_for_day(day)
    assert all("quarantine" not in listed.path for listed in landing.list_files()), "the sensor never sees it"
    assert landing.quarantined_by_day([day]) == {day: [moved]}
    with landing.open(moved) as stream:
        assert stream.read() == b"InvoiceNo,StockCode\n1,2\n"
    s3.put_object(Bucket=landing_bucket, Key=key, Body=b"InvoiceNo\n3\n")
    assert landing.quarantine(landed) == moved, "a second bad delivery of the name goes to the same place"
    with landing.open(moved) as newest, landing.open(f"{moved}.1") as earlier:
        assert (newest.read(), earlier.read()) == (b"InvoiceNo\n3\n", b"InvoiceNo,StockCode\n1,2\n")
    landing.delete(moved)
    landing.delete(f"{moved}.1")
    assert landing.quarantined_files() == []
    for outside in (f"s3://{landing_bucket}/other/x.csv", f"s3://{landing_bucket}/prod/raw/../../other/x.csv"):
        with pytest.raises(PathRefused):
            landing.open(outside).__enter__()


def test_a_feed_batch_on_s3_is_verified_found_by_the_trigger_sensor_and_archived_by_copy_then_delete(
    s3, s3_endpoint, landing_root, monkeypatch
):
    day = date(2011, 1, 4)
    write_batch(landing_root, day, {"inventory": [{"product_id": "85123A", "stock_quantity": "12"}]})
    bucket = upload_landing(s3, s3_endpoint, monkeypatch, landing_root, sorted((landing_root / "raw").rglob("*.*")))
    landing = landing_for(Settings.from_environment())

    instance = DagsterInstance.ephemeral()
    with build_sensor_context(instance=instance, resources={"landing": landing}) as context:
        assert not feed_trigger_sensor(context).run_requests, "the batch waits for its day's sales"
    for table in FEEDS_AWAIT:
        instance.report_runless_asset_event(AssetMaterialization(asset_key(table), partition="2011-01-04"))
    with build_sensor_context(instance=instance, resources={"landing": landing}) as context:
        [request] = feed_trigger_sensor(context).run_requests
    assert (request.partition_key, request.tags["ecom/batch_complete"]) == ("2011-01-04", "true")
    batch = locate_batch(landing, day)
    assert batch.verdict.complete and batch.folder == "raw"

    moved = archive_batch(landing, batch)

    keys = sorted(item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == [
        "prod/archive/inventory/2011/01/04/inventory_2011_01_04.csv",
        "prod/archive/triggers/trigger_2011_01_04.json",
    ]
    assert moved[-1] == f"s3://{bucket}/prod/archive/triggers/trigger_2011_01_04.json", "the trigger moves last"
    rerun = locate_batch(landing, day)
    assert rerun.verdict.complete and rerun.folder == "archive"
    assert landing.stat("raw/triggers/trigger_2011_01_04.json") is None


def test_clickstream_files_on_s3_are_seen_by_the_file_sensor_ingested_once_and_built_into_a_complete_day(
    test_spark, spark, s3, s3_endpoint, tmp_path, monkeypatch
):
    local = tmp_path / "clickstream"
    files = write_clickstream(local, DateRange(date(2019, 10, 1), date(2019, 10, 1)), sessions_per_day=60, faults=True)
    upload_landing(s3, s3_endpoint, monkeypatch, local, files)
    landing = landing_for(Settings.from_environment())
    instance = DagsterInstance.ephemeral()
    with build_sensor_context(instance=instance, resources={"landing": landing}) as context:
        first = clickstream_file_sensor(context)
    assert first.run_requests and first.run_requests[0].tags["ecom/new_files"] == str(len(files))
    with build_sensor_context(instance=instance, cursor=first.cursor, resources={"landing": landing}) as context:
        assert not clickstream_file_sensor(context).run_requests, "the objects listed once are not new again"

    warehouse = Lakehouse(warehouse_root=f"s3a://{new_bucket(s3)}/lakehouse")
    resources = {
        "spark": test_spark,
        "landing": landing,
        "lakehouse": warehouse,
        "quality": DataQualityPolicy(),
        "clickstream_rules": ClickstreamRules(),
        "step_launcher": ResourceDefinition.none_resource(),
    }
    ingest, hourly, daily = CLICKSTREAM_ASSETS[:1], CLICKSTREAM_ASSETS[1:4], CLICKSTREAM_ASSETS[4:]
    for assets, first_key, last_key in (
        (ingest, None, None),
        (ingest, None, None),  # a rerun appends nothing
        (hourly, "2019-10-01-00:00", "2019-10-01-23:00"),
        (daily, "2019-10-01", "2019-10-01"),
    ):
        tags = {"dagster/asset_partition_range_start": first_key, "dagster/asset_partition_range_end": last_key}
        result = materialize(assets, instance=instance, resources=resources, tags=tags if first_key else {})
        assert all(e.passed for e in result.get_asset_check_evaluations() if e.check_name != "conversion_rate_anomaly")
    lines = sum(len(path.read_text().splitlines()) - 1 for path in files)
    assert warehouse.read(spark, CLICKSTREAM_EVENTS_RAW).count() == lines, "each object appended once"
    [day] = warehouse.read(spark, FUNNEL_DAILY).collect()
    assert (day.hours_processed, day.day_status) == (24, "complete")
    assert day.sessions == _sessions_on(date(2019, 10, 1), files, gap=timedelta(minutes=30))
    assert warehouse.read(spark, ETL_ERRORS).where("error_type = 'malformed_line'").count() == 1


def _sessions_on(day: date, files: list[Path], gap: timedelta) -> int:
    """The distinct sessions with an event of a known type on `day`, worked out in plain Python: the export's
    `user_session`, or for events without one, a user's run of events with less than `gap` between two."""
    sessions: set[str] = set()
    sessionless: dict[str, list[datetime]] = defaultdict(list)
    for path in files:
        with path.open(newline="", encoding="utf-8") as handle:
            for line in list(csv.reader(handle))[1:]:
                if len(line) != 9 or line[1] not in ("view", "cart", "remove_from_cart", "purchase"):
                    continue
                moment = datetime.strptime(line[0], "%Y-%m-%d %H:%M:%S UTC")
                if not line[8]:
                    sessionless[line[7]].append(moment)
                elif moment.date() == day:
                    sessions.add(line[8])
    for user, moments in sessionless.items():
        moments.sort()
        start = previous = moments[0]
        for moment in moments:
            if moment - previous >= gap:
                start = moment
            previous = moment
            if moment.date() == day:
                sessions.add(f"{user}-{start:%Y%m%dT%H%M%S}")
    return len(sessions)
