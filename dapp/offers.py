"""Energy offers between neighbours: the order book, my offers and deals with their delivery, and
posting, accepting and cancelling an offer, each through a review step before anything is queued."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from web3.exceptions import Web3Exception

from dapp.auth import login_required
from dapp.errors import BadRequest, NotAvailable
from dapp.ledger_view import CommunityHistory
from dapp.market import Wallet, exact_credits, wallet_of
from dapp.offer_form import (FORM_FIELDS, MAX_WINDOW_INTERVALS, WH_PER_KWH, asked_window, delivery_intervals, hours_text,
                             kwh_text, local_moment, parse_kwh, parse_price)
from dapp.pseudonyms import pseudonyms
from dapp.transactions import recent_actions, request_action
from dapp.units import local_time
from node.errors import NodeError
from node.exchange.deals import ACCEPTED, OPEN, Deal, deals

bp = Blueprint("offers", __name__, url_prefix="/market/offers")

OFFER_ACTIONS = ("post_offer", "accept_offer", "cancel_offer")
DELIVERING = "delivering"  # accepted and inside its window: shown, never stored


@dataclass(frozen=True)
class Book:
    """The exchange as this node's mirror tells it, at the node's time."""

    me: str
    deals: dict[int, Deal]
    names: dict[str, str]
    history: CommunityHistory
    interval_length: int | None
    current: int | None  # the current interval, once the interval length is known

    def who(self, account: str | None) -> str:
        if account is None:
            return "nobody yet"
        return "you" if account == self.me else self.names.get(account, "a former member")

    def deal(self, offer_id: int) -> Deal:
        found = self.deals.get(offer_id)
        if found is None:
            abort(404)
        return found


@dataclass(frozen=True)
class OfferRequest:
    """A checked offer to post, with the operator's texts for the confirm step."""

    wh: int
    price_per_kwh: int
    first_interval: int
    last_interval: int
    asked_start: int  # unix seconds, before rounding to whole intervals
    asked_end: int
    form: dict[str, str]

    @property
    def value(self) -> int:
        return cost_of(self.wh, self.price_per_kwh)

    @property
    def params(self) -> dict:
        return {"wh": self.wh, "price_per_kwh": self.price_per_kwh,
                "first_interval": self.first_interval, "last_interval": self.last_interval}


@dataclass(frozen=True)
class Summary:
    """What the Market page says about offers."""

    open_count: int
    cheapest_price: int | None
    my_running: int


# -- the order book ---------------------------------------------------------------------------


@bp.route("/")
@login_required
def page():
    services = current_app.extensions["gridcommons"]
    book = _book(services)
    wallet = wallet_of(services)
    mine = sorted((d for d in book.deals.values() if book.me in (d.producer, d.consumer)),
                  key=lambda d: d.offer_id, reverse=True)
    return render_template(
        "offers.html",
        book=book,
        wallet=wallet,
        producer=_is_producer(book, wallet),
        offers=open_offers(book.deals.values(), book.me, book.current),
        mine=mine,
        actions=recent_actions(OFFER_ACTIONS, limit=12),
        defaults=_form_defaults(book, services.timezone),
        phase=lambda deal: phase(deal, book.current),
        can_cancel=lambda deal: cancel_refusal(deal, book.me, book.current) is None,
        window=lambda deal: window_text(deal.first_interval, deal.last_interval, book.interval_length),
        interval_span=lambda interval: window_text(interval, interval, book.interval_length),
        cost=lambda deal: cost_of(deal.wh, deal.price_per_kwh),
        max_window=(f"{hours_text(MAX_WINDOW_INTERVALS * book.interval_length)} hours" if book.interval_length
                    else f"{MAX_WINDOW_INTERVALS} intervals"),
    )


def open_offers(all_deals, me: str, current: int | None) -> list[Deal]:
    """Other members' open offers whose window has not started (the contract refuses those), cheapest
    first, then the earliest window."""
    return sorted(
        (d for d in all_deals
         if d.state == OPEN and d.producer != me and (current is None or d.first_interval > current)),
        key=lambda d: (d.price_per_kwh, d.first_interval, d.offer_id),
    )


