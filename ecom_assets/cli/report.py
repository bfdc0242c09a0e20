"""The data stewards' report: check results and rejected rows of a date range as one self-contained HTML file.

ecom-dq-report --start 2011-01-01 --end 2011-03-31 [--out dq-report.html]

Reads `ecommerce_catalog.logs.data_quality_results` and `ecommerce_catalog.logs.etl_errors`
where the settings (`ECOM_*`, see `resources.settings`) say the tables are: by path with
delta-rs, no Spark and no Dagster needed; by catalog name with the cluster's Spark. The page has
inline SVG plots and no external assets, so it opens anywhere and can be mailed or archived.
"""

import argparse
import html
import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd

from ecom_assets.platform.checks import PUBLISHED_CHECK, RESULTS_SCHEMA
from ecom_assets.platform.dates import DateRange
from ecom_assets.platform.errors import ETL_ERROR_COLUMNS
from ecom_assets.platform.privacy import masked_record
from ecom_assets.platform.tables import DATA_QUALITY_RESULTS, ETL_ERRORS, TableName
from resources.settings import Settings
from resources.table_reader import TableReader

PLOTTED_METRICS = {
    ("figures_anomaly", "gross_revenue"): "Gross revenue (GBP)",
    ("figures_anomaly", "order_count"): "Orders",
    ("figures_anomaly", "avg_order_value"): "Average order value (GBP)",
    ("figures_anomaly", "returns_share"): "Returns as a share of gross revenue",
    ("rejected_share_anomaly", None): "Share of bronze rows rejected by silver",
}
"""Each plotted series: its anomaly check and, for a check judging several metrics, the metric."""
SAMPLE_ERRORS_PER_TYPE = 5
"""Error rows shown per error type: a burst of one kind must not hide the others."""
_WIDTH, _HEIGHT = 760, 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 78, 16, 12, 40
"""Plot margins: the left one holds the value axis, the bottom one the date axis."""
_VALUE_TICKS, _DATE_TICKS = 4, 6


def latest_results(results: pd.DataFrame) -> pd.DataFrame:
    """The newest evaluation of each check, asset and partition (reruns supersede earlier results)."""
    if results.empty:
        return results
    ordered = results.sort_values("evaluated_at")
    return ordered.groupby(["asset", "check_name", "partition_date"], as_index=False).tail(1)


def metric_series(latest: pd.DataFrame, check_name: str, metric: str | None = None) -> list[dict]:
    """Per day with a value of an anomaly check's metric: value, expected band and verdict, in date order.

    `metric` names one metric of a check that judges several (its facets are keyed by metric);
    None reads a single-metric check.
    """
    points = []
    for row in latest[latest["check_name"] == check_name].sort_values("partition_date").itertuples():
        details = json.loads(row.observed)
        observed, expected = details["observed"], details.get("expected") or {}
        if metric is not None:
            observed, expected = observed.get(metric, {}), expected.get(metric, {})
        if observed.get("value") is None:
            continue
        points.append(
            {
                "day": row.partition_date,
                "value": observed["value"],
                "low": expected.get("low"),
                "high": expected.get("high"),
                "passed": observed.get("passed", bool(row.passed)),
                "history_days": observed.get("history_days"),
                "rule": observed.get("rule"),
            }
        )
    return points


def svg_chart(points: Sequence[dict], title: str) -> str:
    """A line chart of the values over the days, with dated and valued axes, the expected band shaded, flagged days
    marked red, and a note on the days that have no band (too little history to judge them)."""
    if not points:
        return f"<h3>{html.escape(title)}</h3><p class='muted'>No judged days in the range.</p>"
    values = [p["value"] for p in points] + [p[k] for p in points for k in ("low", "high") if p[k] is not None]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    first, last = points[0]["day"], points[-1]["day"]
    days = max((last - first).days, 1)
    plot_bottom = _HEIGHT - _BOTTOM

    def x(day: date) -> float:
        return _LEFT + (day - first).days / days * (_WIDTH - _LEFT - _RIGHT)

    def y(value: float) -> float:
        return plot_bottom - (value - low) / span * (plot_bottom - _TOP)

    banded = [p for p in points if p["low"] is not None]
    band = ""
    if banded:
        upper = " ".join(f"{x(p['day']):.1f},{y(p['high']):.1f}" for p in banded)
        lower = " ".join(f"{x(p['day']):.1f},{y(p['low']):.1f}" for p in reversed(banded))
        band = f"<polygon points='{upper} {lower}' class='band'/>"
    line = " ".join(f"{x(p['day']):.1f},{y(p['value']):.1f}" for p in points)
    dots = "".join(
        f"<circle cx='{x(p['day']):.1f}' cy='{y(p['value']):.1f}' r='{2 if p['passed'] else 4}' "
        f"class='{'ok' if p['passed'] else 'flag'}'><title>{p['day']}: {p['value']:,.4g}</title></circle>"
        for p in points
    )
    flagged = sum(1 for p in points if not p["passed"])
    return (
        f"<h3>{html.escape(title)} <span class='muted'>— {flagged} of {len(points)} day(s) flagged</span></h3>"
        f"<svg viewBox='0 0 {_WIDTH} {_HEIGHT}' width='{_WIDTH}' height='{_HEIGHT}' role='img' "
        f"aria-label='{html.escape(title)}'>{_axes(first, days, low, span, x, y, title)}{band}"
        f"<polyline points='{line}' class='line'/>{dots}</svg>{_unbanded_note(points)}"
    )


