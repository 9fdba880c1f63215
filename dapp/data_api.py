"""The consent-gated data API between members' nodes: `POST /api/v1/readings` with a signed DataRequest.

No session and no CSRF token: each request carries the EIP-712 signature of the recipient's node
key, and the ConsentRegistry is asked live, on every request, whether that recipient may read this
node's member's data now, so a revocation takes effect on the next request. A chain that cannot be
asked means no data (fail closed). Every request, served or refused, goes into the access log.
"""

from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, current_app, request
from web3.exceptions import Web3Exception

from dapp.data_request import (MAX_RANGE, SCOPE_ENERGY_15MIN, DataRequest, Domain, claimed_recipient,
                               signed_by_recipient)
from dapp.errors import BadRequest, NotAvailable, RequestRefused
from node.errors import NodeError

bp = Blueprint("data_api", __name__, url_prefix="/api/v1")
CSRF_EXEMPT = True  # signed machine-to-machine requests, no session

MAX_EXPIRY_AHEAD = 300  # seconds: a signed request is short-lived, so its nonce need not be kept long
MAX_FUTURE = 86400  # seconds past the node's time a range may reach (clocks differ a little; the data does not exist)
NOT_ALLOWED = "no valid consent for this recipient, scope and time"


@bp.route("/readings", methods=["POST"])
def readings():
    services = current_app.extensions["gridcommons"]
    now = services.clock()
    body = request.get_json(silent=True)
    try:
        asked = _parse(body)
    except BadRequest as error:
        raw = body.get("request") if isinstance(body, dict) else None
        return _refuse(services, now, claimed_recipient(raw), None, RequestRefused(str(error), 400))
    try:
        _authorise(services, asked, body["signature"], now)
        intervals = _intervals(services, asked)
    except RequestRefused as refusal:
        return _refuse(services, now, asked.recipient, asked, refusal)
    _log(services, now, asked.recipient, asked, "served", f"{len(intervals)} intervals", len(intervals))
    return {"subject": asked.subject, "scope": asked.scope, "intervals": intervals}


def _parse(body: object) -> DataRequest:
    if not isinstance(body, dict) or set(body) != {"request", "signature"}:
        raise BadRequest('send JSON {"request": {...DataRequest fields}, "signature": "0x..."}')
    return DataRequest.from_message(body["request"])


def _authorise(services, asked: DataRequest, signature: str, now: float) -> None:
    """Every check before data leaves the node; raises RequestRefused with the status to answer."""
    if asked.subject.lower() != services.address.lower():
        raise RequestRefused("this node serves only its own member's data", 404)
    if asked.expiry < now:
        raise RequestRefused("request expired", 401)
    if asked.expiry > now + MAX_EXPIRY_AHEAD:
        raise RequestRefused(f"expiry must be at most {MAX_EXPIRY_AHEAD} s ahead of the node's time", 400)
    if asked.scope != SCOPE_ENERGY_15MIN:
        raise RequestRefused(f"this node serves scope energy_15min ({SCOPE_ENERGY_15MIN}) only", 400)
    if asked.to_time <= asked.from_time:
        raise RequestRefused("toTime must be later than fromTime", 400)
    if asked.to_time - asked.from_time > MAX_RANGE:
        raise RequestRefused(f"ask for at most {MAX_RANGE // 86400} days at a time", 400)
    if asked.to_time > now + MAX_FUTURE:
        raise RequestRefused("toTime is more than a day after the node's time: there is no data yet", 400)
    try:
        domain = Domain.from_deployment(services.config.chain.deployment)
        genuine = signed_by_recipient(asked, domain, signature)
    except NotAvailable as error:
        raise RequestRefused(f"this node cannot check signatures now: {error}", 503) from error
    except BadRequest as error:
        raise RequestRefused(str(error), 400) from error
    if not genuine:
        raise RequestRefused("the signature is not the recipient's", 401)
    with services.dapp_db() as db:
        if not db.use_nonce(asked.nonce, asked.recipient, asked.expiry, now):
            raise RequestRefused("replayed request", 409)
    if not _allowed(services, asked, now):
        raise RequestRefused(NOT_ALLOWED, 403)


def _allowed(services, asked: DataRequest, now: float) -> bool:
    """The registry's answer for this very moment of node time."""
    try:
        registry = services.chain().contracts["ConsentRegistry"]
        return registry.functions.isAllowed(asked.subject, asked.recipient, asked.scope, int(now)).call()
    except (NodeError, OSError, Web3Exception) as error:
        services.forget_chain()
        raise RequestRefused("the chain is unreachable, so consent cannot be checked; try again later", 503) from error


def _intervals(services, asked: DataRequest) -> list[dict]:
    start = datetime.fromtimestamp(asked.from_time, timezone.utc)
    end = datetime.fromtimestamp(asked.to_time, timezone.utc)
    with services.store() as store:
        rows = store.interval_energy(start, end)
    return [{"start": int(row.start.timestamp()), "import_wh": row.import_wh, "export_wh": row.export_wh,
             "complete": row.complete} for row in rows]


def _refuse(services, now: float, requester: str | None, asked: DataRequest | None, refusal: RequestRefused):
    _log(services, now, requester, asked, "refused", str(refusal), 0)
    return {"error": str(refusal)}, refusal.status


def _log(services, now: float, requester: str | None, asked: DataRequest | None, outcome: str, detail: str,
         rows: int) -> None:
    with services.dapp_db() as db:
        db.log_access(now, requester, asked and asked.scope, asked and asked.from_time, asked and asked.to_time,
                      outcome, detail, rows)
