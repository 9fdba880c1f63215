"""The operator's actions (transactions, relay overrides): queued for the node, followed live."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, abort, current_app

from dapp.auth import login_required

bp = Blueprint("transactions", __name__)


def request_action(kind: str, params: dict, summary: str):
    """Queue an action for the node's parts; returns it (state `queued`). Inputs are checked by the caller."""
    with current_app.extensions["gridcommons"].actions() as queue:
        return queue.get(queue.request(kind, params, summary))


def recent_actions(kinds, limit: int = 10):
    with current_app.extensions["gridcommons"].actions() as queue:
        return queue.recent(limit, kinds)


@bp.route("/api/actions/<int:action_id>")
@login_required
def action(action_id: int):
    with current_app.extensions["gridcommons"].actions() as queue:
        found = queue.get(action_id)
    if found is None:
        abort(404)
    return asdict(found)
