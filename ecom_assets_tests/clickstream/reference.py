"""Plain-Python computations of the clickstream's figures, to check the Spark transforms against."""

from collections import Counter, defaultdict
from datetime import datetime
from decimal import Decimal
from pathlib import Path

SHARED_SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "data" / "clickstream" / "2019-10-01-sample.csv"
"""The real REES46 sample beside the project (tests that need it skip where it is absent)."""


def independent_hourly_funnel(lines: list[list[str]], bot_limit: int) -> dict[datetime, dict]:
    """The hourly funnel worked out in plain Python from the export's lines (all with a session)."""
    per_minute = Counter((line[7], line[0][:16]) for line in lines)
    bots = {(user, minute[:13]) for (user, minute), events in per_minute.items() if events > bot_limit}
    hours: dict[datetime, dict] = defaultdict(
        lambda: (
            {"sessions": set(), "view": set(), "cart": set(), "purchase": set(), "bot": set(), "purchases": 0}
            | {"revenue": Decimal("0.00")}
        )
    )
    for event_time, event_type, *_, price, user, session in lines:
        hour = hours[datetime.strptime(event_time[:13], "%Y-%m-%d %H")]
        hour["sessions"].add(session)
        if event_type in ("view", "cart", "purchase"):
            hour[event_type].add(session)
        if (user, event_time[:13]) in bots:
            hour["bot"].add(session)
        if event_type == "purchase":
            hour["purchases"] += 1
            hour["revenue"] += Decimal(price)
    return {
        start: {
            "sessions": len(h["sessions"]),
            "view_sessions": len(h["view"]),
            "cart_sessions": len(h["cart"]),
            "purchase_sessions": len(h["purchase"]),
            "purchases": h["purchases"],
            "revenue": h["revenue"],
            "conversion_rate": round(len(h["purchase"]) / len(h["sessions"]), 4),
            "bot_sessions": len(h["bot"]),
        }
        for start, h in hours.items()
    }