def summary(services) -> Summary:
    """Open offers from others and my deals not finished, for the Market page."""
    book = _book(services)
    offers = open_offers(book.deals.values(), book.me, book.current)
    running = [d for d in book.deals.values() if d.state in (OPEN, ACCEPTED) and book.me in (d.producer, d.consumer)]
    return Summary(len(offers), offers[0].price_per_kwh if offers else None, len(running))


def phase(deal: Deal, current: int | None) -> str:
    """The deal's state as the page names it: an accepted deal inside its window is delivering."""
    if deal.state == ACCEPTED and current is not None and deal.first_interval <= current <= deal.last_interval:
        return DELIVERING
    return deal.state


def cost_of(wh: int, price_per_kwh: int) -> int:
    """What the consumer escrows, as the contract computes it: ⌊wh · price per kWh / 1000⌋."""
    return wh * price_per_kwh // WH_PER_KWH


def window_text(first: int, last: int, length: int | None) -> str:
    """A delivery window in local time, from the start of `first` to the end of `last`."""
    if length is None:
        return f"intervals {first}–{last}"
    start, end = first * length, (last + 1) * length
    zone = current_app.extensions["gridcommons"].timezone
    same_day = local_moment(start, zone).date() == local_moment(end - 1, zone).date()
    return f"{local_time(start)} – {local_time(end, '%H:%M' if same_day else '%Y-%m-%d %H:%M')}"


# -- posting an offer -------------------------------------------------------------------------


@bp.route("/post", methods=["POST"])
@login_required
def review_post():
    """The first step: check the form and show what would be posted."""
    services = current_app.extensions["gridcommons"]
    book = _book(services)
    offer = _offer_request(services, book)
    length, first, last = book.interval_length, offer.first_interval, offer.last_interval
    intervals = f"{last - first + 1} of {length // 60} minutes, numbers {first} to {last}"
    if (first * length, (last + 1) * length) != (offer.asked_start, offer.asked_end):
        intervals += (f"; you asked for {local_time(offer.asked_start)} – {local_time(offer.asked_end, '%H:%M')}, "
                      "and delivery is metered in whole intervals")
    facts = [
        ("Energy", f"{kwh_text(offer.wh)} kWh ({offer.wh} Wh)"),
        ("Price", f"{exact_credits(offer.price_per_kwh)} per kWh" if offer.price_per_kwh
         else "free: you give the energy away"),
        ("Total value", f"{exact_credits(offer.value)}, what a neighbour escrows to accept it and you receive "
                        "as the energy is delivered"),
        ("Delivery window", window_text(first, last, length)),
        ("Intervals", intervals),
    ]
    notes = [
        "Nothing is sent until you confirm.",
        "Any member can accept the offer until its window starts. You can withdraw it while nobody has accepted "
        "it, and either of you can call an accepted deal off until the window starts.",
    ]
    return _review("Post this energy offer?", facts, notes, url_for("offers.post_confirmed"), offer.form,
                   f"Post the offer of {kwh_text(offer.wh)} kWh")


@bp.route("/post/confirm", methods=["POST"])
@login_required
def post_confirmed():
    services = current_app.extensions["gridcommons"]
    book = _book(services)
    offer = _offer_request(services, book)
    return _queued("post_offer", offer.params,
                   f"offer {kwh_text(offer.wh)} kWh at {exact_credits(offer.price_per_kwh)} per kWh, "
                   f"{window_text(offer.first_interval, offer.last_interval, book.interval_length)}")


def _offer_request(services, book: Book) -> OfferRequest:
    form = {name: request.form.get(name, "").strip() for name in FORM_FIELDS}
    if not _is_producer(book, wallet_of(services)):
        raise BadRequest("Only producer members post energy offers, and this account is not one.")
    wh = parse_kwh(form["kwh"])
    price = parse_price(form["price"])
    length = book.interval_length
    if length is None:
        raise NotAvailable("The node has not learnt the community's interval length from the chain yet, so it "
                           "cannot place a delivery window: try again once the chain answers.")
    start, end = asked_window(form, services.timezone)
    first, last = delivery_intervals(start, end, length, services.clock())
    return OfferRequest(wh, price, first, last, start, end, form)


