"""The table printer the demo ends with."""

from datetime import date

import pytest

from ecom_assets.dates import DateRange
from ecom_assets.sample_data import generate
from ecom_assets.show import main


def test_show_prints_the_gold_table(landing_root, lakehouse, run_days, monkeypatch, capsys):
    days = DateRange(date(2011, 1, 4), date(2011, 1, 5))
    generate(landing_root, days)
    run_days(days)
    monkeypatch.setenv("ECOM_WAREHOUSE_ROOT", lakehouse.warehouse_root)
    main(["ecommerce_catalog.analytics.sales_metrics"])
    out = capsys.readouterr().out
    assert "(2 rows at" in out and "2011-01-05" in out and "gross_revenue" in out


def test_show_says_when_a_table_is_not_materialized(tmp_path, monkeypatch):
    monkeypatch.setenv("ECOM_WAREHOUSE_ROOT", str(tmp_path))
    with pytest.raises(SystemExit, match="has not been materialized yet"):
        main(["ecommerce_catalog.analytics.sales_metrics"])
