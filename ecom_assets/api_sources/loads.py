"""The loads dlt landed under `raw/api/<source>/`: which are complete, which files each holds, and their archiving.

dlt's filesystem destination writes a load's files as `<resource>/<load id>.<file id>.jsonl.gz`
and, only once every file of it is written, a record `_dlt_loads/<schema>__<load id>.jsonl`.
A load without that record is half-finished (dlt failed or is still writing): it is never loaded.
"""

import gzip
import re
import zlib
from dataclasses import dataclass, field
from typing import Any

from resources import LandingZone
from resources.api_sources import API_LANDING_FOLDER
from resources.untrusted import PathRefused

_DATA_FILE = re.compile(r"^(?P<resource>[a-z0-9_]+)/(?P<load_id>\d{1,12}\.\d{1,9})\.[0-9a-z]{1,32}\.jsonl(\.gz)?$")
_LOAD_RECORD = re.compile(r"^_dlt_loads/[a-z0-9_]+__(?P<load_id>\d{1,12}\.\d{1,9})\.jsonl$")
MAX_LINES_BYTES = 2 * 1024**3
"""The most bytes a landed file may hold uncompressed; a larger one (a compression bomb) rejects its load."""
MAX_LOADS_PER_RUN = 200
"""The most complete loads one bronze run takes; the rest wait for the next run (oldest first)."""


@dataclass(frozen=True)
class LandedLoad:
    """One complete dlt load: its id and its data files (paths relative to the landing root), by resource."""

    load_id: str
    files: dict[str, list[str]] = field(default_factory=dict)

    @property
    def loaded_at(self) -> float:
        """When dlt started the load, in seconds since the epoch (dlt's load ids are that time)."""
        return float(self.load_id)


@dataclass(frozen=True)
class LandedLoads:
    """What a source's landing folder holds: complete loads (oldest first), half-finished ones, and refused names."""

    complete: list[LandedLoad]
    incomplete: list[str]
    """Load ids with data files but no completion record: left alone until dlt completes or abandons them."""
    refused: list[str]
    """Entries whose names are not dlt's (or not regular files): never read."""


def source_folder(source: str) -> str:
    """The landing folder of one source's loads, relative to the landing root."""
    return f"{API_LANDING_FOLDER}/{source}"


def landed_loads(landing: LandingZone, source: str) -> LandedLoads:
    """The source's landed loads, from two listings (its data files and its completion records)."""
    folder = source_folder(source)
    root = landing.full_path("")
    try:
        listed = landing.list_folder(folder, ".jsonl.gz", recursive=True)
        records = landing.list_folder(f"{folder}/_dlt_loads", ".jsonl")
    except (FileNotFoundError, PathRefused):
        return LandedLoads([], [], [])
    completed = set()
    for entry in records:
        match = _LOAD_RECORD.match(entry.path.removeprefix(root).removeprefix(folder + "/"))
        if match and entry.regular:
            completed.add(match["load_id"])
    files: dict[str, dict[str, list[str]]] = {}
    refused = []
    for entry in listed:
        relative = entry.path.removeprefix(root)
        match = _DATA_FILE.match(relative.removeprefix(folder + "/"))
        if not match or not entry.regular:
            refused.append(relative)
            continue
        files.setdefault(match["load_id"], {}).setdefault(match["resource"], []).append(relative)
    complete = [LandedLoad(load_id, files[load_id]) for load_id in sorted(files, key=float) if load_id in completed]
    incomplete = sorted((load_id for load_id in files if load_id not in completed), key=float)
    return LandedLoads(complete[:MAX_LOADS_PER_RUN], incomplete, refused)


def archive_load(landing: LandingZone, load: LandedLoad) -> int:
    """Move the load's data files from `raw/api/...` to `archive/api/...` (same names); returns how many moved."""
    moved = 0
    for paths in load.files.values():
        for relative in paths:
            try:
                landing.move(relative, "archive/" + relative.removeprefix("raw/"))
            except FileNotFoundError:
                continue  # archived by a run before this one
            moved += 1
    return moved


class LoadRefused(ValueError):
    """A landed load that is not read: a file that is not gzip'd JSON lines, or too large uncompressed."""


def count_lines(landing: LandingZone, relative: str) -> int:
    """The lines of a landed `.jsonl.gz` file, streamed (bounded memory); `LoadRefused` when it is not gzip or
    holds more than `MAX_LINES_BYTES` uncompressed."""
    lines = 0
    size = 0
    last = b"\n"
    try:
        with landing.open_relative(relative) as handle, gzip.GzipFile(fileobj=handle) as unzipped:
            while chunk := unzipped.read(1024 * 1024):
                size += len(chunk)
                if size > MAX_LINES_BYTES:
                    raise LoadRefused(f"{relative} holds more than {MAX_LINES_BYTES} bytes uncompressed")
                lines += chunk.count(b"\n")
                last = chunk[-1:]
    except (OSError, EOFError, zlib.error) as error:
        raise LoadRefused(f"{relative} is not a whole gzip file ({type(error).__name__})") from None
    return lines + (0 if last == b"\n" else 1)


def set_aside_load(landing: LandingZone, load: LandedLoad) -> list[str]:
    """Move a refused load's data files to `quarantine/api/...` (same names); returns where they went."""
    moved = []
    for paths in load.files.values():
        for relative in paths:
            try:
                moved.append(landing.move(relative, "quarantine/" + relative.removeprefix("raw/")))
            except FileNotFoundError:
                continue
    return moved


def landed_row(item: Any, cursor_column: str, cursor_field: str, cursor_type: type) -> dict:
    """The row landed for one listed item: its `id` and its cursor (the item's `cursor_field`, landed as
    `cursor_column`) when they have the documented types, and the item itself as `object` (an item that is not an
    object is kept under `object.unexpected`)."""
    if not isinstance(item, dict):
        return {"id": None, cursor_column: None, "object": {"unexpected": item}}
    identifier, cursor = item.get("id"), item.get(cursor_field)
    well_typed = isinstance(cursor, cursor_type) and not isinstance(cursor, bool)
    return {
        "id": identifier if isinstance(identifier, str) else None,
        cursor_column: cursor if well_typed else None,
        "object": item,
    }