# -- accepting an offer -----------------------------------------------------------------------


@bp.route("/<int:offer_id>/accept", methods=["POST"])
@login_required
def review_accept(offer_id: int):
    """The first step: show what accepting costs and commits to."""
    services = current_app.extensions["gridcommons"]
    book = _book(services)
    deal, cost, wallet = _acceptance(services, book, offer_id)
    facts = [
        ("Offer", f"#{offer_id} from {book.who(deal.producer)}"),
        ("Energy", f"{kwh_text(deal.wh)} kWh ({deal.wh} Wh)"),
        ("Price", f"{exact_credits(deal.price_per_kwh)} per kWh"),
        ("Delivery window", window_text(deal.first_interval, deal.last_interval, book.interval_length)),
        ("Cost", f"{exact_credits(cost)}, held in escrow"),
        ("Your balance after", exact_credits(wallet.balance - cost) if wallet.reachable
         else "unknown: the chain is unreachable, the node sends it when it answers"),
    ]
    notes = [
        "Nothing is sent until you confirm.",
        "The cost leaves your wallet into the exchange's escrow. It is paid to the producer interval by interval as "
        "both meters show the energy delivered; what is not delivered comes back to you after the window.",
    ]
    return _review(f"Accept offer #{offer_id}?", facts, notes, url_for("offers.accept_confirmed", offer_id=offer_id),
                   {}, f"Accept and escrow {exact_credits(cost)}")


@bp.route("/<int:offer_id>/accept/confirm", methods=["POST"])
@login_required
def accept_confirmed(offer_id: int):
    services = current_app.extensions["gridcommons"]
    book = _book(services)
    deal, cost, _wallet = _acceptance(services, book, offer_id)
    return _queued("accept_offer", {"offer_id": offer_id, "cost": cost},
                   f"accept offer {offer_id}: {deal.wh} Wh for {exact_credits(cost)}")


def _acceptance(services, book: Book, offer_id: int) -> tuple[Deal, int, Wallet]:
    deal = book.deal(offer_id)
    refusal = accept_refusal(deal, book.me, book.current)
    if refusal:
        raise BadRequest(refusal)
    cost = cost_of(deal.wh, deal.price_per_kwh)
    wallet = wallet_of(services)
    if wallet.reachable and cost > wallet.balance:
        raise BadRequest(f"Offer {offer_id} costs {exact_credits(cost)} and your wallet holds "
                         f"{exact_credits(wallet.balance)}.")
    return deal, cost, wallet


def accept_refusal(deal: Deal, me: str, current: int | None) -> str | None:
    """Why this account cannot accept the offer now (None: it can), as the contract would refuse it."""
    if deal.state != OPEN:
        return f"Offer {deal.offer_id} is {deal.state}: only open offers can be accepted."
    if deal.producer == me:
        return f"Offer {deal.offer_id} is your own."
    if current is not None and current >= deal.first_interval:
        return f"The delivery window of offer {deal.offer_id} has started: it can no longer be accepted."
    return None


# -- cancelling -------------------------------------------------------------------------------


@bp.route("/<int:offer_id>/cancel", methods=["POST"])
@login_required
def review_cancel(offer_id: int):
    """The first step: show what cancelling withdraws or refunds."""
    book = _book(current_app.extensions["gridcommons"])
    deal = _cancellable(book, offer_id)
    facts = [
        ("Offer", f"#{offer_id} from {book.who(deal.producer)}"),
        ("Energy", f"{kwh_text(deal.wh)} kWh at {exact_credits(deal.price_per_kwh)} per kWh"),
        ("Delivery window", window_text(deal.first_interval, deal.last_interval, book.interval_length)),
    ]
    if deal.state == OPEN:
        notes = ["The offer is withdrawn: nobody can accept it any more."]
    else:
        facts.insert(1, ("Accepted by", book.who(deal.consumer)))
        receiver = "you get" if deal.consumer == book.me else f"{book.who(deal.consumer)} gets"
        notes = [f"The deal is called off: {receiver} the whole "
                 f"{exact_credits(cost_of(deal.wh, deal.price_per_kwh))} back from escrow."]
    return _review(f"Cancel offer #{offer_id}?", facts, ["Nothing is sent until you confirm.", *notes],
                   url_for("offers.cancel_confirmed", offer_id=offer_id), {}, f"Cancel offer #{offer_id}", danger=True)


