"""Validation across the operational feeds and the sales: findings with severity, counts, samples and a score.

Every rule flags records; a finding is one rule's flagged records of one batch (business day).
Rules and severities:

| rule | category | severity |
| --- | --- | --- |
| a record silver rejected (its `etl_errors` type) | rejected_record | HIGH |
| `invalid_email`, `invalid_phone` | format | MEDIUM |
| `invalid_<date or other optional value>` | format | LOW |
| `negative_stock` (inventory) | business_rule | HIGH |
| `delivery_before_order` (shipping vs. the invoice's day) | business_rule | HIGH |
| `discontinued_product_sold` (sales of a product the feed discontinued before) | business_rule | MEDIUM |
| `shipment_without_order` (shipping → sales invoices) | referential_integrity | HIGH |
| `inventory_unknown_product` (inventory → products feed) | referential_integrity | MEDIUM |
| `sale_unknown_product` (sales → products feed) | referential_integrity | LOW |
| `sale_unknown_customer` (sales → customers feed) | referential_integrity | LOW |

The batch's score is `100 × (1 − (3·HIGH + 2·MEDIUM + 1·LOW flagged records) / (3 × records checked))`,
never below 0; records checked are the batch's feed records and the day's sales lines.
"""

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

HIGH, MEDIUM, LOW = "HIGH", "MEDIUM", "LOW"
SEVERITY_WEIGHTS = {HIGH: 3, MEDIUM: 2, LOW: 1}
SAMPLES_PER_FINDING = 5
SHIPPING_RULES = ("delivery_before_order", "shipment_without_order")
"""Quarantining rules of the shipping feed: their records (order ids) are kept out of the shipments."""
QUARANTINING_RULES = ("negative_stock", *SHIPPING_RULES)
"""Rules whose flagged feed records are kept out of what is built from the feeds (they go to `etl_errors`)."""
FLAG_COLUMNS = ("business_date", "domain", "rule", "category", "severity", "record_key", "sample")
FINDING_COLUMNS = ("business_date", "domain", "rule", "category", "severity", "flagged_records", "samples")


def _flags(
    rows: DataFrame, domain: str, rule: Column | str, category: str, severity: Column | str, key: Column, sample: Column
) -> DataFrame:
    return rows.select(
        F.col("business_date"),
        F.lit(domain).alias("domain"),
        (F.lit(rule) if isinstance(rule, str) else rule).alias("rule"),
        F.lit(category).alias("category"),
        (F.lit(severity) if isinstance(severity, str) else severity).alias("severity"),
        key.cast("string").alias("record_key"),
        sample.cast("string").alias("sample"),
    )


def format_flags(silver: DataFrame, domain: str, key: str) -> DataFrame:
    """One flag per format issue silver named (`format_issues`): email and phone MEDIUM, other values LOW."""
    issues = silver.select("business_date", key, F.explode("format_issues").alias("issue"))
    column = F.regexp_extract("issue", r"^(\w+)", 1)
    severity = F.when(column.isin("email", "phone"), F.lit(MEDIUM)).otherwise(F.lit(LOW))
    return _flags(issues, domain, F.concat(F.lit("invalid_"), column), "format", severity, F.col(key), F.col("issue"))


def rejected_flags(errors: DataFrame, domain_by_asset: dict[str, str]) -> DataFrame:
    """One HIGH flag per record silver rejected (its `etl_errors` row, by asset name → domain)."""
    domain = F.create_map(*(F.lit(part) for pair in domain_by_asset.items() for part in pair))[F.col("asset")]
    rows = errors.withColumn("business_date", F.col("partition_date")).withColumn("domain_name", domain)
    return rows.select(
        "business_date",
        F.col("domain_name").alias("domain"),
        F.col("error_type").alias("rule"),
        F.lit("rejected_record").alias("category"),
        F.lit(HIGH).alias("severity"),
        F.col("error_id").alias("record_key"),
        F.concat_ws(": ", "error_message", "record").alias("sample"),
    )


def negative_stock_flags(inventory: DataFrame) -> DataFrame:
    """Inventory records with stock below zero (HIGH)."""
    flagged = inventory.where(F.col("stock_quantity") < 0)
    sample = F.format_string("%s at %s: stock %d", "product_id", "warehouse_location", "stock_quantity")
    return _flags(
        flagged,
        "inventory",
        "negative_stock",
        "business_rule",
        HIGH,
        F.concat_ws("|", "product_id", "warehouse_location"),
        sample,
    )


def shipment_order_flags(shipping: DataFrame, order_days: DataFrame) -> DataFrame:
    """Shipments whose order is no sales invoice (HIGH), and deliveries dated before the invoice's day (HIGH).

    `order_days`: one row per invoice, `invoice_no` and `order_date`.
    """
    joined = shipping.join(order_days, shipping["order_id"] == order_days["invoice_no"], "left")
    orphan = joined.where(F.col("invoice_no").isNull())
    early = joined.where(F.col("actual_delivery") < F.col("order_date"))
    return _flags(
        orphan,
        "shipping",
        "shipment_without_order",
        "referential_integrity",
        HIGH,
        F.col("order_id"),
        F.format_string(
            "order %s (%s) is no invoice of the sales files",
            "order_id",
            F.coalesce(F.col("tracking_number"), F.lit("no tracking number")),
        ),
    ).unionByName(
        _flags(
            early,
            "shipping",
            "delivery_before_order",
            "business_rule",
            HIGH,
            F.col("order_id"),
            F.format_string(
                "order %s delivered %s, ordered %s",
                "order_id",
                F.col("actual_delivery").cast("string"),
                F.col("order_date").cast("string"),
            ),
        )
    )


