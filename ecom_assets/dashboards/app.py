"""The dashboards app (`python -m ecom_assets.dashboards`, or `./dev.sh dashboards`): the navigation, the sidebar's
filters, then the chosen page."""

import streamlit as st

from ecom_assets.dashboards.pages import CUSTOMERS, DATA_HEALTH, FUNNEL, INVENTORY, REVENUE
from ecom_assets.dashboards.views import customers, data_health, funnel, inventory, revenue
from ecom_assets.dashboards.views.common import Filters, sidebar_filters

VIEWS = {
    REVENUE: revenue.render,
    INVENTORY: inventory.render,
    CUSTOMERS: customers.render,
    FUNNEL: funnel.render,
    DATA_HEALTH: data_health.render,
}
_chosen: list[Filters] = []


def main() -> None:
    """Sets up the page and the navigation, draws the filters, then the chosen page."""
    st.set_page_config(page_title="E-commerce dashboards", layout="wide")
    navigation = st.navigation(
        [
            st.Page(_page(render, page.slug), title=page.title, url_path=page.slug, default=index == 0)
            for index, (page, render) in enumerate(VIEWS.items())
        ]
    )
    _chosen[:] = [sidebar_filters()]
    navigation.run()


def _page(render, slug: str):
    """The page's function, drawing it for this run's filters; named after the page, as Streamlit wants pages'
    functions to be told apart."""

    def page() -> None:
        render(_chosen[0])

    page.__name__ = page.__qualname__ = slug.replace("-", "_")
    return page


main()
