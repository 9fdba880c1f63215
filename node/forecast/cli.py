"""`gridcommons forecast show` (the next 24 h) and `gridcommons forecast evaluate` (the error on this node's data)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from node.errors import NodeError

_CONFIG_OPTION = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=Path("node.toml"),
    show_default=True, help="The node's TOML config.",
)


@click.group()
def forecast() -> None:
    """Hourly forecasts of consumption and production, and their measured error."""


@forecast.command()
@_CONFIG_OPTION
@click.option("--at", "at", default=None, metavar="YYYY-MM-DDTHH:MM",
              help="Forecast as of this local time instead of the node's clock (e.g. after an import of past data).")
def show(config_path: Path, at: str | None) -> None:
    """The next 24 hours of this household and its community, hour by hour."""
    from node.forecast.hours import hour_start
    from node.forecast.sources import community_forecast, household_forecast
    from node.forecast.surplus import expected_surplus, recommendation, surplus_windows

    config = _config(config_path)
    zone = ZoneInfo(config.timezone)
    origin = hour_start(_moment(at, zone) if at else _node_clock(config)(), zone)
    with _store(config, zone) as store:
        mine = household_forecast(store, origin, zone)
        length = store.settings.interval
    community = None
    if config.mirror_path.exists():
        from node.mirror.db import MirrorDB

        mirror = MirrorDB(config.mirror_path)
        try:
            community = community_forecast(mirror, origin, _chain_interval(config) or length, zone)
        finally:
            mirror.close()
    click.echo(f"Forecast for {config.name}, 24 h from {datetime.fromtimestamp(origin, zone):%a %Y-%m-%d %H:%M} "
               f"({config.timezone}), in Wh per hour, likely range in brackets")
    surplus = {hour.start: hour.surplus_wh for hour in expected_surplus(community)} if community else {}
    click.echo(f"{'hour':<6} {'consumption':>22} {'production':>22} {'community surplus':>18}")
    for used, made in zip(mine.consumption.hours, mine.production.hours):
        extra = surplus.get(used.start)
        click.echo(f"{datetime.fromtimestamp(used.start, zone):%H:%M}  {_cell(used):>22} {_cell(made):>22} "
                   f"{'' if extra is None else f'{extra:+,.0f}':>18}")
    click.echo(f"Consumption: {mine.consumption.note}")
    click.echo(f"Production: {mine.production.note}")
    if community is None:
        click.echo("Community: no event mirror yet (the node has not followed the chain).")
    else:
        click.echo(f"Community consumption: {community.consumption.note}")
        click.echo(f"Community production: {community.production.note}")
        click.echo(recommendation(surplus_windows(expected_surplus(community)), zone))


@forecast.command()
@_CONFIG_OPTION
@click.option("--days", type=click.IntRange(1, 366), default=14, show_default=True,
              help="How many of the last days with data to forecast and score.")
def evaluate(config_path: Path, days: int) -> None:
    """Backtest the forecast on this node's store against the seasonal-naive baselines."""
    from node.forecast.evaluate import MAPE_FLOOR_WH, backtest
    from node.forecast.hours import HOUR
    from node.forecast.sources import HISTORY_SECONDS, household_hours
    from node.store.calendar import local_midnight

    config = _config(config_path)
    zone = ZoneInfo(config.timezone)
    with _store(config, zone) as store:
        latest = store.latest()
        if latest is None:
            raise click.ClickException(f"the store {config.store_path} holds no readings yet: nothing to evaluate")
        # The last whole local day with data, so that an imported year is scored where it ends.
        last = datetime.fromtimestamp(latest.ts, zone).date() - timedelta(days=1)
        first = last - timedelta(days=days - 1)
        end = local_midnight(last + timedelta(days=1), zone)
        energy = household_hours(store, local_midnight(first, zone) - HISTORY_SECONDS, end, zone)
    click.echo(f"Backtest on {config.name}'s store: {days} days, {first} to {last} ({config.timezone}); each day "
               "forecast at its midnight from the data before it.")
    click.echo(f"{'':<12} {'forecast':<22} {'hours':>6} {'MAE Wh':>8} {'MAPE %':>7} {'WAPE %':>7}")
    for name, series in (("consumption", energy.consumption), ("production", energy.production)):
        result = backtest(series, first, last, zone)
        rows = (("this model", result.model), ("same hour yesterday", result.same_hour_yesterday),
                ("same hour last week", result.same_hour_last_week))
        for index, (label, scores) in enumerate(rows):
            click.echo(f"{name if index == 0 else '':<12} {label:<22} {scores.hours:>6} {_figure(scores.mae_wh):>8} "
                       f"{_figure(scores.mape_pct):>7} {_figure(scores.wape_pct):>7}")
        ratios = [result.ratio(result.same_hour_yesterday), result.ratio(result.same_hour_last_week)]
        coverage = result.band_coverage_pct
        click.echo(f"{'':<12} MAE ÷ yesterday's {_figure(ratios[0], 2)}, ÷ last week's {_figure(ratios[1], 2)}"
                   f" (below 1: the model is better); band held {_figure(coverage)}% of "
                   f"{result.band_hours} hours")
        if result.model.hours == 0:
            click.echo(f"{'':<12} no hour could be scored: it needs measured hours, and the same hours a day and a "
                       f"week before; {len(series)} hours of {(end - local_midnight(first, zone)) // HOUR} measured")
    click.echo(f"MAPE counts hours with at least {MAPE_FLOOR_WH:.0f} Wh measured; WAPE is Σ|error| ÷ Σ measured.")


def _config(path: Path):
    from node import config as node_config

    try:
        return node_config.load(path)
    except NodeError as error:
        raise click.ClickException(str(error)) from None


def _store(config, zone):
    from node.store.store import MeterStore

    if not config.store_path.exists():
        raise click.ClickException(f"no meter store at {config.store_path}: run the node or import history first")
    return MeterStore(config.store_path, local=zone)


def _node_clock(config):
    from node.runtime.clock import SimulatedClock

    c = config.clock
    return SimulatedClock(c.time_factor, c.start, c.wall_start) if c.time_factor != 1.0 else time.time


def _chain_interval(config) -> int | None:
    """The community's interval in seconds, as the node's outbox learnt it from the chain."""
    if not config.outbox_path.exists():
        return None
    from node.submit.outbox import Outbox

    outbox = Outbox(config.outbox_path)
    try:
        return outbox.interval_length
    finally:
        outbox.close()


def _moment(text: str, zone: ZoneInfo) -> float:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        problem = f"must be a local time like 2026-01-01T10:00, got {text!r}"
        raise click.BadParameter(problem, param_hint="--at") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).timestamp()


def _cell(hour) -> str:
    if hour.expected_wh is None:
        return "unknown"
    if hour.low_wh is None:
        return f"{hour.expected_wh:,.0f}"
    return f"{hour.expected_wh:,.0f} ({hour.low_wh:,.0f}–{hour.high_wh:,.0f})"


def _figure(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"
