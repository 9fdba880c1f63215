"""The Now page: live power both ways, today's energy and self-sufficiency, and the member's balances."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass

from flask import Blueprint, Response, current_app, render_template

from dapp.auth import login_required
from dapp.energy_today import DEFINITION, today
from dapp.member_flows import member_flows

bp = Blueprint("now", __name__, url_prefix="/now")

HEARTBEAT_S = 15.0  # a comment after this long without a sample keeps proxies from closing the stream
POLL_S = 1.0  # how often the stream reads the store when the DApp runs beside the node
BALANCE_TTL_S = 5.0  # wall seconds a balance (or the chain's absence) is reused: pages stay fast on a slow chain
CHAIN_UNREACHABLE = "chain unreachable"
KEEP_ALIVE = ": keep-alive\n\n"


def _services():
    return current_app.extensions["gridcommons"]


@bp.route("/")
@login_required
def page():
    return render_template("now.html", **_summary(), definition=DEFINITION)


@bp.route("/api/summary")
@login_required
def summary():
    figures = _summary()
    today_figures = figures["today"]
    return {
        "now": figures["now"],
        "power": figures["power"],
        "today": {**asdict(today_figures), "day": today_figures.day.isoformat(),
                  "self_sufficiency": today_figures.self_sufficiency},
        "self_sufficiency_definition": DEFINITION,
        "balance": asdict(figures["balance"]),
    }


@bp.route("/stream")
@login_required
def stream():
    """Server-sent events: each new meter sample as JSON, a comment every HEARTBEAT_S when quiet."""
    services = _services()  # the generator runs after the request context is gone
    events = _live_events(services) if services.live is not None else _polled_events(services)
    return Response(events, mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _summary() -> dict:
    services = _services()
    now = services.clock()
    with services.mirror() as mirror:
        flows = member_flows(current_app, services.address).refresh(mirror)
    with services.store() as store:
        figures = today(store, flows, now, services.timezone)
        power = _current_power(services, store)
    return {"now": now, "power": power, "today": figures, "balance": _balances(services, flows.member_id)}


# -- live power ---------------------------------------------------------------------------------

def _current_power(services, store) -> dict | None:
    """The live feed's newest sample; the newest stored reading before the first one, or beside the node."""
    if services.live is not None:
        sequence, sample, arrived_at = services.live.latest()
        if sample is not None:
            return _power(sample, arrived_at, sequence, services.wall())
    latest = store.latest()
    return None if latest is None else _power(latest, _arrival_estimate(services, latest), latest.ts, services.wall())


def _power(sample, arrived_at: float, sequence: int, sent_at: float) -> dict:
    """One event: `arrived_at` is the wall time the node got the sample, `sent_at` the wall time now,
    so a browser with a wrong clock still sees how old the figure is."""
    return {"ts": sample.ts, "import_w": sample.import_w, "export_w": sample.export_w,
            "arrived_at": arrived_at, "sequence": sequence, "sent_at": sent_at}


def _arrival_estimate(services, sample) -> float:
    """Beside the node the arrival time is unknown: the wall time its age in node time points to."""
    return services.wall() - max(0.0, services.clock() - sample.ts)


def _event(power: dict) -> str:
    return f"id: {power['sequence']}\ndata: {json.dumps(power)}\n\n"


def _live_events(services):
    """Samples as the meter part publishes them; ends when the client leaves (GeneratorExit at a yield)."""
    live = services.live
    sequence, sample, arrived_at = live.latest()
    if sample is not None:
        yield _event(_power(sample, arrived_at, sequence, services.wall()))
    while True:
        newer, sample, arrived_at = live.wait_after(sequence, HEARTBEAT_S)
        if newer == sequence:
            yield KEEP_ALIVE
            continue
        sequence = newer
        yield _event(_power(sample, arrived_at, sequence, services.wall()))


def _polled_events(services):
    """Beside the node there is no live feed: the newest stored reading, read every POLL_S."""
    last_ts, quiet_since = None, time.monotonic()
    while True:
        with services.store() as store:  # never held across a yield: the pool gets it back at once
            sample = store.latest()
        if sample is not None and sample.ts != last_ts:
            last_ts, quiet_since = sample.ts, time.monotonic()
            yield _event(_power(sample, _arrival_estimate(services, sample), sample.ts, services.wall()))
        elif time.monotonic() - quiet_since >= HEARTBEAT_S:
            quiet_since = time.monotonic()
            yield KEEP_ALIVE
        time.sleep(POLL_S)


# -- balances -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Balances:
    """Token units (18 decimals) in the member's wallet and escrowed in the Community; error if unknown."""

    token: int | None
    escrow: int | None
    error: str | None


class BalanceCache:
    """The last answer of the chain, reused for BALANCE_TTL_S of wall time (thread-safe). While one
    request asks the chain again, the others show the previous answer rather than wait for a slow chain."""

    def __init__(self):
        self._asking = threading.Lock()
        self._answer: tuple[float, Balances] | None = None

    def get(self, services, member_id: int | None) -> Balances:
        answer = self._answer
        if self._fresh(answer, services):
            return answer[1]
        if not self._asking.acquire(blocking=answer is None):
            return answer[1]
        try:
            if self._fresh(self._answer, services):  # asked by the request this one waited for
                return self._answer[1]
            balances = _ask_chain(services, member_id)
            self._answer = (services.wall(), balances)
            return balances
        finally:
            self._asking.release()

    @staticmethod
    def _fresh(answer: tuple[float, Balances] | None, services) -> bool:
        return answer is not None and services.wall() - answer[0] < BALANCE_TTL_S


def _balances(services, member_id: int | None) -> Balances:
    cache = current_app.extensions.setdefault("gridcommons.balances", BalanceCache())
    return cache.get(services, member_id)


def _ask_chain(services, member_id: int | None) -> Balances:
    from web3.exceptions import Web3Exception

    from node.errors import ChainError, NodeError

    if not services.address:
        return Balances(None, None, "this node has no account yet")
    try:
        chain = services.chain()
        token = chain.contracts["EnergyToken"].functions.balanceOf(services.address).call()
        member_id = member_id or chain.community.member_id(services.address)
        escrow = chain.community.ledger(member_id).balance if member_id else None
    except (ChainError, OSError, Web3Exception, ValueError):
        services.forget_chain()
        return Balances(None, None, CHAIN_UNREACHABLE)
    except NodeError as error:  # the chain answers, but the deployment record or manifest is missing
        services.forget_chain()
        return Balances(None, None, str(error)[:200])
    return Balances(token, escrow, None)
