"""Hostile and careless input: nothing outside the landing root is read, no secret is echoed, work stays bounded.

Each rule is proved on small inputs here; `test_hostile_run.py` runs the whole corpus through one
real run and looks for the planted secret everywhere the pipeline writes.
"""

import contextlib
import io
import json
import os
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from dagster import AssetMaterialization, DagsterInstance, build_sensor_context
from pyspark.sql import functions as F

from ecom_assets.clickstream.jobs import clickstream_file_sensor
from ecom_assets.feeds.batches import BatchChanged, archive_batch, locate_batch
from ecom_assets.feeds.contract import (
    FEED_COLUMNS,
    bytes_opener,
    feed_file_facts,
    feed_file_path,
    trigger_for,
    trigger_path,
    verify_batch,
)
from ecom_assets.feeds.jobs import FEEDS_AWAIT, feed_trigger_sensor
from ecom_assets.feeds.sample_data import feed_csv, write_batch
from ecom_assets.platform.privacy import masked
from ecom_assets.platform.table_asset import preview
from ecom_assets.platform.tables import asset_key
from ecom_assets.sales.jobs import landing_file_sensor
from resources import LandingLimits, LocalLandingZone
from resources.email import SmtpEmailResource, SmtpInsecureLogin, is_loopback
from resources.lakehouse import sql_literal
from resources.landing import InputTooLarge
from resources.untrusted import PathRefused, checked_relative, safe_text

DAY = date(2011, 1, 4)
MARKER = "HOSTILE-MARKER-7f3a9c"


@pytest.fixture
def outside_secret(tmp_path):
    """A file outside the landing root holding the marker, as a careless or hostile link would point at."""
    secret = tmp_path / "outside" / "secret.csv"
    secret.parent.mkdir()
    secret.write_text(f"InvoiceNo,StockCode\n{MARKER},1\n")
    return secret


@pytest.mark.parametrize(
    "relative",
    ["../secret.csv", "raw/../../x", "/etc/passwd", "raw\\triggers\\x.json", "raw//x.csv", "raw/./x.csv", "", "a\x00b"],
)
def test_a_landing_path_that_could_leave_the_root_is_refused(relative):
    with pytest.raises(PathRefused):
        checked_relative(relative)


def test_plain_relative_paths_are_accepted():
    assert checked_relative("raw/triggers/trigger_2011_01_04.json") == "raw/triggers/trigger_2011_01_04.json"


def test_a_link_in_a_day_folder_is_listed_never_followed_and_moves_to_quarantine_as_a_link(tmp_path, outside_secret):
    landing = LocalLandingZone(root=str(tmp_path / "landing"))
    folder = tmp_path / "landing/raw/ecommerce_sales/2011/01/04"
    folder.mkdir(parents=True)
    (folder / "leak.csv").symlink_to(outside_secret)
    (folder / "folder.csv").mkdir()
    os.mkfifo(folder / "pipe.csv")  # opening a pipe for reading would block: it must be refused unopened

    listed = landing.files_for_day(DAY)
    assert [path.rsplit("/", 1)[-1] for path in listed] == ["folder.csv", "leak.csv", "pipe.csv"]
    for path in listed:
        with pytest.raises(PathRefused):
            landing.open(path).__enter__()
    assert {entry.path.rsplit("/", 1)[-1]: entry.regular for entry in landing.list_files()} == {
        "folder.csv": False,
        "leak.csv": False,
        "pipe.csv": False,
    }

    moved = landing.quarantine(str(folder / "leak.csv"))
    assert os.path.islink(moved) and os.readlink(moved) == str(outside_secret)
    assert outside_secret.read_text().startswith("InvoiceNo"), "the target is untouched"


def test_a_day_folder_that_is_a_link_is_refused_and_its_day_named(tmp_path, outside_secret):
    landing = LocalLandingZone(root=str(tmp_path / "landing"))
    month = tmp_path / "landing/raw/ecommerce_sales/2011/01"
    month.mkdir(parents=True)
    (month / "04").symlink_to(outside_secret.parent, target_is_directory=True)

    listing = landing.files_by_day([DAY, DAY + timedelta(days=1)])

    assert listing.files == {}
    assert list(listing.refused) == [DAY] and "is a link or not a folder" in listing.refused[DAY]
    assert landing.list_files() == [], "a linked folder is not walked into"


