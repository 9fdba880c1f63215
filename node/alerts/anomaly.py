"""Consumption anomalies: a night-time baseload well above its usual level, or a night hour far above
its usual range.

What is usual is learnt from the household's own complete hours, robustly: the 10th to 90th
percentile of the same quantity over the last weeks, so a few odd nights neither raise nor hide an
alert. Nothing is judged before `min_history_days` of history; the verdict says so instead.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Sequence

from node.alerts.alert import BASELOAD_UP, NIGHT_SPIKE, WARNING, Alert, Verdict
from node.alerts.wording import counted, kwh, kwh_range, watts_range


@dataclass(frozen=True)
class HourUse:
    """Energy imported in one complete local hour."""

    start: datetime  # aware, in the household's time zone
    wh: int


@dataclass(frozen=True)
class AnomalySettings:
    """What counts as usual and what as far from it."""

    history_days: int = 28  # how far back the usual range is learnt
    min_history_days: int = 7  # fewer nights than this: not judged
    night_hours: tuple[int, ...] = (0, 1, 2, 3, 4, 5)  # local hours whose lowest is the night's baseload
    min_night_hours: int = 4  # complete night hours a night needs to have a baseload
    baseload_nights: int = 2  # consecutive nights above the usual range before it is an alert
    baseload_ratio: float = 1.5  # above this times the usual high, and
    baseload_margin_w: float = 100  # at least this far above it
    spike_hours: tuple[int, ...] = (23, 0, 1, 2, 3, 4, 5)  # local hours watched for spikes
    spike_ratio: float = 2.0
    spike_margin_wh: float = 250

    def __post_init__(self) -> None:
        if self.min_history_days < 2:
            raise ValueError("a usual range needs at least two days of history")


def consumption_verdict(hours: Sequence[HourUse], now: datetime, settings: AnomalySettings = AnomalySettings()) -> Verdict:
    """Baseload and night-spike alerts from complete hours, as of `now` (aware, local)."""
    baseload = baseload_verdict(hours, now, settings)
    if baseload.alerts:
        return baseload  # a raised baseload explains high night hours: one alert, not two
    return baseload + night_spike_verdict(hours, now, settings)


def baseload_verdict(hours: Sequence[HourUse], now: datetime, settings: AnomalySettings = AnomalySettings()) -> Verdict:
    """An alert when the last `baseload_nights` nights' baselines all lie far above the usual range."""
    nights = nightly_baseload(hours, settings)
    days = [day for day in nights if day <= now.date()]
    if not days or (now.date() - days[-1]).days > 1:
        return Verdict(not_judged=("Baseload: the store has no complete night since yesterday.",))
    recent = days[-settings.baseload_nights:]
    first = recent[0]
    low, high, learnt = _usual(nights, first, settings)
    if learnt < settings.min_history_days:
        return _too_short("Baseload", learnt, settings)
    if not all(nights[day] > _limit(high, settings.baseload_ratio, settings.baseload_margin_w) for day in recent):
        return Verdict()
    # Walk back to the first raised night, and learn what was usual before it.
    earlier = days[: days.index(first)]
    while earlier and nights[earlier[-1]] > _limit(high, settings.baseload_ratio, settings.baseload_margin_w):
        first = earlier.pop()
    low, high, learnt = _usual(nights, first, settings)
    if learnt < settings.min_history_days:
        return _too_short("Baseload", learnt, settings)
    raised = [nights[day] for day in days if day >= first]
    return Verdict((Alert(
        kind=BASELOAD_UP,
        severity=WARNING,
        title="Baseload up",
        seen=f"night-time baseload {min(raised)} W",
        expected=watts_range(low, high),
        since=datetime.combine(first, time(min(settings.night_hours)), now.tzinfo).timestamp(),
        advice="Something now runs day and night. At night, switch circuits off one at a time and watch the "
               "live power on the Now page: a heater, pump, dehumidifier or an open fridge door shows this way.",
    ),))


