"""Forecast benchmark: error on held-out simulated households and communities, and the time a forecast takes.

Run: .venv/bin/python -m bench.forecast_accuracy [--seeds 4] [--start 2024-04-01]
Households of each simulator profile (consumer, prosumer, producer) and several seeds are simulated
minute by minute for 8 weeks of training and 2 held-out weeks; two communities of five of them
(2 producers, 2 consumers, 1 prosumer) are their sums. Each held-out day is forecast at its local
midnight from all the data before it (rolling origin) and scored against the seasonal-naive
baselines (the same hour a day and a week earlier); MAE ratio = model ÷ baseline, below 1 is
better. Then the time to load, fit and forecast from a year of one-minute readings in a meter store,
and from a year of a five-member community's settled readings in an event mirror.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from node.forecast.evaluate import Backtest, Scores, backtest, mae_ratio
from node.forecast.hours import HOUR, EnergyHours
from node.forecast.model import forecast_energy
from node.forecast.sources import community_forecast, household_forecast, household_hours
from node.meter.dsmr.timestamps import METER_TIMEZONE as ZONE
from node.meter.simulator.household import PROFILES, Household
from node.mirror.db import MirrorDB
from node.store import MeterStore, Sample, StoreSettings
from node.store.calendar import local_midnight
from bench.dapp_data import MEMBERS, fill_mirror
from bench.results import save

TRAIN_DAYS, HELD_OUT_DAYS = 56, 14
STEP = 60  # seconds between the power samples a simulated hour integrates
COMMUNITY = (("producer", 0), ("producer", 1), ("consumer", 0), ("consumer", 1), ("prosumer", 0))


def simulate(profile: str, seed: int, first_day: date, days: int, step: int = STEP) -> EnergyHours:
    """Hourly grid import and export of a simulated household, the power netted every `step` seconds."""
    household = Household(PROFILES[profile], seed)
    consumption, production = {}, {}
    begin = local_midnight(first_day, ZONE)
    for start in range(begin, local_midnight(first_day + timedelta(days=days), ZONE), HOUR):
        imported = exported = 0.0
        for offset in range(0, HOUR, step):
            moment = datetime.fromtimestamp(start + offset, ZONE)
            net = household.load_w(moment) - household.pv_w(moment)
            imported += max(net, 0.0) * step / HOUR
            exported += max(-net, 0.0) * step / HOUR
        consumption[start], production[start] = imported, exported
    return EnergyHours(consumption, production)


def summed(members: list[EnergyHours]) -> EnergyHours:
    def total(name: str) -> dict[int, float]:
        return {start: sum(getattr(m, name)[start] for m in members) for start in getattr(members[0], name)}

    return EnergyHours(total("consumption"), total("production"))


class Pool:
    """Backtests of one kind of series over several households, pooled hour by hour."""

    def __init__(self):
        self.model = self.yesterday = self.last_week = Scores()
        self.band_hours = self.in_band = 0

    def add(self, result: Backtest) -> None:
        self.model += result.model
        self.yesterday += result.same_hour_yesterday
        self.last_week += result.same_hour_last_week
        self.band_hours += result.band_hours
        self.in_band += result.in_band

    def figures(self) -> dict:
        def scores(s: Scores) -> dict:
            return {"mae_wh": _round(s.mae_wh), "mape_pct": _round(s.mape_pct), "wape_pct": _round(s.wape_pct)}

        return {
            "hours": self.model.hours,
            "model": scores(self.model),
            "same_hour_yesterday": scores(self.yesterday),
            "same_hour_last_week": scores(self.last_week),
            "mae_ratio_vs_yesterday": _round(mae_ratio(self.model, self.yesterday), 3),
            "mae_ratio_vs_last_week": _round(mae_ratio(self.model, self.last_week), 3),
            "band_coverage_pct": _round(100 * self.in_band / self.band_hours if self.band_hours else None),
        }


def accuracy(seeds: int, first_day: date) -> dict[str, dict]:
    days = TRAIN_DAYS + HELD_OUT_DAYS
    homes = {(profile, seed): simulate(profile, seed, first_day, days) for profile in PROFILES for seed in range(seeds)}
    communities = [summed([homes[(profile, 2 * group + index)] for profile, index in COMMUNITY])
                   for group in range(seeds // 2)]
    held_out = (first_day + timedelta(days=TRAIN_DAYS), first_day + timedelta(days=days - 1))
    pools: dict[str, Pool] = {}
    cases = [(f"{profile} household", energy) for (profile, _), energy in homes.items()]
    cases += [("community of five", energy) for energy in communities]
    for name, energy in cases:
        for quantity in ("consumption", "production"):
            series = getattr(energy, quantity)
            if not any(series.values()):
                continue  # a consumer's production: nothing to forecast
            pools.setdefault(f"{name} {quantity}", Pool()).add(backtest(series, *held_out, ZONE))
    return {name: pool.figures() for name, pool in pools.items()}


def year_in_store(path: Path, first_day: date) -> int:
    """A prosumer's year of one-minute readings in a meter store; returns the time after the last."""
    household = Household(PROFILES["prosumer"], 2024)
    begin = local_midnight(first_day, ZONE)
    end = local_midnight(first_day + timedelta(days=365), ZONE)
    imported = exported = 0.0
    with MeterStore(path, StoreSettings(max_clock_skew=None), clock=lambda: end, local=ZONE) as store:
        for ts in range(begin, end + 1, 60):
            moment = datetime.fromtimestamp(ts, ZONE)
            net = household.load_w(moment) - household.pv_w(moment)
            store.add_sample(Sample(ts, "E0099", int(imported), int(exported), max(round(net), 0), max(round(-net), 0)))
            imported += max(net, 0.0) / 60
            exported += max(-net, 0.0) / 60
    return end


