"""The rules a relay can follow. Each is frozen data with a pure `decide(on, signals)`.

"On" means the relay's coil is energised (the device is active): the household uses the
community source (battery), the flexible load runs (surplus), the peer source or supply is
connected (exchange), or the scheduled load runs (schedule).

Hysteresis lives here: between its two thresholds a rule keeps the state it is given. Minimum
on/off times and fail-safe live in the relay, which knows about time spent in a state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, time
from typing import ClassVar, Union
from zoneinfo import ZoneInfo

from node.relay.errors import RelayConfigError
from node.relay.signals import EXCHANGE_ROLES, ExchangeRole, ExpectedSurplus, Signals

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SURPLUS_PLANS = ("live", "forecast")


@dataclass(frozen=True)
class Decision:
    """What a rule wants and why. `missing` names the input a rule lacked (it then keeps the state)."""

    on: bool
    reason: str
    missing: str | None = None


def _num(value: float) -> str:
    # Two decimals at most, so 19.96% never reads as "20%, below 20%".
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _unknown(value: float | None) -> bool:
    return value is None or not math.isfinite(value)


def _state(on: bool) -> str:
    return "on" if on else "off"


def _keep(on: bool, missing: str) -> Decision:
    return Decision(on, f"{missing}: stays {_state(on)}", missing=missing)


def _require_finite(rule: object, *keys: str) -> None:
    for key in keys:
        if not math.isfinite(getattr(rule, key)):
            raise RelayConfigError(key, "must be a finite number")


@dataclass(frozen=True)
class BatteryRule:
    """Use the community source while the battery's state of charge is low (the DAISEE rule).

    On when SoC < low_pct, off again when SoC > high_pct.
    """

    kind: ClassVar[str] = "battery"
    low_pct: float = 20.0
    high_pct: float = 80.0

    def __post_init__(self) -> None:
        for key in ("low_pct", "high_pct"):
            if not 0 <= getattr(self, key) <= 100:
                raise RelayConfigError(key, "must be a percentage from 0 to 100")
        if self.low_pct >= self.high_pct:
            raise RelayConfigError("low_pct", f"must be below high_pct ({_num(self.high_pct)})")

    def decide(self, on: bool, signals: Signals) -> Decision:
        soc = signals.battery_soc_pct
        if _unknown(soc):
            return _keep(on, "no state-of-charge reading")
        if soc < self.low_pct:
            return Decision(True, f"battery at {_num(soc)}%, below {_num(self.low_pct)}%: community source")
        if soc > self.high_pct:
            return Decision(False, f"battery at {_num(soc)}%, above {_num(self.high_pct)}%: own battery")
        return Decision(
            on, f"battery at {_num(soc)}%, between {_num(self.low_pct)}% and {_num(self.high_pct)}%: stays {_state(on)}"
        )


@dataclass(frozen=True)
class SurplusRule:
    """Run a flexible load while the community exports surplus, or in the hours it is expected.

    With `plan` "live": on when surplus > on_above_w, off when surplus < off_below_w. `load_w` is
    the load's own draw: while the load runs it eats the surplus it was switched on for, so it is
    added back to the measured surplus; otherwise every switch-on would cause its own switch-off.
    With `plan` "forecast": on during the `run_hours` hours of the next 24 h with the most expected
    community surplus (above zero; the earlier hour first on a tie), off otherwise.
    """

    kind: ClassVar[str] = "surplus"
    on_above_w: float = 500.0
    off_below_w: float = 100.0
    load_w: float = 0.0
    plan: str = "live"
    run_hours: int = 3

    def __post_init__(self) -> None:
        _require_finite(self, "on_above_w", "off_below_w", "load_w")
        if self.off_below_w >= self.on_above_w:
            raise RelayConfigError("off_below_w", f"must be below on_above_w ({_num(self.on_above_w)})")
        if self.load_w < 0:
            raise RelayConfigError("load_w", "must not be negative")
        if self.plan not in SURPLUS_PLANS:
            raise RelayConfigError("plan", f"must be one of {', '.join(SURPLUS_PLANS)}, not {self.plan!r}")
        if isinstance(self.run_hours, bool) or not isinstance(self.run_hours, int) or not 1 <= self.run_hours <= 24:
            raise RelayConfigError("run_hours", f"must be a whole number of hours from 1 to 24, not {self.run_hours!r}")

    def decide(self, on: bool, signals: Signals) -> Decision:
        if self.plan == "forecast":
            return self._planned(on, signals)
        measured = signals.community_surplus_w
        if _unknown(measured):
            return _keep(on, "no community surplus figure")
        surplus = measured + (self.load_w if on else 0.0)
        described = f"community surplus {_num(surplus)} W" + (
            f" ({_num(measured)} W measured + {_num(self.load_w)} W of this load)" if on and self.load_w else ""
        )
        if surplus > self.on_above_w:
            return Decision(True, f"{described}, above {_num(self.on_above_w)} W")
        if surplus < self.off_below_w:
            return Decision(False, f"{described}, below {_num(self.off_below_w)} W")
        return Decision(
            on, f"{described}, between {_num(self.off_below_w)} W and {_num(self.on_above_w)} W: stays {_state(on)}"
        )

    def _planned(self, on: bool, signals: Signals) -> Decision:
        if signals.surplus_forecast is None:
            return _keep(on, "no community surplus forecast")
        surplus = [hour for hour in signals.surplus_forecast if hour.surplus_wh > 0]
        planned = sorted(surplus, key=lambda hour: (-hour.surplus_wh, hour.start))[: self.run_hours]
        if not planned:
            return Decision(False, "no community surplus expected in the next 24 h")
        best = f"{len(planned)} best hour{'s' if len(planned) > 1 else ''} of the next 24 h"
        for hour in planned:
            if hour.start <= signals.now < hour.end:
                return Decision(True, f"planned hour {_span(hour.start, hour.end)}: {_num(round(hour.surplus_wh))} Wh "
                                      f"community surplus expected, one of the {best}")
        return Decision(False, f"outside the planned hours {_spans(planned)} (the {best} for surplus)")


def _span(start: datetime, end: datetime) -> str:
    return f"{start:%H:%M}-{end:%H:%M}"


def _spans(hours: list[ExpectedSurplus]) -> str:
    """Hours in time order, consecutive ones joined: '11:00-13:00, 15:00-16:00'."""
    joined: list[list[datetime]] = []
    for hour in sorted(hours, key=lambda hour: hour.start):
        if joined and joined[-1][1] == hour.start:
            joined[-1][1] = hour.end
        else:
            joined.append([hour.start, hour.end])
    return ", ".join(_span(start, end) for start, end in joined)


@dataclass(frozen=True)
class ExchangeRule:
    """Connect the peer source (consumer) or the supply (producer) while an exchange runs.

    An exchange stops counting once its Wh are delivered or its window ends, whichever first,
    even if the chain has not marked it finished yet.
    """

    kind: ClassVar[str] = "exchange"
    role: ExchangeRole = "consumer"

    def __post_init__(self) -> None:
        if self.role not in EXCHANGE_ROLES:
            raise RelayConfigError("role", f"must be one of {', '.join(EXCHANGE_ROLES)}, not {self.role!r}")

    def decide(self, on: bool, signals: Signals) -> Decision:
        if signals.exchanges is None:
            return _keep(on, "exchanges unknown (chain unreachable)")
        mine = [exchange for exchange in signals.exchanges if exchange.role == self.role]
        for exchange in mine:
            if exchange.running_at(signals.now):
                return Decision(
                    True,
                    f"exchange {exchange.id} with {exchange.peer} as {self.role}: "
                    f"{_num(exchange.delivered_wh)} of {_num(exchange.agreed_wh)} Wh, "
                    f"until {exchange.ends_at.isoformat(timespec='minutes')}",
                )
        ended = [exchange for exchange in mine if exchange.starts_at <= signals.now]
        if ended:
            last = max(ended, key=lambda exchange: exchange.starts_at)
            why = (
                f"delivered its {_num(last.agreed_wh)} Wh"
                if last.delivered_wh >= last.agreed_wh
                else f"window ended at {last.ends_at.isoformat(timespec='minutes')}"
            )
            return Decision(False, f"exchange {last.id} with {last.peer} {why}")
        return Decision(False, f"no exchange running as {self.role}")


@dataclass(frozen=True)
class ScheduleWindow:
    """Local wall-clock times on some weekdays (0 = Monday). An end before the start runs overnight.

    `days` are the days a window starts on: Friday 22:00-06:00 ends on Saturday morning.
    """

    days: frozenset[int]
    start: time
    end: time

    def __post_init__(self) -> None:
        if not self.days or not self.days <= frozenset(range(7)):
            raise RelayConfigError("days", "needs at least one weekday, 0 (Monday) to 6 (Sunday)")
        if self.start == self.end:
            raise RelayConfigError("end", f"must differ from start ({self.start:%H:%M})")

    def contains(self, local: datetime) -> bool:
        moment = local.time()
        today = local.weekday()
        if self.start < self.end:
            return today in self.days and self.start <= moment < self.end
        yesterday = (today - 1) % 7
        return (today in self.days and moment >= self.start) or (yesterday in self.days and moment < self.end)

    def describe(self) -> str:
        return f"{describe_days(self.days)} {self.start:%H:%M}-{self.end:%H:%M}"


def describe_days(days: frozenset[int]) -> str:
    """Weekdays as the config writes them: 'daily', 'mon-fri', 'sat,sun'."""
    if len(days) == 7:
        return "daily"
    ordered = sorted(days)
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{WEEKDAYS[ordered[0]]}-{WEEKDAYS[ordered[-1]]}"
    return ",".join(WEEKDAYS[day] for day in ordered)


@dataclass(frozen=True)
class ScheduleRule:
    """On inside any window, in local wall-clock time of `timezone`.

    Wall-clock means DST follows the clock on the wall: on the spring-forward night a window
    02:00-03:00 does not happen, on the fall-back night it lasts two hours.
    """

    kind: ClassVar[str] = "schedule"
    windows: tuple[ScheduleWindow, ...]
    timezone: ZoneInfo = ZoneInfo("Europe/Amsterdam")

    def __post_init__(self) -> None:
        if not self.windows:
            raise RelayConfigError("windows", "needs at least one window")

    def decide(self, on: bool, signals: Signals) -> Decision:
        local = signals.now.astimezone(self.timezone)
        for window in self.windows:
            if window.contains(local):
                return Decision(True, f"scheduled {window.describe()}")
        return Decision(False, "outside the schedule")


@dataclass(frozen=True)
class ManualRule:
    """No automatic rule: the relay rests in `on` (from the config: its fail-safe state) and
    changes only by a manual override from the DApp."""

    kind: ClassVar[str] = "manual"
    on: bool = False

    def decide(self, on: bool, signals: Signals) -> Decision:
        return Decision(self.on, f"manual relay: rests {_state(self.on)} unless switched by hand")


RuleSettings = Union[BatteryRule, SurplusRule, ExchangeRule, ScheduleRule, ManualRule]
RULE_KINDS: dict[str, type] = {rule.kind: rule for rule in (BatteryRule, SurplusRule, ExchangeRule, ScheduleRule, ManualRule)}
