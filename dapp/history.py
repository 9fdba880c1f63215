"""The History page: energy imported, exported, received from and sold to the community, per day,
week, month or year, as a chart (from /history/api/series) and as a table readable without JS."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from datetime import date, timedelta
from typing import Callable

from flask import Blueprint, current_app, render_template, request

from dapp.auth import login_required
from dapp.energy_series import Series, series
from dapp.energy_today import local_day
from dapp.errors import BadRequest
from dapp.member_flows import member_flows
from node.store.calendar import PERIODS, period_dates

bp = Blueprint("history", __name__, url_prefix="/history")

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
FIRST_DAY, LAST_DAY = date(1971, 1, 1), date(9998, 12, 31)  # so that every period and its neighbours exist


@bp.route("/")
@login_required
def page():
    period, day = _query()
    shown = _series(period, day)
    return render_template("history.html", series=shown, totals=shown.as_json()["totals"], period=period, day=day,
                           periods=PERIODS, previous=_shift(period, day, -1), next=_shift(period, day, 1))


@bp.route("/api/series")
@login_required
def api_series():
    try:
        period, day = _query()
    except BadRequest as error:  # JSON for the chart, whatever the Accept header says
        return {"error": str(error)}, 400
    return {**_series(period, day).as_json(), "date": day.isoformat()}


def _query() -> tuple[str, date]:
    """The period and day asked for; today in node time by default."""
    period = request.args.get("period", "day")
    if period not in PERIODS:
        raise BadRequest(f"period must be one of {', '.join(PERIODS)}")
    text = request.args.get("date")
    if text is None:
        services = current_app.extensions["gridcommons"]
        return period, local_day(services.clock(), services.timezone)
    try:
        day = date.fromisoformat(text) if _ISO_DATE.fullmatch(text) else None
    except ValueError:
        day = None
    if day is None:
        raise BadRequest("date must be YYYY-MM-DD, a real day such as 2026-03-29")
    if not FIRST_DAY <= day <= LAST_DAY:
        raise BadRequest(f"date must be between {FIRST_DAY} and {LAST_DAY}")
    return period, day


def _series(period: str, day: date) -> Series:
    services = current_app.extensions["gridcommons"]
    now = services.clock()
    with services.mirror() as mirror:
        flows = member_flows(current_app, services.address).refresh(mirror)
    with services.store() as store:
        latest = store.latest()
        # The page and its chart ask for the same series within a second: build it once while no reading,
        # settlement or interval end came in between.
        key = (period, period_dates(period, day)[0], int(now) // store.settings.interval,
               latest.ts if latest else None, flows.version)
        cache = current_app.extensions.setdefault("gridcommons.history", SeriesCache())
        return cache.get(key, lambda: series(store, flows, period, day, now, services.timezone))


class SeriesCache:
    """The most recently built series by what they depend on (thread-safe)."""

    SIZE = 32

    def __init__(self):
        self._lock = threading.Lock()
        self._built: OrderedDict[tuple, Series] = OrderedDict()

    def get(self, key: tuple, build: Callable[[], Series]) -> Series:
        with self._lock:
            found = self._built.get(key)
            if found is not None:
                self._built.move_to_end(key)
                return found
        built = build()  # outside the lock: other periods need not wait
        with self._lock:
            self._built[key] = built
            while len(self._built) > self.SIZE:
                self._built.popitem(last=False)
        return built


def _shift(period: str, day: date, step: int) -> date:
    """The same period `step` before or after: a day, a week, a month or a year on."""
    if period == "day":
        return day + timedelta(days=step)
    if period == "week":
        return day + timedelta(weeks=step)
    if period == "month":
        months = day.year * 12 + day.month - 1 + step
        return date(months // 12, months % 12 + 1, 1)
    return date(day.year + step, 1, 1)
