"""Clickstream: typed web-shop behaviour events, sessions, bots, point-in-time catalog items, the conversion funnel.

The events follow the REES46 export (`event_time` "YYYY-MM-DD HH:MM:SS UTC", `event_type`,
`product_id`, `category_id`, `category_code`, `brand`, `price`, `user_id`, `user_session`).
"""

import re
from datetime import date, datetime
from urllib.parse import unquote

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.window import Window

from ecom_assets.platform.columns import CORRUPT_RECORD, blank_to_null, first_match, line_id
from ecom_assets.platform.dates import date_in_path
from ecom_assets.platform.errors import as_error_rows
from ecom_assets.platform.scd2 import state_changes

RAW_EVENT_COLUMNS = (
    "event_time",
    "event_type",
    "product_id",
    "category_id",
    "category_code",
    "brand",
    "price",
    "user_id",
    "user_session",
)
"""The export's columns, in its order."""
RAW_EVENT_SCHEMA = ", ".join(f"{name} string" for name in (*RAW_EVENT_COLUMNS, CORRUPT_RECORD))
"""How event files are read: every field as text, a line that does not split into them kept whole."""
EVENT_CSV_OPTIONS = {"header": "true", "mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT_RECORD}
EVENT_TYPES = ("view", "cart", "remove_from_cart", "purchase")
PRICE_TYPE = "decimal(12,2)"
REVENUE_TYPE = "decimal(18,2)"
UNKNOWN_CATEGORY = "unknown"
"""The top-level category of an event whose `category_code` is empty."""
COMPLETE_DAY = "complete"
PARTIAL_DAY = "partial"
CLICKSTREAM_DAY_STATUSES = (COMPLETE_DAY, PARTIAL_DAY)
EVENT_COLUMNS = ("event_id", *RAW_EVENT_COLUMNS, "source_file")
"""A typed event: the export's fields typed, its line's id and the file it came in."""
_EVENT_TIME_FORMAT = "yyyy-MM-dd HH:mm:ss"
EVENT_FOLDER = "raw/clickstream"
"""Where event files land, under the landing root."""
EVENT_FILES_GLOB = f"{EVENT_FOLDER}/*/*/*/*/*.csv"
"""The event files under the landing root: `raw/clickstream/YYYY/MM/DD/HH/*.csv`."""
FILES_PER_MICRO_BATCH = 500
_HOUR_FOLDER = r"/(\d{4})/(\d{2})/(\d{2})/(\d{2})/[^/]+$"
_EVENT_DAY = re.compile(r"(\d{4})/(\d{2})/(\d{2})/\d{2}/[^/]+$")


def event_file_stream(spark: SparkSession, files: str) -> DataFrame:
    """A streaming read of the event files `files` names (`EVENT_FILES_GLOB` under the landing root, as a path or
    URI Spark reads), as the export's text fields."""
    return (
        spark.readStream.options(**EVENT_CSV_OPTIONS)
        .option("maxFilesPerTrigger", FILES_PER_MICRO_BATCH)
        .schema(RAW_EVENT_SCHEMA)
        .csv(files)
    )


def event_day(path: str) -> date | None:
    """The UTC day of an event file's landing folder (`.../YYYY/MM/DD/HH/name`); None for another path."""
    return date_in_path(_EVENT_DAY, path)


def event_file_relative_path(path: str) -> str:
    """An event file's `YYYY/MM/DD/HH/name` from any spelling of its path (local, `file:` or `s3a:` URI, escaped)."""
    unescaped = unquote(path)
    parts = unescaped.rstrip("/").split("/")
    return "/".join(parts[-5:])


def bronze_event_lines(raw: DataFrame) -> DataFrame:
    """Event lines as delivered, with their file, the UTC hour of its landing folder, the hour the line belongs to
    (`line_hour`, see `lines_of_hours`) and the ingestion time.

    `line_hour` is stored so that a run of a few hours reads only the bronze files holding them (Delta
    skips files by the column's min and max) instead of typing every line ever ingested.
    """
    path = F.col("_metadata.file_path")
    folder_hour = F.format_string(
        "%s-%s-%s %s:00:00", *(F.regexp_extract(path, _HOUR_FOLDER, group) for group in range(1, 5))
    )
    landing_hour = F.try_to_timestamp(folder_hour, F.lit(_EVENT_TIME_FORMAT))
    return raw.select(
        *RAW_EVENT_COLUMNS,
        CORRUPT_RECORD,
        path.alias("source_file"),
        landing_hour.alias("landing_hour"),
        F.date_trunc("hour", F.coalesce(_event_time(F.col("event_time")), landing_hour)).alias("line_hour"),
        F.current_timestamp().alias("ingested_at"),
    )


def _event_time(text: Column) -> Column:
    """The export's "YYYY-MM-DD HH:MM:SS UTC" as a UTC timestamp; null when unreadable or in another zone."""
    without_zone = F.regexp_replace(F.trim(text), r"\s+UTC$", "")
    return F.try_to_timestamp(without_zone, F.lit(_EVENT_TIME_FORMAT))


def parse_events(raw: DataFrame) -> DataFrame:
    """Type raw event lines and say why a line cannot be an event; every input line comes out once.

    `raw`: the export's columns as text (read with `RAW_EVENT_SCHEMA` and `EVENT_CSV_OPTIONS`),
    `corrupt_record` (the raw line when it did not split into the export's fields, else null),
    `source_file` and, where known, `landing_hour` (kept). Returns `EVENT_COLUMNS`,
    `rejection_reason` (null for a good event: else `malformed_line`, `unreadable_event_time`,
    `unknown_event_type`, `unreadable_id`, `unreadable_price` or `unpriced_purchase`), `rejection_message`,
    `rejected_record` and `delivery_rank` (1 for the first copy of a line, 2+ for exact
    duplicates, earliest file first); silver's `line_outcome()` says what became of each line.
    """
    event_time = _event_time(F.col("event_time"))
    event_type = F.lower(blank_to_null(F.col("event_type")))
    product_id = blank_to_null(F.col("product_id")).try_cast("bigint")
    user_id = blank_to_null(F.col("user_id")).try_cast("bigint")
    price = blank_to_null(F.col("price")).try_cast(PRICE_TYPE)
    rules = [
        (F.col(CORRUPT_RECORD).isNotNull(), F.lit("malformed_line")),
        (event_time.isNull(), F.lit("unreadable_event_time")),
        (event_type.isNull() | ~event_type.isin(*EVENT_TYPES), F.lit("unknown_event_type")),
        (product_id.isNull() | user_id.isNull(), F.lit("unreadable_id")),
        (price.isNull() | (price < 0), F.lit("unreadable_price")),
        ((event_type == "purchase") & (price == 0), F.lit("unpriced_purchase")),
    ]
    messages = {
        "malformed_line": F.lit("the line does not have the export's nine fields"),
        "unreadable_event_time": F.format_string("event_time '%s' is not 'YYYY-MM-DD HH:MM:SS UTC'", "event_time"),
        "unknown_event_type": F.format_string(
            f"event_type '%s' is not one of {', '.join(EVENT_TYPES)}", F.coalesce("event_type", F.lit(""))
        ),
        "unreadable_id": F.format_string(
            "product_id '%s' or user_id '%s' is not a whole number",
            F.coalesce("product_id", F.lit("")),
            F.coalesce("user_id", F.lit("")),
        ),
        "unreadable_price": F.format_string("price '%s' is not a non-negative decimal", F.coalesce("price", F.lit(""))),
        "unpriced_purchase": F.lit("a purchase at price 0: revenue would be understated"),
    }
    reason = first_match(rules)
    typed = raw.select(
        line_id(*(F.trim(F.col(name)) for name in RAW_EVENT_COLUMNS), F.col(CORRUPT_RECORD)).alias("event_id"),
        event_time.alias("event_time"),
        event_type.alias("event_type"),
        product_id.alias("product_id"),
        blank_to_null(F.col("category_id")).try_cast("bigint").alias("category_id"),
        blank_to_null(F.col("category_code")).alias("category_code"),
        blank_to_null(F.col("brand")).alias("brand"),
        price.alias("price"),
        user_id.alias("user_id"),
        blank_to_null(F.col("user_session")).alias("user_session"),
        F.col("source_file"),
        *(["landing_hour"] if "landing_hour" in raw.columns else []),
        reason.alias("rejection_reason"),
        first_match([(reason == name, message) for name, message in messages.items()]).alias("rejection_message"),
        F.coalesce(F.col(CORRUPT_RECORD), F.to_json(F.struct(*(F.col(name) for name in RAW_EVENT_COLUMNS)))).alias(
            "rejected_record"
        ),
    )
    first_copy = Window.partitionBy("event_id").orderBy("source_file")
    return typed.withColumn("delivery_rank", F.row_number().over(first_copy))


def event_hour(parsed: DataFrame) -> Column:
    """The UTC hour a parsed line belongs to: its event's hour, else (time unreadable) its landing folder's hour."""
    landing = [F.col("landing_hour")] if "landing_hour" in parsed.columns else []
    return F.date_trunc("hour", F.coalesce(F.col("event_time"), *landing))


HOUR_KEY = "yyyy-MM-dd-HH:mm"
"""Spark's pattern of an hourly partition key, e.g. `2019-10-01-00:00` (`dates.HOUR_KEY_FORMAT` in Python)."""


def hour_key_of(timestamp: Column | str) -> Column:
    """The hourly partition key of a timestamp column (the session runs in UTC)."""
    return F.date_format(F.date_trunc("hour", timestamp), HOUR_KEY)


def lines_of_hours(bronze: DataFrame, start: str, end: str) -> DataFrame:
    """The bronze lines that belong to the UTC hours from instant `start` to `end` (excluded), e.g. `...T00:00:00Z`.

    A line belongs to its event's hour; a line whose time is unreadable belongs to the hour of the
    folder it landed in, so every line belongs to exactly one hour (bronze's `line_hour`).
    """
    hour = F.col("line_hour")
    return bronze.where((hour >= F.lit(start).cast("timestamp")) & (hour < F.lit(end).cast("timestamp")))


def accepted_events(parsed: DataFrame) -> DataFrame:
    """The events that enter silver: readable, first copy of each line."""
    return parsed.where(F.col("rejection_reason").isNull() & (F.col("delivery_rank") == 1)).select(*EVENT_COLUMNS)


def rejected_event_errors(parsed: DataFrame, asset: str, step: str, occurred_at: datetime) -> DataFrame:
    """One error-table row per line that could not be an event, with its reason and raw line."""
    return as_error_rows(
        parsed.where(F.col("rejection_reason").isNotNull()),
        asset=asset,
        step=step,
        occurred_at=occurred_at,
        identity=[F.col("event_id"), F.col("source_file"), F.col("delivery_rank").cast("string")],
        partition_date=F.to_date(
            F.coalesce("event_time", *(["landing_hour"] if "landing_hour" in parsed.columns else []))
        ),
        source_file_name=F.col("source_file"),
        error_type=F.col("rejection_reason"),
        error_message=F.col("rejection_message"),
        record=F.col("rejected_record"),
    )


def sessionize(events: DataFrame, gap_minutes: int, carried: DataFrame) -> DataFrame:
    """Add `session_id`: the export's `user_session` where present, else the user's inactivity sessions.

    Events without `user_session` are split per user wherever `gap_minutes` or more pass between
    two of them. Such a session's id is the user and its first event's time
    (`<user_id>-<yyyyMMdd'T'HHmmss>`), so a rerun gives the same id. `carried` (`user_id`,
    `last_event_time`, `session_id`): each user's latest derived session before these events; a
    user's first event within the gap of it continues that session, so a session crossing an hour
    keeps its id when hours are processed one at a time.
    """
    with_session = events.where(F.col("user_session").isNotNull()).withColumn("session_id", F.col("user_session"))
    without = events.where(F.col("user_session").isNull())
    by_user = Window.partitionBy("user_id").orderBy("event_time", "event_id")
    gap_seconds = gap_minutes * 60
    seconds = F.col("event_time").cast("long")
    previous = F.lag(seconds).over(by_user)
    ordered = without.join(
        carried.select("user_id", "last_event_time", F.col("session_id").alias("carried_session")), "user_id", "left"
    ).withColumn(
        "starts_session",
        F.when(
            previous.isNull(),
            F.col("last_event_time").isNull() | (seconds - F.col("last_event_time").cast("long") >= gap_seconds),
        ).otherwise(seconds - previous >= gap_seconds),
    )
    so_far = by_user.rowsBetween(Window.unboundedPreceding, Window.currentRow)
    started = F.when(
        F.col("starts_session"),
        F.concat_ws("-", F.col("user_id").cast("string"), F.date_format("event_time", "yyyyMMdd'T'HHmmss")),
    )
    derived = ordered.withColumn(
        "session_id", F.coalesce(F.last(started, ignorenulls=True).over(so_far), F.col("carried_session"))
    ).drop("last_event_time", "carried_session", "starts_session")
    return with_session.unionByName(derived)


def last_derived_sessions(sessionized: DataFrame) -> DataFrame:
    """Each user's latest inactivity session (`user_id`, `last_event_time`, `session_id`), for the next window."""
    latest = Window.partitionBy("user_id").orderBy(F.col("event_time").desc(), F.col("event_id").desc())
    return (
        sessionized.where(F.col("user_session").isNull())
        .withColumn("rank", F.row_number().over(latest))
        .where(F.col("rank") == 1)
        .select("user_id", F.col("event_time").alias("last_event_time"), "session_id")
    )


def flag_bots(events: DataFrame, max_events_per_minute: int) -> DataFrame:
    """Add `is_bot`: the user sent more than `max_events_per_minute` events in some minute of the event's UTC hour."""
    per_minute = Window.partitionBy("user_id", F.date_trunc("minute", "event_time"))
    per_hour = Window.partitionBy("user_id", F.date_trunc("hour", "event_time"))
    return (
        events.withColumn("events_in_minute", F.count(F.lit(1)).over(per_minute))
        .withColumn("is_bot", F.max("events_in_minute").over(per_hour) > max_events_per_minute)
        .drop("events_in_minute")
    )


CATALOG_ATTRIBUTES = ("price", "category_code", "brand")
"""A change in any of these, as observed in the events, makes a new version of a catalog item."""


SILVER_EVENT_COLUMNS = (*EVENT_COLUMNS, "session_id", "is_bot", "event_hour", "event_date")
"""`processed.clickstream_events`: a typed event, its session, the bot flag, its UTC hour and day."""
NO_CARRIED_SESSIONS = "user_id bigint, last_event_time timestamp, session_id string"
"""The schema of `sessionize`'s carried sessions (empty for the first window)."""


def silver_events(accepted: DataFrame, carried: DataFrame, gap_minutes: int, max_events_per_minute: int) -> DataFrame:
    """Silver's rows: accepted events with their session (see `sessionize`), bot flag, UTC hour and day."""
    sessions = flag_bots(sessionize(accepted, gap_minutes, carried), max_events_per_minute)
    return sessions.select(
        *EVENT_COLUMNS,
        "session_id",
        "is_bot",
        F.date_trunc("hour", "event_time").alias("event_hour"),
        F.to_date("event_time").alias("event_date"),
    )


def catalog_item_versions(events: DataFrame) -> DataFrame:
    """SCD2 of each product's price, category code and brand as the events observed them over time.

    A version starts at the first event showing a new combination (`valid_from`) and ends where the
    next starts (`valid_to`, exclusive; null for the current one). Events of one product at the
    same instant count as one observation (the last by `event_id`).
    """
    per_instant = Window.partitionBy("product_id", "event_time").orderBy(F.col("event_id").desc())
    observations = events.withColumn("rank", F.row_number().over(per_instant)).where(F.col("rank") == 1).drop("rank")
    by_time = Window.partitionBy("product_id").orderBy("event_time")
    changes = state_changes(observations, by_time, CATALOG_ATTRIBUTES)
    return changes.select(
        "product_id",
        F.row_number().over(by_time).alias("version"),
        *CATALOG_ATTRIBUTES,
        F.col("event_time").alias("valid_from"),
        F.lead("event_time").over(by_time).alias("valid_to"),
        F.lead("event_time").over(by_time).isNull().alias("is_current"),
    )


def with_item_in_effect(events: DataFrame, versions: DataFrame) -> DataFrame:
    """Each event with the catalog item version in effect at its time.

    Adds `item_version`, `item_price`, `item_category_code` and `item_brand` (null where no version
    of the product had started by the event's time).
    """
    item = versions.select(
        F.col("product_id").alias("item_product_id"),
        F.col("version").alias("item_version"),
        F.col("price").alias("item_price"),
        F.col("category_code").alias("item_category_code"),
        F.col("brand").alias("item_brand"),
        "valid_from",
        "valid_to",
    )
    in_effect = (
        (F.col("product_id") == F.col("item_product_id"))
        & (F.col("valid_from") <= F.col("event_time"))
        & (F.col("valid_to").isNull() | (F.col("event_time") < F.col("valid_to")))
    )
    return events.join(item, in_effect, "left").drop("item_product_id", "valid_from", "valid_to")


_RATES = ("view_to_cart", "cart_to_purchase", "conversion_rate")


def _sessions_with(event_type: str) -> Column:
    return F.count_distinct(F.when(F.col("event_type") == event_type, F.col("session_id")))


def _rate(numerator: str, denominator: str) -> Column:
    return F.round(F.try_divide(F.col(numerator), F.col(denominator)), 4)


def _purchase_revenue() -> Column:
    return F.coalesce(F.sum(F.when(F.col("event_type") == "purchase", F.col("price"))), F.lit(0)).cast(REVENUE_TYPE)


def funnel(events: DataFrame, window_column: str) -> DataFrame:
    """The conversion funnel per value of `window_column` (an hour's start or a day), bots included and counted.

    `sessions`, `view_sessions`, `cart_sessions`, `purchase_sessions` (distinct sessions with an
    event, or an event of that type, in the window), `purchases` (purchase events), `revenue`
    (Σ price of purchases), `view_to_cart` = cart ÷ view sessions, `cart_to_purchase` = purchase ÷
    cart sessions, `conversion_rate` = purchase sessions ÷ sessions (null where the divisor is 0),
    `bot_sessions` (sessions with an event flagged as a bot's).
    """
    figures = events.groupBy(window_column).agg(
        F.count_distinct("session_id").alias("sessions"),
        _sessions_with("view").alias("view_sessions"),
        _sessions_with("cart").alias("cart_sessions"),
        _sessions_with("purchase").alias("purchase_sessions"),
        F.count_if(F.col("event_type") == "purchase").alias("purchases"),
        _purchase_revenue().alias("revenue"),
        F.count_distinct(F.when(F.col("is_bot"), F.col("session_id"))).alias("bot_sessions"),
    )
    return figures.select(
        window_column,
        "sessions",
        "view_sessions",
        "cart_sessions",
        "purchase_sessions",
        "purchases",
        "revenue",
        _rate("cart_sessions", "view_sessions").alias("view_to_cart"),
        _rate("purchase_sessions", "cart_sessions").alias("cart_to_purchase"),
        _rate("purchase_sessions", "sessions").alias("conversion_rate"),
        "bot_sessions",
    )


def with_empty_windows(figures: DataFrame, window_column: str, windows: list[str]) -> DataFrame:
    """The funnel `figures` plus a row of zeros (rates null) for each window without events.

    `windows`: every processed window as text its column type reads (an ISO instant such as
    `2019-10-01T03:00:00Z` for an hour, `2019-10-01` for a day). A window processed without traffic
    then says so, instead of being missing.
    """
    window_type = figures.schema[window_column].dataType
    every = figures.sparkSession.createDataFrame([(window,) for window in windows], "window string").select(
        F.col("window").cast(window_type).alias(window_column)
    )
    empty = every.join(figures.select(window_column), window_column, "left_anti")
    zeros = [
        (F.lit(None) if field.name in _RATES else F.lit(0)).cast(field.dataType).alias(field.name)
        for field in figures.schema.fields
        if field.name != window_column
    ]
    return figures.unionByName(empty.select(window_column, *zeros))


def product_funnel(events: DataFrame) -> DataFrame:
    """Per `event_date` and product: `views`, `carts`, `purchases` (events), `revenue`, `view_to_purchase_rate`.

    `view_to_purchase_rate` = purchases ÷ views (null without views).
    """
    figures = events.groupBy("event_date", "product_id").agg(
        F.count_if(F.col("event_type") == "view").alias("views"),
        F.count_if(F.col("event_type") == "cart").alias("carts"),
        F.count_if(F.col("event_type") == "purchase").alias("purchases"),
        _purchase_revenue().alias("revenue"),
    )
    return figures.withColumn("view_to_purchase_rate", _rate("purchases", "views"))


def with_attributes_at_day_end(product_days: DataFrame, versions: DataFrame) -> DataFrame:
    """Per `event_date` and product, the catalog item version in effect at the day's last instant (point in time).

    Adds `brand`, `category_code` and `price_at_day_end`: what the product looked like when the day
    closed, not what it looks like now.
    """
    day_end = F.col("event_date").cast("timestamp") + F.expr("INTERVAL 1 DAY") - F.expr("INTERVAL 1 MICROSECOND")
    with_item = with_item_in_effect(product_days.withColumn("event_time", day_end), versions)
    return with_item.select(
        *(F.col(name) for name in product_days.columns),
        F.col("item_brand").alias("brand"),
        F.col("item_category_code").alias("category_code"),
        F.col("item_price").alias("price_at_day_end"),
    )


def with_day_status(figures: DataFrame, hours_processed: DataFrame) -> DataFrame:
    """Add each `event_date`'s `hours_processed` (`hours_processed`: `event_date`, `hours_processed`; of the day's
    24 hours, how many were processed) and `day_status`: `complete` only when all 24 were, else `partial`, so a
    partial day's figures are never presented as the whole day."""
    hours = F.coalesce(F.col("hours_processed"), F.lit(0)).cast("int")
    return (
        figures.join(hours_processed, "event_date", "left")
        .withColumn("hours_processed", hours)
        .withColumn("day_status", F.when(hours == 24, F.lit(COMPLETE_DAY)).otherwise(F.lit(PARTIAL_DAY)))
    )


def top_level_category(category_code: Column) -> Column:
    """The first segment of a dotted category code; `unknown` when the code is empty."""
    return F.coalesce(blank_to_null(F.split(category_code, r"\.").getItem(0)), F.lit(UNKNOWN_CATEGORY))


def category_funnel(events: DataFrame) -> DataFrame:
    """Per `event_date` and top-level category: `sessions`, `purchase_sessions`, `revenue`."""
    return events.groupBy("event_date", top_level_category(F.col("category_code")).alias("top_category")).agg(
        F.count_distinct("session_id").alias("sessions"),
        _sessions_with("purchase").alias("purchase_sessions"),
        _purchase_revenue().alias("revenue"),
    )
