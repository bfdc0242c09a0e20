"""Stripe to silver against the stand-in: a first full load, an incremental one that brings only what changed,
retries through throttling and failures, a server that stays down, and the key kept out of everything."""

import gzip
import json
import secrets
import time
import uuid
from decimal import Decimal
from pathlib import Path

import boto3
import pytest
import requests
from dagster import DagsterInstance, EnvVar, ResourceDefinition, materialize
from dagster_aws.s3 import S3Resource
from dagster_dlt import DagsterDltResource
from pyspark.sql import functions as F

from ecom_assets.api_sources.definitions import STRIPE_ASSETS
from ecom_assets.api_sources.sample_data import StripeShop
from ecom_assets.api_sources.standins import free_port
from ecom_assets.api_sources.standins.stripe_server import running_standin
from ecom_assets.api_sources.tables import STRIPE_CHARGES, STRIPE_CUSTOMERS, STRIPE_OBJECTS_RAW, STRIPE_REFUNDS
from ecom_assets.platform.quality_policy import DataQualityPolicy
from ecom_assets.platform.tables import ETL_ERRORS
from ecom_assets_tests.leaks import files_holding, tables_holding
from ecom_assets_tests.mail import smtp_server, tick
from resources import Lakehouse, LocalLandingZone, S3LandingZone, StripeApi

KEY_VARIABLE = "ECOM_STRIPE_API_KEY"


@pytest.fixture
def api_key(monkeypatch) -> str:
    key = f"sk_test_{secrets.token_hex(12)}"
    monkeypatch.setenv(KEY_VARIABLE, key)
    return key


@pytest.fixture
def standin():
    with running_standin() as url:
        yield url


class Runs:
    """Materializes the Stripe assets on one instance, landing and warehouse."""

    def __init__(self, test_spark, root: Path, api_base: str, attempts: int = 6) -> None:
        self.instance = DagsterInstance.ephemeral()
        self.landing = root / "landing"
        self.warehouse = root / "warehouse"
        self.lakehouse = Lakehouse(warehouse_root=str(self.warehouse))
        self.resources = {
            "spark": test_spark,
            "landing": LocalLandingZone(root=str(self.landing)),
            "lakehouse": self.lakehouse,
            "quality": DataQualityPolicy(),
            "step_launcher": ResourceDefinition.none_resource(),
            "stripe": StripeApi(api_key=EnvVar(KEY_VARIABLE), api_base=api_base, lookback_seconds=0, attempts=attempts),
            "dlt_runner": DagsterDltResource(),
        }

    def run(self, raise_on_error: bool = True):
        return materialize(
            STRIPE_ASSETS, instance=self.instance, resources=self.resources, raise_on_error=raise_on_error
        )

    def landed(self, result, resource: str) -> dict:
        """The metadata of a Stripe list's landing in the run."""
        [materialization] = [
            m
            for m in result.get_asset_materialization_events()
            if m.asset_key.path[-1] == resource and m.asset_key.path[0] == "api_landing"
        ]
        return {name: value.value for name, value in materialization.materialization.metadata.items()}

    def rows(self, spark, table) -> dict:
        return {row["id"]: row for row in self.lakehouse.read(spark, table).collect()}


def _landed_ids(landing: Path, resource: str, load_ids: list[str]) -> set[str]:
    """The object ids in a list's landed files of the given loads (raw or archived)."""
    ids = set()
    for path in landing.rglob(f"api/stripe/{resource}/*.jsonl.gz"):
        if path.name.split(".")[0] + "." + path.name.split(".")[1] in load_ids:
            ids |= {json.loads(line)["id"] for line in gzip.decompress(path.read_bytes()).splitlines()}
    return ids


