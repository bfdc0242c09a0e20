"""The dashboards area: each page declared to Dagster as an asset spec (kind `streamlit`) downstream of the tables
it reads, so the UI shows what feeds each page and which pages a failed check touches."""

from dagster import AssetKey, AssetSpec, Definitions, MetadataValue

from ecom_assets.dashboards.pages import PAGES, DashboardPage, page_path
from ecom_assets.platform.tables import asset_key
from resources.settings import Settings

DASHBOARDS_GROUP = "dashboards"


def dashboard_spec(page: DashboardPage, app_url: str) -> AssetSpec:
    """The page as an asset: upstream of nothing, downstream of every table its queries read."""
    return AssetSpec(
        key=AssetKey(["dashboards", page.slug.replace("-", "_")]),
        description=f"Dashboard page '{page.title}': {page.question}",
        deps=[asset_key(table) for table in page.tables],
        group_name=DASHBOARDS_GROUP,
        kinds={"streamlit"},
        metadata={
            "url": MetadataValue.url(f"{app_url.rstrip('/')}/{page_path(page)}"),
            "tables_read": MetadataValue.json([table.full_name for table in page.tables]),
        },
    )


DASHBOARD_SPECS = [dashboard_spec(page, Settings.from_environment().dashboards.app_url) for page in PAGES]

defs = Definitions(assets=DASHBOARD_SPECS)
