"""What the rules see: one snapshot of the household's and the community's state.

The node runtime builds a `Signals` for every evaluation. A value it could not get (sensor
unreadable, chain unreachable, reading too old) is None; the relay then keeps its state for a
while and falls to fail-safe if the value stays missing (see `RelaySettings.signal_timeout_s`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

ExchangeRole = Literal["consumer", "producer"]
EXCHANGE_ROLES: tuple[ExchangeRole, ...] = ("consumer", "producer")


@dataclass(frozen=True)
class Exchange:
    """A peer energy exchange this household takes part in, as the chain records it."""

    id: str
    role: ExchangeRole  # this household's side of it
    peer: str
    starts_at: datetime
    ends_at: datetime
    agreed_wh: float
    delivered_wh: float = 0.0

    def __post_init__(self) -> None:
        if self.role not in EXCHANGE_ROLES:
            raise ValueError(f"an exchange role is consumer or producer, not {self.role!r}")
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("an exchange's window needs timezone-aware times")

    def running_at(self, now: datetime) -> bool:
        """Inside its window and not yet delivered."""
        return self.starts_at <= now < self.ends_at and self.delivered_wh < self.agreed_wh


@dataclass(frozen=True)
class ExpectedSurplus:
    """One hour of the community's forecast: production minus consumption expected in [start, end), in Wh."""

    start: datetime
    end: datetime
    surplus_wh: float

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("an expected surplus needs timezone-aware times")


@dataclass(frozen=True)
class Signals:
    """Inputs of one evaluation. `now` is wall time (timezone-aware); None means unknown."""

    now: datetime
    battery_soc_pct: float | None = None
    # Positive while the community exports to the grid: live export, or the last allocation's surplus.
    community_surplus_w: float | None = None
    # Every exchange the chain knows for this household (running or not); None if the chain is unreachable.
    exchanges: tuple[Exchange, ...] | None = None
    # The community's expected surplus, hour by hour over the next 24 h; None without a forecast.
    surplus_forecast: tuple[ExpectedSurplus, ...] | None = None

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            # A naive time would make schedules follow whatever zone the Pi happens to be set to.
            raise ValueError("Signals.now must be timezone-aware")
