"""Rules for bytes and names that other systems deliver: paths stay inside their root, texts stay short and clean.

Everything that lands (files, triggers, their names) is untrusted. The landing zones refuse any
path that could leave their root before a byte is read (`checked_relative`), and every text the
pipeline builds from what it found goes through `safe_text` before it reaches a table, a log, the
event log, a report or an email: printable, bounded, with no secret of the process in it.
"""

import re

from dagster import Config

from resources.settings import secret_values

MAX_PATH_CHARS = 1024
"""The longest relative path a landing zone accepts."""
REDACTED = "[redacted]"
_UNPRINTABLE = re.compile(r"[^\x20-\x7e\u00a0-\ud7ff\ue000-\ufffd]")


class LandingLimits(Config):
    """How much one delivered input may cost before it is rejected (each a setting, see the README)."""

    max_line_chars: int = 65_536
    """The longest line (or CSV record) a landing or feed file may have; a longer one rejects the file."""
    max_columns: int = 1_000
    """The most columns a header may name."""
    max_files_per_trigger: int = 16
    """The most file entries a feed trigger may list."""
    max_trigger_bytes: int = 1_048_576
    """The largest trigger file that is parsed."""
    max_message_chars: int = 1_000
    """The longest problem text stored or sent (longer ones are cut, saying how much was cut)."""
    max_files_per_tick: int = 500
    """The most files (or feed triggers) a sensor tick reads; the rest wait for the next tick."""
    tick_seconds: float = 30.0
    """How long a sensor tick reads files before it leaves the rest for the next tick (Dagster stops a tick at 60 s)."""


class PathRefused(ValueError):
    """A path a landing zone will not touch: outside its root, a link, or not a regular file."""


def checked_relative(relative: str) -> str:
    """`relative` when it is a plain path below a root: raises `PathRefused` (saying why) for an empty or absolute
    path, `..` or `.` segments, empty segments, backslashes, control characters, or more than `MAX_PATH_CHARS`."""
    shown = safe_text(relative, 120)
    if not isinstance(relative, str) or not relative:
        raise PathRefused("an empty path")
    if len(relative) > MAX_PATH_CHARS:
        raise PathRefused(f"a path of {len(relative)} characters (the limit is {MAX_PATH_CHARS})")
    if "\\" in relative:
        raise PathRefused(f"{shown}: backslashes are not allowed in a landing path")
    if _UNPRINTABLE.search(relative):
        raise PathRefused(f"{shown}: control or unprintable characters in a landing path")
    if relative.startswith("/"):
        raise PathRefused(f"{shown}: an absolute path; landing paths are relative to the landing root")
    segments = relative.split("/")
    if any(segment in ("", ".", "..") for segment in segments):
        raise PathRefused(f"{shown}: empty, '.' or '..' segments are not allowed in a landing path")
    return relative


def safe_text(text: object, limit: int = LandingLimits().max_message_chars) -> str:
    """`text` fit to be stored, logged or mailed: secrets of the environment replaced by `[redacted]`,
    unprintable characters by `?`, and cut to `limit` characters, saying how many were cut."""
    value = str(text)
    if len(value) > 4 * limit + 1024:
        value = value[: 4 * limit + 1024]  # bound the work below; the cut is stated from the original length
    for secret in secret_values():
        value = value.replace(secret, REDACTED)
    value = _UNPRINTABLE.sub("?", value)
    original = len(str(text))
    if original <= limit and len(value) <= limit:
        return value
    kept = value[: max(limit - 40, 0)]
    return f"{kept}… ({original - len(kept)} more characters cut)"
