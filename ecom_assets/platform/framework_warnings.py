"""The framework warnings this project knows and silences, each with why it is safe: the one list of them.

Dagster flags some APIs as beta, preview or superseded and warns each time one is used, so a
one-day CLI run printed dozens of identical lines that tell a user nothing to act on. Each API
below is used on purpose, with the Dagster version pinned in `pyproject.toml` and its behaviour
covered by the tests; any other warning still shows.

The package installs the filters when it is imported (`ecom_assets/__init__.py`); a warning the
Dagster CLI raises before it loads the code location is filtered through `PYTHONWARNINGS`, which
`dev.sh` sets from this list (`pythonwarnings()`).
"""

import re
import warnings

KNOWN_FRAMEWORK_WARNINGS = {
    "Parameter `backfill_policy` of function `asset` is currently in beta": (
        "single-run backfills (a range as one run on one Spark session) are the pipeline's design; the"
        " backfill tests prove a range runs as one run"
    ),
    "Specifying a partitions_def on an AssetCheckSpec is currently in preview": (
        "per-day check verdicts are what stewards review; the quality tests prove one evaluation per check and day"
    ),
    "Parameter `include_sources` of function `AssetSelection.": (
        "raised inside Dagster's own selection parser (`*`, `group:`), not by this project's code"
    ),
    "Function `dev_command` is superseded": (
        "`./dev.sh ui` runs `dagster dev` (webserver and daemon); `dg dev` is the same server behind a separate"
        " tool (dagster-dg-cli) this project does not ship, and the UI test drives what `dagster dev` serves"
    ),
    "Function `asset_materialize_command` is superseded": (
        "`dagster asset materialize` is the CLI the README documents and the tests drive; its successor,"
        " `dg launch`, is a separate tool (dagster-dg-cli) this project does not ship"
    ),
}
"""The start of each known warning's message, and why it is safe to silence."""


def silence_known_framework_warnings() -> None:
    """Install the filters for `KNOWN_FRAMEWORK_WARNINGS` (idempotent: the warnings module skips duplicates)."""
    for message in KNOWN_FRAMEWORK_WARNINGS:
        warnings.filterwarnings("ignore", message=re.escape(message))


def pythonwarnings() -> str:
    """The same filters as a `PYTHONWARNINGS` value, for warnings raised before this package is imported."""
    return ",".join(f"ignore:{message}" for message in KNOWN_FRAMEWORK_WARNINGS)
