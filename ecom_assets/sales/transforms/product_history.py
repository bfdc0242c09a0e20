"""`dim_products` carried forward from each product's stored state instead of rebuilt from its whole history.

A product's versions depend on its observed days in order (see `product_versions`).
What a new day needs from the days before it fits in one row per product, its *state* as of its
last observed day: that day, the sales state and the feed record carried into it, the current
version's number, first day and counts of its sales days' typical prices (the version's
`typical_unit_price` is their mode), and the product's first and last sale days.

`continue_products` applies observed days to such states. Applied to no state and the whole
history it is the full recomputation; applied to a stored state and the days after it, it gives
the same versions from the state's version on, and the same new state. `product_facts` stores
each product's state and, for a rerun of its last day, its state before that day (`previous`).
"""

import functools
from dataclasses import dataclass
from datetime import date

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.window import Window

from ecom_assets.feeds.transforms.records import MONEY_TYPE as FEED_MONEY_TYPE
from ecom_assets.sales.rules import CategoryRules
from ecom_assets.sales.transforms.dimensions import (
    DIM_PRODUCTS_COLUMNS,
    FEED,
    INFERRED,
    categorized,
    latest_feed_record_per_day,
    price_band,
)
from ecom_assets.sales.transforms.silver import UNIT_PRICE_TYPE

KEY = "stock_code"
SALES_STATE = f"description string, typical_unit_price {UNIT_PRICE_TYPE}"
"""What a product's sale day contributes to its state (category and price band follow from it and the rules)."""
FEED_RECORD = (
    f"product_name string, category string, subcategory string, brand string, price {FEED_MONEY_TYPE}, "
    "discontinued boolean, created_timestamp timestamp"
)
"""A products-feed record as a day carries it (the `product_updates` columns `product_versions` reads)."""
STATE = (
    f"struct<day date, sales struct<{SALES_STATE}>, feed struct<{FEED_RECORD}>, version int, version_from date, "
    f"version_prices map<{UNIT_PRICE_TYPE},bigint>, first_seen date, last_seen date>"
)
"""A product's state as of `day`, its last observed day (a sale day or a feed day).

`sales` is its last sale day's state and `feed` its latest feed record (each null before the
first); `version` and `version_from` its current version (null before its first sale day);
`version_prices` how many of that version's sale days had each typical price; `first_seen` and
`last_seen` its first and last sale days. A state whose fields are all null stands for "no
observed day yet"."""
STATE_FIELDS = ("day", "sales", "feed", "version", "version_from", "version_prices", "first_seen", "last_seen")


def observed_days(sale_days: DataFrame, feed_records: DataFrame) -> DataFrame:
    """Per product and observed day: the day's sales state (null on a feed-only day) and its last feed record.

    `sale_days` are `product_daily_sales` rows with a typical price; `feed_records` the validated
    products-feed records (`stock_code`, `business_date`, `created_timestamp` and attributes).
    """
    sales = sale_days.select(
        KEY, F.col("order_date").alias("day"), F.struct("description", "typical_unit_price").alias("sales")
    )
    feed = latest_feed_record_per_day(feed_records, KEY).withColumnRenamed("order_date", "day")
    return sales.join(feed, [KEY, "day"], "full").select(
        KEY, "day", F.col("sales").cast(f"struct<{SALES_STATE}>"), F.col("feed").cast(f"struct<{FEED_RECORD}>")
    )


def _attributes(rules: CategoryRules) -> dict[str, Column]:
    """The version attributes of a day from its carried `sales` and `feed` structs."""
    category = categorized(F.col("sales.description"), rules)
    return {
        "description": F.col("sales.description"),
        "category": category["category"],
        "subcategory": category["subcategory"],
        "price_band": price_band(F.col("sales.typical_unit_price"), rules),
        "product_name": F.coalesce(F.col("feed.product_name"), F.col("sales.description")),
        "catalog_category": F.coalesce(F.col("feed.category"), category["category"]),
        "catalog_subcategory": F.coalesce(F.col("feed.subcategory"), category["subcategory"]),
        "brand": F.col("feed.brand"),
        "list_price": F.col("feed.price"),
        "is_discontinued": F.col("feed.discontinued"),
        "attribute_source": F.when(F.col("feed").isNotNull(), F.lit(FEED)).otherwise(F.lit(INFERRED)),
    }


