"""What an alert says: what was seen, what was expected, since when, and what to do about it."""

from __future__ import annotations

from dataclasses import asdict, dataclass

WARNING, CRITICAL = "warning", "critical"

BASELOAD_UP = "baseload_up"
NIGHT_SPIKE = "night_spike"
SILENT_METER = "silent_meter"
CHAIN_UNREACHABLE = "chain_unreachable"
CHAIN_STALLED = "chain_stalled"
MIRROR_BEHIND = "mirror_behind"
OUTBOX_GROWING = "outbox_growing"
BEYOND_LIMITS = "beyond_limits"


@dataclass(frozen=True)
class Alert:
    """Something the household should look at, in words it can act on."""

    kind: str
    severity: str  # WARNING or CRITICAL
    title: str
    seen: str
    expected: str
    since: float | None  # unix time (node time) the trouble began, when known
    advice: str
    help: str | None = None  # the README troubleshooting anchor that explains more

    def as_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Verdict:
    """The alerts raised, most severe first, and the checks that could not judge yet with the reason."""

    alerts: tuple[Alert, ...] = ()
    not_judged: tuple[str, ...] = ()

    def __add__(self, other: "Verdict") -> "Verdict":
        alerts = sorted(self.alerts + other.alerts, key=lambda alert: alert.severity != CRITICAL)
        return Verdict(tuple(alerts), self.not_judged + other.not_judged)

    def as_json(self) -> dict:
        return {"alerts": [alert.as_json() for alert in self.alerts], "not_judged": list(self.not_judged)}
