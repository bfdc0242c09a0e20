"""Slowly changing dimensions, type 2: the rows where a key's tracked attributes change."""

from collections.abc import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.window import WindowSpec


def state_changes(observations: DataFrame, in_order: WindowSpec, attributes: Sequence[str]) -> DataFrame:
    """The observations that open a version: each key's first, and every one whose `attributes` differ from the
    previous observation's (`in_order`: per key, in time order). Nulls compare as values."""
    state = F.sha2(F.to_json(F.struct(*attributes)), 256)
    return (
        observations.withColumn("_state", state)
        .withColumn("_previous_state", F.lag("_state").over(in_order))
        .where(F.col("_previous_state").isNull() | (F.col("_state") != F.col("_previous_state")))
        .drop("_state", "_previous_state")
    )