def test_moves_set_an_earlier_copy_aside_instead_of_replacing_it(tmp_path):
    landing = LocalLandingZone(root=str(tmp_path))
    for content in (b"first", b"second", b"third"):
        (tmp_path / "raw").mkdir(exist_ok=True)
        (tmp_path / "raw/a.csv").write_bytes(content)
        landing.move("raw/a.csv", "archive/a.csv")
    kept = {path.name: path.read_bytes() for path in (tmp_path / "archive").iterdir()}
    assert kept == {"a.csv": b"third", "a.csv.1": b"first", "a.csv.2": b"second"}


def test_a_trigger_is_read_only_up_to_its_size_limit(tmp_path):
    landing = LocalLandingZone(root=str(tmp_path), limits=LandingLimits(max_trigger_bytes=100))
    (tmp_path / "raw/triggers").mkdir(parents=True)
    (tmp_path / "raw/triggers/trigger_2011_01_04.json").write_bytes(b"[" * 101)
    with pytest.raises(InputTooLarge):
        landing.read_small("raw/triggers/trigger_2011_01_04.json", 100)
    assert landing.read_small("raw/triggers/none.json", 100) is None


def _trigger(files: list[dict], **fields) -> bytes:
    document = {"batch_id": "b-1", "business_date": "2011-01-04", "created_at": "2011-01-05T01:00:00", "files": files}
    return json.dumps(document | fields).encode()


def _entry(domain: str = "products", **fields) -> dict:
    return {"domain": domain, "path": feed_file_path(domain, DAY), "rows": 0, "sha256": "0" * 64} | fields


@pytest.mark.parametrize(
    "content, complaint",
    [
        (b"[" * 100_000, "nested deeper"),
        (b'{"a":' * 50_000, "nested deeper"),
        (_trigger([_entry()]).replace(b'"rows": 0', b'"rows": Infinity'), "Infinity is not a number"),
        (_trigger([_entry()]).replace(b'"rows": 0', b'"rows": 1e999'), "rows must be a whole number"),
        (_trigger([_entry()]).replace(b'"rows": 0', b'"rows": ' + b"9" * 5000), "not UTF-8 JSON"),
        (_trigger([_entry(rows=True)]), "rows must be a whole number"),
        (_trigger([_entry(rows=-1)]), "rows must be a whole number"),
        (_trigger([_entry(sha256="../../etc")]), "sha256 must be 64 hexadecimal digits"),
        (_trigger([_entry()], batch_id="b\n1"), "batch_id is not"),
        (_trigger([_entry() for _ in range(100_000)]), "more than the limit"),
        (_trigger(["products"]), "is not a JSON object"),
        (_trigger([_entry()]) + b"\xff", "not UTF-8 JSON"),
        (b" " * 2_000_000, "more than the limit of 1048576"),
    ],
)
def test_a_hostile_trigger_is_refused_with_a_bounded_reason_never_an_exception(content, complaint):
    verdict = verify_batch(DAY, content, bytes_opener({}))
    assert not verdict.complete and complaint in verdict.reason
    assert len(verdict.reason) <= LandingLimits().max_message_chars


def test_a_trigger_can_name_no_file_but_its_domain_s_contract_path_and_nothing_else_is_opened():
    opened = []

    def open_file(relative):
        opened.append(relative)
        return contextlib.nullcontext(io.BytesIO(feed_csv("products", [])))

    hostile = [
        _entry(path="../../../../../../../proc/self/environ"),
        _entry("customers", path="/etc/passwd"),
        _entry("shipping", path=feed_file_path("shipping", DAY + timedelta(days=1))),
        _entry("../secrets"),
    ]
    verdict = verify_batch(DAY, _trigger(hostile), open_file)

    assert opened == []
    assert "not the contract's path raw/products/2011/01/04/products_2011_01_04.csv" in " ".join(verdict.problems)
    assert "unknown domain '../secrets'" in verdict.reason


def test_a_feed_file_with_a_200000_character_field_rejects_its_batch_with_the_line():
    path = feed_file_path("products", DAY)
    content = feed_csv("products", [{"product_id": "A1", "description": "x" * 200_000}])
    trigger = trigger_for("b", DAY, [("products", path, content)], datetime(2011, 1, 5, tzinfo=UTC))
    verdict = verify_batch(DAY, trigger.to_json().encode(), bytes_opener({path: content}))
    assert verdict.problems == (f"raw/{path}: line 2 is longer than the limit of 65536",)