@dataclass(frozen=True)
class ProductRun:
    """Observed days applied to products' seeds (see `continue_products`).

    `versions` are each product's versions from its seed's version on; `facts` its new
    `product_facts` row. Both are computed from `shared` (the carried days, then the same days
    numbered into versions): persisting those computes the days once.
    """

    shared: tuple[DataFrame, ...]
    versions: DataFrame
    facts: DataFrame


def _applied(
    seeds: DataFrame, days: DataFrame, rules: CategoryRules
) -> tuple[DataFrame, DataFrame, DataFrame, DataFrame]:
    """(carried days, numbered days, versions from each seed's version on, state after the last day) of `days`
    applied to `seeds`.

    `seeds` has one row per product (`stock_code`, `seed`: a `STATE` struct, or null for none);
    `days` (see `observed_days`) holds only days after the seed's day.
    """
    seed = F.col("seed")
    seed_rows = seeds.where(seed["day"].isNotNull()).select(
        KEY,
        seed["day"].alias("day"),
        seed["sales"].alias("sales"),
        seed["feed"].alias("feed"),
        F.lit(True).alias("is_seed"),
    )
    rows = seed_rows.unionByName(days.join(seeds.select(KEY), KEY, "left_semi").withColumn("is_seed", F.lit(False)))
    to_date = Window.partitionBy(KEY).orderBy("day").rowsBetween(Window.unboundedPreceding, 0)
    carried = rows.select(
        KEY,
        "day",
        "is_seed",
        (F.col("sales").isNotNull() & ~F.col("is_seed")).alias("is_new_sale_day"),
        F.last("sales", ignorenulls=True).over(to_date).alias("sales"),
        F.last("feed", ignorenulls=True).over(to_date).alias("feed"),
    )
    attributes = _attributes(rules)
    by_day = Window.partitionBy(KEY).orderBy("day")
    stated = carried.where(F.col("sales").isNotNull()).select(
        KEY, "day", "is_seed", "is_new_sale_day", "sales", *(column.alias(name) for name, column in attributes.items())
    )
    same_as_before = F.lit(True)
    for name in attributes:
        same_as_before = same_as_before & F.col(name).eqNullSafe(F.lag(name).over(by_day))
    starts = F.when(F.col("is_seed"), 0).when(F.lag("day").over(by_day).isNull() | ~same_as_before, 1).otherwise(0)
    numbered = stated.withColumn("starts", starts).join(seeds, KEY)
    numbered = numbered.withColumn(
        "version",
        (F.coalesce(seed["version"], F.lit(0)) + F.sum("starts").over(to_date)).cast("int"),
    )
    prices = _version_prices(numbered)
    versions = numbered.groupBy(KEY, "version").agg(
        F.min(F.when(F.col("is_seed"), seed["version_from"]).otherwise(F.col("day"))).alias("effective_from"),
        F.max("day").alias("last_day"),
        F.first("sales.typical_unit_price").alias("carried_price"),
        *(F.first(name, ignorenulls=True).alias(name) for name in attributes),
    )
    next_start = F.lead("effective_from").over(Window.partitionBy(KEY).orderBy("effective_from"))
    versions = versions.join(prices, [KEY, "version"], "left").withColumns(
        {
            "typical_unit_price": F.coalesce(F.col("typical_price"), F.col("carried_price")),
            "effective_to": F.date_sub(next_start, 1),
            "is_current": next_start.isNull(),
        }
    )
    states = _states_after(carried, versions, seeds)
    return carried, numbered, versions.select(*DIM_PRODUCTS_COLUMNS), states


