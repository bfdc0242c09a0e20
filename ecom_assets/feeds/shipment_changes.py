"""Which shipments a run must rebuild: those whose inputs changed since `processed.shipments` was last brought up to
date, read from its inputs' change data feeds (decision 0015)."""

import json
from dataclasses import dataclass
from functools import reduce

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ecom_assets.feeds.tables import SHIPMENTS, SHIPPING_UPDATES
from ecom_assets.feeds.transforms.shipments import shipment_history
from ecom_assets.feeds.transforms.validation import SHIPPING_RULES
from ecom_assets.feeds.validation import failed_batches_in, quarantined_in, quarantined_records, validated_updates
from ecom_assets.platform.tables import ETL_ERRORS, QUARANTINED_DAYS
from resources import Lakehouse
from resources.lakehouse import ChangesUnavailable

SHIPMENT_INPUTS = (SHIPPING_UPDATES, QUARANTINED_DAYS, ETL_ERRORS)
"""Everything a shipment's history is built from: its updates, the batches validation failed, the records it
quarantined."""
BUILT_FROM = "built from input versions "
"""How the note (`userMetadata`) of each commit of `processed.shipments` starts: the versions of `SHIPMENT_INPUTS`
its rows are up to date with follow, as JSON."""


@dataclass(frozen=True)
class ShipmentsRebuild:
    """The shipments a run rebuilds: their whole histories (`history`), the orders rebuilt (`orders`, an `order_id`
    column), whether that is every shipment (`whole`), and the input versions the rows are built from."""

    history: DataFrame
    orders: DataFrame
    whole: bool
    versions: dict[str, int]
    reason: str
    """Why the whole table is rebuilt, or what the changed shipments were found from."""

    def publish(self, lakehouse: Lakehouse) -> None:
        """Write the rebuilt histories (replacing the whole table, or only the orders rebuilt), noting in the same
        commit the input versions they are up to date with.

        With no shipment to rebuild there is no commit: the table's note stays at the versions it had,
        and the next run reads those inputs' changes again, finding nothing more in them than this one did.
        """
        with lakehouse.noting_commits(BUILT_FROM + json.dumps(self.versions, sort_keys=True)):
            if self.whole:
                lakehouse.overwrite(SHIPMENTS, self.history)
            elif not self.orders.isEmpty():
                lakehouse.replace_keys(SHIPMENTS, self.history, ["order_id", "version"], self.orders)


def shipments_to_rebuild(session: SparkSession, lakehouse: Lakehouse) -> ShipmentsRebuild:
    """The shipments whose inputs changed since the table was last brought up to date, rebuilt from their whole
    updates; every shipment when the table or its record is missing, or the inputs' change feeds do not cover the
    commits since (then the feeds are turned on for the next run)."""
    versions = _latest_versions(lakehouse)
    recorded = recorded_versions(lakehouse)
    if recorded is None:  # also when the table does not exist
        return _whole(session, lakehouse, "first build: no record of the inputs it was built from")
    try:
        changed = _changed_orders(session, lakehouse, recorded, versions)
    except ChangesUnavailable as error:
        reason = f"the inputs' changes since the last build are not all known ({error})"
        return _whole(session, lakehouse, reason)
    updates = _updates(session, lakehouse, versions)
    bounds = changed.agg(F.min("order_id").alias("low"), F.max("order_id").alias("high")).first()
    if bounds["low"] is not None:  # lets Delta skip the files holding none of the changed orders
        updates = updates.where(F.col("order_id").between(bounds["low"], bounds["high"]))
    touched = updates.join(F.broadcast(changed), "order_id", "left_semi")
    reason = f"the changes of its inputs from versions {recorded} to {versions}"
    return ShipmentsRebuild(_history(session, lakehouse, touched, versions), changed, False, versions, reason)