def test_feed_files_are_hashed_and_counted_in_bounded_memory():
    header = ",".join(FEED_COLUMNS["inventory"]).encode() + b"\n"
    line = b"85123A,12,in_stock,UK-1,2011-01-04,2011-01-04\n"
    chunks = (header if number == 0 else line * 20_000 for number in range(21))  # 400,000 lines, 18 MB
    tracemalloc.start()
    try:
        facts = feed_file_facts(chunks)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    print(f"feed file of {20 * 20_000} lines ({20 * 20_000 * len(line) / 1e6:.0f} MB): peak {peak / 1e6:.1f} MB")
    assert facts.rows == 400_000 and facts.problem is None
    assert peak < 16e6


def test_texts_for_tables_logs_and_mail_mask_environment_secrets_and_stay_bounded(monkeypatch):
    monkeypatch.setenv("ECOM_SMTP_PASSWORD", MARKER)
    monkeypatch.setenv("SOME_API_TOKEN", "tok-" + MARKER[::-1])
    text = safe_text(f"failed to log in with {MARKER} and tok-{MARKER[::-1]}\x00\x1b[31m" + "y" * 5_000, 200)
    assert MARKER not in text and MARKER[::-1] not in text and "[redacted]" in text
    assert "\x00" not in text and "\x1b" not in text
    assert len(text) <= 200 and text.endswith("more characters cut)")


@pytest.mark.parametrize("value", ["plain", "it's", "back\\slash", "\\'); DROP TABLE x; --", "tab\\t", "\\\\"])
def test_sql_literals_read_back_as_the_same_string_in_spark(spark, value):
    assert spark.range(1).select(F.expr(sql_literal(value)).alias("v")).first()["v"] == value


def test_the_mailer_refuses_a_login_in_clear_to_another_host_before_connecting():
    mailer = SmtpEmailResource(
        host="mail.example.com", port=9, user="alerts", password="pw", sender="a@x", recipients="b@x"
    )
    with pytest.raises(SmtpInsecureLogin, match="without encryption"):
        mailer.send("subject", "text", "<p>html</p>")
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("mail.example.com") and not is_loopback("10.0.0.1")


def test_personal_data_is_masked_in_previews(spark):
    assert masked("email", "ann.smith@example.com") == "a***@example.com"
    assert masked("phone", "+44 20 7946 0958") == "***58"
    assert masked("record", "17850,Ann,ann@example.com,x") == "17850,Ann,a***@example.com,x"
    assert masked("customer_id", "17850") == "17850"
    rows = spark.createDataFrame(
        [("17850", "ann@example.com", "+44 20 7946 0958")], "customer_id string, email string, phone string"
    )
    shown = preview(rows).value
    assert "ann@example.com" not in shown and "7946" not in shown and "17850" in shown


def _sales_day(root, day: date, name: str, content: bytes) -> None:
    folder = root / f"raw/ecommerce_sales/{day:%Y/%m/%d}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)


def test_the_landing_sensor_reads_at_most_its_budget_per_tick_and_the_next_tick_goes_on(tmp_path, outside_secret):
    root = tmp_path / "landing"
    days = [DAY + timedelta(days=offset) for offset in range(7)]
    for day in days:
        _sales_day(root, day, "sales.csv", f"InvoiceNo\n{day}\n".encode())
    (root / "raw/ecommerce_sales/2011/01/05/leak.csv").symlink_to(outside_secret)
    landing = LocalLandingZone(root=str(root), limits=LandingLimits(max_files_per_tick=3))
    instance = DagsterInstance.ephemeral()
    requested, cursor = [], None
    for _ in range(4):
        with build_sensor_context(instance=instance, resources={"landing": landing}, cursor=cursor) as context:
            result = landing_file_sensor(context)
            cursor = result.cursor
        requested.append(sorted(request.partition_key for request in result.run_requests or []))
    assert [len(tick) for tick in requested] == [2, 3, 2, 0], "3 files a tick: the link and its day's file share a day"
    assert sorted(day for tick in requested for day in tick) == [day.isoformat() for day in days]
    assert MARKER not in cursor, "the link was stamped, never read"


