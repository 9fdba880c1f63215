"""The Trading page: the household's trading rules (offer its forecast surplus, accept neighbours'
offers), shown and changed here, saved in the node's rules file (node.exchange.rules_store) that the
node's exchange agent reads on every tick."""

from __future__ import annotations

import re
from dataclasses import asdict, fields
from decimal import Context, Decimal

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from dapp.auth import login_required
from dapp.errors import BadRequest
from dapp.units import TOKEN_DECIMALS
from node.config import OFFER_DAYS, ConfigError, ExchangeConfig, exchange_rules
from node.exchange.deals import deals
from node.exchange.rules_store import RulesStore

bp = Blueprint("trading", __name__, url_prefix="/trading")

FLAGS = ("auto_offer", "auto_accept", "cover_shortage")
WHOLE = {"offer_hours": "hours to offer", "offer_max_wh": "most energy offered a day (Wh)",
         "max_wh": "most energy bought and not yet delivered (Wh)"}
PRICES = {"offer_price_per_kwh": "offer price", "max_price_per_kwh": "highest price"}
DAY_LABELS = {"tomorrow": "tomorrow", "today": "the rest of today"}
_WHOLE = re.compile(r"[0-9]{1,9}")  # ASCII digits only: int() takes any script's
_PERCENT = re.compile(r"[0-9]{1,3}(\.[0-9]{1,2})?")
_CREDITS = re.compile(r"[0-9]{1,6}(\.[0-9]{1,18})?")


class BadRule(BadRequest):
    """A value the form cannot take; the message names the field and what to write."""


@bp.route("/")
@login_required
def page():
    return _page(_store().current())


@bp.route("/", methods=["POST"])
@login_required
def save():
    store = _store()
    try:
        rules = parse_form(request.form, store.defaults)
    except BadRule as error:
        return _page(store.current(), form=request.form, error=str(error)), 400
    try:
        store.write(rules, current_app.extensions["gridcommons"].clock())
    except OSError as error:  # the old rules stay in force, whole
        return _page(store.current(), form=request.form, error=f"The rules could not be saved ({error})."), 500
    flash("Trading rules saved: the node follows them from its next step.")
    return redirect(url_for("trading.page"))


@bp.route("/reset", methods=["POST"])
@login_required
def reset():
    _store().reset()
    flash("Saved trading rules removed: the node follows node.toml's [exchange] again.")
    return redirect(url_for("trading.page"))


def parse_form(form, defaults: ExchangeConfig) -> ExchangeConfig:
    """The rules as typed: checkboxes, whole numbers, a percentage and prices in credits per kWh."""
    table: dict[str, object] = {name: form.get(name) == "on" for name in FLAGS}
    for name, label in WHOLE.items():
        table[name] = _whole(form.get(name, ""), label)
    table["battery_below_pct"] = _percent(form.get("battery_below_pct", ""))
    for name, label in PRICES.items():
        table[name] = parse_price(form.get(name, ""), label)
    day = form.get("offer_day", "")
    if day not in OFFER_DAYS:
        raise BadRule(f"Choose the day to offer for: {' or '.join(DAY_LABELS.values())}.")
    table["offer_day"] = day
    try:
        return exchange_rules(table, defaults, prefix="rules")
    except ConfigError as error:  # the bounds the node itself checks, e.g. at most 24 hours
        raise BadRule(_plain(error)) from None


def parse_price(text: str, label: str) -> int:
    """Credits per kWh as typed ('0.08') -> token units per kWh, exactly (Decimal, never float)."""
    text = text.strip()
    if not _CREDITS.fullmatch(text):
        raise BadRule(f"Write the {label} in credits per kWh with a dot for decimals, e.g. 0.08.")
    return int(Decimal(text).scaleb(TOKEN_DECIMALS, Context(prec=40)))


def price_text(units: int) -> str:
    """Token units per kWh as the credits the form shows: 80000000000000000 -> '0.08'."""
    text = f"{Decimal(units).scaleb(-TOKEN_DECIMALS, Context(prec=60)):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _whole(text: str, label: str) -> int:
    text = text.strip()
    if not _WHOLE.fullmatch(text) or int(text) == 0:
        raise BadRule(f"The {label} must be a whole number above 0.")
    return int(text)


def _percent(text: str) -> float:
    text = text.strip()
    if not _PERCENT.fullmatch(text) or float(text) > 100:
        raise BadRule("The battery threshold must be a percentage from 0 to 100, e.g. 20.")
    return float(text)


def _plain(error: ConfigError) -> str:
    field = error.key.removeprefix("rules.")
    label = {**WHOLE, **PRICES, "offer_day": "day to offer for", "battery_below_pct": "battery threshold"}.get(field, field)
    return f"The {label} {str(error).split(': ', 1)[1]}."


def _store() -> RulesStore:
    # One per app: a bad file's reason is logged once, not on every page view.
    return current_app.extensions.setdefault(
        "gridcommons.trading_rules", RulesStore.for_node(current_app.extensions["gridcommons"].config))


def _page(current, form=None, error: str | None = None):
    services = current_app.extensions["gridcommons"]
    values = {name: str(value) for name, value in asdict(current.rules).items()}
    values.update({name: price_text(getattr(current.rules, name)) for name in PRICES})
    values.update({name: "on" if getattr(current.rules, name) else "" for name in FLAGS})
    values["battery_below_pct"] = f"{current.rules.battery_below_pct:g}"
    if form is not None:  # what was typed, so a mistake is corrected rather than typed again
        values.update({f.name: form.get(f.name, "") for f in fields(ExchangeConfig)})
    with services.mirror() as mirror:
        mine = sorted((d for d in deals(mirror).values() if services.address in (d.producer, d.consumer)),
                      key=lambda d: -d.offer_id)
    return render_template("trading.html", current=current, values=values, error=error, days=DAY_LABELS,
                           deals=mine[:20], me=services.address, interval_length=_interval_length(services))


def _interval_length(services) -> int | None:
    """The community's interval in seconds, as the node's outbox learnt it from the chain (None before)."""
    with services.outbox() as outbox:
        return outbox.interval_length
