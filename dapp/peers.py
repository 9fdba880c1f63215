"""The client side of the data API: fetch another member's 15-minute energy from that member's node."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import requests

from dapp.data_request import SCOPE_ENERGY_15MIN, DataRequest, Domain, sign
from dapp.errors import NotAvailable, PeerRefused

REQUEST_LIFETIME = 60  # seconds the signed request stays valid
TIMEOUT = 10  # seconds to wait for the peer's node


@dataclass(frozen=True)
class PeerInterval:
    """One 15-minute interval of another member's energy, as that member's node served it."""

    start: int
    import_wh: int | None
    export_wh: int | None
    complete: bool


def fetch_readings(services, subject: str, from_time: int, to_time: int) -> list[PeerInterval]:
    """Sign a request with the node key, send it to `subject`'s node and return its intervals.

    NotAvailable when this node cannot ask (no key, no address for the peer); PeerRefused with the
    peer's message and HTTP status when the peer says no or does not answer.
    """
    if services.signer is None:
        raise NotAvailable("this DApp runs without the node key; fetching needs `gridcommons node run`")
    base = services.config.dapp.peers.get(subject.lower())
    if base is None:
        raise NotAvailable(f'this node does not know where {subject}\'s node is: set dapp.peers."{subject}" = '
                           '"http://host:port" in node.toml')
    asked = DataRequest(
        subject=subject,
        recipient=services.signer.address,
        scope=SCOPE_ENERGY_15MIN,
        from_time=int(from_time),
        to_time=int(to_time),
        nonce="0x" + secrets.token_hex(32),
        expiry=int(services.clock()) + REQUEST_LIFETIME,
    )
    signature = sign(asked, Domain.from_deployment(services.config.chain.deployment), services.signer)
    try:
        response = requests.post(f"{base}/api/v1/readings", json={"request": asked.message(), "signature": signature},
                                 timeout=TIMEOUT)
    except requests.RequestException as error:
        raise PeerRefused(f"{subject}'s node at {base} does not answer: {error}") from error
    if response.status_code != 200:
        raise PeerRefused(_error_message(response), response.status_code)
    return _intervals(response, subject)


def _error_message(response) -> str:
    try:
        message = response.json().get("error")
    except (ValueError, AttributeError):
        message = None
    return str(message)[:300] if message else f"HTTP {response.status_code} without an explanation"


def _intervals(response, subject: str) -> list[PeerInterval]:
    """The peer's answer, checked field by field: another node's reply is input like any other."""
    try:
        body = response.json()
        if body["subject"].lower() != subject.lower():
            raise ValueError("the answer is about another member")
        return [_interval(row) for row in body["intervals"]]
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise PeerRefused(f"the peer's answer is not a list of intervals: {error}", response.status_code) from error


def _interval(row: dict) -> PeerInterval:
    start, imported, exported, complete = row["start"], row["import_wh"], row["export_wh"], row["complete"]
    for value in (start, imported, exported):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError(f"{value!r} is not a whole number")
    if start is None or not isinstance(complete, bool):
        raise ValueError("an interval needs a start and a complete flag")
    return PeerInterval(start, imported, exported, complete)
