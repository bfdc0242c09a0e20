"""The clickstream's assets: the web shop's event files streamed into bronze.

The ingestion asset is unpartitioned: the stream's checkpoint, not a partition, decides what is new.
"""

from typing import Any

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, ResourceParam, asset

from ecom_assets.assets.common import asset_key
from ecom_assets.partitions import single_run_backfill
from ecom_assets.tables import CLICKSTREAM_EVENTS_RAW
from ecom_assets.transforms.clickstream import EVENT_FILES_GLOB, bronze_event_lines, event_file_stream
from resources import Lakehouse, LandingZone, SparkSessionResource

CLICKSTREAM_INGEST_GROUP = "clickstream_ingest"


@asset(
    key=asset_key(CLICKSTREAM_EVENTS_RAW),
    group_name=CLICKSTREAM_INGEST_GROUP,
    backfill_policy=single_run_backfill,
    kinds={"spark", "delta"},
    description="Every line of the web shop's event files (`raw/clickstream/YYYY/MM/DD/HH/*.csv`) as delivered, "
    "appended once by Structured Streaming (trigger availableNow, checkpoint beside the table); a line that does "
    "not split into the export's nine fields is kept whole in `corrupt_record`.",
)
def clickstream_events_raw(
    context: AssetExecutionContext,
    spark: SparkSessionResource,
    lakehouse: Lakehouse,
    landing: LandingZone,
    step_launcher: ResourceParam[Any],
) -> MaterializeResult:
    """Append the event files that landed since the last run; a run with nothing new appends nothing."""
    files = landing.spark_path(landing.full_path(EVENT_FILES_GLOB))
    stream = bronze_event_lines(event_file_stream(spark.get_session(), files))
    appended = lakehouse.append_new_from_stream(CLICKSTREAM_EVENTS_RAW, stream)
    context.log.info(f"appended {appended.rows} line(s) in {appended.batches} micro-batch(es) from {files}")
    return MaterializeResult(
        metadata={
            "rows_appended": appended.rows,
            "micro_batches": appended.batches,
            "source": MetadataValue.path(files),
            "table": CLICKSTREAM_EVENTS_RAW.full_name,
            "checkpoint": MetadataValue.path(lakehouse.checkpoint_location(CLICKSTREAM_EVENTS_RAW)),
        }
    )
