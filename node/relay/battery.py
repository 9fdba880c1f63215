"""Where the battery rule's state of charge comes from: a file a BMS writes, or a simulated battery."""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Mapping, Protocol

from node.relay.errors import BatterySensorError, RelayConfigError


class BatterySensor(Protocol):
    """Anything that reports the battery's state of charge, in percent."""

    def soc_pct(self) -> float:
        """The state of charge now; raises BatterySensorError when it cannot be known."""
        ...


class FileSensor:
    """Reads a state of charge that a BMS (or its driver) writes as a number to a file.

    Writers should write a temporary file and rename it over `path`, so a read never sees half a
    number. With `max_age_s`, a file not rewritten for that long counts as unreadable: a dead BMS
    must not leave the relay trusting its last value forever.
    """

    def __init__(self, path: str | Path, max_age_s: float | None = None, clock: Callable[[], float] = time.time):
        self.path = Path(path)
        self.max_age_s = max_age_s
        self._clock = clock

    def soc_pct(self) -> float:
        try:
            text = self.path.read_text(encoding="ascii", errors="replace")
            written = os.stat(self.path).st_mtime
        except FileNotFoundError:
            raise BatterySensorError(f"battery sensor {self.path}: no such file") from None
        except OSError as error:
            raise BatterySensorError(f"battery sensor {self.path}: cannot read it ({error.strerror})") from None
        if self.max_age_s is not None:
            age = self._clock() - written
            if age > self.max_age_s:
                raise BatterySensorError(
                    f"battery sensor {self.path}: last written {age:.0f} s ago, more than {self.max_age_s:g} s"
                )
        figure = text.strip().removesuffix("%").strip()
        try:
            value = float(figure)
        except ValueError:
            raise BatterySensorError(f"battery sensor {self.path}: {text.strip()[:40]!r} is not a number") from None
        if not (math.isfinite(value) and 0 <= value <= 100):
            raise BatterySensorError(f"battery sensor {self.path}: {figure} is not a state of charge (0 to 100%)")
        return value


@dataclass(frozen=True)
class BatteryStep:
    """Mean powers over one simulation step, in W. `battery_w` is positive while charging."""

    soc_pct: float
    battery_w: float
    community_w: float  # drawn from the community source
    unmet_w: float  # load the battery could not carry while the house ran on it


class SimulatedBattery:
    """A home battery for the demo and tests, charged by PV and discharged by the house.

    While the relay has the house on the community source the battery carries no load; it still
    takes PV, and charges from the community at `community_charge_w` if that is above 0.
    """

    DEFAULTS: Mapping[str, float] = MappingProxyType(
        {
            "capacity_wh": 10_000.0,
            "soc_pct": 50.0,
            "max_charge_w": 5_000.0,
            "max_discharge_w": 5_000.0,
            "community_charge_w": 0.0,
        }
    )

    def __init__(
        self,
        capacity_wh: float = DEFAULTS["capacity_wh"],
        soc_pct: float = DEFAULTS["soc_pct"],
        max_charge_w: float = DEFAULTS["max_charge_w"],
        max_discharge_w: float = DEFAULTS["max_discharge_w"],
        community_charge_w: float = DEFAULTS["community_charge_w"],
    ):
        if not (math.isfinite(capacity_wh) and capacity_wh > 0):
            raise RelayConfigError("capacity_wh", "must be above 0")
        if not 0 <= soc_pct <= 100:
            raise RelayConfigError("soc_pct", "must be a percentage from 0 to 100")
        for key, value in (
            ("max_charge_w", max_charge_w),
            ("max_discharge_w", max_discharge_w),
            ("community_charge_w", community_charge_w),
        ):
            if not (math.isfinite(value) and value >= 0):
                raise RelayConfigError(key, "must be a power in W, 0 or more")
        self.capacity_wh = capacity_wh
        self.max_charge_w = max_charge_w
        self.max_discharge_w = max_discharge_w
        self.community_charge_w = community_charge_w
        self._stored_wh = capacity_wh * soc_pct / 100

    def soc_pct(self) -> float:
        # One division of the stored energy keeps round figures exact (1200/6000 Wh is 20.0%).
        return 100 * self._stored_wh / self.capacity_wh

    def step(self, pv_w: float, load_w: float, seconds: float, on_community_source: bool) -> BatteryStep:
        """Run `seconds` with the house drawing `load_w` and the panels giving `pv_w`."""
        if seconds <= 0 or pv_w < 0 or load_w < 0:
            raise ValueError("a battery step needs seconds > 0 and non-negative powers")
        carried_w = 0.0 if on_community_source else load_w
        wanted_w = pv_w - carried_w + (self.community_charge_w if on_community_source else 0.0)
        battery_w = min(wanted_w, self.max_charge_w) if wanted_w >= 0 else max(wanted_w, -self.max_discharge_w)
        stored_wh = min(max(self._stored_wh + battery_w * seconds / 3600, 0.0), self.capacity_wh)
        battery_w = (stored_wh - self._stored_wh) * 3600 / seconds
        self._stored_wh = stored_wh
        # PV that could not go into the battery serves the community charge first.
        community_w = 0.0
        if on_community_source:
            community_w = load_w + max(0.0, min(self.community_charge_w, battery_w - pv_w))
        unmet_w = 0.0 if on_community_source else max(0.0, battery_w - wanted_w)
        return BatteryStep(self.soc_pct(), battery_w, community_w, unmet_w)
