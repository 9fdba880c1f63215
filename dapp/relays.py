"""The Relays page: each relay's rule and live state, its last switches, and manual overrides."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from dapp.auth import login_required
from dapp.errors import BadRequest
from dapp.transactions import recent_actions, request_action
from node.relay import RelaySettings, SwitchEvent
from node.relay.rules import describe_days
from node.runtime.relays import RELAY_OVERRIDE

bp = Blueprint("relays", __name__, url_prefix="/relays")

STALE_AFTER_S = 10.0  # the running node rewrites status.json every few seconds
SWITCHES_SHOWN = 10
OPERATOR = "DApp operator"
MODES = {"on": True, "off": False, "rule": None}
# Duration choice -> (label, seconds of node time; None = until cleared).
DURATIONS = {"15m": ("15 min", 900), "1h": ("1 h", 3600), "4h": ("4 h", 4 * 3600), "cleared": ("until cleared", None)}


@dataclass(frozen=True)
class RelayState:
    """Where a relay is: from the running node's status, or the last journal entry when it is not running."""

    on: bool
    source: str
    reason: str
    since: float  # unix seconds
    override: dict | None = None
    pending: bool | None = None
    pending_in_s: float | None = None


@dataclass(frozen=True)
class RelayView:
    """One relay as the page shows it."""

    settings: RelaySettings
    rule: str
    state: RelayState | None
    switches: list[SwitchEvent]
    actions: list


@bp.route("/")
@login_required
def page():
    services = current_app.extensions["gridcommons"]
    relays = services.config.relays
    live = _live_states(services)
    overrides = recent_actions([RELAY_OVERRIDE], limit=50)
    views = []
    with services.relay_journal() as journal:
        for name, settings in relays.items():
            state = live.get(name) if live is not None else _journal_state(journal, name)
            views.append(RelayView(
                settings, describe_rule(settings), state,
                journal.recent(name, SWITCHES_SHOWN, switches_only=True),
                [action for action in overrides if action.params.get("relay") == name][:5],
            ))
    return render_template("relays.html", relays=views, running=live is not None, durations=DURATIONS)


@bp.route("/<name>/override", methods=["POST"])
@login_required
def override(name: str):
    services = current_app.extensions["gridcommons"]
    if name not in services.config.relays:
        abort(404)
    mode = request.form.get("mode", "")
    if mode not in MODES:
        raise BadRequest("Choose on, off or back to the rule.")
    on = MODES[mode]
    until = None
    if on is not None:
        duration = request.form.get("duration", "")
        if duration not in DURATIONS:
            raise BadRequest(f"Choose how long the override lasts: {', '.join(label for label, _ in DURATIONS.values())}.")
        label, seconds = DURATIONS[duration]
        until = None if seconds is None else int(services.clock()) + seconds
        summary = f"relay {name} {mode} for {label}" if seconds else f"relay {name} {mode} until cleared"
    else:
        summary = f"relay {name} back to its rule"
    request_action(RELAY_OVERRIDE, {"relay": name, "on": on, "until": until, "by": OPERATOR, "force": False}, summary)
    flash(f"Asked the node: {summary}.")
    return redirect(url_for("relays.page"))


def describe_rule(settings: RelaySettings) -> str:
    """The rule in a few words, with its thresholds."""
    rule = settings.rule
    if rule.kind == "battery":
        return f"battery: on below {rule.low_pct:g} % charge (community source), off above {rule.high_pct:g} %"
    if rule.kind == "surplus":
        load = f", load {rule.load_w:g} W" if rule.load_w else ""
        return f"surplus: on above {rule.on_above_w:g} W community surplus, off below {rule.off_below_w:g} W{load}"
    if rule.kind == "exchange":
        return f"exchange: on while a peer exchange runs with this household as {rule.role}"
    if rule.kind == "schedule":
        windows = ", ".join(f"{describe_days(w.days)} {w.start:%H:%M}-{w.end:%H:%M}" for w in rule.windows)
        return f"schedule ({rule.timezone.key}): on {windows}"
    return f"manual: rests {'on' if rule.on else 'off'}, switched only by hand"


def _live_states(services) -> dict[str, RelayState] | None:
    """The relays' states from status.json, or None when the node is not running (no file, or stale)."""
    status = services.node_status()
    written_at = status.get("written_at") if isinstance(status, dict) else None
    if not isinstance(written_at, (int, float)) or services.wall() - written_at > STALE_AFTER_S:
        return None
    states = {}
    for entry in status.get("relays") or []:
        try:
            states[entry["name"]] = RelayState(
                bool(entry["on"]), entry["source"], entry["reason"], _unix(entry["since"]),
                _override(entry.get("override")), entry.get("pending"), entry.get("pending_in_s"),
            )
        except (KeyError, TypeError, ValueError):
            continue  # a status written by another version: show the relay without a live state
    return states


def _journal_state(journal, name: str) -> RelayState | None:
    last = journal.recent(name, 1)
    if not last:
        return None
    event = last[0]
    return RelayState(event.on, event.source, event.reason, event.at.timestamp())


def _override(data: dict | None) -> dict | None:
    if not data:
        return None
    until = data.get("until")
    return {"on": bool(data.get("on")), "by": data.get("by"), "until": _unix(until) if until else None}


def _unix(text: str) -> float:
    """status.json writes datetimes with str(): '2026-01-01 00:15:00+00:00'."""
    return datetime.fromisoformat(text).timestamp()
