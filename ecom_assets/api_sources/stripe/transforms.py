"""Stripe's landed records in bronze, and each object's current state in silver: pure PySpark.

Bronze holds each landed line whole (see `api_sources.bronze`); its `object` is Stripe's, as sent.
An object is observed either in a list (its state when the load ran, dlt's load id being that
time) or in an event's `data.object` (its state when the event happened). Silver keeps, per id,
the latest observation; a deletion is final (Stripe never reuses an id).
"""

from datetime import datetime
from decimal import Decimal

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ecom_assets.api_sources.current_state import latest_observations, rejected_rows
from ecom_assets.api_sources.tables import MONEY_TYPE

OBJECT_TYPES = {
    "customers": "customer",
    "charges": "charge",
    "payment_intents": "payment_intent",
    "refunds": "refund",
}
"""Each listed resource and the `object` name Stripe gives its objects (events carry objects of every type)."""
EVENTS = "events"
ZERO_DECIMAL_CURRENCIES = (
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf",
)  # fmt: skip
"""Currencies whose amounts Stripe gives in whole units (Stripe's documentation, "Zero-decimal currencies")."""
THREE_DECIMAL_CURRENCIES = ("bhd", "jod", "kwd", "omr", "tnd")
"""Currencies whose amounts Stripe gives in thousandths."""

_FIELDS = {
    "customers": {"email": "string", "name": "string", "phone": "string", "currency": "string"},
    "charges": {
        "customer": "string",
        "payment_intent": "string",
        "amount": "string",
        "amount_captured": "string",
        "amount_refunded": "string",
        "currency": "string",
        "captured": "boolean",
        "paid": "boolean",
        "status": "string",
    },
    "payment_intents": {
        "customer": "string",
        "amount": "string",
        "amount_received": "string",
        "currency": "string",
        "status": "string",
        "latest_charge": "string",
    },
    "refunds": {
        "charge": "string",
        "payment_intent": "string",
        "amount": "string",
        "currency": "string",
        "status": "string",
    },
}
"""What silver keeps of each object, besides `id`, `created` and `metadata` (amounts read as text, then checked)."""
REQUIRED_AMOUNTS = {"customers": (), "charges": ("amount",), "payment_intents": ("amount",), "refunds": ("amount",)}
_VALID_ID = r"^[A-Za-z0-9_]{1,64}$"


def observations(bronze: DataFrame, resource: str) -> DataFrame:
    """Every observation of an object of `resource` in `bronze`: from its list (observed when the load ran) and
    from events whose `data.object` is of its type (observed when the event happened; `event_type` set)."""
    listed = bronze.where(F.col("resource") == resource).select(
        "load_id",
        "line_id",
        "source_file",
        "record",
        "ingested_at",
        F.get_json_object("record", "$.object").alias("object_json"),
        F.timestamp_seconds(F.expr("try_cast(load_id AS DECIMAL(22,6))")).alias("observed_at"),
        F.lit(None).cast("string").alias("event_type"),
    )
    event_object = F.get_json_object("record", "$.object.data.object")
    from_events = (
        bronze.where(F.col("resource") == EVENTS)
        .where(F.get_json_object(event_object, "$.object") == OBJECT_TYPES[resource])
        .select(
            "load_id",
            "line_id",
            "source_file",
            "record",
            "ingested_at",
            event_object.alias("object_json"),
            F.timestamp_seconds(F.expr("try_cast(get_json_object(record, '$.object.created') AS BIGINT)")).alias(
                "observed_at"
            ),
            F.get_json_object("record", "$.object.type").alias("event_type"),
        )
    )
    return listed.unionByName(from_events)


def major_units(minor: Column, currency: Column) -> Column:
    """An amount in minor units as an exact decimal of major units, by its currency's exponent (0, 2 or 3)."""
    whole = minor.cast("decimal(20,0)")
    return (
        F.when(currency.isin(*ZERO_DECIMAL_CURRENCIES), whole)
        .when(currency.isin(*THREE_DECIMAL_CURRENCIES), whole * F.lit(Decimal("0.001")))
        .otherwise(whole * F.lit(Decimal("0.01")))
        .cast(MONEY_TYPE)
    )


