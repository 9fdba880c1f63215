"""The Market page: my energy certificates (mint, list, unlist, retire), other members' listings,
sending credits to a member with a confirmation step, and a summary of the energy offers (dapp.offers)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Context, Decimal

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from web3 import Web3
from web3.exceptions import Web3Exception

from dapp.auth import login_required
from node.certificates.book import Certificate, certificates, held_by, listings
from dapp.errors import BadRequest
from dapp.ledger_view import CommunityHistory
from dapp.pseudonyms import pseudonyms
from dapp.transactions import recent_actions, request_action
from dapp.units import TOKEN_DECIMALS
from node.errors import NodeError

bp = Blueprint("market", __name__, url_prefix="/market")

MARKET_ACTIONS = ("mint_certificate", "list_certificate", "unlist_certificate", "buy_certificate",
                  "retire_certificate", "send_tokens")  # offers have their own page and activity
CLAIM_MAX_CHARS = 200
_CREDITS = re.compile(r"[0-9]{1,15}(\.[0-9]{1,18})?")  # ASCII digits only: int() takes any script's
_WHOLE = re.compile(r"[0-9]{1,12}")
_TOKEN_UNITS = re.compile(r"[0-9]{1,40}")


@dataclass(frozen=True)
class Wallet:
    """The few live figures read from the chain; all None with `error` set when it does not answer."""

    balance: int | None = None
    producer: bool | None = None
    surplus_wh: int | None = None
    error: str | None = None

    @property
    def reachable(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Transfer:
    """A checked request to send credits."""

    to: str
    amount: int
    amount_text: str
    balance: int | None


# -- the page ---------------------------------------------------------------------------------


@bp.route("/")
@login_required
def page():
    from dapp.offers import summary  # dapp.offers builds on this module's wallet and credits

    services = current_app.extensions["gridcommons"]
    me = services.address
    length = _interval_length(services)
    with services.mirror() as mirror:
        found = certificates(mirror)
        members = _members(mirror)
    actions = recent_actions(MARKET_ACTIONS, limit=12)
    names = pseudonyms(sorted({*members, *(c.producer for c in found.values())}))
    return render_template(
        "market.html",
        me=me,
        mine=held_by(found, me),
        listings=listings(found, me),
        offers=summary(services),
        wallet=wallet_of(services),
        members=[(names[account], account) for account in members if account != me],
        who=lambda account: "you" if account == me else names.get(account, "a former member"),
        actions=actions,
        open_by_certificate={a.params.get("token_id"): a for a in reversed(actions) if not a.done},
        claim_max=CLAIM_MAX_CHARS,
        interval_length=length,
    )


# -- certificates -----------------------------------------------------------------------------


@bp.route("/certificates/mint", methods=["POST"])
@login_required
def mint():
    services = current_app.extensions["gridcommons"]
    wh = _whole(request.form.get("wh", ""), "energy to certify (Wh)")
    wallet = wallet_of(services)
    if wallet.reachable and not wallet.producer:
        raise BadRequest("Only producer members mint certificates, and this account is not one.")
    if wallet.reachable and wh > wallet.surplus_wh:
        raise BadRequest(f"You have {wallet.surplus_wh} Wh of settled surplus: certify at most that.")
    return _queued("mint_certificate", {"wh": wh}, f"mint a certificate for {wh} Wh")


@bp.route("/certificates/<int:token_id>/list", methods=["POST"])
@login_required
def list_certificate(token_id: int):
    certificate = _my_certificate(token_id)
    price = parse_credits(request.form.get("price", ""), "price")
    return _queued("list_certificate", {"token_id": certificate.token_id, "price": price},
                   f"list certificate #{token_id} at {exact_credits(price)}")


@bp.route("/certificates/<int:token_id>/unlist", methods=["POST"])
@login_required
def unlist_certificate(token_id: int):
    certificate = _my_certificate(token_id)
    if certificate.price is None:
        raise BadRequest(f"Certificate #{token_id} is not listed.")
    return _queued("unlist_certificate", {"token_id": token_id}, f"withdraw the listing of certificate #{token_id}")


@bp.route("/certificates/<int:token_id>/retire", methods=["POST"])
@login_required
def retire_certificate(token_id: int):
    _my_certificate(token_id)
    claim = request.form.get("claim", "").strip()
    if len(claim) > CLAIM_MAX_CHARS:
        raise BadRequest(f"The claim is {len(claim)} characters long: keep it to {CLAIM_MAX_CHARS}.")
    beneficiary_text = request.form.get("beneficiary", "").strip()
    beneficiary = parse_address(beneficiary_text, "beneficiary") if beneficiary_text else None
    return _queued("retire_certificate", {"token_id": token_id, "beneficiary": beneficiary, "claim": claim},
                   f"retire certificate #{token_id}")


@bp.route("/certificates/<int:token_id>/buy", methods=["POST"])
@login_required
def buy_certificate(token_id: int):
    services = current_app.extensions["gridcommons"]
    certificate = _certificate(token_id)
    if certificate.price is None:
        raise BadRequest(f"Certificate #{token_id} is not for sale (any more).")
    if certificate.owner == services.address:
        raise BadRequest(f"Certificate #{token_id} is your own listing.")
    shown = request.form.get("price", "")
    if not _TOKEN_UNITS.fullmatch(shown):
        raise BadRequest("The form lacks the price you saw: reload the page and buy again.")
    if certificate.price > int(shown):
        raise BadRequest(f"The price of certificate #{token_id} rose to {exact_credits(certificate.price)}: "
                         "look again and buy at the new price.")
    return _queued("buy_certificate", {"token_id": token_id, "max_price": certificate.price},
                   f"buy certificate #{token_id} for {exact_credits(certificate.price)}")


def _certificate(token_id: int) -> Certificate:
    with current_app.extensions["gridcommons"].mirror() as mirror:
        found = certificates(mirror).get(token_id)
    if found is None:
        abort(404)
    return found


def _my_certificate(token_id: int) -> Certificate:
    found = _certificate(token_id)
    if found.retired:
        raise BadRequest(f"Certificate #{token_id} is retired.")
    if found.owner != current_app.extensions["gridcommons"].address:
        raise BadRequest(f"Certificate #{token_id} is not yours.")
    return found


# -- sending credits --------------------------------------------------------------------------


@bp.route("/send", methods=["POST"])
@login_required
def send():
    """The first step: check the form and show what would happen."""
    transfer = _transfer_request()
    with current_app.extensions["gridcommons"].mirror() as mirror:
        known = transfer.to in _members(mirror)
    return render_template(
        "market_confirm.html", transfer=transfer, known_member=known, name=pseudonyms([transfer.to])[transfer.to],
        amount=exact_credits(transfer.amount),
        balance_after=None if transfer.balance is None else exact_credits(transfer.balance - transfer.amount),
    )


@bp.route("/send/confirm", methods=["POST"])
@login_required
def send_confirmed():
    transfer = _transfer_request()
    name = pseudonyms([transfer.to])[transfer.to]
    return _queued("send_tokens", {"to": transfer.to, "amount": transfer.amount},
                   f"send {exact_credits(transfer.amount)} to {name}")


def _transfer_request() -> Transfer:
    services = current_app.extensions["gridcommons"]
    typed = request.form.get("to", "").strip()
    chosen = typed or request.form.get("member", "").strip()
    if not chosen:
        raise BadRequest("Choose a member or paste the recipient's account address.")
    to = parse_address(chosen, "recipient")
    if int(to, 16) == 0:
        raise BadRequest("That is the zero address: credits sent there are gone for good. Choose a member or paste "
                         "the recipient's own account address.")
    if to.lower() == services.address.lower():
        raise BadRequest("That is this node's own account: choose another recipient.")
    amount_text = request.form.get("amount", "").strip()
    amount = parse_credits(amount_text, "amount")
    wallet = wallet_of(services)
    if wallet.reachable and amount > wallet.balance:
        raise BadRequest(f"You have {exact_credits(wallet.balance)}: send at most that.")
    return Transfer(to, amount, amount_text, wallet.balance)


# -- inputs and figures -----------------------------------------------------------------------


def _interval_length(services) -> int | None:
    """The community's interval in seconds, as the node's outbox learnt it from the chain (None before)."""
    with services.outbox() as outbox:
        return outbox.interval_length


def parse_credits(text: str, what: str, allow_zero: bool = False) -> int:
    """Credits as typed ('1.5') -> token units (1500000000000000000), exactly: Decimal, never float."""
    text = text.strip()
    if not _CREDITS.fullmatch(text):
        raise BadRequest(f"Write the {what} in credits with a dot for decimals, e.g. 1.5 (at most 18 decimals).")
    units = int(Decimal(text).scaleb(TOKEN_DECIMALS, Context(prec=40)))
    if units <= 0 and not allow_zero:
        raise BadRequest(f"The {what} must be more than 0 credits.")
    return units


def exact_credits(units: int) -> str:
    """Token units as credits with every significant decimal: 1500000000000000000 -> '1.5 credits'."""
    text = f"{Decimal(units).scaleb(-TOKEN_DECIMALS, Context(prec=80)):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} credits"


def parse_address(text: str, what: str) -> str:
    if not Web3.is_address(text):
        raise BadRequest(f"The {what} is not an account address: 0x and 40 hex digits.")
    digits = text[2:]
    # Mixed case carries a checksum (EIP-55), which web3 does not check here: a typo must not send credits away.
    if digits != digits.lower() and digits != digits.upper() and not Web3.is_checksum_address(text):
        raise BadRequest(f"The {what}'s capital letters do not match its checksum: copy the address again.")
    return Web3.to_checksum_address(text)


def _whole(text: str, what: str) -> int:
    text = text.strip()
    if not _WHOLE.fullmatch(text) or int(text) == 0:
        raise BadRequest(f"The {what} must be a whole number above 0.")
    return int(text)


def _members(mirror) -> list[str]:
    """The community's current members' accounts, in joining order."""
    return [account for account, active in CommunityHistory(mirror).membership.items() if active]


def wallet_of(services) -> Wallet:
    """This account's credits, producer role and certifiable surplus, live from the chain."""
    try:
        chain = services.chain()
        community = chain.community.contract.functions
        return Wallet(
            balance=chain.contracts["EnergyToken"].functions.balanceOf(services.address).call(),
            producer=community.isProducer(services.address).call(),
            surplus_wh=community.surplusOf(services.address).call(),
        )
    except (NodeError, OSError, Web3Exception, ValueError) as error:
        services.forget_chain()
        return Wallet(error=str(error).splitlines()[0][:200] if str(error) else type(error).__name__)


def _queued(kind: str, params: dict, summary: str):
    request_action(kind, params, summary)
    flash(f"Asked the node to {summary}; its state is under Activity.")
    return redirect(url_for("market.page", _anchor="activity"))