def _version_prices(numbered: DataFrame) -> DataFrame:
    """Per product and version: the counts of its sale days' typical prices (the seed's counted in) and their mode."""
    seed_counts = numbered.where("is_seed").select(
        KEY, "version", F.explode(F.col("seed.version_prices")).alias("typical_unit_price", "sale_days")
    )
    new_counts = numbered.where("is_new_sale_day").select(
        KEY,
        "version",
        F.col("sales.typical_unit_price").alias("typical_unit_price"),
        F.lit(1).cast("long").alias("sale_days"),
    )
    counts = (
        seed_counts.unionByName(new_counts)
        .groupBy(KEY, "version", "typical_unit_price")
        .agg(F.sum("sale_days").alias("sale_days"))
    )
    return counts.groupBy(KEY, "version").agg(
        F.map_from_entries(F.collect_list(F.struct("typical_unit_price", "sale_days"))).alias("version_prices"),
        F.max_by("typical_unit_price", F.struct("sale_days", -F.col("typical_unit_price"))).alias("typical_price"),
    )


def _states_after(carried: DataFrame, versions: DataFrame, seeds: DataFrame) -> DataFrame:
    """Per product: its `STATE` after the last day applied (the seed itself when no day was)."""
    last = carried.groupBy(KEY).agg(
        F.max_by(F.struct("day", "sales", "feed"), "day").alias("last"),
        F.min(F.when(F.col("is_new_sale_day"), F.col("day"))).alias("first_new_sale"),
        F.max(F.when(F.col("is_new_sale_day"), F.col("day"))).alias("last_new_sale"),
    )
    current = versions.where("is_current").select(
        KEY, F.struct("version", "effective_from", "version_prices").alias("current")
    )
    seed = F.col("seed")
    state = F.struct(
        F.col("last.day").alias("day"),
        F.col("last.sales").alias("sales"),
        F.col("last.feed").alias("feed"),
        F.col("current.version").alias("version"),
        F.col("current.effective_from").alias("version_from"),
        F.coalesce(F.col("current.version_prices"), F.create_map().cast(f"map<{UNIT_PRICE_TYPE},bigint>")).alias(
            "version_prices"
        ),
        F.coalesce(seed["first_seen"], F.col("first_new_sale")).alias("first_seen"),
        F.greatest(seed["last_seen"], F.col("last_new_sale")).alias("last_seen"),
    ).cast(STATE)
    applied = seeds.join(last, KEY, "left").join(current, KEY, "left")
    return applied.select(KEY, F.when(F.col("last").isNull(), seed).otherwise(state).alias("state"))


def _no_state() -> Column:
    """The state of a product with no observed day yet: every field null."""
    return F.struct(*(F.lit(None).alias(name) for name in STATE_FIELDS)).cast(STATE)


def continue_products(seeds: DataFrame, days: DataFrame, rules: CategoryRules) -> ProductRun:
    """Apply each product's observed `days` to its seed: its versions from the seed's version on, and its facts.

    `seeds` has one row per product to carry forward (`stock_code`, `seed`: a `STATE`, or null to
    start from nothing); `days` (see `observed_days`) only days after the seed's. The facts rows
    (`stock_code`, `first_seen` and `last_seen` for readers, `state`, `previous`) hold the new
    state and, when one day was applied, the seed as the state before it (null otherwise: not
    known, so a rerun of that day rebuilds the product); a product with no observed day has none.
    """
    carried, numbered, versions, states = _applied(seeds, days, rules)
    day_counts = days.groupBy(KEY).agg(F.count("*").alias("days"))
    facts = (
        states.join(seeds, KEY)
        .join(day_counts, KEY, "left")
        .where(F.col("state.day").isNotNull())
        .select(
            KEY,
            F.col("state.first_seen").alias("first_seen"),
            F.col("state.last_seen").alias("last_seen"),
            "state",
            F.when(F.col("days") == 1, F.coalesce(F.col("seed"), _no_state())).alias("previous"),
        )
    )
    return ProductRun((carried, numbered), versions, facts)


