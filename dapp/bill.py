"""The Settlements and bill page: what each settled interval booked for this node, why, and what the
other allocation keys would have given. Everything comes from the event mirror.

Import is split three ways (from peer deals, from the community key, from the grid) and export too
(under peer deals, to the community, surplus to the grid), so every Wh appears, and is paid, once."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

from flask import Blueprint, Response, current_app, render_template, request, url_for

from node.allocation import AllocationKey

from dapp import periods
from dapp.allocation_steps import KEY_FORMULAS, explain
from dapp.auth import login_required
from dapp.errors import BadRequest
from dapp.ledger_view import (CommunityHistory, Totals, WhatIf, bill_line, day_books, for_intervals, load_settled,
                               offer_prices)

bp = Blueprint("bill", __name__, url_prefix="/bill")

CSV_COLUMNS = (
    "interval", "interval_start_local", "reported", "import_wh", "export_wh", "from_community_wh", "from_grid_wh",
    "to_community_wh", "to_grid_wh", "paid_credits", "received_credits", "net_credits", "owed_credits",
    "price_credits_per_kwh", "allocation_key",
    # Peer deals (issue 13), appended so that spreadsheets reading the columns above by position still work.
    "from_deals_wh", "deals_paid_credits", "to_deals_wh", "deals_received_credits", "total_net_credits",
)


def _services():
    return current_app.extensions["gridcommons"]


@bp.route("/")
@login_required
def page():
    services = _services()
    kind, first = _period(services)
    length = periods.interval_seconds(services)
    days = _days(kind, first, services, length)
    with services.mirror() as mirror:
        history = CommunityHistory(mirror)
        member_id = history.member_id_of(services.address)
        books = day_books(mirror, history, member_id, days, length) if member_id else []
    context = dict(kind=kind, first=first, member_id=member_id, books=books, history=history,
                   formulas=KEY_FORMULAS, keys=list(AllocationKey), **_navigation(kind, first))
    if books:
        context.update(
            totals=sum((b.totals for b in books), Totals()),
            mismatches=[i for b in books for i in b.mismatches],
            pending=sum(b.pending for b in books),
            what_if=_what_if(books),
            keys_in_force=sorted({line.key for b in books for line in b.lines}),
            chart=_chart(books[0], services.timezone) if kind == "day" else _month_chart(books),
        )
    if kind == "month" and member_id:
        context["check"] = _check_summary(services, first)
    return render_template("bill.html", **context)


def _check_summary(services, month):
    """The month's check against the grid operator, for the banner (None without figures)."""
    from node.dso.errors import DsoError

    from dapp.check import month_check

    try:
        checked = month_check(services, month)
    except DsoError:
        return None  # the Check page says why
    return checked.summary if checked else None


@bp.route("/interval/<interval>")
@login_required
def interval(interval: str):
    services = _services()
    number = periods.parse_interval(interval)
    length = periods.interval_seconds(services)
    with services.mirror() as mirror:
        history = CommunityHistory(mirror)
        settled = load_settled(mirror, history, number, number, length)
        member_id = history.member_id_of(services.address)
        mine = settled[0].bought(member_id) + settled[0].sold(member_id) if settled and member_id else ()
        prices = offer_prices(mirror, (d.offer_id for d in mine))  # only this household's deals
    if not settled:
        return render_template("error.html", status=404, title="Not settled",
                               message=f"interval {number} is not settled yet"), 404
    line = bill_line(settled[0], member_id, length) if member_id else None
    return render_template("bill_interval.html", explanation=explain(settled[0], history, member_id, prices),
                           line=line, start=number * length, length=length,
                           day=periods.today(number * length, services.timezone).isoformat())


