"""Bronze asset: landing CSV files into `ecommerce_catalog.raw.order_transactions`, with its checks."""

import functools
from collections import Counter, defaultdict
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from dagster import AssetExecutionContext
from pyspark.sql import DataFrame, SparkSession

from ecom_assets.platform.checks import SCHEMA_CHECK, WARN, Check
from ecom_assets.platform.dates import DateRange
from ecom_assets.platform.quality_policy import DataQualityPolicy
from ecom_assets.platform.table_asset import (
    TableStep,
    staged,
    table_asset,
)
from ecom_assets.platform.table_checks import conservation_outcomes, schema_outcomes
from ecom_assets.platform.tables import ETL_ERRORS
from ecom_assets.platform.trading_calendar import TradingCalendar
from ecom_assets.sales.checks import delivery_outcomes, header_outcomes
from ecom_assets.sales.schemas import BronzeOrderTransactions
from ecom_assets.sales.tables import LANDING_DELIVERIES, ORDER_TRANSACTIONS
from ecom_assets.sales.transforms.bronze import (
    BRONZE_PARTITION_COLUMNS,
    FILE_REJECTIONS,
    FileErrorEntry,
    file_error_entries,
    file_errors,
    landing_deliveries,
    lines_go_to_error_table,
    quarantined_line_errors,
    read_landing_csv,
    rejected_file_lines,
    to_bronze,
)
from ecom_assets.sales.transforms.landing_files import FileProfile, profile_landing_file, refused_file_profile
from resources import Lakehouse, LandingZone
from resources.landing import QUARANTINE_PREFIX, day_folder, file_name
from resources.untrusted import PathRefused, safe_text

HEADER_CHECK = Check(
    "header_conformity", "Every landing file of the day has a readable header carrying all eight source columns."
)
CONSERVATION_CHECK = Check(
    "row_conservation", "Data lines in the day's files = rows stored in bronze + lines rejected with their file."
)
DELIVERY_CHECK = Check(
    "delivery",
    "A file arrived for every trading day of the trading calendar by its cutoff; a closed day needs none. "
    "WARN, so the other days of a run still flow: gold withholds the figures of such a day itself.",
    WARN,
)
BRONZE_CHECKS = (SCHEMA_CHECK, HEADER_CHECK, CONSERVATION_CHECK, DELIVERY_CHECK)