@bp.route("/<int:offer_id>/cancel/confirm", methods=["POST"])
@login_required
def cancel_confirmed(offer_id: int):
    book = _book(current_app.extensions["gridcommons"])
    deal = _cancellable(book, offer_id)
    what = "withdraw offer" if deal.state == OPEN else "call off the deal of offer"
    return _queued("cancel_offer", {"offer_id": offer_id}, f"{what} {offer_id}")


def _cancellable(book: Book, offer_id: int) -> Deal:
    deal = book.deal(offer_id)
    refusal = cancel_refusal(deal, book.me, book.current)
    if refusal:
        raise BadRequest(refusal)
    return deal


def cancel_refusal(deal: Deal, me: str, current: int | None) -> str | None:
    """Why this account cannot cancel the deal now (None: it can), as the contract decides: the producer
    withdraws an open offer at any time, either party calls an accepted deal off before its window."""
    if deal.state == OPEN:
        if deal.producer != me:
            return f"Offer {deal.offer_id} is another member's: only its producer can withdraw it."
        return None
    if deal.state == ACCEPTED:
        if me not in (deal.producer, deal.consumer):
            return f"Offer {deal.offer_id} is a deal between other members."
        if current is not None and current >= deal.first_interval:
            return (f"The delivery window of offer {deal.offer_id} has started: the deal runs to its end, and what "
                    "is not delivered goes back to the consumer then.")
        return None
    return f"Offer {deal.offer_id} is {deal.state}: there is nothing left to cancel."


# -- shared -----------------------------------------------------------------------------------


def interval_length(services) -> int | None:
    """The community's interval in seconds: as the node's outbox learnt it, else from the chain (None if neither)."""
    with services.outbox() as outbox:
        known = outbox.interval_length
    if known is not None:
        return known
    try:
        return services.chain().community.interval_length
    except (NodeError, OSError, Web3Exception, ValueError):
        services.forget_chain()
        return None


def _book(services) -> Book:
    length = interval_length(services)
    with services.mirror() as mirror:
        all_deals = deals(mirror)
        history = CommunityHistory(mirror)
    members = [account for account, active in history.membership.items() if active]
    parties = {account for d in all_deals.values() for account in (d.producer, d.consumer) if account}
    names = pseudonyms(sorted({*members, *parties}))
    current = None if length is None else int(services.clock()) // length
    return Book(services.address, all_deals, names, history, length, current)


def _is_producer(book: Book, wallet: Wallet) -> bool:
    """The producer role live from the chain; while it does not answer, as the mirror last saw it."""
    if wallet.reachable:
        return bool(wallet.producer)
    member_id = book.history.member_id_of(book.me)
    return member_id is not None and book.history.profile_at(member_id, None).producer


def _form_defaults(book: Book, zone: ZoneInfo) -> dict[str, str]:
    """An hour from the start of the interval after next (time to review and confirm), within one day."""
    if book.interval_length is None:
        return {}
    start = local_moment((book.current + 2) * book.interval_length, zone)
    end = start + timedelta(hours=1)
    return {"day": start.date().isoformat(), "start": f"{start:%H:%M}",
            "end": f"{end:%H:%M}" if end.date() == start.date() else "00:00"}


def _review(title: str, facts: list[tuple[str, str]], notes: list[str], action: str, hidden: dict[str, str],
            button: str, danger: bool = False):
    return render_template("offers_confirm.html", title=title, facts=facts, notes=notes, action=action,
                           hidden=hidden, button=button, danger=danger)


def _queued(kind: str, params: dict, summary_text: str):
    request_action(kind, params, summary_text)
    flash(f"Asked the node to {summary_text}; its state is under Activity.")
    return redirect(url_for("offers.page", _anchor="activity"))
