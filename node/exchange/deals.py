"""This household's peer exchanges, read from the event mirror (no chain call: relays stay fast)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from node.mirror.db import MirrorDB
from node.relay import Exchange

OPEN, ACCEPTED, COMPLETED, EXPIRED, CANCELLED = "open", "accepted", "completed", "expired", "cancelled"


@dataclass(frozen=True)
class Deal:
    """An offer and what became of it, as the mirrored events tell."""

    offer_id: int
    producer: str
    consumer: str | None
    wh: int
    price_per_kwh: int
    first_interval: int
    last_interval: int
    delivered_wh: int
    paid: int
    state: str
    # (interval, Wh, tokens released) per metered interval, in metering order.
    deliveries: tuple[tuple[int, int, int], ...] = ()
    refunded: int = 0  # what went back to the consumer when the deal expired or was cancelled


def deals(mirror: MirrorDB) -> dict[int, Deal]:
    """Every offer on the exchange, by id, folded from its events in chain order."""
    out: dict[int, dict] = {}
    for event in mirror.events(contract="EnergyExchange"):
        a = event.args
        offer_id = a.get("offerId")
        if event.event == "OfferPosted":
            out[offer_id] = dict(
                offer_id=offer_id, producer=a["producer"], consumer=None, wh=a["wh"], price_per_kwh=a["pricePerKWh"],
                first_interval=a["firstInterval"], last_interval=a["lastInterval"], delivered_wh=0, paid=0, state=OPEN,
                deliveries=(), refunded=0,
            )
            continue
        deal = out.get(offer_id)
        if deal is None:
            continue
        if event.event == "OfferAccepted":
            deal.update(consumer=a["consumer"], state=ACCEPTED)
        elif event.event == "DeliveryRecorded":
            deal.update(delivered_wh=deal["delivered_wh"] + a["wh"], paid=deal["paid"] + a["tokens"],
                        deliveries=(*deal["deliveries"], (a["interval"], a["wh"], a["tokens"])))
        elif event.event == "ExchangeCompleted":
            deal.update(state=COMPLETED)
        elif event.event == "ExchangeExpired":
            deal.update(state=EXPIRED, refunded=a["refunded"])
        elif event.event == "OfferCancelled":
            deal.update(state=CANCELLED)
        elif event.event == "ExchangeCancelled":
            deal.update(state=CANCELLED, refunded=a["refunded"])
    return {offer_id: Deal(**deal) for offer_id, deal in out.items()}


def relay_exchanges(all_deals: dict[int, Deal], account: str, interval_length: int) -> tuple[Exchange, ...]:
    """The accepted and finished deals this household is a party to, as the exchange rule reads them."""
    out = []
    for deal in all_deals.values():
        if deal.state not in (ACCEPTED, COMPLETED) or account not in (deal.producer, deal.consumer):
            continue
        role = "producer" if account == deal.producer else "consumer"
        out.append(
            Exchange(
                id=str(deal.offer_id),
                role=role,
                peer=deal.consumer if role == "producer" else deal.producer,
                starts_at=_utc(deal.first_interval * interval_length),
                ends_at=_utc((deal.last_interval + 1) * interval_length),
                agreed_wh=deal.wh,
                # A completed deal delivered everything, whatever the rounding of the events.
                delivered_wh=deal.wh if deal.state == COMPLETED else deal.delivered_wh,
            )
        )
    return tuple(out)


def _utc(unix: int) -> datetime:
    return datetime.fromtimestamp(unix, timezone.utc)
