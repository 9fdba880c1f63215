"""The chain actions an operator can ask for, as data: kind -> the contract calls that carry it out.

Each builder returns the calls in order. Only the last one is the action itself; the ones before it
(an allowance) are safe to repeat, so a node killed half-way simply starts the action again.
"""

from __future__ import annotations

from typing import Callable

Call = tuple[object, str]  # (web3 ContractFunction, purpose for logs and errors)


def _send_tokens(c, me: str, p: dict) -> list[Call]:
    return [(c["EnergyToken"].functions.transfer(p["to"], int(p["amount"])), "send tokens")]


def _mint_certificate(c, me: str, p: dict) -> list[Call]:
    return [(c["EnergyCertificate"].functions.mint(int(p["wh"])), "mint a certificate")]


def _list_certificate(c, me: str, p: dict) -> list[Call]:
    return [(c["EnergyCertificate"].functions.list(int(p["token_id"]), int(p["price"])), "list a certificate")]


def _unlist_certificate(c, me: str, p: dict) -> list[Call]:
    return [(c["EnergyCertificate"].functions.unlist(int(p["token_id"])), "withdraw a listing")]


def _buy_certificate(c, me: str, p: dict) -> list[Call]:
    certificates = c["EnergyCertificate"]
    return [
        (c["EnergyToken"].functions.approve(certificates.address, int(p["max_price"])), "allow the certificate payment"),
        (certificates.functions.buy(int(p["token_id"]), int(p["max_price"])), "buy a certificate"),
    ]


def _retire_certificate(c, me: str, p: dict) -> list[Call]:
    beneficiary = p.get("beneficiary") or me
    return [(c["EnergyCertificate"].functions.retire(int(p["token_id"]), beneficiary, p.get("claim", "")),
             "retire a certificate")]


def _grant_consent(c, me: str, p: dict) -> list[Call]:
    return [(
        c["ConsentRegistry"].functions.grantConsent(
            p["recipient"], int(p["scope"]), int(p["purpose"]), bytes.fromhex(p["policy_hash"].removeprefix("0x")),
            int(p["valid_from"]), int(p["valid_until"]), int(p.get("price_per_period", 0)), int(p.get("period_length", 0)),
        ),
        "grant consent",
    )]


def _renew_consent(c, me: str, p: dict) -> list[Call]:
    return [(c["ConsentRegistry"].functions.renew(int(p["grant_id"]), int(p["valid_until"])), "renew a consent")]


def _revoke_consent(c, me: str, p: dict) -> list[Call]:
    return [(c["ConsentRegistry"].functions.revoke(int(p["grant_id"])), "revoke a consent")]


def _pay_consent(c, me: str, p: dict) -> list[Call]:
    registry = c["ConsentRegistry"]
    return [
        (c["EnergyToken"].functions.approve(registry.address, int(p["amount"])), "allow the consent payment"),
        (registry.functions.pay(int(p["grant_id"]), int(p["periods"])), "pay for a consent"),
    ]


def _release_consent(c, me: str, p: dict) -> list[Call]:
    return [(c["ConsentRegistry"].functions.release(int(p["grant_id"])), "release consent payments")]


def _post_offer(c, me: str, p: dict) -> list[Call]:
    return [(
        c["EnergyExchange"].functions.postOffer(
            int(p["wh"]), int(p["price_per_kwh"]), int(p["first_interval"]), int(p["last_interval"])
        ),
        "post an energy offer",
    )]


def _accept_offer(c, me: str, p: dict) -> list[Call]:
    exchange = c["EnergyExchange"]
    return [
        (c["EnergyToken"].functions.approve(exchange.address, int(p["cost"])), "allow the exchange escrow"),
        (exchange.functions.accept(int(p["offer_id"])), "accept an energy offer"),
    ]


def _cancel_offer(c, me: str, p: dict) -> list[Call]:
    return [(c["EnergyExchange"].functions.cancel(int(p["offer_id"])), "cancel an energy offer")]


CHAIN_ACTIONS: dict[str, Callable[[object, str, dict], list[Call]]] = {
    "send_tokens": _send_tokens,
    "mint_certificate": _mint_certificate,
    "list_certificate": _list_certificate,
    "unlist_certificate": _unlist_certificate,
    "buy_certificate": _buy_certificate,
    "retire_certificate": _retire_certificate,
    "grant_consent": _grant_consent,
    "renew_consent": _renew_consent,
    "revoke_consent": _revoke_consent,
    "pay_consent": _pay_consent,
    "release_consent": _release_consent,
    "post_offer": _post_offer,
    "accept_offer": _accept_offer,
    "cancel_offer": _cancel_offer,
}