@bp.route("/export.csv")
@login_required
def export():
    services = _services()
    if not request.args.get("month") and not request.args.get("date"):
        raise BadRequest("say which period to export: ?month=2026-01 or ?date=2026-01-31")
    kind, first = _period(services)
    length = periods.interval_seconds(services)
    days = _days(kind, first, services, length)
    with services.mirror() as mirror:
        history = CommunityHistory(mirror)
        member_id = history.member_id_of(services.address)
        if member_id is None:
            raise BadRequest("this node's account is not a member of the community (yet): there is no bill to export")
        books = day_books(mirror, history, member_id, days, length)
        body = for_intervals(mirror, ("csv", member_id, length, services.config.timezone), days[0].first,
                             days[-1].last, lambda: _csv(books, services.timezone))
    label = first.isoformat()[:7] if kind == "month" else first.isoformat()
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="gridcommons-bill-{label}.csv"'})


def _csv(books, zone) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for book in books:
        for line in book.lines:
            writer.writerow((
                line.interval, datetime.fromtimestamp(line.start, timezone.utc).astimezone(zone).isoformat(),
                "yes" if line.reported else "no", line.import_wh, line.export_wh, line.from_community_wh,
                line.from_grid_wh, line.to_community_wh, line.to_grid_wh, _decimal(line.paid), _decimal(line.received),
                _decimal(line.net), _decimal(line.owed), _decimal(line.price), line.key.name,
                line.from_deals_wh, _decimal(line.deals_paid), line.to_deals_wh, _decimal(line.deals_received),
                _decimal(line.total_net),
            ))
    return out.getvalue()


def _period(services):
    """("day", date) or ("month", first day) from ?date= or ?month=; today by default."""
    month, day = request.args.get("month"), request.args.get("date")
    if month is not None and day is not None:
        raise BadRequest("ask for a date or a month, not both")
    if month is not None:
        return "month", periods.parse_month(month)
    if day is not None:
        return "day", periods.parse_day(day)
    return "day", periods.today(services.clock(), services.timezone)


def _days(kind: str, first, services, length: int):
    if kind == "month":
        return periods.month_days(first, services.timezone, length)
    return [periods.day_range(first, services.timezone, length)]


def _navigation(kind: str, first) -> dict:
    if kind == "month":
        before, after = periods.previous_month(first), periods.next_month(first)
        return {"previous": url_for(".page", month=before.isoformat()[:7]), "next": url_for(".page", month=after.isoformat()[:7]),
                "other": url_for(".page", date=first.isoformat()), "label": first.strftime("%B %Y"),
                "csv": url_for(".export", month=first.isoformat()[:7])}
    return {"previous": url_for(".page", date=(first - timedelta(days=1)).isoformat()),
            "next": url_for(".page", date=(first + timedelta(days=1)).isoformat()),
            "other": url_for(".page", month=first.isoformat()[:7]), "label": first.strftime("%A %d %B %Y"),
            "csv": url_for(".export", date=first.isoformat())}


def _what_if(books) -> dict[AllocationKey, WhatIf] | None:
    if any(b.what_if is None for b in books):
        return None
    return {key: sum((b.what_if[key] for b in books), WhatIf()) for key in AllocationKey}


def _chart(book, zone) -> dict:
    """Per interval, Wh in (from deals, the community, the grid) above zero and out (to each) below."""
    def label(start):
        return datetime.fromtimestamp(start, timezone.utc).astimezone(zone).strftime("%H:%M")

    return {"labels": [label(line.start) for line in book.lines], **_flows(book.lines)}


def _month_chart(books) -> dict:
    return {"labels": [b.day.day.strftime("%d") for b in books], **_flows([b.totals for b in books])}


def _flows(parts) -> dict:
    """The chart's series from bill lines or totals: in above zero, out below."""
    return {
        "from_deals": [p.from_deals_wh for p in parts],
        "from_community": [p.from_community_wh for p in parts],
        "from_grid": [p.from_grid_wh for p in parts],
        "to_deals": [-p.to_deals_wh for p in parts],
        "to_community": [-p.to_community_wh for p in parts],
        "to_grid": [-p.to_grid_wh for p in parts],
    }


def _decimal(amount: int | None) -> str:
    """Token units as exact credits with 18 decimals, for spreadsheets."""
    if amount is None:
        return ""
    whole, fraction = divmod(abs(amount), 10**18)
    return f"{'-' if amount < 0 else ''}{whole}.{fraction:018d}"
