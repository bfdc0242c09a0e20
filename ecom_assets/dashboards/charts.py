"""Altair charts with titles, labelled axes with units, and colour-blind-safe colours (Okabe and Ito's palette for
categories, viridis for amounts); a withheld day is a dashed rule with a marker, never a zero."""

import altair as alt
import pandas as pd

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
WITHHELD_COLOUR = "#D55E00"
HEIGHT = 280
MAX_DAYS_WITH_POINTS = 92
"""Over longer ranges a line has no point per day: hundreds of markers per chart slow the browser, and a gap in the
line still shows a day without a figure."""


def palette(domain: list[str]) -> alt.Scale:
    """A colour scale giving each of `domain` an Okabe–Ito colour, in order."""
    return alt.Scale(domain=domain, range=OKABE_ITO[: len(domain)] or OKABE_ITO[:1])


def dashes(domain: list[str]) -> alt.Scale:
    """A dash scale drawing the first of `domain` solid and the others dashed, each differently (not by colour
    alone)."""
    return alt.Scale(domain=domain, range=[[1, 0], [6, 3], [2, 2], [8, 2, 2, 2]][: len(domain)])


def daily_lines(frame: pd.DataFrame, x: str, series: dict[str, str], title: str, y_title: str) -> alt.LayerChart:
    """Lines over days, one per `series` (column → legend label), broken where a value is missing, with
    `frame`'s withheld days (`published` false) as dashed rules carrying their `note` on hover."""
    long = frame.melt(id_vars=[x], value_vars=list(series), var_name="series", value_name="value")
    long["series"] = long["series"].map(series)
    long["value"] = pd.to_numeric(long["value"], errors="coerce")
    lines = (
        alt.Chart(long, title=title)
        .mark_line(point=frame[x].nunique() <= MAX_DAYS_WITH_POINTS, invalid="break-paths-show-domains")
        .encode(
            x=alt.X(f"{x}:T", title="Day (UTC)"),
            y=alt.Y("value:Q", title=y_title),
            color=alt.Color("series:N", title=None, scale=palette(list(series.values()))),
            strokeDash=alt.StrokeDash("series:N", title=None, scale=dashes(list(series.values()))),
            tooltip=[alt.Tooltip(f"{x}:T", title="day"), "series:N", alt.Tooltip("value:Q", format=",.2f")],
        )
    )
    return (lines + withheld_rules(frame, x)).properties(height=HEIGHT)


def withheld_rules(frame: pd.DataFrame, x: str) -> alt.LayerChart:
    """A dashed rule and a triangle at the top for each day of `frame` not published, its `note` on hover."""
    held = frame.loc[~frame["published"], [x, "status", "note"]]
    base = alt.Chart(held).encode(
        x=alt.X(f"{x}:T"), tooltip=[alt.Tooltip(f"{x}:T", title="day"), "status:N", alt.Tooltip("note:N")]
    )
    rule = base.mark_rule(color=WITHHELD_COLOUR, strokeDash=[4, 3], strokeWidth=2)
    marker = base.mark_point(shape="triangle-down", filled=True, size=120, color=WITHHELD_COLOUR).encode(y=alt.value(6))
    return rule + marker


def bars(frame: pd.DataFrame, x: str, y: str, title: str, x_title: str, y_title: str, **encodings) -> alt.Chart:
    """Bars of `y` by `x`, sorted by `y` when `x` is nominal."""
    return (
        alt.Chart(frame, title=title)
        .mark_bar()
        .encode(
            x=alt.X(x, title=x_title, sort="-y" if x.endswith(":N") else None), y=alt.Y(y, title=y_title), **encodings
        )
        .properties(height=HEIGHT)
    )


def heatmap(
    frame: pd.DataFrame, x: str, y: str, value: str, title: str, value_title: str, tooltip: list | None = None
) -> alt.Chart:
    """A heatmap of `value` (viridis) over `x` by `y`; a missing cell stays blank."""
    return (
        alt.Chart(frame, title=title)
        .mark_rect()
        .encode(
            x=alt.X(x, title="Day (UTC)", axis=alt.Axis(labelOverlap="greedy")),
            y=alt.Y(y, title=None),
            color=alt.Color(value, title=value_title, scale=alt.Scale(scheme="viridis")),
            tooltip=tooltip or [x, y, value],
        )
        .properties(height=max(HEIGHT, 30 * frame[y.split(":")[0]].nunique()))
    )
