"""Failure emails through a real SMTP server on 127.0.0.1 (aiosmtpd), sensor ticks on a real instance."""

import json
import re
from datetime import date

import pytest
from dagster import (
    AssetSelection,
    DagsterInstance,
    DagsterRunStatus,
    Definitions,
    JobDefinition,
    ResourceDefinition,
    build_sensor_context,
    define_asset_job,
)
from dagster._core.test_utils import create_run_for_test

from ecom_assets.api_sources.standins import free_port
from ecom_assets.platform.alerts import (
    _REMEMBERED_RUNS,
    _mail_each_new_run,
    check_failure_email_sensor,
    run_failure_email_sensor,
)
from ecom_assets.platform.dates import DateRange
from ecom_assets.platform.partitions import daily_partitions
from ecom_assets.platform.quality_policy import DataQualityPolicy
from ecom_assets.sales.jobs import daily_sales_job
from ecom_assets.sales.sample_data import generate
from ecom_assets_tests.conftest import PIPELINE_ASSETS, fresh_dagster_home
from ecom_assets_tests.mail import mailer, smtp_server, tick
from resources import Lakehouse, LocalLandingZone, SmtpEmailResource
from resources.landing import day_folder


def core_daily_job(resources: dict) -> JobDefinition:
    """daily_sales_job over bronze, silver and gold only (what fails there is what these tests mail).

    `resources` must give the `spark` resource (the tests' own) and may replace any other.
    """
    return Definitions(
        assets=PIPELINE_ASSETS,
        jobs=[
            define_asset_job(
                daily_sales_job.name, selection=AssetSelection.assets(*PIPELINE_ASSETS), partitions_def=daily_partitions
            )
        ],
        resources={
            "quality": DataQualityPolicy(),
            "step_launcher": ResourceDefinition.none_resource(),
            **resources,
        },
    ).resolve_job_def(daily_sales_job.name)


@pytest.fixture
def smtp_port():
    return free_port()


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory, test_spark):
    """A real instance holding one failed run of daily_sales_job (its warehouse cannot be written).

    Module-scoped: the tests only read the instance, each sensor starting from its own cursor.
    """
    tmp_path = tmp_path_factory.mktemp("failed_run")
    with fresh_dagster_home(tmp_path) as dagster_home:
        instance = DagsterInstance.local_temp(str(dagster_home))
        generate(tmp_path / "landing", DateRange(date(2011, 1, 4), date(2011, 1, 4)))
        (tmp_path / "not_a_folder").write_text("")
        job = core_daily_job(
            {
                "spark": test_spark,
                "landing": LocalLandingZone(root=str(tmp_path / "landing")),
                "lakehouse": Lakehouse(warehouse_root=str(tmp_path / "not_a_folder")),
            }
        )
        result = job.execute_in_process(instance=instance, partition_key="2011-01-04", raise_on_error=False)
        assert not result.success
        yield instance, result.run_id
        instance.dispose()


def test_a_failed_daily_run_is_mailed_once_with_partition_step_and_error(failed_run, smtp_port):
    instance, run_id = failed_run
    with smtp_server(smtp_port) as inbox:
        cursor = tick(instance, smtp_port, None)
        cursor = tick(instance, smtp_port, cursor)

    assert len(inbox.messages) == 1, "one email per failed run, none on the next tick"
    message = inbox.messages[0]
    assert "2011-01-04" in message["Subject"] and "FAILURE" in message["Subject"]
    assert "ecommerce_catalog__raw__order_transactions" in message["Subject"]
    assert message["To"] == "steward@example.test, ops@example.test"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert f"http://127.0.0.1:3000/runs/{run_id}" in text and run_id in html
    assert "Error(s):" in text and "order_transactions" in text


def test_an_alert_waits_while_the_mail_server_is_down_and_is_sent_when_it_is_back(failed_run, smtp_port):
    instance, _ = failed_run
    cursor = tick(instance, smtp_port, None)  # nothing listens on the port: the sensor must not raise
    assert '"pending": ["' in cursor

    with smtp_server(smtp_port) as inbox:
        cursor = tick(instance, smtp_port, cursor)
        cursor = tick(instance, smtp_port, cursor)
    assert len(inbox.messages) == 1 and '"pending": []' in cursor


def test_an_unconfigured_mailer_keeps_alerts_waiting(failed_run):
    instance, _ = failed_run
    context = build_sensor_context(
        instance=instance, resources={"email": SmtpEmailResource(host="", sender="", recipients="")}
    )
    assert '"pending": ["' in run_failure_email_sensor(context).cursor


