"""The dashboards' queries: small SELECTs over the gold and log tables, in SQL both DuckDB and Databricks SQL run.

Heavy aggregation stays in the pipeline's gold tables; these only filter, sum a few hundred rows
and rank. `{alias}` is a table (see `Query.tables`), `:name` a bound parameter; every date range is
`:start` .. `:end`, both included.
"""

from dataclasses import dataclass, field

from ecom_assets.clickstream.tables import CATEGORY_FUNNEL_DAILY, FUNNEL_DAILY, FUNNEL_HOURLY, PRODUCT_FUNNEL_DAILY
from ecom_assets.feeds.tables import INVENTORY_DAILY
from ecom_assets.platform.tables import DATA_QUALITY_RESULTS, ETL_ERRORS, QUARANTINED_DAYS, TableName
from ecom_assets.sales.tables import (
    CATEGORY_REVENUE_DAILY,
    CUSTOMER_DAILY_SALES,
    CUSTOMER_LIFETIME_VALUE,
    DIM_CUSTOMERS,
    DIM_PRODUCTS,
    SALES_METRICS,
    SEASONAL_SALES,
)


@dataclass(frozen=True)
class Query:
    """A query and the tables it reads, by the alias its text names them with."""

    sql: str
    tables: dict[str, TableName] = field(hash=False)


DATE_BOUNDS = Query(
    "SELECT MIN(order_date) AS first_day, MAX(order_date) AS last_day FROM {sales_metrics}",
    {"sales_metrics": SALES_METRICS},
)

DAILY_SALES = Query(
    """
    SELECT order_date, day_status, gross_revenue, returns_amount, net_revenue, order_count, units_sold,
           avg_order_value, active_customers, new_customers, returning_customers
    FROM {sales_metrics} WHERE order_date BETWEEN :start AND :end ORDER BY order_date
    """,
    {"sales_metrics": SALES_METRICS},
)

QUARANTINED = Query(
    """
    SELECT asset, partition_date, reason, run_id, quarantined_at
    FROM {quarantined_days} WHERE partition_date BETWEEN :start AND :end ORDER BY partition_date, asset
    """,
    {"quarantined_days": QUARANTINED_DAYS},
)

COUNTRIES = Query(
    "SELECT DISTINCT country FROM {seasonal_sales} WHERE country IS NOT NULL ORDER BY country",
    {"seasonal_sales": SEASONAL_SALES},
)

CATEGORIES = Query(
    "SELECT DISTINCT product_category FROM {category_revenue_daily} ORDER BY product_category",
    {"category_revenue_daily": CATEGORY_REVENUE_DAILY},
)

CATEGORY_REVENUE = Query(
    """
    SELECT product_category, SUM(revenue) AS revenue, SUM(orders) AS orders, SUM(units_sold) AS units_sold
    FROM {category_revenue_daily} WHERE order_date BETWEEN :start AND :end
    GROUP BY product_category ORDER BY revenue DESC
    """,
    {"category_revenue_daily": CATEGORY_REVENUE_DAILY},
)

CATEGORY_DAILY_REVENUE = Query(
    """
    SELECT order_date, product_category, revenue
    FROM {category_revenue_daily} WHERE order_date BETWEEN :start AND :end ORDER BY order_date, product_category
    """,
    {"category_revenue_daily": CATEGORY_REVENUE_DAILY},
)

COUNTRY_DAILY_REVENUE = Query(
    """
    SELECT order_date, country, SUM(revenue) AS revenue, SUM(orders) AS orders
    FROM {seasonal_sales} WHERE order_date BETWEEN :start AND :end
    GROUP BY order_date, country ORDER BY order_date, country
    """,
    {"seasonal_sales": SEASONAL_SALES},
)

STOCK_BY_CATEGORY = Query(
    """
    SELECT i.business_date, COALESCE(p.catalog_category, 'Not in the product dimension') AS category,
           SUM(i.stock_on_hand) AS stock_on_hand, SUM(i.units_sold) AS units_sold,
           SUM(CASE WHEN i.stock_out THEN 1 ELSE 0 END) AS stock_outs, COUNT(*) AS products
    FROM {inventory_daily} i
    LEFT JOIN (SELECT stock_code, catalog_category FROM {dim_products} WHERE is_current) p
      ON p.stock_code = i.product_id
    WHERE i.business_date BETWEEN :start AND :end
    GROUP BY i.business_date, COALESCE(p.catalog_category, 'Not in the product dimension')
    ORDER BY i.business_date, category
    """,
    {"inventory_daily": INVENTORY_DAILY, "dim_products": DIM_PRODUCTS},
)

