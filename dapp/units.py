"""Jinja filters: every number the DApp shows carries its unit, every time is in the node's time zone."""

from __future__ import annotations

from datetime import datetime, timezone

from flask import Flask, current_app

TOKEN_DECIMALS = 18


def watts(value: float | None) -> str:
    if value is None:
        return "–"
    if abs(value) >= 1000:
        return f"{value / 1000:.2f} kW"
    return f"{value:.0f} W"


def energy(wh: float | None) -> str:
    if wh is None:
        return "–"
    if abs(wh) >= 1000:
        return f"{wh / 1000:.2f} kWh"
    return f"{wh:.0f} Wh"


def credits(amount: int | None, places: int = 2) -> str:
    """Token units as credits (18 decimals), e.g. 1250000000000000000 -> '1.25 credits'."""
    if amount is None:
        return "–"
    return f"{amount / 10**TOKEN_DECIMALS:,.{places}f} credits"


def price_per_kwh(amount: int | None) -> str:
    return "–" if amount is None else f"{amount / 10**TOKEN_DECIMALS:.3f} credits/kWh"


def percent(share: float | None) -> str:
    return "–" if share is None else f"{share * 100:.0f} %"


def local_time(ts: float | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Unix seconds in the node's time zone, with its abbreviation (CET/CEST)."""
    if ts is None:
        return "–"
    zone = current_app.extensions["gridcommons"].timezone
    moment = datetime.fromtimestamp(ts, timezone.utc).astimezone(zone)
    return f"{moment.strftime(fmt)} {moment.tzname()}"


def short_address(address: str | None) -> str:
    return "–" if not address else f"{address[:6]}…{address[-4:]}"


FILTERS = {
    "watts": watts,
    "energy": energy,
    "credits": credits,
    "price_per_kwh": price_per_kwh,
    "percent": percent,
    "local_time": local_time,
    "short_address": short_address,
}


def register(app: Flask) -> None:
    app.jinja_env.filters.update(FILTERS)