def latest_products(product_history: DataFrame) -> DataFrame:
    """Each product's latest feed record up to the batch day: `product_id`, `discontinued`, `as_of` (its day)."""
    latest = product_history.groupBy("product_id").agg(
        F.max_by(F.struct("discontinued", "business_date"), F.struct("business_date", "created_timestamp")).alias(
            "last"
        )
    )
    return latest.select(
        "product_id", F.col("last.discontinued").alias("discontinued"), F.col("last.business_date").alias("as_of")
    )


def sales_flags(sales: DataFrame, product_history: DataFrame, customer_history: DataFrame) -> DataFrame:
    """Sales lines of the day (`order_date` as `business_date`) checked against the feeds: a product discontinued
    before the sale (MEDIUM), a product (LOW) or a customer (LOW) no feed has named."""
    lines = sales.where(F.col("line_type") == "sale").withColumn("business_date", F.col("order_date"))
    products = latest_products(product_history)
    with_product = lines.join(products, lines["stock_code"] == products["product_id"], "left")
    discontinued = with_product.where(F.col("discontinued") & (F.col("as_of") < F.col("order_date")))
    unknown_product = with_product.where(F.col("product_id").isNull())
    customers = customer_history.select(F.col("customer_id").alias("known_customer")).distinct()
    unknown_customer = lines.where(F.col("customer_id").isNotNull()).join(
        customers, F.col("customer_id") == F.col("known_customer"), "left_anti"
    )
    return (
        _flags(
            discontinued,
            "sales",
            "discontinued_product_sold",
            "business_rule",
            MEDIUM,
            F.col("line_id"),
            F.format_string(
                "invoice %s sold %s, discontinued since %s", "invoice_no", "stock_code", F.col("as_of").cast("string")
            ),
        )
        .unionByName(
            _flags(
                unknown_product,
                "sales",
                "sale_unknown_product",
                "referential_integrity",
                LOW,
                F.col("line_id"),
                F.format_string("invoice %s sold %s, which no products feed names", "invoice_no", "stock_code"),
            )
        )
        .unionByName(
            _flags(
                unknown_customer,
                "sales",
                "sale_unknown_customer",
                "referential_integrity",
                LOW,
                F.col("line_id"),
                F.format_string(
                    "invoice %s is for customer %s, whom no customers feed names", "invoice_no", "customer_id"
                ),
            )
        )
    )


def inventory_product_flags(inventory: DataFrame, product_history: DataFrame) -> DataFrame:
    """Inventory of a product no products feed has named (MEDIUM)."""
    known = product_history.select(F.col("product_id").alias("known_product")).distinct()
    unknown = inventory.join(known, F.col("product_id") == F.col("known_product"), "left_anti")
    return _flags(
        unknown,
        "inventory",
        "inventory_unknown_product",
        "referential_integrity",
        MEDIUM,
        F.concat_ws("|", "product_id", "warehouse_location"),
        F.format_string("stock of %s at %s, a product no products feed names", "product_id", "warehouse_location"),
    )


def findings(flags: DataFrame) -> DataFrame:
    """One row per batch day and rule: domain, category, severity, flagged records and up to 5 samples."""
    return flags.groupBy("business_date", "domain", "rule", "category", "severity").agg(
        F.count(F.lit(1)).alias("flagged_records"),
        F.slice(F.array_sort(F.collect_set("sample")), 1, SAMPLES_PER_FINDING).alias("samples"),
    )


def batch_scores(flags: DataFrame, records_checked: DataFrame, feed_records: DataFrame) -> DataFrame:
    """Per batch day: records checked, flagged records per severity, the share of feed records with a HIGH flag
    and the validation score (see the module's docstring).

    `records_checked` and `feed_records`: `business_date` and `records` (all checked, and the feeds' own).
    """
    by_severity = flags.groupBy("business_date").agg(
        *(
            F.count_distinct(
                F.when(F.col("severity") == level, F.concat_ws("|", "domain", "rule", "record_key"))
            ).alias(level.lower())
            for level in SEVERITY_WEIGHTS
        ),
        F.count_distinct(
            F.when((F.col("severity") == HIGH) & (F.col("domain") != "sales"), F.concat_ws("|", "domain", "record_key"))
        ).alias("high_feed_records"),
    )
    checked = records_checked.join(feed_records.withColumnRenamed("records", "feed_records"), "business_date", "left")
    joined = checked.join(by_severity, "business_date", "left").fillna(0)
    weighted = sum(F.col(level.lower()) * weight for level, weight in SEVERITY_WEIGHTS.items())
    score = F.greatest(F.lit(0.0), 100 * (1 - weighted / F.greatest(3 * F.col("records"), F.lit(1))))
    return joined.select(
        "business_date",
        F.col("records").alias("records_checked"),
        "feed_records",
        *(F.col(level.lower()).alias(f"{level.lower()}_flags") for level in SEVERITY_WEIGHTS),
        "high_feed_records",
        F.round(F.col("high_feed_records") / F.greatest(F.col("feed_records"), F.lit(1)), 6).alias("high_share"),
        F.round(score, 2).alias("validation_score"),
    )