@table_asset(
    ORDER_TRANSACTIONS,
    quarantines=True,
    group="bronze",
    description="Each day's landing rows one-to-one, as strings, with ingestion date, file and partition date.",
    checks=BRONZE_CHECKS,
)
def order_transactions(
    step: TableStep,
    landing: LandingZone,
    quality: DataQualityPolicy,
) -> None:
    """Read the days' landing files, check them, and replace in bronze the days that pass (reruns never duplicate).

    A day with a file that cannot be read, or whose rows fail a blocking check, is quarantined:
    its stored rows stay as they were, its lines go to `etl_errors` with the reason, an unreadable
    file moves to the quarantine folder (where it keeps the day quarantined until it is delivered
    again), and the run's other days go on. Each day's delivery (files, lines, and whether a
    trading day's file is missing) is recorded in `logs.landing_deliveries`, from which gold learns
    which days are complete.
    """
    days = step.days
    listing = landing.files_by_day(days)
    files_by_day = listing.files
    files = [path for day_files in files_by_day.values() for path in day_files]
    step.log.info(f"{len(files)} landing file(s) on {len(files_by_day)} of {len(days)} day(s) in {days}")
    profiles = {path: profile_delivered_file(landing, path) for path in files}
    quarantine = landing.quarantined_by_day(days)
    awaiting = _awaiting_redelivery(landing, quarantine, files_by_day)
    session = step.session
    spark_paths = {path: landing.spark_path(path) for path in files}
    bronze = to_bronze(_read_readable_files(session, profiles, spark_paths), ingestion_date=datetime.now(UTC).date())
    entries = [entry for path, profile in sorted(profiles.items()) for entry in file_error_entries(path, profile)]
    rejected_lines = rejected_file_lines(
        session,
        [
            (path, spark_paths[path], profile.problem, profile.encoding)
            for path, profile in sorted(profiles.items())
            if lines_go_to_error_table(profile)
        ],
    )
    rejected_by_day = _rejected_lines_by_day(profiles, files_by_day)
    deliveries = _deliveries(days, files_by_day, profiles, awaiting, quality.trading_calendar())
    problems = {path: profile.problem for path, profile in profiles.items() if profile.problem}
    problems |= {path: reason for day_awaiting in awaiting.values() for path, reason in day_awaiting.items()}
    problems |= {day_folder(day): reason for day, reason in listing.refused.items()}
    files_judged = {
        day: [
            *files_by_day.get(day, []),
            *awaiting.get(day, {}),
            *([day_folder(day)] if day in listing.refused else []),
        ]
        for day in days
    }
    reporter = step.reporter
    with staged(bronze) as bronze:
        with reporter.computing():
            schema = schema_outcomes(BronzeOrderTransactions, bronze, "partition_date", days.days())
            counts_by_day = {
                day: {
                    "lines_in_files": sum(profiles[path].data_lines for path in files_by_day.get(day, [])),
                    "bronze_rows": schema[day].observed.get("rows", 0),
                    "lines_rejected": rejected_by_day[day],
                }
                for day in days
            }
            reporter.add(SCHEMA_CHECK, schema)
            reporter.add(HEADER_CHECK, header_outcomes(days.days(), files_judged, problems))
            reporter.add(DELIVERY_CHECK, delivery_outcomes(deliveries))
            reporter.add(
                CONSERVATION_CHECK,
                conservation_outcomes(days.days(), counts_by_day, "lines_in_files", ("bronze_rows", "lines_rejected")),
            )
        quarantined = reporter.replace_passing_days(
            step.lakehouse, bronze, "partition_date", days, partition_by=BRONZE_PARTITION_COLUMNS
        )
        table = step.table_metadata(bronze)
        now = datetime.now(UTC)
        held_lines = (
            quarantined_line_errors(bronze, quarantined, ORDER_TRANSACTIONS.full_name, step.step_name, now)
            if quarantined
            else None
        )
        _record_file_errors(step.context, session, step.lakehouse, days, entries, rejected_lines, held_lines)
    _move_rejected_files_to_quarantine(step.context, landing, profiles)
    _release_redelivered(landing, quarantine, files_by_day, quarantined)
    step.lakehouse.replace_date_range(
        LANDING_DELIVERIES, landing_deliveries(session, list(deliveries.values())), "partition_date", days
    )
    step.add_daily_metadata(
        {
            day: {
                "delivery_status": deliveries[day]["delivery_status"],
                "files_read": len(files_by_day.get(day, [])),
                "files_rejected": deliveries[day]["files_rejected"],
                "rows_in": counts["lines_in_files"],
                "rows_out": 0 if day in quarantined else counts["bronze_rows"],
                "rows_rejected": counts["lines_rejected"],
                "quarantined": day in quarantined,
            }
            for day, counts in counts_by_day.items()
        },
    )
    step.metadata.update(
        {
            "days_in_run": len(days),
            "days_quarantined": len(quarantined),
            "error_table": ETL_ERRORS.full_name,
            **table,
        }
    )


def profile_delivered_file(landing: LandingZone, path: str) -> FileProfile:
    """The profile of a listed landing file, streamed within the landing zone's limits; a file that cannot be
    opened or read (a link, a folder, a file that vanished, a failing read) gets a profile saying why."""
    try:
        return profile_landing_file(lambda: landing.open(path), landing.limits)
    except PathRefused as refused:
        return refused_file_profile(f"refused, not read: {refused}")
    except FileNotFoundError:
        return refused_file_profile("the file vanished between the listing and its reading; rerun the day")
    except Exception as error:  # noqa: BLE001 - one unreadable file is one rejected file
        return refused_file_profile(
            safe_text(f"the file could not be read ({type(error).__name__}: {error})", landing.limits.max_message_chars)
        )


def _awaiting_redelivery(
    landing: LandingZone, quarantine: Mapping[date, list[str]], files_by_day: Mapping[date, list[str]]
) -> dict[date, dict[str, str]]:
    """Quarantined files (`quarantine`, by day) with no file of the same name delivered since, by day, each with
    what to do about it."""
    awaiting: dict[date, dict[str, str]] = {}
    for day, quarantined_files in quarantine.items():
        delivered = {file_name(path) for path in files_by_day.get(day, [])}
        for path in quarantined_files:
            if file_name(path) not in delivered:
                problem = profile_delivered_file(landing, path).problem or "it reads now"
                awaiting.setdefault(day, {})[path] = safe_text(
                    f"{file_name(path)} waits in quarantine ({problem}): deliver a fixed file of that name to"
                    f" {day_folder(day)}/ and rerun the day, or delete it from {day_folder(day, QUARANTINE_PREFIX)}/"
                    " to accept the day without it",
                    2 * landing.limits.max_message_chars,
                )
    return awaiting


