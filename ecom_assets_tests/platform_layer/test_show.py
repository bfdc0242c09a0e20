"""The table printer the demo ends with."""

from datetime import date, timedelta

import pandas as pd
import pytest

from ecom_assets.cli.show import main, render_rows
from ecom_assets.platform.dates import DateRange
from ecom_assets.platform.errors import ETL_ERRORS_SCHEMA
from ecom_assets.platform.tables import ETL_ERRORS
from ecom_assets.sales.sample_data import generate


def test_show_prints_the_gold_table(landing_root, lakehouse, run_days, monkeypatch, capsys):
    days = DateRange(date(2011, 1, 4), date(2011, 1, 5))
    generate(landing_root, days)
    run_days(days)
    monkeypatch.setenv("ECOM_WAREHOUSE_ROOT", lakehouse.warehouse_root)
    main(["ecommerce_catalog.analytics.sales_metrics"])
    out = capsys.readouterr().out
    assert "(all 2 of 2 rows by order_date" in out and "2011-01-05" in out and "gross_revenue" in out


def test_show_prints_an_existing_table_without_rows_as_empty(spark, lakehouse, monkeypatch, capsys):
    lakehouse.overwrite(ETL_ERRORS, spark.createDataFrame([], ETL_ERRORS_SCHEMA))
    monkeypatch.setenv("ECOM_WAREHOUSE_ROOT", lakehouse.warehouse_root)

    main([ETL_ERRORS.full_name])

    out = capsys.readouterr().out
    assert "the table is empty: 0 rows" in out and "error_message" in out


def test_show_says_how_many_rows_it_printed_newest_last_within_the_terminal_width():
    days = [date(2011, 1, 1) + timedelta(days=n) for n in range(10)]
    frame = pd.DataFrame(
        {
            "order_date": list(reversed(days)),
            **{f"a_rather_long_figure_name_{n}": [n * 1000.5] * 10 for n in range(8)},
            "note": ["x" * 200] * 10,
        }
    )

    text = render_rows(frame, limit=3, width=80)

    assert text.endswith("(the last 3 of 10 rows by order_date; --limit N prints more)")
    assert all(len(line) <= 80 for line in text.splitlines()), "wide tables wrap into column blocks"
    assert "2011-01-10" in text and "2011-01-07" not in text, "the newest rows are the ones printed"


def test_show_says_when_a_table_is_not_materialized(tmp_path, monkeypatch):
    monkeypatch.setenv("ECOM_WAREHOUSE_ROOT", str(tmp_path))
    with pytest.raises(SystemExit, match="has not been materialized yet"):
        main(["ecommerce_catalog.analytics.sales_metrics"])
