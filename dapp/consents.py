"""The Consents page: grant, renew and revoke access to this household's meter data, fetch what other
members shared with this node, and see who fetched what from it.

Grants are read from the mirrored ConsentRegistry events; changes are queued as chain actions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal, DecimalException

from eth_utils import keccak, to_checksum_address
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from dapp.auth import login_required
from dapp.data_request import MAX_RANGE, SCOPE_ENERGY_15MIN, SCOPES, scope_names
from dapp.errors import BadRequest, NotAvailable, PeerRefused
from dapp.ledger_view import CommunityHistory
from dapp.peers import fetch_readings
from dapp.pseudonyms import pseudonym, pseudonyms
from dapp.transactions import recent_actions, request_action
from dapp.units import TOKEN_DECIMALS

bp = Blueprint("consents", __name__, url_prefix="/consents")
bp.add_app_template_filter(scope_names, "scope_names")

# The community's published purpose codes: the `purpose` a grant names, and its policy text.
PURPOSES = {
    1: "research",
    2: "energy advice",
    3: "community balancing",
}
PERIOD_LENGTHS = {3600: "hour", 86400: "day", 7 * 86400: "week", 30 * 86400: "30 days"}
DEFAULT_VALIDITY = 30 * 86400
MAX_VALIDITY = 5 * 365 * 86400  # a consent ends within five years; renew it to go on
MAX_PRICE = 2**128 - 1  # the registry's uint128
ACTION_KINDS = ("grant_consent", "renew_consent", "revoke_consent", "pay_consent", "release_consent")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_ZERO = "0x" + "0" * 40
_TIME_INPUT = "%Y-%m-%dT%H:%M"


def policy_document(purpose: int, scope: int) -> str:
    """The policy a grant commits its recipient to; the grant's policyHash is keccak256 of its UTF-8 text.

    e.g. "gridcommons consent policy v1\\npurpose 1: research\\nscope 1: energy per 15 min"
    """
    return (f"gridcommons consent policy v1\npurpose {purpose}: {PURPOSES[purpose]}\n"
            f"scope {scope}: {', '.join(scope_names(scope))}")


def policy_hash(purpose: int, scope: int) -> str:
    return "0x" + keccak(text=policy_document(purpose, scope)).hex()


@dataclass(frozen=True)
class Consent:
    """One grant as the mirror knows it, with its renewals, revocation and payments applied."""

    grant_id: int
    subject: str
    recipient: str
    scope: int
    purpose: int
    valid_from: int
    valid_until: int
    price_per_period: int
    period_length: int
    revoked_at: int | None
    paid_until: int | None

    def state(self, now: float) -> str:
        """As the registry's isLive sees it: revoked, expired, or live (which includes not yet started)."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if now >= self.valid_until else "live"

    def periods_payable(self, now: float) -> int:
        """How many more periods the registry accepts now: the last one must start before the end."""
        if not self.period_length:
            return 0
        paid = self.paid_until if self.paid_until and self.paid_until > now else None
        start = paid or max(int(now), self.valid_from)
        return max(0, -(-(self.valid_until - start) // self.period_length))

    @property
    def scope_names(self) -> list[str]:
        return scope_names(self.scope)

    @property
    def includes_energy(self) -> bool:
        """Whether the one scope the data API serves is part of this grant."""
        return bool(self.scope & SCOPE_ENERGY_15MIN)

    @property
    def purpose_name(self) -> str:
        return PURPOSES.get(self.purpose, f"purpose code {self.purpose}")

    @property
    def period_name(self) -> str:
        return PERIOD_LENGTHS.get(self.period_length, f"{self.period_length} s")


def consents(mirror, **party) -> list[Consent]:
    """Grants with `subject=` or `recipient=` an address, newest first."""
    granted = mirror.events("ConsentGranted", "ConsentRegistry", where=party, newest_first=True)
    ids = {event.args["grantId"] for event in granted}
    later: dict[int, dict] = {grant_id: {} for grant_id in ids}
    for name, arg, key in (("ConsentRenewed", "validUntil", "valid_until"), ("ConsentRevoked", "revokedAt", "revoked_at"),
                           ("ConsentPaid", "paidUntil", "paid_until")):
        for event in mirror.events(name, "ConsentRegistry"):  # oldest first: the last one wins
            if event.args["grantId"] in ids:
                later[event.args["grantId"]][key] = event.args[arg]
    return [
        Consent(
            grant_id=e.args["grantId"], subject=e.args["subject"], recipient=e.args["recipient"], scope=e.args["scope"],
            purpose=e.args["purpose"], valid_from=e.args["validFrom"],
            valid_until=later[e.args["grantId"]].get("valid_until", e.args["validUntil"]),
            price_per_period=e.args["pricePerPeriod"], period_length=e.args["periodLength"],
            revoked_at=later[e.args["grantId"]].get("revoked_at"), paid_until=later[e.args["grantId"]].get("paid_until"),
        )
        for e in granted
    ]


def members(mirror) -> dict[str, bool]:
    """Member accounts from the mirror -> whether they are still members."""
    return CommunityHistory(mirror).membership


def _services():
    return current_app.extensions["gridcommons"]


@bp.route("/")
@login_required
def page():
    services = _services()
    now = services.clock()
    with services.mirror() as mirror:
        given = consents(mirror, subject=services.address)
        received = consents(mirror, recipient=services.address)
        known = members(mirror)
    with services.dapp_db() as db:
        accesses = db.accesses()
    names = pseudonyms(sorted({*known, *(c.recipient for c in given), *(c.subject for c in received),
                               *(a.requester for a in accesses if a.requester)}))
    today = datetime.fromtimestamp(now, services.timezone).date()
    return render_template(
        "consents.html",
        now=now,
        given=given,
        received=received,
        names=names,
        recipients=sorted((names[account], account) for account, active in known.items()
                          if active and account != services.address),
        accesses=accesses,
        actions=recent_actions(ACTION_KINDS),
        purposes=PURPOSES,
        scopes=SCOPES,
        period_lengths=PERIOD_LENGTHS,
        default_from=_time_input(now),
        default_until=_time_input(now + DEFAULT_VALIDITY),
        fetch_from=(today - timedelta(days=1)).isoformat(),
        fetch_to=today.isoformat(),
        can_fetch=services.signer is not None,
    )


@bp.route("/grant", methods=["POST"])
@login_required
def grant():
    services = _services()
    form, now = request.form, services.clock()
    recipient = _address((form.get("recipient_address") or "").strip() or form.get("recipient", ""), "recipient")
    if recipient.lower() == services.address.lower():
        raise BadRequest("You cannot grant consent to yourself: choose another member or paste another address.")
    scope = _scope(form.getlist("scope"))
    purpose = _choice(form.get("purpose"), PURPOSES, "purpose")
    valid_from = _moment(form.get("valid_from"), "valid from")
    valid_until = _until(form.get("valid_until"), "valid until", now)
    if valid_until <= valid_from:
        raise BadRequest("The end of the consent must come after its start.")
    price = _credits(form.get("price", ""))
    period_length = _choice(form.get("period_length"), PERIOD_LENGTHS, "period length") if price else 0
    params = {"recipient": recipient, "scope": scope, "purpose": purpose, "policy_hash": policy_hash(purpose, scope),
              "valid_from": valid_from, "valid_until": valid_until, "price_per_period": price,
              "period_length": period_length}
    request_action("grant_consent", params,
                   f"Share {', '.join(scope_names(scope))} with {recipient} for {PURPOSES[purpose]}")
    flash("Consent queued: the node sends it to the chain.")
    return redirect(url_for("consents.page"))


@bp.route("/<int:grant_id>/renew", methods=["POST"])
@login_required
def renew(grant_id: int):
    services = _services()
    now = services.clock()
    consent = _own_live_consent(services, grant_id, now)
    valid_until = _until(request.form.get("valid_until"), "new end", now)
    if valid_until <= consent.valid_until:
        raise BadRequest("A renewal must end later than the consent ends now.")
    request_action("renew_consent", {"grant_id": grant_id, "valid_until": valid_until}, f"Renew consent #{grant_id}")
    flash(f"Renewal of consent #{grant_id} queued.")
    return redirect(url_for("consents.page"))


@bp.route("/<int:grant_id>/revoke", methods=["POST"])
@login_required
def revoke(grant_id: int):
    services = _services()
    _own_live_consent(services, grant_id, services.clock())
    request_action("revoke_consent", {"grant_id": grant_id}, f"Revoke consent #{grant_id}")
    flash(f"Revocation of consent #{grant_id} queued: it takes effect in the block that carries it.")
    return redirect(url_for("consents.page"))


@bp.route("/<int:grant_id>/pay", methods=["POST"])
@login_required
def pay(grant_id: int):
    """Prepay whole periods of a paid consent given to this household (approve, then pay)."""
    services = _services()
    now = services.clock()
    consent = _consent(services, grant_id, now, recipient=services.address)
    if not consent.price_per_period:
        raise BadRequest(f"Consent #{grant_id} is free: there is nothing to pay.")
    fit = consent.periods_payable(now)
    try:
        periods = int(request.form.get("periods", ""))
    except ValueError:
        periods = 0
    if not 1 <= periods <= fit:
        raise BadRequest(f"Pay for 1 to {fit} whole periods: no more fit before consent #{grant_id} ends.")
    amount = periods * consent.price_per_period
    request_action("pay_consent", {"grant_id": grant_id, "periods": periods, "amount": amount},
                   f"Pay {periods} × {consent.period_name} for consent #{grant_id}")
    flash(f"Payment for consent #{grant_id} queued.")
    return redirect(url_for("consents.page"))


@bp.route("/<int:grant_id>/release", methods=["POST"])
@login_required
def release(grant_id: int):
    """Collect what a paid consent of this household has earned so far (and refund the rest once it ended)."""
    services = _services()
    consent = _consent(services, grant_id, services.clock(), subject=services.address, live=False)
    if not consent.price_per_period:
        raise BadRequest(f"Consent #{grant_id} is free: there are no payments to release.")
    request_action("release_consent", {"grant_id": grant_id}, f"Release payments of consent #{grant_id}")
    flash(f"Release of consent #{grant_id}'s payments queued.")
    return redirect(url_for("consents.page"))


@bp.route("/fetch", methods=["POST"])
@login_required
def fetch():
    """Another member's 15-minute energy, fetched from that member's node, beside this household's own."""
    services = _services()
    now = services.clock()
    subject = _address(request.form.get("subject", ""), "member")
    start, end = _day_range(request.form.get("from"), request.form.get("to"), services.timezone, now)
    peer, refusal = {}, None
    try:
        peer = {row.start: row for row in fetch_readings(services, subject, start, end)}
    except PeerRefused as error:
        refusal = f"{error} (HTTP {error.status})" if error.status else str(error)
    except NotAvailable as error:
        refusal = str(error)
    with services.store() as store:
        mine = store.interval_energy(datetime.fromtimestamp(start, timezone.utc), datetime.fromtimestamp(end, timezone.utc))
    rows = [{"start": int(own.start.timestamp()), "mine": own, "peer": peer.get(int(own.start.timestamp()))}
            for own in mine]
    chart = {
        "labels": [datetime.fromtimestamp(row["start"], services.timezone).strftime("%d %H:%M") for row in rows],
        "peer": [row["peer"].import_wh if row["peer"] else None for row in rows],
        "mine": [row["mine"].import_wh for row in rows],
    }
    return render_template("peer_data.html", subject=subject, name=pseudonym(subject), start=start, end=end,
                           rows=rows, refusal=refusal, chart=chart)


# -- checking input ---------------------------------------------------------------------------


def _own_live_consent(services, grant_id: int, now: float) -> Consent:
    return _consent(services, grant_id, now, subject=services.address)


def _consent(services, grant_id: int, now: float, live: bool = True, **party) -> Consent:
    """The mirrored grant `grant_id` with this household as `subject=` or `recipient=`; live unless told."""
    with services.mirror() as mirror:
        found = [c for c in consents(mirror, **party) if c.grant_id == grant_id]
    if not found:
        role = "gave" if "subject" in party else "received"
        raise BadRequest(f"Consent #{grant_id} is not one this household {role} (or the node has not mirrored it yet).")
    if live and found[0].state(now) != "live":
        raise BadRequest(f"Consent #{grant_id} is {found[0].state(now)}: grant a new one instead.")
    return found[0]


def _address(text: str, label: str) -> str:
    if not _ADDRESS.fullmatch(text or ""):
        raise BadRequest(f"The {label} must be an account address: 0x followed by 40 hex digits.")
    if text.lower() == _ZERO:
        raise BadRequest(f"The {label} cannot be the zero address.")
    return to_checksum_address(text)


def _scope(values: list[str]) -> int:
    scope = 0
    for value in values:
        bit = _choice(value, SCOPES, "data category")
        scope |= bit
    if not scope:
        raise BadRequest("Choose at least one kind of data to share.")
    return scope


def _choice(value: str | None, choices: dict, label: str) -> int:
    try:
        chosen = int(value or "")
    except ValueError:
        chosen = None
    if chosen not in choices:
        raise BadRequest(f"Choose a {label} from the list.")
    return chosen


def _moment(text: str | None, label: str) -> int:
    """A date or date and time from the form, in the node's time zone, as unix seconds."""
    try:
        moment = datetime.fromisoformat(text or "")
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=_services().timezone)
        seconds = int(moment.timestamp())
    except (ValueError, OverflowError):
        raise BadRequest(f"Enter the {label} as a date and time, e.g. 2026-03-01T08:00.") from None
    if seconds < 0:
        raise BadRequest(f"The {label} must be after 1970.")
    return seconds


def _until(text: str | None, label: str, now: float) -> int:
    until = _moment(text, label)
    if until <= now:
        raise BadRequest(f"The {label} must be in the future.")
    if until > now + MAX_VALIDITY:
        raise BadRequest(f"The {label} must be within five years; renew the consent later to go on.")
    return until


def _credits(text: str) -> int:
    """A price in credits as token units; empty means free."""
    text = text.strip()
    if not text:
        return 0
    try:
        amount = Decimal(text) * 10**TOKEN_DECIMALS
    except DecimalException:
        amount = None
    if amount is None or not amount.is_finite():
        raise BadRequest("Enter the price as a number of credits, e.g. 0.5.")
    if amount < 0:
        raise BadRequest("The price cannot be negative.")
    if amount != amount.to_integral_value():
        raise BadRequest(f"The price can have at most {TOKEN_DECIMALS} decimal places.")
    if amount > MAX_PRICE:
        raise BadRequest("The price is too large.")
    return int(amount)


def _day_range(first: str | None, last: str | None, zone, now: float) -> tuple[int, int]:
    """Whole local days from `first` to `last` (inclusive) as unix seconds, cut at the node's time."""
    try:
        first_day, last_day = date.fromisoformat(first or ""), date.fromisoformat(last or "")
        start = int(datetime.combine(first_day, time(), zone).timestamp())
        end = min(int(datetime.combine(last_day + timedelta(days=1), time(), zone).timestamp()), int(now))
    except (ValueError, OverflowError):
        raise BadRequest("Enter the days to fetch as dates, e.g. 2026-03-01.") from None
    if start < 0:
        raise BadRequest("The first day must be after 1970.")
    if end <= start:
        raise BadRequest("The last day must not come before the first, and the range must have started.")
    if end - start > MAX_RANGE:
        raise BadRequest(f"Fetch at most {MAX_RANGE // 86400} days at a time.")
    return start, end


def _time_input(ts: float) -> str:
    return datetime.fromtimestamp(ts, _services().timezone).strftime(_TIME_INPUT)