@pytest.fixture(scope="module")
def runs_with_failed_checks(tmp_path_factory, test_spark):
    """A real instance with two runs of daily_sales_job (bronze, silver, gold): one whose WARN anomaly fails
    (the run succeeds), one whose blocking header check fails (its day is quarantined, the run goes on).
    Module-scoped, read only."""
    tmp_path = tmp_path_factory.mktemp("failed_checks")
    with fresh_dagster_home(tmp_path) as dagster_home:
        instance = DagsterInstance.local_temp(str(dagster_home))
        landing = tmp_path / "landing"
        generate(landing, DateRange(date(2011, 1, 4), date(2011, 1, 5)))
        day_file = next((landing / day_folder(date(2011, 1, 5))).glob("*.csv"))
        lines = day_file.read_text().splitlines()
        day_file.write_text(
            "\n".join([lines[0], *(line.replace(",2011-01-05 ", ",05/01/11 ") for line in lines[1:40]), *lines[40:]])
            + "\n"
        )
        job = core_daily_job(
            {
                "spark": test_spark,
                "landing": LocalLandingZone(root=str(landing)),
                "lakehouse": Lakehouse(warehouse_root=str(tmp_path / "warehouse")),
                "quality": DataQualityPolicy(anomaly_min_history_days=1),
            }
        )
        warned = job.execute_in_process(
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": "2011-01-04",
                "dagster/asset_partition_range_end": "2011-01-05",
            },
        )
        (landing / day_folder(date(2011, 1, 6))).mkdir(parents=True)
        (landing / day_folder(date(2011, 1, 6)) / "no_price.csv").write_text("InvoiceNo,StockCode\n1,2\n")
        blocked = job.execute_in_process(instance=instance, partition_key="2011-01-06", raise_on_error=False)
        assert warned.success and blocked.success
        yield instance, warned.run_id, blocked.run_id
        instance.dispose()


def test_failed_checks_are_mailed_once_per_run_with_observed_and_expected_values(runs_with_failed_checks, smtp_port):
    instance, warned_run, blocked_run = runs_with_failed_checks
    with smtp_server(smtp_port) as inbox:
        cursor = tick(instance, smtp_port, None, check_failure_email_sensor)
        cursor = tick(instance, smtp_port, cursor, check_failure_email_sensor)
        tick(instance, smtp_port, cursor, check_failure_email_sensor)  # a restarted daemon resumes from the cursor

    assert len(inbox.messages) == 2, "one email per run with failed checks, none again"
    by_run = {m.get_body(("plain",)).get_content().split("failed in run ")[1].split(":")[0]: m for m in inbox.messages}
    warned, blocked = by_run[warned_run], by_run[blocked_run]
    assert re.fullmatch(
        r"\[ecom\] WARN check \w+_anomaly failed on ecommerce_catalog/\w+/\w+ for 2011-01-05 \(\+\d+ more\)",
        warned["Subject"],
    )
    text = warned.get_body(("plain",)).get_content()
    assert "- WARN ecommerce_catalog/processed/orders_cleaned / rejected_share_anomaly / partition 2011-01-05" in text
    assert re.search(r"observed: value 0\.\d+, history_days 1, metric rejected_share", text)
    assert "expected: low 0, high 0.01, mad 0, median 0" in text and "rule: outside median ± max(" in text
    assert "http://127.0.0.1:3000/assets/ecommerce_catalog/processed/orders_cleaned?view=checks" in text
    assert "rejected_share_anomaly" in warned.get_body(("html",)).get_content()
    assert blocked["Subject"].startswith(
        "[ecom] ERROR check header_conformity failed on ecommerce_catalog/raw/order_transactions for 2011-01-06"
    )
    assert "lacks column(s)" in blocked.get_body(("plain",)).get_content()


def test_a_check_alert_waits_while_the_mail_server_is_down(runs_with_failed_checks, smtp_port):
    instance, *_ = runs_with_failed_checks
    cursor = tick(instance, smtp_port, None, check_failure_email_sensor)
    with smtp_server(smtp_port) as inbox:
        tick(instance, smtp_port, cursor, check_failure_email_sensor)
    assert len(inbox.messages) == 2


def test_alerts_waiting_for_a_mail_server_that_stays_down_are_bounded_oldest_given_up_first(smtp_port):
    """Hundreds of runs failing within the same second are all seen; the newest wait, the oldest are given up."""
    instance = DagsterInstance.ephemeral()
    for _ in range(_REMEMBERED_RUNS + 20):
        create_run_for_test(instance, job_name="daily_sales_job", status=DagsterRunStatus.FAILURE)
    cursor = None
    for _ in range(3):
        context = build_sensor_context(instance=instance, cursor=cursor)
        cursor = _mail_each_new_run(
            context, mailer(smtp_port), [DagsterRunStatus.FAILURE], lambda run: ("s", "t", "h")
        ).cursor

    state = json.loads(cursor)
    assert len(state["pending"]) == _REMEMBERED_RUNS, "the mail server is down: the newest alerts wait"
    newest = [record.dagster_run.run_id for record in instance.get_run_records(limit=_REMEMBERED_RUNS)]
    assert set(state["pending"]) == set(newest)


def test_a_failed_run_of_any_job_is_mailed_naming_its_job(smtp_port):
    instance = DagsterInstance.ephemeral()
    for job_name in ("operational_feeds_job", "lakehouse_maintenance_job"):
        create_run_for_test(instance, job_name=job_name, status=DagsterRunStatus.FAILURE)
    with smtp_server(smtp_port) as inbox:
        tick(instance, smtp_port, None)

    assert sorted(message["Subject"].split()[1] for message in inbox.messages) == [
        "lakehouse_maintenance_job",
        "operational_feeds_job",
    ]