def recorded_versions(lakehouse: Lakehouse) -> dict[str, int] | None:
    """The input versions the table is up to date with, as the note of its last commit of rows records them; None
    when it records none (or something unreadable)."""
    commit = lakehouse.last_data_commit(SHIPMENTS)
    note = commit.user_metadata if commit else None
    if not note or not note.startswith(BUILT_FROM):
        return None
    try:
        recorded = json.loads(note.removeprefix(BUILT_FROM))
    except ValueError:
        return None
    names = {table.full_name for table in SHIPMENT_INPUTS}
    if not isinstance(recorded, dict) or set(recorded) != names:
        return None
    if not all(isinstance(version, int) for version in recorded.values()):
        return None
    return recorded


def _latest_versions(lakehouse: Lakehouse) -> dict[str, int]:
    """Each input's latest version; -1 for one not created yet."""
    pinned = lakehouse.pin([table for table in SHIPMENT_INPUTS if lakehouse.exists(table)]).versions
    return {table.full_name: pinned.get(table, -1) for table in SHIPMENT_INPUTS}


def _whole(session: SparkSession, lakehouse: Lakehouse, reason: str) -> ShipmentsRebuild:
    """Every shipment rebuilt, from inputs whose change feeds are on from now (so the next run need not)."""
    for table in SHIPMENT_INPUTS:
        lakehouse.keep_changes(table)
    versions = _latest_versions(lakehouse)
    updates = _updates(session, lakehouse, versions)
    orders = updates.select("order_id").distinct()
    return ShipmentsRebuild(_history(session, lakehouse, updates, versions), orders, True, versions, reason)


def _updates(session: SparkSession, lakehouse: Lakehouse, versions: dict[str, int]) -> DataFrame:
    return lakehouse.read(session, SHIPPING_UPDATES, version=versions[SHIPPING_UPDATES.full_name])


def _history(session: SparkSession, lakehouse: Lakehouse, updates: DataFrame, versions: dict[str, int]) -> DataFrame:
    """The histories of the shipments in `updates`, with the failed batches and quarantined records of `versions`."""
    validated = validated_updates(session, lakehouse, updates, version=versions[QUARANTINED_DAYS.full_name])
    kept_out = quarantined_records(session, lakehouse, SHIPPING_RULES, version=versions[ETL_ERRORS.full_name])
    return shipment_history(validated, kept_out.withColumnRenamed("record", "order_id"))


def _changed_orders(
    session: SparkSession, lakehouse: Lakehouse, recorded: dict[str, int], versions: dict[str, int]
) -> DataFrame:
    """The orders (`order_id`) whose history the inputs' commits after `recorded` up to `versions` can change: those
    with an update inserted or deleted, those with updates on a day whose batch failed or passed again, those with
    a record quarantined or released."""

    def changes(table) -> DataFrame | None:
        after, up_to = recorded[table.full_name], versions[table.full_name]
        if up_to < after:
            raise ChangesUnavailable(f"{table.full_name} is at version {up_to}, before the recorded {after}")
        return lakehouse.changes(session, table, after, up_to) if up_to > after else None

    found = []
    updates = changes(SHIPPING_UPDATES)
    if updates is not None:
        found.append(updates.select("order_id"))
    failed = changes(QUARANTINED_DAYS)
    if failed is not None:
        days = [row[0] for row in failed_batches_in(failed).select("partition_date").distinct().collect()]
        if days:
            on_days = _updates(session, lakehouse, versions).where(F.col("business_date").isin(days))
            found.append(on_days.select("order_id"))
    quarantined = changes(ETL_ERRORS)
    if quarantined is not None:
        found.append(quarantined_in(quarantined, SHIPPING_RULES).select(F.col("record").alias("order_id")))
    if not found:
        return session.createDataFrame([], "order_id string")
    orders = reduce(DataFrame.unionByName, found).where(F.col("order_id").isNotNull()).distinct()
    return orders.localCheckpoint(eager=True)