LOWEST_COVER = Query(
    """
    SELECT i.product_id, p.description, COALESCE(p.catalog_category, 'Not in the product dimension') AS category,
           i.stock_on_hand, i.mean_daily_units_sold, i.days_of_cover, i.stock_out
    FROM {inventory_daily} i
    LEFT JOIN (SELECT stock_code, description, catalog_category FROM {dim_products} WHERE is_current) p
      ON p.stock_code = i.product_id
    WHERE i.business_date = :day
    ORDER BY i.stock_out DESC, i.days_of_cover ASC NULLS LAST, i.product_id
    LIMIT 200
    """,
    {"inventory_daily": INVENTORY_DAILY, "dim_products": DIM_PRODUCTS},
)

CHECK_RESULTS = Query(
    """
    SELECT check_name, asset, partition_date, passed, severity, blocking, summary, observed, run_id, evaluated_at
    FROM {data_quality_results}
    WHERE partition_date BETWEEN :start AND :end AND check_name = :check_name
    ORDER BY partition_date, evaluated_at
    """,
    {"data_quality_results": DATA_QUALITY_RESULTS},
)

FAILED_CHECKS = Query(
    """
    SELECT check_name, asset, partition_date, severity, blocking, summary, run_id, evaluated_at
    FROM {data_quality_results}
    WHERE NOT passed AND (partition_date BETWEEN :start AND :end OR partition_date IS NULL)
    ORDER BY evaluated_at DESC
    LIMIT 500
    """,
    {"data_quality_results": DATA_QUALITY_RESULTS},
)

LATEST_RUN = Query(
    """
    SELECT run_id, MIN(evaluated_at) AS first_check_at, MAX(evaluated_at) AS last_check_at,
           COUNT(*) AS checks, SUM(CASE WHEN passed THEN 0 ELSE 1 END) AS failed,
           SUM(CASE WHEN NOT passed AND blocking THEN 1 ELSE 0 END) AS blocking_failed
    FROM {data_quality_results}
    WHERE run_id = (SELECT run_id FROM {data_quality_results} ORDER BY evaluated_at DESC LIMIT 1)
    GROUP BY run_id
    """,
    {"data_quality_results": DATA_QUALITY_RESULTS},
)

ERRORS_BY_TYPE = Query(
    """
    SELECT partition_date, asset, error_type, COUNT(*) AS rows_kept_out
    FROM {etl_errors} WHERE partition_date BETWEEN :start AND :end
    GROUP BY partition_date, asset, error_type ORDER BY partition_date, asset, error_type
    """,
    {"etl_errors": ETL_ERRORS},
)

SEGMENTS = Query(
    """
    SELECT c.segment, COALESCE(d.customer_tier, 'no tier') AS customer_tier, COUNT(*) AS customers,
           SUM(c.net_revenue) AS net_revenue
    FROM {customer_lifetime_value} c
    LEFT JOIN (SELECT customer_id, customer_tier FROM {dim_customers} WHERE is_current) d
      ON d.customer_id = c.customer_id
    WHERE (:country = '' OR c.country = :country)
    GROUP BY c.segment, COALESCE(d.customer_tier, 'no tier')
    """,
    {"customer_lifetime_value": CUSTOMER_LIFETIME_VALUE, "dim_customers": DIM_CUSTOMERS},
)