@pytest.mark.slow  # several runs end to end: the full suite runs it
def test_a_first_load_then_an_incremental_one_bring_every_object_then_only_what_changed_and_never_the_key(
    spark, test_spark, tmp_path, standin, api_key, capfd
):
    shop = StripeShop(standin, api_key)
    renamed = shop.customer("ann@example.com", "Ann")
    deleted = shop.customer("bob@example.com", "Bob")
    _, old_charge = shop.payment(renamed, 1500, "gbp", "1001")
    time.sleep(1.1)  # the rest of the first batch is created a second later: the cursor's second
    cleo = shop.customer("cleo@example.com", "Cleo")
    shop.payment(cleo, 700, "jpy", "1002")
    shop.charge(12345, "kwd")
    runs = Runs(test_spark, tmp_path, standin)

    first = runs.run()
    assert {runs.landed(first, name)["rows_landed"] for name in ("customers", "payment_intents")} == {3, 2}
    customers = runs.rows(spark, STRIPE_CUSTOMERS)
    assert set(customers) == {renamed, deleted, cleo}
    assert not any(row["deleted"] for row in customers.values())
    charges = runs.rows(spark, STRIPE_CHARGES)
    assert sorted((row["amount_minor"], str(row["amount"]), row["currency"]) for row in charges.values()) == [
        (700, "700.000", "jpy"),
        (1500, "15.000", "gbp"),
        (12345, "12.345", "kwd"),
    ]
    cursor = int(runs.landed(first, "customers")["created_cursor"])
    assert cursor == max(row["created_at"].timestamp() for row in customers.values())
    assert not list((runs.landing / "raw/api/stripe/customers").glob("*.jsonl.gz")), "loaded files are archived"
    assert list((runs.landing / "archive/api/stripe/customers").glob("*.jsonl.gz"))

    time.sleep(1.1)
    shop.rename(renamed, "Ann Smith")
    shop.delete(deleted)
    late_refund = shop.refund(old_charge, 400)
    dora = shop.customer("dora@example.com", "Dora")
    second = runs.run()

    load_ids = runs.landed(second, "customers")["load_ids"]
    assert _landed_ids(runs.landing, "customers", load_ids) == {dora}, "only the new customer is listed again"
    assert _landed_ids(runs.landing, "refunds", load_ids) == {late_refund}
    assert _landed_ids(runs.landing, "charges", load_ids) == set(), "no charge was created since"
    customers = runs.rows(spark, STRIPE_CUSTOMERS)
    assert customers[renamed]["name"] == "Ann Smith", "the update arrived through its event"
    assert customers[deleted]["deleted"] and not customers[renamed]["deleted"]
    assert dora in customers
    refunds = runs.rows(spark, STRIPE_REFUNDS)
    assert (refunds[late_refund]["charge"], refunds[late_refund]["amount_minor"]) == (old_charge, 400)

    third = runs.run()
    bronze = runs.lakehouse.read(spark, STRIPE_OBJECTS_RAW)
    assert bronze.groupBy("load_id", "line_id").count().where("count > 1").count() == 0, "each line loaded once"
    assert runs.landed(third, "customers")["rows_landed"] == 0
    assert runs.rows(spark, STRIPE_CUSTOMERS) == customers
    [silver] = [m for m in third.get_asset_materialization_events() if m.asset_key.path[-1] == "stripe_customers"]
    assert silver.materialization.metadata["read_bronze_since"].value.startswith("nothing new"), (
        "with no new load, silver only looks at bronze's log"
    )

    assert tables_holding(spark, runs.warehouse, api_key) == {}
    assert files_holding(runs.landing, api_key.encode()) == []
    event_log = "\n".join(str(event) for run in (first, second, third) for event in runs.instance.all_logs(run.run_id))
    captured = capfd.readouterr()
    assert api_key not in event_log and api_key not in captured.out + captured.err
    assert "ann@example.com" not in event_log, "customers' e-mail addresses are masked in metadata previews"


@pytest.mark.slow
def test_throttling_and_a_burst_of_server_failures_are_waited_out(spark, test_spark, tmp_path, standin, api_key):
    shop = StripeShop(standin, api_key)
    shop.customer("ann@example.com", "Ann")
    requests.post(f"{standin}/_config/faults", json={"status": 429, "count": 2, "retry_after": 1}).raise_for_status()
    runs = Runs(test_spark, tmp_path, standin)
    assert runs.run().success
    assert requests.get(f"{standin}/_config/faults").json() == {"count": 0}, "both 429 answers were met and waited out"
    shop.customer("bob@example.com", "Bob")
    requests.post(f"{standin}/_config/faults", json={"status": 503, "count": 3}).raise_for_status()
    assert runs.run().success
    assert requests.get(f"{standin}/_config/faults").json() == {"count": 0}
    assert len(runs.rows(spark, STRIPE_CUSTOMERS)) == 2


