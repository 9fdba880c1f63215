"""Relays on GPIO pins: each follows its rule or a manual override, within its minimum on/off
times, and falls to its fail-safe state on start, stop, crash and lasting loss of its signal.

Two clocks come in as parameters: `monotonic` (seconds) times the minimum on/off periods, since
a Pi without a real-time clock steps its wall clock at boot when NTP syncs; `wall_clock` (aware
datetimes) stamps events outside `update()`, which uses `Signals.now`.

Nothing here installs signal handlers: the node's supervisor calls `close()` (or leaves the
bank's `with` block) on SIGTERM.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterable, Iterator

from gpiozero import GPIOZeroError, OutputDevice

from node.relay.errors import RelayClosed, RelayError, RelayPinError, UnknownRelay
from node.relay.log import LOGGER, EventSink, Source, SwitchEvent, SwitchLog
from node.relay.rules import Decision
from node.relay.settings import RelaySettings
from node.relay.signals import Signals


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _state(on: bool) -> str:
    return "on" if on else "off"


@dataclass(frozen=True)
class Override:
    """A manual state set from the DApp; it wins over the rule until `until` (or until cleared)."""

    on: bool
    by: str
    until: datetime | None = None
    force: bool = False  # switch at once, even inside the minimum on/off time

    def describe(self) -> str:
        until = f" until {self.until.isoformat(timespec='minutes')}" if self.until else ""
        return f"manual override by {self.by}: {_state(self.on)}{until}"


@dataclass(frozen=True)
class RelayStatus:
    """A relay's state for the DApp. `pending` is a switch held back by a minimum on/off time."""

    name: str
    on: bool
    source: Source
    reason: str
    since: datetime  # the last switch
    override: Override | None
    pending: bool | None = None
    pending_in_s: float | None = None