def typed_observations(observed: DataFrame, resource: str) -> DataFrame:
    """The observations with their objects' fields typed and a `problem` (None when the object is usable)."""
    fields = _FIELDS[resource]
    schema = ", ".join(
        ["id string", "created string", "deleted boolean", "metadata string"]
        + [f"`{name}` {kind}" for name, kind in fields.items()]
    )
    parsed = observed.withColumn("parsed", F.from_json("object_json", schema))
    columns = [
        F.col("parsed.id").alias("id"),
        F.expr("try_cast(parsed.created AS BIGINT)").alias("created_seconds"),
        (
            F.coalesce(F.col("parsed.deleted"), F.lit(False))
            | F.coalesce(F.col("event_type").endswith(".deleted"), F.lit(False))
        ).alias("deleted"),
        F.col("parsed.metadata").alias("metadata"),
    ]
    amounts = [name for name, kind in fields.items() if name.startswith("amount")]
    for name, _ in fields.items():
        if name in amounts:
            columns.append(F.expr(f"try_cast(parsed.`{name}` AS BIGINT)").alias(f"{name}_minor"))
        elif name == "currency":
            columns.append(F.lower(F.col("parsed.currency")).alias("currency"))
        else:
            columns.append(F.col(f"parsed.`{name}`").alias(name))
    typed = parsed.select("*", *columns).drop("parsed")
    problems = [
        (F.col("object_json").isNull(), "not_an_object", "the landed record holds no JSON object"),
        (~F.coalesce(F.col("id").rlike(_VALID_ID), F.lit(False)), "invalid_id", "the object has no valid id"),
        (F.col("observed_at").isNull(), "no_time", "the record has no time it was observed at"),
        (F.col("created_seconds").isNull(), "invalid_created", "`created` is missing or not a whole number"),
    ]
    if REQUIRED_AMOUNTS[resource]:
        problems.append(
            (
                ~F.coalesce(F.col("currency").rlike("^[a-z]{3}$"), F.lit(False)) & ~F.col("deleted"),
                "invalid_currency",
                "`currency` is not a three-letter code",
            )
        )
    for name in amounts:
        present = F.col(f"parsed_{name}_text").isNotNull()
        invalid = F.col(f"{name}_minor").isNull() & (present | F.lit(name in REQUIRED_AMOUNTS[resource]))
        problems.append((invalid & ~F.col("deleted"), "invalid_amount", f"`{name}` is missing or not a whole number"))
    typed = typed.select(
        "*", *(F.get_json_object("object_json", f"$.{name}").alias(f"parsed_{name}_text") for name in amounts)
    )
    problem = F.lit(None).cast("string")
    message = F.lit(None).cast("string")
    for condition, reason, text in reversed(problems):
        problem = F.when(condition, F.lit(reason)).otherwise(problem)
        message = F.when(condition, F.lit(text)).otherwise(message)
    typed = typed.withColumn("problem", problem).withColumn("problem_message", message)
    for name in amounts:
        typed = typed.withColumn(name, major_units(F.col(f"{name}_minor"), F.col("currency")))
    return typed.drop(*(f"parsed_{name}_text" for name in amounts))


def latest_states(typed: DataFrame) -> DataFrame:
    """The usable observations' latest state per id (see `current_state.latest_observations`)."""
    return latest_observations(typed.where(F.col("problem").isNull()))


def silver_columns(resource: str) -> list[str]:
    """The columns of a silver Stripe table, in order."""
    fields = _FIELDS[resource]
    typed = []
    for name in fields:
        typed.extend([f"{name}_minor", name] if name.startswith("amount") else [name])
    return ["id", *typed, "created_at", "deleted", "metadata", "observed_at", "load_id", "ingested_at"]


def silver_rows(latest: DataFrame, resource: str) -> DataFrame:
    """The latest states as silver rows (`created` as a UTC timestamp)."""
    return latest.withColumn("created_at", F.timestamp_seconds("created_seconds")).select(*silver_columns(resource))


def error_rows(typed: DataFrame, *, asset: str, step: str, resource: str, occurred_at: datetime) -> DataFrame:
    """Error-table rows for the observations with a problem: source, resource and object id in the message."""
    shown_id = F.when(F.col("id").rlike(_VALID_ID), F.col("id")).otherwise(F.lit("(no valid id)"))
    origin = F.when(F.col("event_type").isNotNull(), F.lit(" (from an event)")).otherwise(F.lit(""))
    message = F.concat(F.lit(f"stripe {resource} "), shown_id, origin, F.lit(": "), F.col("problem_message"))
    return rejected_rows(typed, asset=asset, step=step, occurred_at=occurred_at, message=message)