def test_a_hostile_trigger_never_stops_the_trigger_sensor_and_an_unchanged_batch_is_not_read_again(tmp_path):
    root = tmp_path / "landing"
    (root / "raw/triggers").mkdir(parents=True)
    (root / f"raw/{trigger_path(DAY)}").write_bytes(b"[" * 100_000)
    (root / f"raw/{trigger_path(DAY + timedelta(days=1))}").write_bytes(
        _trigger([_entry(path="../../../../proc/self/environ")], business_date="2011-01-05")
    )
    opened = []

    class CountingLandingZone(LocalLandingZone):
        def open(self, path):
            opened.append(path)
            return super().open(path)

    landing = CountingLandingZone(root=str(root))
    instance = DagsterInstance.ephemeral()
    for table in FEEDS_AWAIT:
        for day in ("2011-01-04", "2011-01-05"):
            instance.report_runless_asset_event(AssetMaterialization(asset_key(table), partition=day))
    with build_sensor_context(instance=instance, resources={"landing": landing}) as context:
        first = feed_trigger_sensor(context)
    assert sorted((r.partition_key, r.tags["ecom/batch_complete"]) for r in first.run_requests) == [
        ("2011-01-04", "false"),
        ("2011-01-05", "false"),
    ]
    reads = len(opened)
    with build_sensor_context(instance=instance, resources={"landing": landing}, cursor=first.cursor) as context:
        second = feed_trigger_sensor(context)
    assert not second.run_requests and len(opened) == reads, "nothing changed, nothing read"
    assert all("environ" not in path for path in opened)


def test_the_clickstream_sensor_lists_only_the_folders_that_can_hold_something_new(tmp_path):
    root = tmp_path / "landing"
    for day in ("2019/10/01", "2019/10/02", "2019/10/03", "2999/01/01"):
        folder = root / f"raw/clickstream/{day}/00"
        folder.mkdir(parents=True)
        (folder / "events.csv").write_text("event_time\n")
    listed = []

    class ListingLandingZone(LocalLandingZone):
        def list_folder(self, relative, suffix, recursive=False, start_after=None):
            found = super().list_folder(relative, suffix, recursive, start_after)
            listed.append([entry.path.split("/clickstream/")[1] for entry in found])
            return found

    landing = ListingLandingZone(root=str(root))
    instance = DagsterInstance.ephemeral()
    with build_sensor_context(instance=instance, resources={"landing": landing}) as context:
        first = clickstream_file_sensor(context)
    state = json.loads(first.cursor)
    assert state["from_day"] == "2019-10-02", "the far-future folder does not move the start past tomorrow"
    new = root / "raw/clickstream/2019/10/03/01"
    new.mkdir()
    (new / "late.csv").write_text("event_time\n")
    with build_sensor_context(instance=instance, resources={"landing": landing}, cursor=first.cursor) as context:
        second = clickstream_file_sensor(context)
    assert listed[1] == [
        "2019/10/02/00/events.csv",
        "2019/10/03/00/events.csv",
        "2019/10/03/01/late.csv",
        "2999/01/01/00/events.csv",
    ]
    assert second.run_requests[0].tags["ecom/new_files"] == "1"
    assert datetime.now(UTC).date() < date(2999, 1, 1)


def test_a_file_re_delivered_while_its_batch_is_archived_goes_back_to_raw_and_the_trigger_stays(tmp_path):
    write_batch(tmp_path, DAY, {"customers": [{"customer_id": "17850"}], "products": [{"product_id": "A1"}]})
    landing = LocalLandingZone(root=str(tmp_path))
    batch = locate_batch(landing, DAY)
    assert batch.verdict.complete
    changed = tmp_path / "raw" / feed_file_path("customers", DAY)
    changed.write_bytes(feed_csv("customers", [{"customer_id": "99999"}]))

    with pytest.raises(BatchChanged):
        archive_batch(landing, batch)

    assert changed.read_bytes() == feed_csv("customers", [{"customer_id": "99999"}]), "back in raw/, as delivered"
    assert (tmp_path / "raw" / trigger_path(DAY)).exists(), "the trigger is not archived"
    assert not (tmp_path / "archive" / feed_file_path("customers", DAY)).exists()


def test_a_deep_tree_of_folders_costs_a_bounded_walk(tmp_path):
    root = tmp_path / "landing"
    deep = root / "raw" / "clickstream" / Path(*["d"] * 60)
    deep.mkdir(parents=True)
    (deep / "buried.csv").write_text("event_time\n")
    shallow = root / "raw/clickstream/2019/10/01/00"
    shallow.mkdir(parents=True)
    (shallow / "events.csv").write_text("event_time\n")
    landing = LocalLandingZone(root=str(root))

    listed = [entry.path.split("/clickstream/")[1] for entry in landing.list_folder("raw/clickstream", ".csv", True)]

    assert listed == ["2019/10/01/00/events.csv"], "a file 60 folders down is beyond the walk"
    assert landing.links_under("raw/clickstream") == []
