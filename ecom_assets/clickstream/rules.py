"""The clickstream's rules: how sessions are cut, what counts as a bot, how hourly conversion is judged."""

from datetime import timedelta

from dagster import ConfigurableResource
from pydantic import Field

from ecom_assets.platform.anomaly import AnomalyRule


class ClickstreamRules(ConfigurableResource):
    """Configured in the code location (or the launchpad); the defaults suit the REES46 export."""

    session_gap_minutes: int = Field(
        default=30, description="Events of a user without user_session further apart than this start a new session."
    )
    bot_max_events_per_minute: int = Field(
        default=30, description="A user with more events than this in one minute is flagged a bot for that hour."
    )
    conversion_window_hours: int = Field(default=48, description="Hours of history before the judged hour.")
    conversion_min_history_hours: int = Field(default=12, description="Fewer hours with a rate: not judged.")
    conversion_threshold: float = Field(default=5.0, description="Allowed deviation in robust standard deviations.")
    conversion_absolute_floor: float = Field(
        default=0.02, description="Always allowed deviation of the rate, so a flat history does not flag wobbles."
    )

    def conversion_anomaly_rule(self) -> AnomalyRule:
        """The rule judging an hour's conversion rate against the hours before it."""
        return AnomalyRule(
            window_days=self.conversion_window_hours,
            threshold=self.conversion_threshold,
            min_history=self.conversion_min_history_hours,
            relative_floor=0.0,
            absolute_floor=self.conversion_absolute_floor,
            period=timedelta(hours=1),
        )
