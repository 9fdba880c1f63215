"""A household's electricity, deterministic for a seed: daily load shape with noise, optional PV.

Every quantity is a pure function of (seed, time), so two runs with the same seed agree at every
instant whatever their step size or speed.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Mapping

# Relative load by hour of day (mean 1.0): low at night, a morning bump, the evening peak.
_DAILY_SHAPE = (
    0.55, 0.50, 0.47, 0.45, 0.46, 0.55, 0.90, 1.35, 1.30, 1.00, 0.90, 0.92,
    1.00, 0.90, 0.85, 0.88, 1.00, 1.40, 1.95, 1.90, 1.65, 1.35, 1.00, 0.72,
)


@dataclass(frozen=True)
class HouseholdProfile:
    """Yearly consumption, PV peak power, and whether the house heats with gas."""

    annual_kwh: float
    pv_kwp: float = 0.0
    gas: bool = True


PROFILES: Mapping[str, HouseholdProfile] = MappingProxyType(
    {
        "consumer": HouseholdProfile(annual_kwh=3500, pv_kwp=0.0),
        "prosumer": HouseholdProfile(annual_kwh=4000, pv_kwp=5.0),
        "producer": HouseholdProfile(annual_kwh=2500, pv_kwp=12.0, gas=False),
    }
)


def _unit_random(seed: int, stream: str, index: int) -> float:
    """A uniform number in [0, 1) fixed by (seed, stream, index)."""
    digest = hashlib.blake2b(f"{seed}:{stream}:{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _smooth_noise(seed: int, stream: str, seconds: float, period: float) -> float:
    """Noise in [0, 1) that drifts smoothly, with knots every `period` seconds."""
    position = seconds / period
    knot = math.floor(position)
    fraction = position - knot
    blend = fraction * fraction * (3 - 2 * fraction)
    return (1 - blend) * _unit_random(seed, stream, knot) + blend * _unit_random(seed, stream, knot + 1)


class Household:
    """Power drawn by the house and produced by its panels at any moment, in watts."""

    def __init__(self, profile: HouseholdProfile, seed: int, latitude: float = 51.0, longitude: float = 5.0):
        self.profile = profile
        self.seed = seed
        self.latitude = latitude
        self.longitude = longitude

    def load_w(self, moment: datetime) -> float:
        """Consumption: the daily shape for the season, drifting noise, and short appliance bursts."""
        local = moment  # the house lives by its own clock: callers pass local aware times
        hour = local.hour + local.minute / 60 + local.second / 3600
        low = _DAILY_SHAPE[int(hour) % 24]
        high = _DAILY_SHAPE[(int(hour) + 1) % 24]
        shape = low + (high - low) * (hour - int(hour))
        day_of_year = local.timetuple().tm_yday
        season = 1 + 0.2 * math.cos(2 * math.pi * (day_of_year - 15) / 365)
        mean_w = self.profile.annual_kwh * 1000 / 8760
        seconds = moment.timestamp()
        drift = 0.75 + 0.5 * _smooth_noise(self.seed, "load", seconds, 300)
        burst_slot = int(seconds // 600)
        burst = 0.0
        if _unit_random(self.seed, "burst", burst_slot) < 0.15 * shape:
            # A kettle, oven or washing machine for a few minutes of this ten-minute slot.
            start = 600 * burst_slot + 420 * _unit_random(self.seed, "burst-start", burst_slot)
            if start <= seconds < start + 180:
                burst = 1200 + 1800 * _unit_random(self.seed, "burst-power", burst_slot)
        return mean_w * shape * season * drift + burst

    def pv_w(self, moment: datetime) -> float:
        """Production: panel peak times the sun's elevation, dimmed by drifting clouds."""
        if self.profile.pv_kwp <= 0:
            return 0.0
        elevation = self.sun_elevation(moment)
        if elevation <= 0:
            return 0.0
        seconds = moment.timestamp()
        day = int(seconds // 86400)
        cloudiness = 0.9 * _unit_random(self.seed, "cloudiness", day)
        clouds = 1 - cloudiness * _smooth_noise(self.seed, "clouds", seconds, 600)
        return self.profile.pv_kwp * 1000 * 0.85 * math.sin(elevation) ** 1.2 * clouds

    def sun_elevation(self, moment: datetime) -> float:
        """The sun's elevation in radians (negative below the horizon), by the usual approximation."""
        utc = moment.astimezone(timezone.utc)
        day_of_year = utc.timetuple().tm_yday
        declination = math.radians(23.44) * math.sin(2 * math.pi * (284 + day_of_year) / 365)
        solar_hours = utc.hour + utc.minute / 60 + utc.second / 3600 + self.longitude / 15
        hour_angle = math.radians(15 * (solar_hours - 12))
        latitude = math.radians(self.latitude)
        return math.asin(
            math.sin(latitude) * math.sin(declination)
            + math.cos(latitude) * math.cos(declination) * math.cos(hour_angle)
        )

    def gas_litres_per_hour(self, moment: datetime) -> float:
        """Gas for heating and hot water: more in winter and in the morning and evening."""
        if not self.profile.gas:
            return 0.0
        day_of_year = moment.timetuple().tm_yday
        season = 0.25 + 0.75 * (1 + math.cos(2 * math.pi * (day_of_year - 15) / 365)) / 2
        hour = moment.hour
        daily = 1.6 if hour in (6, 7, 8, 17, 18, 19, 20, 21) else (0.3 if hour < 6 else 0.8)
        return 180 * season * daily * (0.7 + 0.6 * _smooth_noise(self.seed, "gas", moment.timestamp(), 900))
