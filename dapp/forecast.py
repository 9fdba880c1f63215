"""The Forecast page and its JSON: the next 24 h of this household and its community, the past 24 h
measured beside their forecast, and the hours to run flexible loads."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from dapp.auth import login_required
from dapp.forecast_view import Forecasts, as_json, forecasts, measured_day
from dapp.history import SeriesCache
from dapp.periods import interval_seconds
from node.forecast.hours import hour_start

bp = Blueprint("forecast", __name__, url_prefix="/forecast")


@bp.route("/")
@login_required
def page():
    made, figures = _figures()
    return render_template("forecast.html", made=made, figures=figures)


@bp.route("/api/forecast")
@login_required
def api():
    return _figures()[1]


def _figures() -> tuple[Forecasts, dict]:
    services = current_app.extensions["gridcommons"]
    zone = services.timezone
    origin = hour_start(services.clock(), zone)
    length = interval_seconds(services)
    cache = current_app.extensions.setdefault("gridcommons.forecast", SeriesCache())
    with services.store() as store, services.mirror() as mirror:
        # Built once per local hour: the forecasts read eight weeks, the page is asked for often.
        made = cache.get((origin, length), lambda: forecasts(store, mirror, origin, length, zone))
        measured = measured_day(store, origin, zone)
    return made, as_json(made, measured, zone)