def product_versions(product_days: DataFrame, product_updates: DataFrame, rules: CategoryRules) -> DataFrame:
    """`dim_products` rows recomputed from the whole history: SCD2 over sales days and products-feed days.

    From sales: description, the rules' category and subcategory (what enrichment, promotions and
    category revenue use) and price band. From the feed where it has them, inferred otherwise:
    `product_name` (else the description), `catalog_category` and `catalog_subcategory` (else the
    rules'); from the feed only: `brand`, `list_price`, `is_discontinued`. Each version carries its
    typical unit price: the most frequent of its sales days' typical prices (ties to the smallest),
    else the one carried in. Days before a product's first sale day are left out.
    """
    return full_history(product_days, product_updates, rules).versions


def full_history(product_days: DataFrame, product_updates: DataFrame, rules: CategoryRules) -> ProductRun:
    """Every product's versions and facts, from nothing over its whole history (see `continue_products`)."""
    days = observed_days(product_days.where(F.col("typical_unit_price").isNotNull()), product_updates)
    seeds = days.select(KEY).distinct().withColumn("seed", F.lit(None).cast(STATE))
    return continue_products(seeds, days, rules)


def run_seeds(facts: DataFrame | None, touched: DataFrame, start: date, end: date) -> DataFrame:
    """Per product a run of the days `start`..`end` must process: the state to carry forward and whether to rebuild.

    A product is processed when the run's days observe it (`touched`) or its stored state lies in
    them. It carries forward its stored state when that lies before the run; its state before its
    last day when that last day lies in the run and nothing else does; otherwise (a run before its
    later history) it is rebuilt from its whole history (`rebuild`, with a null seed).
    """
    if facts is None:
        return (
            touched.select(KEY)
            .distinct()
            .select(KEY, F.lit(None).cast(STATE).alias("seed"), F.lit(True).alias("rebuild"))
        )
    in_run = facts.where(F.col("state.day") >= F.lit(start)).select(KEY)
    keys = touched.select(KEY).unionByName(in_run).distinct()
    state, previous = F.col("state"), F.col("previous")
    carries_state = state.isNull() | (state["day"] < F.lit(start))
    carries_previous = (
        (state["day"] <= F.lit(end))
        & previous.isNotNull()
        & (previous["day"].isNull() | (previous["day"] < F.lit(start)))
    )
    seed = F.when(carries_state, state).when(carries_previous, previous)
    return keys.join(facts, KEY, "left").select(
        KEY, seed.cast(STATE).alias("seed"), (~carries_state & ~carries_previous).alias("rebuild")
    )


def days_to_apply(seeds: DataFrame, new_days: DataFrame | None, whole_history: DataFrame | None) -> DataFrame:
    """The observed days `continue_products` applies in a run: the run's new days of the products carried forward,
    and the whole history (`observed_days` over every day, or None when no product is rebuilt) of those rebuilt."""
    parts = []
    if new_days is not None:
        parts.append(new_days.join(seeds.where("NOT rebuild"), KEY, "left_semi"))
    if whole_history is not None:
        parts.append(whole_history.join(seeds.where("rebuild"), KEY, "left_semi"))
    if not parts:
        raise ValueError("a run applies new days, whole histories or both")
    return functools.reduce(DataFrame.unionByName, parts)


def first_replaced_versions(seeds: DataFrame) -> DataFrame:
    """Per processed product, the first of its stored versions the run replaces (1 for a rebuilt one)."""
    return seeds.select(KEY, F.coalesce(F.col("seed.version"), F.lit(1)).alias("first_version"))


def with_versions_replaced(stored: DataFrame, replaced: DataFrame, versions: DataFrame) -> DataFrame:
    """The stored dimension with each processed product's versions from its `first_version` on replaced by
    `versions`."""
    gone = stored.join(replaced, KEY).where(F.col("version") >= F.col("first_version")).select(KEY, "version")
    return stored.join(gone, [KEY, "version"], "left_anti").unionByName(versions.select(*stored.columns))
