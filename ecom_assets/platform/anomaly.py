"""A robust anomaly rule: a day's value against the median and MAD of its trailing window."""

import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ecom_assets.platform.outcomes import CheckOutcome

MAD_TO_SIGMA = 1.4826
"""Scales the median absolute deviation to a standard deviation for normally distributed data."""


@dataclass(frozen=True)
class AnomalyRule:
    """Flag a value outside median ± max(threshold × 1.4826 × MAD, relative_floor × |median|, absolute_floor).

    The median and MAD are taken over the values of the `window_days` periods (calendar days, or
    hours for an hourly rule: `period`) before the judged one (periods without a value, e.g. days
    without trading, are left out). With fewer than
    `min_history` values the day is not judged. The floors keep a flat history (MAD 0) from
    flagging every tiny wobble.
    """

    window_days: int = 28
    threshold: float = 5.0
    min_history: int = 10
    relative_floor: float = 0.05
    absolute_floor: float = 0.0
    non_negative: bool = True
    """The metric cannot be negative: the expected range starts at 0 at the lowest."""
    period: timedelta = timedelta(days=1)
    """The length of one period of the window: a day, or an hour for hourly figures."""

    def describe(self) -> str:
        """The rule in words, for check metadata and emails."""
        return (
            f"outside median ± max({self.threshold} × 1.4826 × MAD, {self.relative_floor:.0%} of |median|, "
            f"{self.absolute_floor:g}) of the trailing {self.window_days} {self._unit}s (at least {self.min_history}"
            " values)"
        )

    @property
    def _unit(self) -> str:
        return "hour" if self.period == timedelta(hours=1) else "day"

    def judge(self, metric: str, day: date | datetime, values: Mapping[date | datetime, float]) -> CheckOutcome:
        """Judge `values[day]` against the window before it (`day`: a day, or an hour's start for an hourly rule); a
        period without a value passes unjudged."""
        observed = values.get(day)
        window = [day - self.period * offset for offset in range(self.window_days, 0, -1)]
        history = [values[d] for d in window if d in values]
        facts = {"metric": metric, "value": observed, f"history_{self._unit}s": len(history), "rule": self.describe()}
        if observed is None:
            reason = "no trading" if self._unit == "day" else "no sessions"
            return CheckOutcome(True, f"no {metric} in this {self._unit} ({reason}); not judged", facts)
        if len(history) < self.min_history:
            return CheckOutcome(
                True, f"only {len(history)} {self._unit}(s) of history, {self.min_history} needed; not judged", facts
            )
        median = statistics.median(history)
        mad = statistics.median(abs(value - median) for value in history)
        allowed = max(self.threshold * MAD_TO_SIGMA * mad, self.relative_floor * abs(median), self.absolute_floor)
        low, high = median - allowed, median + allowed
        if self.non_negative:
            low = max(low, 0.0)
        expected = {"median": median, "mad": mad, "low": low, "high": high}
        passed = low <= observed <= high
        verdict = "within" if passed else "outside"
        summary = f"{metric} {observed:,.4g} is {verdict} the expected range {low:,.4g} … {high:,.4g}"
        return CheckOutcome(passed, summary, facts, expected)


def combined_outcome(judgments: Mapping[str, CheckOutcome]) -> CheckOutcome:
    """One verdict over several metrics' judgments of the same day: it fails when any metric is flagged.

    Each metric keeps its facets: `observed[metric]` holds its value, history and verdict,
    `expected[metric]` its band (for a judged metric); `observed["metrics_flagged"]` counts the
    flagged ones. The summary names the flagged metrics first, then says how many were in range.
    """
    flagged = [metric for metric, judgment in judgments.items() if not judgment.passed]
    judged = [metric for metric, judgment in judgments.items() if judgment.expected]
    in_range = [metric for metric in judged if metric not in flagged]
    parts = [judgments[metric].summary for metric in flagged]
    parts.append(f"{len(in_range)} of {len(judgments)} metric(s) within their expected range")
    if unjudged := [metric for metric in judgments if metric not in judged]:
        parts.append(f"not judged: {', '.join(unjudged)} ({judgments[unjudged[0]].summary})")
    observed: dict = {
        metric: {**judgment.observed, "passed": judgment.passed} for metric, judgment in judgments.items()
    }
    observed["metrics_flagged"] = len(flagged)
    expected = {metric: dict(judgments[metric].expected) for metric in judged}
    return CheckOutcome(not flagged, "; ".join(parts), observed, expected)