LIFETIME_VALUE_BANDS = Query(
    """
    SELECT band, MIN(lower_bound) AS lower_bound, COUNT(*) AS customers FROM (
      SELECT CASE WHEN historic_clv < 0 THEN '< 0' WHEN historic_clv < 100 THEN '0–100'
                  WHEN historic_clv < 250 THEN '100–250' WHEN historic_clv < 500 THEN '250–500'
                  WHEN historic_clv < 1000 THEN '500–1,000' WHEN historic_clv < 2500 THEN '1,000–2,500'
                  WHEN historic_clv < 5000 THEN '2,500–5,000' WHEN historic_clv < 10000 THEN '5,000–10,000'
                  ELSE '10,000 and more' END AS band,
             CASE WHEN historic_clv < 0 THEN -1 WHEN historic_clv < 100 THEN 0 WHEN historic_clv < 250 THEN 100
                  WHEN historic_clv < 500 THEN 250 WHEN historic_clv < 1000 THEN 500 WHEN historic_clv < 2500 THEN 1000
                  WHEN historic_clv < 5000 THEN 2500 WHEN historic_clv < 10000 THEN 5000 ELSE 10000 END AS lower_bound
      FROM {customer_lifetime_value} WHERE (:country = '' OR country = :country)
    ) banded GROUP BY band ORDER BY lower_bound
    """,
    {"customer_lifetime_value": CUSTOMER_LIFETIME_VALUE},
)

AS_OF = Query(
    "SELECT MAX(as_of_date) AS as_of_date, COUNT(*) AS customers FROM {customer_lifetime_value}",
    {"customer_lifetime_value": CUSTOMER_LIFETIME_VALUE},
)

COHORT_RETENTION = Query(
    """
    WITH firsts AS (
      SELECT customer_id, MIN(order_date) AS first_day FROM {customer_daily_sales} GROUP BY customer_id
    ), active AS (
      SELECT DISTINCT s.customer_id, YEAR(f.first_day) AS cohort_year, MONTH(f.first_day) AS cohort_month,
             (YEAR(s.order_date) - YEAR(f.first_day)) * 12 + MONTH(s.order_date) - MONTH(f.first_day) AS months_after
      FROM {customer_daily_sales} s JOIN firsts f ON f.customer_id = s.customer_id
      WHERE f.first_day BETWEEN :start AND :end AND (:country = '' OR s.country = :country)
    )
    SELECT cohort_year, cohort_month, months_after, COUNT(*) AS customers
    FROM active GROUP BY cohort_year, cohort_month, months_after
    ORDER BY cohort_year, cohort_month, months_after
    """,
    {"customer_daily_sales": CUSTOMER_DAILY_SALES},
)

FUNNEL_HOURS = Query(
    """
    SELECT hour, sessions, view_sessions, cart_sessions, purchase_sessions, purchases, revenue, conversion_rate
    FROM {funnel_hourly} WHERE hour >= :start_hour AND hour < :end_hour ORDER BY hour
    """,
    {"funnel_hourly": FUNNEL_HOURLY},
)

FUNNEL_DAYS = Query(
    """
    SELECT event_date, sessions, view_sessions, cart_sessions, purchase_sessions, purchases, revenue,
           conversion_rate, hours_processed, day_status
    FROM {funnel_daily} WHERE event_date BETWEEN :start AND :end ORDER BY event_date
    """,
    {"funnel_daily": FUNNEL_DAILY},
)

TOP_PRODUCTS_BY_CONVERSION = Query(
    """
    SELECT product_id, MAX(brand) AS brand, MAX(category_code) AS category_code, SUM(views) AS views,
           SUM(carts) AS carts, SUM(purchases) AS purchases, SUM(revenue) AS revenue,
           CAST(SUM(purchases) AS DOUBLE) / SUM(views) AS view_to_purchase
    FROM {product_funnel_daily} WHERE event_date BETWEEN :start AND :end
    GROUP BY product_id HAVING SUM(views) >= :min_views
    ORDER BY view_to_purchase DESC, views DESC, product_id LIMIT 10
    """,
    {"product_funnel_daily": PRODUCT_FUNNEL_DAILY},
)

TOP_CATEGORIES_BY_CONVERSION = Query(
    """
    SELECT top_category, SUM(sessions) AS sessions, SUM(purchase_sessions) AS purchase_sessions,
           SUM(revenue) AS revenue, CAST(SUM(purchase_sessions) AS DOUBLE) / SUM(sessions) AS conversion_rate
    FROM {category_funnel_daily} WHERE event_date BETWEEN :start AND :end
    GROUP BY top_category HAVING SUM(sessions) > 0
    ORDER BY conversion_rate DESC, sessions DESC, top_category LIMIT 10
    """,
    {"category_funnel_daily": CATEGORY_FUNNEL_DAILY},
)
