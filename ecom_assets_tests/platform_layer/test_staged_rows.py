"""The rows a step stages are computed once, when staged, so its checks time (and redo) none of that work."""

from pyspark.sql import functions as F

from ecom_assets.platform.table_asset import staged


def test_staged_rows_are_computed_on_entry_and_read_again_without_being_computed_again(spark):
    computed = spark.sparkContext.accumulator(0)

    def counted(value: int) -> int:
        computed.add(1)
        return value

    rows = spark.range(5).select(F.udf(counted, "long", useArrow=False)("id").alias("id"))

    with staged(rows) as kept:
        assert computed.value == 5, "each row computed once, on entry"
        assert kept.agg(F.sum("id")).first()[0] == 10
        assert kept.where("id > 2").count() == 2
        assert computed.value == 5, "what follows reads the kept rows"