class Relay:
    """One relay: an `OutputDevice` on `settings.pin` from the injected `pin_factory`.

    Minimum on/off times count from the last switch, and the start counts as one: a node that
    crashes and restarts in a loop cannot chatter the relay faster than they allow. Fail-safe
    transitions ignore them, since safety comes before contact wear. Manual overrides respect
    them unless given `force=True`.
    """

    def __init__(
        self,
        settings: RelaySettings,
        pin_factory,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = utc_now,
        log: EventSink | None = None,
    ):
        self.settings = settings
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        self._log = log if log is not None else SwitchLog()
        self._lock = threading.RLock()
        try:
            # initial_value drives the pin straight to fail-safe: no glitch through the other state.
            self._device = OutputDevice(
                settings.pin,
                active_high=settings.active_high,
                initial_value=settings.fail_safe,
                pin_factory=pin_factory,
            )
        except GPIOZeroError as error:
            raise RelayPinError(f"{settings.key('pin')}: GPIO {settings.pin} could not be opened ({error})") from error
        self._on = settings.fail_safe
        self._changed_at = monotonic()
        self._since = wall_clock()
        self._source: Source = "fail-safe"
        self._reason = f"started: fail-safe {_state(self._on)}"
        self._override: Override | None = None
        self._missing_since: float | None = None
        self._pending: tuple[bool, float] | None = None  # (target state, monotonic time it is allowed)
        # The last situation noted without a switch: a lasting one (held, signal lost) is logged once.
        self._noted: tuple | None = None
        self._closed = False
        self._emit(SwitchEvent(self.name, self._since, self._on, self._reason, "fail-safe", switched=True))

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def is_on(self) -> bool:
        return self._on

    def __enter__(self) -> "Relay":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(_stop_reason(exc_type, exc))

    # -- driving -----------------------------------------------------------------------------

    def update(self, signals: Signals) -> tuple[SwitchEvent, ...]:
        """Evaluate the override or the rule against `signals` and switch if allowed.

        Call it regularly (every few seconds): a switch held by a minimum time happens at the
        first update after the time is up.
        """
        with self._lock:
            self._check_open()
            now = self._monotonic()
            events: list[SwitchEvent] = []
            expired = self._override
            if expired is not None and expired.until is not None and signals.now >= expired.until:
                self._override = None
                events.append(self._note_always(f"{expired.describe()} expired: back to the rule", "manual", signals.now))
            override = self._override
            if override is not None:
                self._missing_since = None
                decision, source, force = Decision(override.on, override.describe()), "manual", override.force
            else:
                decision, source = self._watch_signal(self.settings.rule.decide(self._on, signals), now)
                force = False
            events += self._apply(decision, source, signals.now, now, force)
            return tuple(events)

    def override(
        self, on: bool | None, by: str, until: datetime | None = None, force: bool = False
    ) -> tuple[SwitchEvent, ...]:
        """Set the relay by hand (`on` True/False) until `until` or until cleared (`on` None).

        The switch happens now, or, inside a minimum on/off time, at the first update after it
        (unless `force`). Clearing hands the relay back to its rule at the next update.
        """
        if until is not None and until.tzinfo is None:
            raise ValueError("an override's end must be timezone-aware")
        with self._lock:
            self._check_open()
            at = self._wall_clock()
            if until is not None and until <= at:
                raise RelayError(f"relay {self.name}: override end {until.isoformat()} has already passed")
            if on is None:
                previous, self._override = self._override, None
                if previous is None:
                    return ()
                return (self._note_always(f"{previous.describe()} cleared by {by}: back to the rule", "manual", at),)
            self._override = Override(on, by, until, force)
            self._noted = None  # every request is worth a line, even one the relay already follows
            events = self._apply(Decision(on, self._override.describe()), "manual", at, self._monotonic(), force)
            if not events:
                events = [self._note_always(f"{self._override.describe()}: already {_state(on)}", "manual", at)]
            return tuple(events)

    def fail_safe(self, reason: str) -> tuple[SwitchEvent, ...]:
        """Go to the fail-safe state now, whatever the minimum times. The next update may leave it."""
        with self._lock:
            self._check_open()
            at = self._wall_clock()
            target = self.settings.fail_safe
            if self._on == target:
                return (self._note_always(f"{reason}: fail-safe {_state(target)}", "fail-safe", at),)
            return (self._switch(target, f"{reason}: fail-safe {_state(target)}", "fail-safe", at, self._monotonic()),)

    def close(self, reason: str = "stopped") -> tuple[SwitchEvent, ...]:
        """Fail-safe, then release the pin (again: nothing).

        Released, the GPIO becomes an input and the relay board's own pull decides the coil:
        wire relays so that de-energised is the safe state (see docs/relays.md).
        """
        with self._lock:
            if self._closed:
                return ()
            try:
                return self.fail_safe(reason)
            finally:
                self._closed = True
                self._device.close()

    def status(self) -> RelayStatus:
        with self._lock:
            pending = pending_in = None
            if self._pending is not None:
                pending = self._pending[0]
                pending_in = max(0.0, self._pending[1] - self._monotonic())
            return RelayStatus(
                self.name, self._on, self._source, self._reason, self._since, self._override, pending, pending_in
            )

    # -- inside ------------------------------------------------------------------------------

    def _watch_signal(self, decision: Decision, now: float) -> tuple[Decision, Source]:
        if decision.missing is None:
            self._missing_since = None
            return decision, "rule"
        if self._missing_since is None:
            self._missing_since = now
        missing_s = now - self._missing_since
        timeout = self.settings.signal_timeout_s
        if missing_s < timeout:
            return decision, "rule"
        target = self.settings.fail_safe
        reason = f"{decision.missing} for {missing_s:.0f} s (limit {timeout:g} s): fail-safe {_state(target)}"
        return Decision(target, reason, decision.missing), "fail-safe"

    def _apply(self, decision: Decision, source: Source, at: datetime, now: float, force: bool) -> list[SwitchEvent]:
        if decision.on == self._on:
            self._pending = None
            self._source, self._reason = source, decision.reason
            lasting = ("missing", source) if decision.missing else None
            return self._note_once(lasting, decision.reason, source, at)
        minimum = self.settings.min_on_s if self._on else self.settings.min_off_s
        allowed_at = self._changed_at + minimum
        if source != "fail-safe" and not force and now < allowed_at:
            self._pending = (decision.on, allowed_at)
            left = math.ceil(allowed_at - now)
            reason = (
                f"{decision.reason}; held {_state(self._on)}: "
                f"minimum {_state(self._on)} time {minimum:g} s, {left} s left"
            )
            return self._note_once(("held", decision.on, source), reason, source, at)
        return [self._switch(decision.on, decision.reason, source, at, now)]

    def _switch(self, on: bool, reason: str, source: Source, at: datetime, now: float) -> SwitchEvent:
        try:
            if on:
                self._device.on()
            else:
                self._device.off()
        except GPIOZeroError as error:
            raise RelayPinError(f"relay {self.name}: GPIO {self.settings.pin} could not be driven ({error})") from error
        self._on = on
        self._changed_at = now
        self._since = at
        self._source, self._reason = source, reason
        self._pending = None
        self._noted = None
        return self._emit(SwitchEvent(self.name, at, on, reason, source, switched=True))

    def _note_once(self, situation: tuple | None, reason: str, source: Source, at: datetime) -> list[SwitchEvent]:
        if situation is None or situation == self._noted:
            self._noted = situation
            return []
        self._noted = situation
        return [self._emit(SwitchEvent(self.name, at, self._on, reason, source, switched=False))]

    def _note_always(self, reason: str, source: Source, at: datetime) -> SwitchEvent:
        return self._emit(SwitchEvent(self.name, at, self._on, reason, source, switched=False))

    def _emit(self, event: SwitchEvent) -> SwitchEvent:
        try:
            self._log.record(event)
        except Exception:
            # A broken sink must never stop a relay from switching or from reaching fail-safe.
            LOGGER.exception("could not record %s", event.describe())
        return event

    def _check_open(self) -> None:
        if self._closed:
            raise RelayClosed(f"relay {self.name} is closed")