@pytest.mark.slow
def test_a_server_that_stays_down_fails_only_its_assets_with_the_apis_message_and_is_mailed_once_per_outage(
    test_spark, tmp_path, standin, api_key
):
    runs = Runs(test_spark, tmp_path, standin, attempts=2)
    requests.post(f"{standin}/_config/faults", json={"status": 503, "count": 1000}).raise_for_status()
    result = runs.run(raise_on_error=False)
    assert not result.success
    failure = next(event for event in result.all_events if event.event_type_value == "STEP_FAILURE")
    assert "Stripe GET /v1/" in str(failure.step_failure_data.error) and "injected fault 503" in str(
        failure.step_failure_data.error
    )
    assert {event.step_key for event in result.all_events if event.event_type_value == "STEP_FAILURE"} == {
        "stripe_api"
    }, "bronze and silver are skipped, not failed"

    assert not runs.run(raise_on_error=False).success, "the next hour's pull fails the same way"
    port = free_port()
    with smtp_server(port) as inbox:
        cursor = tick(runs.instance, port, None)
        [outage] = inbox.messages
        assert "injected fault 503" in outage.get_body(("plain",)).get_content()
        requests.post(f"{standin}/_config/faults", json={"status": 503, "count": 0}).raise_for_status()
        assert runs.run().success, "the API is back"
        requests.post(f"{standin}/_config/faults", json={"status": 503, "count": 1000}).raise_for_status()
        assert not runs.run(raise_on_error=False).success
        tick(runs.instance, port, cursor)
    assert len(inbox.messages) == 2, "one mail per outage: the second outage is mailed, the repeat was not"


def test_a_malformed_record_goes_to_the_error_table_and_the_rest_of_its_page_loads(
    spark, test_spark, tmp_path, standin, api_key
):
    shop = StripeShop(standin, api_key)
    shop.customer("ann@example.com", "Ann")
    _, charge = shop.payment(shop.customer("bob@example.com", "Bob"), 500, "usd", "9")
    runs = Runs(test_spark, tmp_path, standin)
    runs.run()
    # a charge whose amount is not a number lands like any other record (landed by hand, as dlt writes it)
    folder = runs.landing / "raw/api/stripe"
    load_id = "1900000000.5"
    bad = {
        "id": "ch_broken",
        "created": 1796500000,
        "object": {"id": "ch_broken", "object": "charge", "amount": "12a", "currency": "usd", "created": 1796500000},
        "_dlt_load_id": load_id,
        "_dlt_id": "x1",
    }
    (folder / "charges").mkdir(parents=True, exist_ok=True)
    (folder / "charges" / f"{load_id}.abc123.jsonl.gz").write_bytes(gzip.compress(json.dumps(bad).encode() + b"\n"))
    (folder / "_dlt_loads" / f"stripe__{load_id}.jsonl").write_text(json.dumps({"load_id": load_id}) + "\n")
    assert runs.run().success
    charges = runs.rows(spark, STRIPE_CHARGES)
    assert set(charges) == {charge}
    errors = runs.lakehouse.read(spark, ETL_ERRORS).where(F.col("asset") == STRIPE_CHARGES.full_name).collect()
    assert [(row["error_type"], row["error_message"]) for row in errors] == [
        ("invalid_amount", "stripe charges ch_broken: `amount` is missing or not a whole number")
    ]


@pytest.mark.slow
def test_loads_land_in_an_s3_landing_zone_and_load_from_there(
    spark, test_spark, tmp_path, standin, api_key, s3_endpoint
):
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    bucket = f"ecom-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    shop = StripeShop(standin, api_key)
    _, charge = shop.payment(shop.customer("ann@example.com", "Ann"), 2500, "eur", "5")
    runs = Runs(test_spark, tmp_path, standin)
    runs.resources["landing"] = S3LandingZone(
        s3=S3Resource(endpoint_url=s3_endpoint, region_name="us-east-1"), bucket=bucket, prefix="prod/"
    )
    assert runs.run().success
    keys = [item["Key"] for item in client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert any(key.startswith("prod/archive/api/stripe/charges/") for key in keys)
    assert any(key.startswith("prod/raw/api/stripe/_dlt_loads/") for key in keys), "dlt's state stays beside the loads"
    assert not [key for key in keys if key.startswith("prod/raw/api/stripe/charges/")], "loaded files are archived"
    assert runs.rows(spark, STRIPE_CHARGES)[charge]["amount"] == Decimal("25.000")
