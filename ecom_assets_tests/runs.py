"""Helpers reading what a test run reported: its check evaluations and its log; and landing a day's file."""

from datetime import date

from resources.landing import day_folder

DAY = date(2011, 1, 4)


def evaluations(result) -> dict[tuple[str, str, str], object]:
    """Check evaluations of a run by (asset, check, partition)."""
    return {("/".join(e.asset_key.path), e.check_name, e.partition): e for e in result.get_asset_check_evaluations()}


def write_day(landing_root, name: str, content: bytes, day: date = DAY):
    folder = landing_root / day_folder(day)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)


def run_log(run_days, result) -> str:
    return "\n".join(entry.user_message for entry in run_days.instance.all_logs(result.run_id))
