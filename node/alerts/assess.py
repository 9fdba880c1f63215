"""Every alert check at once: the node's health and the household's consumption."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Sequence

from node.alerts.alert import Verdict
from node.alerts.anomaly import AnomalySettings, HourUse, consumption_verdict
from node.alerts.health import HealthSettings, NodeSnapshot, health_verdict


@dataclass(frozen=True)
class AlertSettings:
    anomaly: AnomalySettings = AnomalySettings()
    health: HealthSettings = HealthSettings()

    @property
    def days_of_history(self) -> int:
        """Days of complete hours the consumption checks read: the history and the nights judged."""
        return self.anomaly.history_days + self.anomaly.baseload_nights + 1


def assess(hours: Sequence[HourUse], snapshot: NodeSnapshot, zone: tzinfo,
           settings: AlertSettings = AlertSettings()) -> Verdict:
    """The health alerts first (the most severe first), then the consumption alerts."""
    now = datetime.fromtimestamp(snapshot.now, zone)
    return health_verdict(snapshot, settings.health) + consumption_verdict(hours, now, settings.anomaly)
