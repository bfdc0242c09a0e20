"""The data-quality policy: the trading calendar and the anomaly checks' thresholds, settable as resource config."""

from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field

from ecom_assets.platform.anomaly import AnomalyRule
from ecom_assets.platform.trading_calendar import TRADING_CALENDAR_FILE, TradingCalendar, load_trading_calendar

SHARE_METRICS = ("returns_share", "rejected_share")
"""Metrics that are fractions of 1; their tolerance is absolute rather than relative to the median."""


class DataQualityPolicy(ConfigurableResource):
    """The trading calendar (which days a delivery is expected) and the thresholds of the WARN anomaly checks
    (median and MAD over a trailing window).

    Override any field in the launchpad's resource config, e.g.
    `resources: {quality: {config: {anomaly_threshold: 5}}}`.
    """

    trading_calendar_path: str = Field(
        default=str(TRADING_CALENDAR_FILE), description="YAML trading calendar: closed days and the delivery cutoff."
    )
    anomaly_window_days: int = Field(default=28, description="Calendar days of history before the judged day.")
    anomaly_threshold: float = Field(default=5.0, description="Allowed deviation in robust standard deviations.")
    anomaly_min_history_days: int = Field(default=10, description="Fewer days with a value: the day is not judged.")
    anomaly_relative_floor: float = Field(
        default=0.05, description="Smallest allowed deviation of money and count metrics, as a share of the median."
    )
    returns_share_tolerance: float = Field(
        default=0.15, description="Smallest allowed deviation of the returns share of revenue (absolute)."
    )
    rejected_share_tolerance: float = Field(
        default=0.01, description="Smallest allowed deviation of the rejected-row share (absolute)."
    )

    max_other_category_share: float = Field(
        default=0.15, description="Largest share of current products the category rules may leave in 'Other'."
    )

    max_high_finding_share: float = Field(
        default=0.05,
        description="Largest share of a feed batch's records with a HIGH validation finding before the batch fails.",
    )

    reconciliation_unmatched_threshold: float = Field(
        default=100.0,
        description="Largest unmatched amount of payments (major units of a currency) a day may have before the "
        "payment reconciliation's WARN check fails and mails.",
    )
    inventory_drop_share: float = Field(
        default=0.5,
        description="Largest share of a product's stock that may vanish from one day to the next beyond the units "
        "sold before the inventory-drop WARN check fails and mails.",
    )

    def trading_calendar(self) -> TradingCalendar:
        """The validated trading calendar."""
        return load_trading_calendar(Path(self.trading_calendar_path))

    def anomaly_rule(self, metric: str) -> AnomalyRule:
        """The rule that judges one metric."""
        floors = {"returns_share": self.returns_share_tolerance, "rejected_share": self.rejected_share_tolerance}
        return AnomalyRule(
            window_days=self.anomaly_window_days,
            threshold=self.anomaly_threshold,
            min_history=self.anomaly_min_history_days,
            relative_floor=0.0 if metric in SHARE_METRICS else self.anomaly_relative_floor,
            absolute_floor=floors.get(metric, 0.0),
        )
