"""The app's reads are cached per table version: the same query at the same versions reads the tables once, and a
new commit to a table is read as soon as its version is looked at again."""

from datetime import date

import pytest

from ecom_assets.dashboards import reading
from ecom_assets.dashboards.queries import DATE_BOUNDS
from ecom_assets_tests.dashboards.test_table_queries import write_metrics
from resources.settings import Settings
from resources.table_queries import DeltaTableQueries


class CountingQueries(DeltaTableQueries):
    """The real delta-rs reader, counting the queries it runs."""

    queries = 0

    def query(self, sql, tables, params=None):
        CountingQueries.queries += 1
        return super().query(sql, tables, params)


@pytest.fixture
def counting_reader(tmp_path, monkeypatch):
    root = tmp_path / "warehouse"
    write_metrics(root, [(date(2011, 3, 1), "complete", "10.00")])
    monkeypatch.setattr(reading, "_table_queries", lambda: CountingQueries(Settings(warehouse_root=str(root))))
    reading.table_version.clear()
    reading._cached_rows.clear()
    CountingQueries.queries = 0
    yield root
    reading.table_version.clear()
    reading._cached_rows.clear()


def test_a_rerender_reads_nothing_and_a_new_commit_is_read(counting_reader):
    first = reading.run(DATE_BOUNDS)
    again = reading.run(DATE_BOUNDS)
    write_metrics(counting_reader, [(date(2011, 3, 2), "complete", "20.00")])
    still_cached = reading.run(DATE_BOUNDS)
    reading.table_version.clear()  # what the version's 10-second lifetime does
    after_commit = reading.run(DATE_BOUNDS)

    assert CountingQueries.queries == 2
    assert first["last_day"][0] == again["last_day"][0] == still_cached["last_day"][0] == date(2011, 3, 1)
    assert after_commit["last_day"][0] == date(2011, 3, 2)