def timing(first_day: date, repeats: int) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        store_path, mirror_path = Path(scratch) / "meter.sqlite", Path(scratch) / "mirror.sqlite"
        end = year_in_store(store_path, first_day)
        fill_mirror(mirror_path, store_path, {m: f"0x{m:040x}" for m in MEMBERS}, end - 365 * 86400, 365)
        origin = end - 10 * HOUR
        with MeterStore(store_path, local=ZONE) as store:
            household = _median_ms(lambda: household_forecast(store, origin, ZONE), repeats)
            energy = household_hours(store, origin - 365 * 86400, origin, ZONE)
        mirror = MirrorDB(mirror_path)
        community = _median_ms(lambda: community_forecast(mirror, origin, 900, ZONE), repeats)
        mirror.close()
    fitted = _median_ms(lambda: forecast_energy(energy, origin, ZONE), repeats)
    return {"year_hours_measured": len(energy.consumption), "fit_and_forecast_ms": _round(fitted),
            "household_from_store_ms": _round(household), "community_from_mirror_ms": _round(community),
            "target_ms_on_a_pi": 1000}


def _median_ms(work, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def _text(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4, help="households per profile (even: two per community)")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2024, 4, 1), help="first simulated day")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs; the median is reported")
    args = parser.parse_args()

    started = time.perf_counter()
    results = accuracy(args.seeds, args.start)
    print(f"{args.seeds} seeds per profile, {TRAIN_DAYS} days of training then {HELD_OUT_DAYS} held-out days from "
          f"{args.start + timedelta(days=TRAIN_DAYS)}, each forecast at midnight "
          f"({time.perf_counter() - started:.0f} s)")
    print(f"{'series':<34} {'hours':>5}  {'MAE Wh model / yesterday / last week':>38}  {'MAPE %':>6} {'WAPE %':>6}"
          f"  {'ratio vs yesterday, last week':>29}  band")
    for name, f in results.items():
        maes = " / ".join(_text(f[k]["mae_wh"]) for k in ("model", "same_hour_yesterday", "same_hour_last_week"))
        print(f"{name:<34} {f['hours']:>5}  {maes:>38}  {_text(f['model']['mape_pct']):>6} "
              f"{_text(f['model']['wape_pct']):>6}  {_text(f['mae_ratio_vs_yesterday'], 2):>14}, "
              f"{_text(f['mae_ratio_vs_last_week'], 2):<14}  {_text(f['band_coverage_pct'])}%")
    speed = timing(args.start, args.repeats)
    print(f"a year of history ({speed['year_hours_measured']} measured hours), median of {args.repeats}: fit and "
          f"forecast {speed['fit_and_forecast_ms']} ms; with loading, household from its store "
          f"{speed['household_from_store_ms']} ms, community of five from the mirror "
          f"{speed['community_from_mirror_ms']} ms (target under {speed['target_ms_on_a_pi']} ms on a Raspberry Pi)")
    save("forecast_accuracy", {"seeds": args.seeds, "start": args.start.isoformat(), "train_days": TRAIN_DAYS,
                               "held_out_days": HELD_OUT_DAYS, "mape_floor_wh": 50, "series": results,
                               "timing": speed})


if __name__ == "__main__":
    main()
