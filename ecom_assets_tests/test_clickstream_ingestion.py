"""Streaming ingestion of event files into bronze: every file appended once, across reruns and re-deliveries."""

from datetime import datetime
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from ecom_assets.tables import CLICKSTREAM_EVENTS_RAW
from ecom_assets.transforms.clickstream import RAW_EVENT_COLUMNS, bronze_event_lines, event_file_stream
from resources.lakehouse import Lakehouse

HEADER = ",".join(RAW_EVENT_COLUMNS)


def _event(minute: int, hour: int = 0, event_type: str = "view") -> str:
    return (
        f"2019-10-01 {hour:02d}:{minute:02d}:00 UTC,{event_type},1004237,2053013555631882655,"
        f"electronics.smartphone,apple,1081.98,535871217,8f5a3c1e-0000-4000-8000-00000000000{hour}"
    )


def _land(root: Path, hour: int, name: str, *lines: str, end: str = "\n") -> Path:
    path = root / f"raw/clickstream/2019/10/01/{hour:02d}/{name}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([HEADER, *lines]) + end, encoding="utf-8")
    return path


def _ingest(spark, lakehouse: Lakehouse, landing_root: Path):
    return lakehouse.append_new_from_stream(
        CLICKSTREAM_EVENTS_RAW, bronze_event_lines(event_file_stream(spark, str(landing_root)))
    )


def test_each_event_file_is_appended_once_across_reruns_and_a_redelivered_file_is_not_read_again(spark, tmp_path):
    landing = tmp_path / "landing"
    lakehouse = Lakehouse(warehouse_root=str(tmp_path / "warehouse"))
    first = _land(landing, 0, "a.csv", _event(1), _event(2), _event(3, event_type="purchase"))
    _land(landing, 1, "b.csv", _event(5, hour=1), _event(6, hour=1), _event(7, hour=1)[:40], end="")

    assert _ingest(spark, lakehouse, landing).rows == 6
    bronze = lakehouse.read(spark, CLICKSTREAM_EVENTS_RAW)
    assert bronze.count() == 6
    assert bronze.where(F.col("corrupt_record").isNotNull()).count() == 1, "the truncated line is kept whole"
    hours = {row.source_file.rsplit("/", 1)[-1]: row.landing_hour for row in bronze.collect()}
    assert hours == {"a.csv": datetime(2019, 10, 1, 0), "b.csv": datetime(2019, 10, 1, 1)}
    version = lakehouse.history(CLICKSTREAM_EVENTS_RAW, limit=1)[0].version

    assert _ingest(spark, lakehouse, landing).rows == 0, "a rerun without new files appends nothing"
    assert lakehouse.history(CLICKSTREAM_EVENTS_RAW, limit=1)[0].version == version

    first.write_text(first.read_text())  # the same file delivered again
    _land(landing, 1, "c.csv", _event(9, hour=1))
    again = Lakehouse(warehouse_root=str(tmp_path / "warehouse"))  # a new query from the same checkpoint
    assert _ingest(spark, again, landing).rows == 1
    assert lakehouse.read(spark, CLICKSTREAM_EVENTS_RAW).count() == 7
    assert Path(lakehouse.checkpoint_location(CLICKSTREAM_EVENTS_RAW)).is_dir()
    assert lakehouse.checkpoint_location(CLICKSTREAM_EVENTS_RAW) == str(
        (tmp_path / "warehouse/ecommerce_catalog/raw/_checkpoints/clickstream_events").resolve()
    )


def test_streaming_into_a_table_by_catalog_name_keeps_its_checkpoint_under_the_configured_root():
    assert (
        Lakehouse(checkpoint_root="/Volumes/ecommerce_catalog/raw/checkpoints/").checkpoint_location(
            CLICKSTREAM_EVENTS_RAW
        )
        == "/Volumes/ecommerce_catalog/raw/checkpoints/ecommerce_catalog/raw/clickstream_events"
    )
    with pytest.raises(ValueError, match="needs a checkpoint_root"):
        Lakehouse().checkpoint_location(CLICKSTREAM_EVENTS_RAW)