def _axes(first: date, days: int, low: float, span: float, x, y, title: str) -> str:
    """Gridlines and labels: values on the left, dates (UTC days) below, each axis named."""
    parts = []
    for tick in range(_VALUE_TICKS):
        value = low + span * tick / (_VALUE_TICKS - 1)
        parts.append(
            f"<line x1='{_LEFT}' x2='{_WIDTH - _RIGHT}' y1='{y(value):.1f}' y2='{y(value):.1f}' class='grid'/>"
            f"<text x='{_LEFT - 4}' y='{y(value) + 3:.1f}' text-anchor='end'>{value:,.4g}</text>"
        )
    ticks = sorted({round(days * tick / (_DATE_TICKS - 1)) for tick in range(_DATE_TICKS)})
    for offset in ticks:
        day = first + timedelta(days=offset)
        parts.append(
            f"<line x1='{x(day):.1f}' x2='{x(day):.1f}' y1='{_TOP}' y2='{_HEIGHT - _BOTTOM}' class='grid'/>"
            f"<text x='{x(day):.1f}' y='{_HEIGHT - _BOTTOM + 14}' text-anchor='middle'>{day.isoformat()}</text>"
        )
    middle = (_TOP + _HEIGHT - _BOTTOM) / 2
    parts.append(
        f"<text x='{(_LEFT + _WIDTH - _RIGHT) / 2:.0f}' y='{_HEIGHT - 6}' text-anchor='middle' class='axis'>"
        "day (UTC)</text>"
        f"<text x='12' y='{middle:.0f}' text-anchor='middle' class='axis' transform='rotate(-90 12 {middle:.0f})'>"
        f"{html.escape(title)}</text>"
    )
    return "".join(parts)


def _unbanded_note(points: Sequence[dict]) -> str:
    """Why some days have no expected band: the rule needs more history than they had."""
    unbanded = [p for p in points if p["low"] is None]
    if not unbanded:
        return ""
    histories = [p["history_days"] for p in unbanded if p["history_days"] is not None]
    had = f" (they had {min(histories)} to {max(histories)} day(s))" if histories else ""
    rule = f" Rule: {html.escape(unbanded[0]['rule'])}." if unbanded[0].get("rule") else ""
    return (
        f"<p class='muted'>{len(unbanded)} day(s) without an expected band, from {unbanded[0]['day']} to"
        f" {unbanded[-1]['day']}: too little history in the trailing window to judge them{had}, so they are"
        f" plotted but not judged.{rule}</p>"
    )


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _sample(observed_json: str) -> str:
    sample = json.loads(observed_json).get("failing_sample") or []
    return json.dumps([masked_record(row) for row in sample[:3]], ensure_ascii=False) if sample else ""


