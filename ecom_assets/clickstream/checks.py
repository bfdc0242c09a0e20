"""The clickstream's own checks: a funnel's figures agree with each other."""

from collections.abc import Mapping
from typing import Any

from ecom_assets.platform.outcomes import CheckOutcome, jsonable


def funnel_consistency(figures: Mapping[str, Any]) -> CheckOutcome:
    """Whether a window's funnel figures agree with each other (see `transforms.clickstream.funnel`).

    Each step's sessions ≤ sessions, bot sessions ≤ sessions, purchases ≥ purchase sessions, and
    revenue > 0 exactly when there are purchases (a purchase's price is > 0).
    """
    sessions = figures["sessions"]
    broken = [
        *(
            f"{step} {figures[step]} > sessions {sessions}"
            for step in ("view_sessions", "cart_sessions", "purchase_sessions", "bot_sessions")
            if figures[step] > sessions
        ),
        *(
            [f"purchases {figures['purchases']} < purchase_sessions {figures['purchase_sessions']}"]
            if figures["purchases"] < figures["purchase_sessions"]
            else []
        ),
        *(
            [f"revenue {figures['revenue']} with {figures['purchases']} purchase(s)"]
            if (figures["revenue"] > 0) != (figures["purchases"] > 0)
            else []
        ),
    ]
    observed = {
        name: jsonable(figures[name])
        for name in (
            "sessions",
            "view_sessions",
            "cart_sessions",
            "purchase_sessions",
            "purchases",
            "revenue",
            "bot_sessions",
        )
    }
    if broken:
        return CheckOutcome(False, "; ".join(broken), observed)
    return CheckOutcome(True, f"consistent: {sessions} session(s), {figures['purchases']} purchase(s)", observed)
