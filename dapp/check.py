"""The Check page: for each quarter-hour of a month, the household's own meter, what the chain booked
and the grid operator's figures side by side, how many agree, and why the others do not.

The grid operator's figures come from `gridcommons dso import FILE` (docs/dso.md); the comparison is
node.dso's, so the page, `gridcommons dso check` and the CSV export say the same."""

from __future__ import annotations

import io

from flask import Blueprint, Response, current_app, render_template, request, url_for

from node.dso.errors import DsoError
from node.dso.report import write_csv
from node.dso.sources import MemberCheck, check_month, month_bounds
from node.dso.store import DsoStore, dso_path

from dapp import periods
from dapp.auth import login_required
from dapp.ledger_view import for_intervals

bp = Blueprint("check", __name__, url_prefix="/check")

# What each reason means for a household, and what it can do about it.
REASONS = {
    "dso_missing": "The grid operator sent no figure for this quarter-hour, or not every quantity: import its newer "
                   "file, or ask it for the missing data.",
    "not_on_chain": "The grid operator counts a community share, but the chain had no reading of this household, so "
                    "settlement counted it as zero: the node did not submit the reading before the interval was settled.",
    "dso_incomplete": "The grid operator's own value lacks part of the quarter-hour (its load curve has a gap).",
    "meter_gap": "This node's meter data has a gap here (the node or the meter was off): the reading on chain was "
                 "incomplete.",
    "clock_shift": "The meter's values match the grid operator's one quarter-hour earlier or later: the meter's or "
                   "the node's clock is off. Check the node's time (NTP) and the meter's.",
    "key_differs": "Consumption agrees, the community share does not: the grid operator applied another allocation "
                   "key or participation factor than the community's contract. Ask the community's admin.",
    "submitted_differs": "The reading on chain is not what this node's meter store holds now (the store was corrected "
                         "or restored after the reading was sent).",
    "unexplained": "No reason found: compare the three figures, and ask the grid operator.",
}
SHOWN_ROWS = 500  # a month has 2,976 quarter-hours; the CSV has them all


def _services():
    return current_app.extensions["gridcommons"]


def month_check(services, month) -> MemberCheck | None:
    """The household's check of `month`, or None while no figures were imported. Raises DsoError when
    the figures cannot be matched to this household (several metering points, none its meter id)."""
    path = dso_path(services.config)
    if not path.is_file():
        return None
    length = periods.interval_seconds(services)
    first, stop = month_bounds(month, services.timezone)
    # Built again when the mirror's events of the month, the DSO file or the interval running now
    # change (the meter store gains a reading every second; its intervals close once per interval).
    what = ("check", services.address, length, _changed(path), int(services.clock()) // length)
    with services.mirror() as mirror:
        return for_intervals(mirror, what, first // length, (stop - 1) // length,
                             lambda: _checked(services, path, mirror, month, length))


def _checked(services, path, mirror, month, length: int) -> MemberCheck | None:
    with DsoStore(path) as dso:
        if not dso.points():
            return None
        with services.store() as store:
            return check_month(store, mirror, dso, services.address, month, services.timezone, length=length)


def _changed(path) -> tuple[int, ...]:
    """When the DSO file and its write-ahead log last changed."""
    wal = path.with_name(path.name + "-wal")
    return tuple(p.stat().st_mtime_ns for p in (path, wal) if p.exists())


@bp.route("/")
@login_required
def page():
    services = _services()
    month = _month(services)
    problem = None
    try:
        checked = month_check(services, month)
    except DsoError as error:
        checked, problem = None, str(error)
    differing = [r for r in checked.rows if r.status == "differ"] if checked else []
    return render_template(
        "check.html", month=month, checked=checked, problem=problem, reasons=REASONS,
        differing=differing[:SHOWN_ROWS], more=max(0, len(differing) - SHOWN_ROWS),
        previous=url_for(".page", month=periods.previous_month(month).isoformat()[:7]),
        next=url_for(".page", month=periods.next_month(month).isoformat()[:7]),
        csv=url_for(".export", month=month.isoformat()[:7]),
    )


@bp.route("/export.csv")
@login_required
def export():
    services = _services()
    month = _month(services)
    try:
        checked = month_check(services, month)
    except DsoError as error:
        return Response(f"{error}\n", status=409, mimetype="text/plain")
    out = io.StringIO()
    write_csv(out, checked.rows if checked else (), services.timezone)
    name = f"gridcommons-check-{month.isoformat()[:7]}.csv"
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _month(services):
    text = request.args.get("month")
    if text is not None:
        return periods.parse_month(text)
    return periods.today(services.clock(), services.timezone).replace(day=1)