def render_report(results: pd.DataFrame, errors: pd.DataFrame, days: DateRange) -> str:
    """The report's HTML for the given check results and error rows of `days`."""
    latest = latest_results(results)
    failed = latest[~latest["passed"]] if not latest.empty else latest
    summary_rows = []
    if not latest.empty:
        for (asset, check, severity), group in latest.groupby(["asset", "check_name", "severity"]):
            summary_rows.append((asset, check, severity, len(group), int((~group["passed"]).sum())))
    failure_rows = [
        (r.partition_date, r.asset, r.check_name, r.severity, r.summary, _sample(r.observed))
        for r in failed.sort_values(["partition_date", "severity", "check_name"]).itertuples()
        if r.check_name != PUBLISHED_CHECK.name
    ]
    stale_rows = [
        (r.partition_date, r.asset, r.summary.removeprefix("quarantined, not published: "))
        for r in failed.sort_values(["partition_date", "asset"]).itertuples()
        if r.check_name == PUBLISHED_CHECK.name
    ]
    error_counts = []
    if not errors.empty:
        counted = errors.groupby(["asset", "error_type"]).size().reset_index(name="rows")
        error_counts = [tuple(r) for r in counted.itertuples(index=False)]
    error_sample = [
        (r.partition_date, r.source_file_name, r.error_type, r.error_message, r.record)
        for r in errors.sort_values(["partition_date", "source_file_name"])
        .groupby("error_type")
        .head(SAMPLE_ERRORS_PER_TYPE)
        .itertuples()
    ]
    charts = "".join(
        svg_chart(metric_series(latest, check, metric), title) for (check, metric), title in PLOTTED_METRICS.items()
    )
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    failed_errors = int((failed["severity"] == "ERROR").sum()) if not failed.empty else 0
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Data quality {days}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; max-width: 1100px; }}
table {{ border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.85rem; }}
th, td {{ border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }}
td {{ max-width: 36em; overflow-wrap: anywhere; white-space: pre-wrap; }}
th {{ background: #f3f3f3; }} .muted {{ color: #777; font-weight: normal; font-size: 0.9rem; }}
svg text {{ font-size: 10px; fill: #555; }} svg .axis {{ font-size: 11px; fill: #222; }}
.grid {{ stroke: #eee; }} .band {{ fill: #dbeafe; }} .line {{ fill: none; stroke: #2563eb; }}
.ok {{ fill: #2563eb; }} .flag {{ fill: #dc2626; }}
</style></head><body>
<h1>Data quality report, {days}</h1>
<p class="muted">Generated {generated} from {DATA_QUALITY_RESULTS.full_name} and {ETL_ERRORS.full_name};
latest evaluation per check and day.</p>
<p><strong>{len(latest)}</strong> check evaluation(s), <strong>{len(failed)}</strong> failed
(<strong>{failed_errors}</strong> blocking ERROR), <strong>{len(errors)}</strong> error-table row(s).</p>
<h2>Days kept out: stale in their tables</h2>
{
        "<p class='muted'>A blocking check failed on these days (here or upstream), so each table listed kept the rows"
        " it had before (or none) and its figures for the day are not current; fix the cause and rerun the day.</p>"
        + _table(["day", "table", "why"], stale_rows)
        if stale_rows
        else "<p>No day kept out: every table published every day of the range.</p>"
    }
<h2>Checked metrics over time</h2>
<p class="muted">Blue band: expected range from the trailing window; red dots: days flagged.</p>
{charts}
<h2>Failed checks</h2>
{
        _table(["day", "asset", "check", "severity", "finding", "failing rows (sample)"], failure_rows)
        if failure_rows
        else "<p>No failed checks in the range.</p>"
    }
<h2>Checks by asset</h2>
{_table(["asset", "check", "severity", "days evaluated", "days failed"], summary_rows)}
<h2>Rejected rows and file notices</h2>
{_table(["asset", "error type", "rows"], error_counts) if error_counts else "<p>No error rows in the range.</p>"}
{_table(["day", "file", "error type", "message", "record"], error_sample) if error_sample else ""}
</body></html>
"""


def read_range(reader: TableReader, table: TableName, columns: Sequence[str], days: DateRange) -> pd.DataFrame:
    """A log table's rows of `days` as pandas; no rows (with the table's columns) when it does not exist yet."""
    if not reader.exists(table):
        return pd.DataFrame(columns=list(columns))
    return reader.to_pandas(table, [("partition_date", ">=", days.start), ("partition_date", "<=", days.end)])


def main(argv: list[str] | None = None) -> None:
    """Command line: write the report of a date range."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=date.fromisoformat, required=True, help="first day, YYYY-MM-DD")
    parser.add_argument("--end", type=date.fromisoformat, required=True, help="last day, YYYY-MM-DD")
    parser.add_argument("--out", type=Path, help="the HTML file (default: dq-report.html in the output folder)")
    args = parser.parse_args(argv)
    days = DateRange(args.start, args.end)
    settings = Settings.from_environment()
    args.out = args.out or settings.output_root / "dq-report.html"
    reader = TableReader(settings)
    results = read_range(reader, DATA_QUALITY_RESULTS, RESULTS_SCHEMA.names, days)
    errors = read_range(reader, ETL_ERRORS, ETL_ERROR_COLUMNS, days)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render_report(results, errors, days), encoding="utf-8")
    latest = latest_results(results)
    failed = int((~latest["passed"].astype(bool)).sum())
    print(f"wrote {args.out} ({len(latest)} evaluations, {failed} failed, {len(errors)} error rows)")


if __name__ == "__main__":
    main()