def _stop_reason(exc_type, exc) -> str:
    if exc_type is None:
        return "stopped"
    return f"crash ({exc_type.__name__}: {exc})" if str(exc) else f"crash ({exc_type.__name__})"


class RelayBank:
    """The household's relays. Use as a context manager: leaving the block, normally or by an
    exception, puts every relay in fail-safe and releases its pin."""

    def __init__(self, relays: Iterable[Relay]):
        self._relays: dict[str, Relay] = {}
        for relay in relays:
            if relay.name in self._relays:
                raise RelayError(f"two relays are named {relay.name}")
            self._relays[relay.name] = relay

    @classmethod
    def open(
        cls,
        settings: Iterable[RelaySettings],
        pin_factory,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = utc_now,
        log: EventSink | None = None,
    ) -> "RelayBank":
        """Open a relay for each of `settings`; if one cannot open, those already open are closed."""
        relays: list[Relay] = []
        try:
            for relay_settings in settings:
                relays.append(Relay(relay_settings, pin_factory, monotonic=monotonic, wall_clock=wall_clock, log=log))
            return cls(relays)
        except BaseException:
            for relay in relays:
                relay.close("start aborted")
            raise

    def __enter__(self) -> "RelayBank":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(_stop_reason(exc_type, exc))

    def __getitem__(self, name: str) -> Relay:
        try:
            return self._relays[name]
        except KeyError:
            raise UnknownRelay(f"no relay named {name!r}; configured: {', '.join(self._relays) or 'none'}") from None

    def __iter__(self) -> Iterator[Relay]:
        return iter(self._relays.values())

    def __len__(self) -> int:
        return len(self._relays)

    def update(self, signals: Signals) -> tuple[SwitchEvent, ...]:
        """Evaluate every relay against the same snapshot."""
        return tuple(event for relay in self for event in relay.update(signals))

    def override(
        self, name: str, on: bool | None, by: str, until: datetime | None = None, force: bool = False
    ) -> tuple[SwitchEvent, ...]:
        """`Relay.override` on the relay called `name`."""
        return self[name].override(on, by, until, force)

    def fail_safe_all(self, reason: str) -> tuple[SwitchEvent, ...]:
        return tuple(event for relay in self for event in relay.fail_safe(reason))

    def status(self) -> tuple[RelayStatus, ...]:
        return tuple(relay.status() for relay in self)

    def close(self, reason: str = "stopped") -> tuple[SwitchEvent, ...]:
        """Fail-safe and release every relay; one failing does not keep the others on."""
        events: list[SwitchEvent] = []
        failure: BaseException | None = None
        for relay in self:
            try:
                events += relay.close(reason)
            except BaseException as error:  # noqa: BLE001 - re-raised once every relay had its turn
                failure = failure or error
        if failure is not None:
            raise failure
        return tuple(events)