def night_spike_verdict(hours: Sequence[HourUse], now: datetime, settings: AnomalySettings = AnomalySettings()) -> Verdict:
    """An alert when a night hour of the last 24 h used far more than the same hour usually does."""
    cutoff = now - timedelta(hours=24)
    learn_from = cutoff - timedelta(days=settings.history_days)
    same_hour: dict[int, list[int]] = {}
    recent = []
    for hour in hours:
        if hour.start.hour not in settings.spike_hours or hour.start < learn_from or hour.start >= now:
            continue
        if hour.start >= cutoff:
            recent.append(hour)
        else:
            same_hour.setdefault(hour.start.hour, []).append(hour.wh)
    if not recent:
        return Verdict(not_judged=("Night-time use: the store has no complete night hour in the last 24 h.",))
    spikes, fewest = [], None
    for hour in recent:
        history = same_hour.get(hour.start.hour, [])
        if len(history) < settings.min_history_days:
            fewest = len(history) if fewest is None else min(fewest, len(history))
            continue
        low, high = usual_range(history)
        if hour.wh > _limit(high, settings.spike_ratio, settings.spike_margin_wh):
            spikes.append((hour.wh - high, hour, low, high))
    not_judged = () if fewest is None else _too_short("Night-time use", fewest, settings).not_judged
    if not spikes:
        return Verdict(not_judged=not_judged)
    _, worst, low, high = max(spikes, key=lambda spike: spike[0])
    others = f", and {counted(len(spikes) - 1, 'more night hour')} far above the usual" if len(spikes) > 1 else ""
    return Verdict((Alert(
        kind=NIGHT_SPIKE,
        severity=WARNING,
        title="Night-time spike",
        seen=f"{_hour_span(worst.start)} used {kwh(worst.wh)}{others}",
        expected=kwh_range(low, high),
        since=min(spike[1].start for spike in spikes).timestamp(),
        advice="Something used far more than usual at night: an appliance on a wrong timer, a heater or a car "
               "charging. If it happens every night, look for what was switched on that evening.",
    ),), not_judged)


def nightly_baseload(hours: Sequence[HourUse], settings: AnomalySettings = AnomalySettings()) -> dict[date, int]:
    """Each night's baseload in W: its lowest complete night hour (Wh in one hour is the mean W), by date."""
    nights: dict[date, list[int]] = {}
    for hour in hours:
        if hour.start.hour in settings.night_hours:
            nights.setdefault(hour.start.date(), []).append(hour.wh)
    return {day: min(used) for day, used in sorted(nights.items()) if len(used) >= settings.min_night_hours}


def usual_range(values: Sequence[float]) -> tuple[float, float]:
    """The 10th and 90th percentiles, interpolated between the values seen."""
    deciles = statistics.quantiles(values, n=10, method="inclusive")
    return deciles[0], deciles[-1]


def _usual(nights: dict[date, int], before: date, settings: AnomalySettings) -> tuple[float, float, int]:
    """The usual range of the nights in the `history_days` before `before`, and how many there were."""
    learnt = [watts for day, watts in nights.items() if before - timedelta(days=settings.history_days) <= day < before]
    if len(learnt) < settings.min_history_days:
        return 0.0, 0.0, len(learnt)
    return (*usual_range(learnt), len(learnt))


def _limit(high: float, ratio: float, margin: float) -> float:
    """'Far above' the usual high: both `ratio` times it and `margin` more than it."""
    return max(high * ratio, high + margin)


def _too_short(check: str, learnt: int, settings: AnomalySettings) -> Verdict:
    return Verdict(not_judged=(
        f"{check}: {counted(learnt, 'night')} of history, {settings.min_history_days} needed before judging.",
    ))


def _hour_span(start: datetime) -> str:
    end = (start.astimezone(timezone.utc) + timedelta(hours=1)).astimezone(start.tzinfo)
    return f"{start:%H:%M}–{end:%H:%M}"
