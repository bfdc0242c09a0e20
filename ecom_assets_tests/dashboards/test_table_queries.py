"""The dashboards' two readers: delta-rs with DuckDB over tables by path, and a Databricks SQL warehouse (a stand-in
speaking its Thrift protocol on 127.0.0.1) over tables by catalog name, answer the same query with the same rows,
each at the table version it is pinned to."""

import os
from datetime import date
from decimal import Decimal

import pandas as pd
import pyarrow as pa
import pytest
from databricks.sql.exc import RequestError
from deltalake import write_deltalake

from ecom_assets.sales.tables import SALES_METRICS
from ecom_assets_tests.databricks_sql_standin import sql_warehouse
from resources.settings import Settings
from resources.table_queries import DeltaTableQueries, WarehouseTableQueries, table_queries_for

QUERY = "SELECT order_date, net_revenue FROM {m} WHERE order_date >= :start AND day_status = :status ORDER BY 1"
TOKEN = "dapi-standin-token-0123456789"


def write_metrics(root, rows, mode="append") -> None:
    """sales_metrics rows (day, status, net revenue) written as a Delta table where the lakehouse keeps it."""
    table = pa.table(
        {
            "order_date": pa.array([r[0] for r in rows], pa.date32()),
            "day_status": [r[1] for r in rows],
            "net_revenue": pa.array([Decimal(r[2]) for r in rows], pa.decimal128(18, 2)),
        }
    )
    write_deltalake(str(root / "ecommerce_catalog" / "analytics" / "sales_metrics"), table, mode=mode)


@pytest.fixture
def warehouse_root(tmp_path):
    root = tmp_path / "warehouse"
    write_metrics(root, [(date(2011, 3, 1), "complete", "10.50"), (date(2011, 3, 2), "complete", "20.25")])
    write_metrics(root, [(date(2011, 3, 3), "complete", "30.00"), (date(2011, 3, 4), "missing_delivery", "0")])
    return root


@pytest.fixture
def warehouse(tmp_path, warehouse_root, monkeypatch):
    with sql_warehouse(warehouse_root, TOKEN, tmp_path) as (host, http_path, certificate, state):
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate))
        monkeypatch.setenv("DATABRICKS_TOKEN", TOKEN)
        settings = Settings.from_environment(
            {
                **os.environ,
                "ECOM_DEPLOYMENT": "databricks",
                "DATABRICKS_HOST": host,
                "ECOM_SQL_WAREHOUSE_HTTP_PATH": http_path,
            }
        )
        yield settings, state


def by_path(root) -> DeltaTableQueries:
    return table_queries_for(Settings(warehouse_root=str(root)))


def test_delta_reader_pins_the_version_it_was_given_and_binds_parameters(warehouse_root):
    reader = by_path(warehouse_root)

    version = reader.version(SALES_METRICS)
    latest = reader.query(
        QUERY, {"m": (SALES_METRICS, version.version)}, {"start": date(2011, 3, 2), "status": "complete"}
    )
    first = reader.query(QUERY, {"m": (SALES_METRICS, 0)}, {"start": date(2011, 3, 2), "status": "complete"})

    assert version.version == 1 and version.committed_at.tzinfo is not None
    assert latest["order_date"].tolist() == [date(2011, 3, 2), date(2011, 3, 3)]
    assert latest["net_revenue"].tolist() == [Decimal("20.25"), Decimal("30.00")], "money stays exact"
    assert first["order_date"].tolist() == [date(2011, 3, 2)], "version 0 has only the first commit"


def test_a_table_not_built_has_no_version(tmp_path):
    assert by_path(tmp_path / "empty").version(SALES_METRICS) is None


def test_the_sql_warehouse_answers_as_the_delta_reader_does(warehouse, warehouse_root):
    settings, state = warehouse
    reader = table_queries_for(settings)
    local = by_path(warehouse_root)

    version = reader.version(SALES_METRICS)
    for pinned in (0, version.version):
        params = {"start": date(2011, 3, 1), "status": "complete"}
        remote = reader.query(QUERY, {"m": (SALES_METRICS, pinned)}, params)
        pd.testing.assert_frame_equal(remote, local.query(QUERY, {"m": (SALES_METRICS, pinned)}, params))

    assert isinstance(reader, WarehouseTableQueries)
    assert version == local.version(SALES_METRICS)
    assert "`ecommerce_catalog`.`analytics`.`sales_metrics` VERSION AS OF 0" in state.statements[1]
    assert all(TOKEN not in statement for statement in state.statements), "the token travels only as a header"


def test_the_sql_warehouse_says_a_table_is_missing_and_refuses_a_wrong_token(warehouse, monkeypatch):
    settings, _ = warehouse
    reader = table_queries_for(settings)
    missing = type(SALES_METRICS)(SALES_METRICS.catalog, "analytics", "no_such_table")

    assert reader.version(missing) is None
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-wrong-token")
    with pytest.raises(RequestError):
        table_queries_for(settings).version(SALES_METRICS)


def test_tables_by_name_without_a_warehouse_is_a_clear_error():
    with pytest.raises(ValueError, match="ECOM_SQL_WAREHOUSE_HTTP_PATH"):
        table_queries_for(Settings(deployment="databricks", warehouse_root=None))
