"""The dashboards are assets of the code location: one per page, kind `streamlit`, downstream of exactly the tables
its queries read, linked to the page; so the UI shows what feeds a page and which pages a failed check reaches."""

from dagster import AssetKey

from ecom_assets.dashboards.definitions import DASHBOARDS_GROUP
from ecom_assets.dashboards.pages import PAGES, page_path
from ecom_assets.definitions import defs
from ecom_assets.platform.tables import asset_key
from ecom_assets.sales.tables import SALES_METRICS


def test_each_page_is_a_streamlit_asset_downstream_of_the_tables_it_reads():
    graph = defs.resolve_asset_graph()

    for page in PAGES:
        node = graph.get(AssetKey(["dashboards", page.slug.replace("-", "_")]))
        assert node.kinds == {"streamlit"} and node.group_name == DASHBOARDS_GROUP
        assert set(node.parent_keys) == {asset_key(table) for table in page.tables}
        assert all(graph.has(parent) for parent in node.parent_keys), "every table it reads is an asset"
        assert node.metadata["url"].url.endswith(f"/{page_path(page)}")
        assert not node.is_executable, "a page is declared, not materialized"


def test_a_failed_check_on_sales_metrics_reaches_the_revenue_page_and_not_the_funnel():
    downstream = defs.resolve_asset_graph().get(asset_key(SALES_METRICS)).child_keys

    assert AssetKey(["dashboards", "revenue"]) in downstream
    assert AssetKey(["dashboards", "funnel"]) not in downstream
