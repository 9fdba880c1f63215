"""The relays as a node part: every step builds the rules' Signals from the node's own data (battery
sensor, meter store, event mirror, and the community forecast made from the mirror) and lets the
relay bank switch."""

from __future__ import annotations

import logging
from datetime import datetime, timezone, tzinfo
from typing import Callable

from node.actions.queue import ActionQueue
from node.forecast.hours import HOUR, hour_start
from node.forecast.model import NO_HISTORY
from node.forecast.sources import community_forecast
from node.forecast.surplus import expected_surplus
from node.mirror.db import MirrorDB
from node.relay import (
    BatteryRule,
    BatterySensorError,
    ExpectedSurplus,
    RelayBank,
    RelayError,
    Signals,
    SimulatedBattery,
    SurplusRule,
)
from node.store.store import MeterStore

log = logging.getLogger(__name__)

RELAY_OVERRIDE = "relay_override"


class RelayController:
    """Feeds the relay bank. `exchanges` returns this household's peer exchanges (None if unknown);
    `zone` is the node's time zone, whose clock hours the surplus forecast plans in (default: the store's)."""

    def __init__(
        self,
        bank: RelayBank,
        store: MeterStore,
        mirror: MirrorDB,
        clock: Callable[[], float],
        battery=None,
        exchanges: Callable[[], tuple | None] = lambda: None,
        actions: ActionQueue | None = None,
        zone: tzinfo | None = None,
    ):
        self.bank = bank
        self.store = store
        self.mirror = mirror
        self.clock = clock
        self.battery = battery
        self.exchanges = exchanges
        self.actions = actions
        self.zone = zone or store.local
        self._battery_relays = {
            relay.settings.name for relay in bank if isinstance(relay.settings.rule, BatteryRule)
        }
        self._planning = any(
            isinstance(relay.settings.rule, SurplusRule) and relay.settings.rule.plan == "forecast" for relay in bank
        )
        self._plan: tuple[int, tuple[ExpectedSurplus, ...] | None] | None = None  # (interval, expected surplus)
        self._last_step: float | None = None

    def step(self) -> None:
        now = self.clock()
        if self.actions is not None:
            self._manual_overrides()
        self.bank.update(
            Signals(
                now=datetime.fromtimestamp(now, timezone.utc),
                battery_soc_pct=self._battery(now),
                community_surplus_w=self._community_surplus_w(now),
                exchanges=self.exchanges(),
                surplus_forecast=self._surplus_forecast(now) if self._planning else None,
            )
        )
        self._last_step = now

    def _manual_overrides(self) -> None:
        """The operator's overrides from the DApp: {relay, on (true, false or null to clear), until, by}."""
        for action in self.actions.open_actions([RELAY_OVERRIDE]):
            p = action.params
            until = datetime.fromtimestamp(p["until"], timezone.utc) if p.get("until") else None
            try:
                self.bank.override(p["relay"], p.get("on"), by=p.get("by", "the operator"), until=until,
                                   force=bool(p.get("force")))
            except (RelayError, KeyError, ValueError) as error:
                self.actions.fail(action.id, str(error))
            else:
                self.actions.confirm(action.id)

    def _battery(self, now: float) -> float | None:
        if self.battery is None:
            return None
        if isinstance(self.battery, SimulatedBattery) and self._last_step is not None and now > self._last_step:
            # The household's net power stands in for its PV and load: enough for a demo battery.
            latest = self.store.latest()
            if latest is not None:
                on_community = any(s.on for s in self.bank.status() if s.name in self._battery_relays)
                self.battery.step(latest.export_w or 0, latest.import_w or 0, now - self._last_step, on_community)
        try:
            return self.battery.soc_pct()
        except BatterySensorError as error:
            log.warning("%s", error)
            return None

    def _community_surplus_w(self, now: float) -> float | None:
        """What the community exported beyond its own use in the last settled interval, as mean W."""
        last = self.mirror.events("IntervalSettled", limit=1, newest_first=True)
        if not last:
            return None
        settled = last[0].args
        length = self.store.settings.interval
        if now - (settled["interval"] + 1) * length > 3 * length:
            return None  # too old to say anything about now
        surplus_wh = settled["productionWh"] - settled["allocatedWh"]
        return surplus_wh * 3600 / length

    def _surplus_forecast(self, now: float) -> tuple[ExpectedSurplus, ...] | None:
        """The community's expected surplus for the 24 h from this hour, made again once per interval
        (a forecast reads weeks of settled readings; new ones arrive once an interval)."""
        interval = int(now) // self.store.settings.interval
        if self._plan is None or self._plan[0] != interval:
            self._plan = (interval, self._expected_surplus(now))
        return self._plan[1]

    def _expected_surplus(self, now: float) -> tuple[ExpectedSurplus, ...] | None:
        made = community_forecast(self.mirror, hour_start(now, self.zone), self.store.settings.interval, self.zone)
        if NO_HISTORY in (made.production.method, made.consumption.method):
            return None
        return tuple(
            ExpectedSurplus(datetime.fromtimestamp(hour.start, self.zone),
                            datetime.fromtimestamp(hour.start + HOUR, self.zone), hour.surplus_wh)
            for hour in expected_surplus(made)
        )

    def close(self) -> None:
        self.bank.close("node stopped")
        self.store.close()
        self.mirror.close()
        if self.actions is not None:
            self.actions.close()
