"""The Community page: members by pseudonym, the key and price, the community's production and
consumption per interval, and how this household compares (k-anonymous distributions only)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask import Blueprint, current_app, render_template, request

from dapp import periods
from dapp.allocation_steps import KEY_FORMULAS
from dapp.auth import login_required
from dapp.ledger_view import K_ANONYMITY, CommunityHistory, day_books, rank_share

bp = Blueprint("community", __name__, url_prefix="/community")


@bp.route("/")
@login_required
def page():
    services = current_app.extensions["gridcommons"]
    zone = services.timezone
    text = request.args.get("date")
    day = periods.parse_day(text) if text is not None else periods.today(services.clock(), zone)
    length = periods.interval_seconds(services)
    month = periods.month_days(day.replace(day=1), zone, length)
    with services.mirror() as mirror:
        history = CommunityHistory(mirror)
        member_id = history.member_id_of(services.address)
        books = day_books(mirror, history, member_id, month, length)
    now = int(services.clock()) // length
    key, upcoming = history.key_at(now) or history.key, history.upcoming_key(now)
    book = books[day.day - 1]
    month_import: dict[int, int] = {}
    for b in books:
        for m, wh in b.member_import_wh.items():
            month_import[m] = month_import.get(m, 0) + wh
    others_today = len(book.member_import_wh.keys() - {member_id})
    distributions = member_id is not None and others_today >= K_ANONYMITY
    return render_template(
        "community.html",
        day=day, previous=(day - timedelta(days=1)).isoformat(), next=(day + timedelta(days=1)).isoformat(),
        members=history.members(), member_id=member_id, key=key, price=history.price,
        formula=KEY_FORMULAS.get(key), book=book, k_anonymity=K_ANONYMITY,
        upcoming=upcoming, upcoming_start=upcoming and _local(upcoming.from_interval * length, zone),
        distributions=distributions, others_today=others_today,
        month_rank=rank_share(month_import, member_id), month_others=len(month_import.keys() - {member_id}),
        chart=_chart(book, zone, distributions),
    )


def _local(unix: int, zone) -> str:
    return datetime.fromtimestamp(unix, timezone.utc).astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _chart(book, zone, distributions: bool) -> dict:
    """Community totals per interval; this node's import against the others' quartiles when k-anonymous."""
    lines = book.community
    chart = {
        "labels": [datetime.fromtimestamp(c.start, timezone.utc).astimezone(zone).strftime("%H:%M") for c in lines],
        "production": [c.production_wh for c in lines],
        "import": [c.import_wh for c in lines],
        "shared": [c.shared_wh for c in lines],
    }
    if distributions:
        chart.update({
            "mine": [c.my_import_wh for c in lines],
            "q1": [c.others_quartiles[0] if c.others_quartiles else None for c in lines],
            "median": [c.others_quartiles[1] if c.others_quartiles else None for c in lines],
            "q3": [c.others_quartiles[2] if c.others_quartiles else None for c in lines],
        })
    return chart
