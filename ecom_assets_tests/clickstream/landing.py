"""Hand-written event files for the clickstream tests, landed where the exporter puts an hour's files."""

from pathlib import Path

from ecom_assets.clickstream.transforms import RAW_EVENT_COLUMNS

HEADER = ",".join(RAW_EVENT_COLUMNS)


def land_events(root: Path, hour: int, name: str, *lines: str, end: str = "\n") -> Path:
    """Write `lines` under the export's header as `name` in hour `hour` of 2019-10-01 below `root`; returns the file."""
    path = root / f"raw/clickstream/2019/10/01/{hour:02d}/{name}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([HEADER, *lines]) + end, encoding="utf-8")
    return path
