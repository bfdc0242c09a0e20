"""Text for the pages: table text made inert in markdown, tables in markdown, money."""

import re

import pandas as pd

RUN_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def plain(value: object) -> str:
    """Text from a table (a reason, a summary: possibly derived from landed files) made inert in markdown: no link,
    image or formatting it carries is rendered, and line breaks become spaces."""
    return MARKDOWN_SPECIALS.sub(r"\\\1", " ".join(str(value).split()))


def markdown_table(frame: pd.DataFrame, markdown_columns: tuple[str, ...] = ()) -> str:
    """A markdown table of the frame; every cell is `plain` except those of `markdown_columns` (our own links)."""
    header = "| " + " | ".join(frame.columns) + " |\n| " + " | ".join("---" for _ in frame.columns) + " |\n"
    rows = (
        "| "
        + " | ".join(str(v) if c in markdown_columns else plain(v) for c, v in zip(frame.columns, row, strict=True))
        + " |"
        for row in frame.itertuples(index=False)
    )
    return header + "\n".join(rows)


def money(value: object) -> str:
    """A money figure as `£1,234.56`, or an em dash when there is none."""
    return "—" if value is None or pd.isna(value) else f"£{float(value):,.2f}"