def _move_rejected_files_to_quarantine(
    context: AssetExecutionContext, landing: LandingZone, profiles: Mapping[str, FileProfile]
) -> None:
    """Move every file that could not be read to its day's quarantine folder (a link moves as a link), saying why."""
    for path, profile in sorted(profiles.items()):
        if profile.problem:
            try:
                destination = landing.quarantine(path)
            except FileNotFoundError:
                context.log.error(f"skipped landing file {path}: {profile.problem}; it is gone, nothing to quarantine")
                continue
            context.log.error(f"skipped landing file {path}: {profile.problem}; moved to {destination}")


def _release_redelivered(
    landing: LandingZone,
    quarantine: Mapping[date, list[str]],
    files_by_day: Mapping[date, list[str]],
    quarantined: Mapping[date, str],
) -> None:
    """Delete the quarantined copies (`quarantine`, by day, as listed before the run moved any) of files delivered
    again, on the days just published."""
    for day, quarantined_files in quarantine.items():
        if day not in quarantined:
            delivered = {file_name(path) for path in files_by_day.get(day, [])}
            for path in quarantined_files:
                if file_name(path) in delivered:
                    landing.delete(path)


def _deliveries(
    days: DateRange,
    files_by_day: Mapping[date, list[str]],
    profiles: Mapping[str, FileProfile],
    awaiting: Mapping[date, Mapping[str, str]],
    calendar: TradingCalendar,
) -> dict[date, dict[str, Any]]:
    """Each day's `landing_deliveries` row: files and data lines that arrived, and the delivery status now.

    A quarantined file awaiting re-delivery counts as a delivered file that could not be read.
    """
    now = datetime.now(UTC)
    deliveries = {}
    for day in days:
        files = files_by_day.get(day, [])
        waiting = len(awaiting.get(day, {}))
        rejected = sum(1 for path in files if profiles[path].problem) + waiting
        delivered = len(files) + waiting
        deliveries[day] = {
            "partition_date": day,
            "delivery_status": calendar.delivery_status(day, delivered, delivered - rejected, now),
            "closure": calendar.closure(day),
            "files_delivered": delivered,
            "files_rejected": rejected,
            "data_lines": sum(profiles[path].data_lines for path in files),
            "delivery_due": calendar.delivery_due(day),
            "recorded_at": now,
        }
    return deliveries


def _read_readable_files(
    session: SparkSession, profiles: Mapping[str, FileProfile], spark_paths: Mapping[str, str]
) -> DataFrame:
    """Read every file whose header names the source columns: one Spark read per distinct header and charset.

    A bad file never stops the others. `spark_paths` maps each landing path to where Spark reads it.
    """
    files_by_format = defaultdict(list)
    for path, profile in sorted(profiles.items()):
        if not profile.problem and profile.data_lines:
            files_by_format[(profile.header, profile.encoding)].append(spark_paths[path])
    return functools.reduce(
        DataFrame.unionByName,
        [read_landing_csv(session, paths, header, encoding) for (header, encoding), paths in files_by_format.items()],
        read_landing_csv(session, []),
    )


def _rejected_lines_by_day(profiles: Mapping[str, FileProfile], files_by_day: Mapping[date, list[str]]) -> Counter:
    """The data lines of the files rejected whole, by day (in the error table, or waiting with their file)."""
    return Counter(
        {
            day: sum(profiles[path].data_lines for path in paths if profiles[path].problem)
            for day, paths in files_by_day.items()
        }
    )


def _record_file_errors(
    context: AssetExecutionContext,
    session: SparkSession,
    lakehouse: Lakehouse,
    days: DateRange,
    entries: list[FileErrorEntry],
    rejected_lines: DataFrame,
    held_lines: DataFrame | None,
) -> None:
    """Log tolerated quirks; replace this asset's error rows for the days with theirs, the lines
    of files rejected whole (`rejected_lines`) and the lines of quarantined days (`held_lines`)."""
    for path, _, error_type, message, _ in entries:
        if error_type not in FILE_REJECTIONS:  # a rejection is logged where its file moves to quarantine
            context.log.warning(f"landing file {path}: {error_type}: {message}")
    scope = {"asset": ORDER_TRANSACTIONS.full_name}
    if not entries and held_lines is None:
        lakehouse.delete_date_range(ETL_ERRORS, "partition_date", days, scope)
        return
    step = context.op_execution_context.op_def.name
    errors = file_errors(session, entries, ORDER_TRANSACTIONS.full_name, step, datetime.now(UTC), rejected_lines)
    if held_lines is not None:
        errors = errors.unionByName(held_lines)
    lakehouse.replace_date_range(ETL_ERRORS, errors, "partition_date", days, scope=scope)
