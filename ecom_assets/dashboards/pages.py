"""The dashboard pages: what each answers and the queries (so the tables) it reads; the app and the asset specs
both come from this list."""

from dataclasses import dataclass

from ecom_assets.dashboards import queries as q
from ecom_assets.platform.tables import TableName


@dataclass(frozen=True)
class DashboardPage:
    """A page of the app: its address, title, the question it answers and the queries it runs."""

    slug: str
    title: str
    question: str
    queries: tuple[q.Query, ...]

    @property
    def tables(self) -> tuple[TableName, ...]:
        """Every table the page reads, once, in the order its queries name them."""
        return tuple({table.full_name: table for query in self.queries for table in query.tables.values()}.values())


REVENUE = DashboardPage(
    "revenue",
    "Revenue",
    "How is net revenue moving day by day and week over week, from how many orders and which customers, and which "
    "categories and countries bring it?",
    (
        q.DATE_BOUNDS,
        q.DAILY_SALES,
        q.QUARANTINED,
        q.CATEGORY_REVENUE,
        q.CATEGORY_DAILY_REVENUE,
        q.COUNTRY_DAILY_REVENUE,
    ),
)
INVENTORY = DashboardPage(
    "inventory",
    "Inventory",
    "Where is stock, what ran out, how many days of sales does the stock cover, and which drops are unexplained?",
    (q.STOCK_BY_CATEGORY, q.LOWEST_COVER, q.QUARANTINED, q.CHECK_RESULTS),
)
CUSTOMERS = DashboardPage(
    "customers",
    "Customers",
    "Who are the customers by spend and tier, what are they worth, and how many come back month after month?",
    (q.AS_OF, q.SEGMENTS, q.LIFETIME_VALUE_BANDS, q.COHORT_RETENTION),
)
FUNNEL = DashboardPage(
    "funnel",
    "Funnel",
    "How many sessions go from viewing to the cart to buying, hour by hour and day by day, where did conversion "
    "look anomalous, and which products and categories convert best?",
    (q.FUNNEL_DAYS, q.FUNNEL_HOURS, q.CHECK_RESULTS, q.TOP_PRODUCTS_BY_CONVERSION, q.TOP_CATEGORIES_BY_CONVERSION),
)
DATA_HEALTH = DashboardPage(
    "data-health",
    "Data health",
    "Did the latest run pass, which checks failed, which days are quarantined and why, and what rows were kept out?",
    (q.LATEST_RUN, q.FAILED_CHECKS, q.QUARANTINED, q.ERRORS_BY_TYPE),
)
PAGES = (REVENUE, INVENTORY, CUSTOMERS, FUNNEL, DATA_HEALTH)


def page_path(page: DashboardPage) -> str:
    """The page's path in the app: the first page is the app's root (Streamlit serves its default page there)."""
    return "" if page is PAGES[0] else page.slug
