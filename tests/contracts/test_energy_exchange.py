"""EnergyExchange: bilateral offers, escrow on acceptance, delivery metered by both nodes' readings,
proportional release to the producer, refund of the undelivered rest, cancellation before the window."""

from __future__ import annotations

import pytest
from conftest import INTERVAL, Clock, reverts_with
from hypothesis import given, settings
from hypothesis import strategies as st
from permits import sign_permit

WH = 1000
PRICE = 3 * 10**18  # 3 credits per kWh
COST = WH * PRICE // 1000
ZERO = "0x0000000000000000000000000000000000000000"
MAX_UINT = 2**256 - 1
OPEN, ACCEPTED, COMPLETED, EXPIRED, CANCELLED = range(5)


@pytest.fixture(scope="module")
def producer(households):
    return households[0].account


@pytest.fixture(scope="module")
def consumer(households):
    return households[1].account


@pytest.fixture(scope="module")
def other_consumer(households):
    return households[2].account


@pytest.fixture(scope="module", autouse=True)
def _wallets(token, admin, exchange, consumer, other_consumer, outsider):
    """Gives the consumers (and the outsider) 100 credits each in their wallets, with the exchange approved."""
    for account in (consumer, other_consumer, outsider):
        token.issue(account, 100 * 10**18, b"\x00" * 32, sender=admin)
        token.approve(exchange, MAX_UINT, sender=account)


def fresh_interval(clock) -> int:
    """Warps to the start of the next interval, so a test has a whole interval before any window starts."""
    clock.warp_to((clock.current_interval() + 1) * INTERVAL)
    return clock.current_interval()


def post(exchange, clock, producer, wh=WH, price=PRICE, length=3, start=1):
    """Posts an offer whose window starts `start` intervals from now; returns (offerId, first, last)."""
    now = fresh_interval(clock)
    first, last = now + start, now + start + length - 1
    tx = exchange.postOffer(wh, price, first, last, sender=producer)
    return tx.events.filter(exchange.OfferPosted)[0].offerId, first, last


def accepted(exchange, clock, producer, consumer, **terms):
    offer_id, first, last = post(exchange, clock, producer, **terms)
    exchange.accept(offer_id, sender=consumer)
    return offer_id, first, last


def readings(community, clock, interval, producer, consumer, export_wh, import_wh):
    """Both nodes submit their reading for `interval` once it has ended."""
    clock.end_interval(interval)
    community.submitReading(interval, 0, export_wh, sender=producer)
    community.submitReading(interval, import_wh, 0, sender=consumer)


def settle(community, clock, interval, caller):
    clock.pass_grace(interval)
    community.settle(interval, sender=caller)


# ------------------------------------------------------------------ constructor


def test_constructor_records_community_and_token(exchange, community, token):
    assert (exchange.community(), exchange.token()) == (community.address, token.address)
    assert exchange.offerCount() == 0
    assert exchange.MAX_WINDOW_INTERVALS() == 96


@pytest.mark.parametrize("which", ["community", "token"])
def test_constructor_rejects_zero_address(project, admin, community, token, which):
    args = (ZERO, token) if which == "community" else (community, ZERO)
    with reverts_with(project.EnergyExchange.ExchangeZeroAddress):
        admin.deploy(project.EnergyExchange, *args)


# ------------------------------------------------------------------ postOffer


def test_post_offer_records_offer_and_emits_offer_posted(exchange, clock, producer):
    now = fresh_interval(clock)

    tx = exchange.postOffer(WH, PRICE, now + 1, now + 4, sender=producer)

    assert tx.events == [
        exchange.OfferPosted(
            offerId=1, producer=producer, wh=WH, pricePerKWh=PRICE, firstInterval=now + 1, lastInterval=now + 4
        )
    ]
    o = exchange.offer(1)
    actual = (o.producer, o.consumer, o.wh, o.pricePerKWh, o.firstInterval, o.lastInterval, o.status)
    assert actual == (producer, ZERO, WH, PRICE, now + 1, now + 4, OPEN)
    assert (o.deliveredWh, o.lastMeteredInterval, o.cost, o.released, o.escrowed) == (0, 0, COST, 0, 0)
    assert exchange.offerCount() == 1


def test_post_offer_accepts_the_longest_window(exchange, clock, producer):
    now = fresh_interval(clock)

    exchange.postOffer(WH, PRICE, now + 1, now + 96, sender=producer)

    assert exchange.offer(1).lastInterval == now + 96


@pytest.mark.parametrize("who", ["consumer", "outsider"])
def test_post_offer_by_non_producer_reverts(exchange, clock, consumer, outsider, who):
    account = consumer if who == "consumer" else outsider
    now = clock.current_interval()

    with reverts_with(exchange.ExchangeNotProducer, account=account):
        exchange.postOffer(WH, PRICE, now + 1, now + 2, sender=account)


def test_post_offer_by_removed_producer_reverts(exchange, community, clock, admin, producer):
    community.removeMember(producer, sender=admin)
    now = clock.current_interval()

    with reverts_with(exchange.ExchangeNotProducer, account=producer):
        exchange.postOffer(WH, PRICE, now + 1, now + 2, sender=producer)


def test_post_offer_of_zero_wh_reverts(exchange, clock, producer):
    now = clock.current_interval()

    with reverts_with(exchange.ExchangeZeroAmount):
        exchange.postOffer(0, PRICE, now + 1, now + 2, sender=producer)


@pytest.mark.parametrize("wh, price", [(2**64, PRICE), (WH, 2**128)])
def test_post_offer_beyond_packed_types_reverts(exchange, clock, producer, wh, price):
    now = clock.current_interval()

    with reverts_with(exchange.ExchangeAmountTooLarge, wh=wh, pricePerKWh=price):
        exchange.postOffer(wh, price, now + 1, now + 2, sender=producer)


@pytest.mark.parametrize(
    "first, last",
    [(0, 1), (-1, 1), (2, 1), (1, 96 + 1), (2**32, 2**32)],
    ids=["starts now", "started", "ends before start", "97 intervals", "beyond uint32"],
)
def test_post_offer_with_invalid_window_reverts(exchange, clock, producer, first, last):
    now = fresh_interval(clock)
    first_interval = first if first >= 2**32 else now + first
    last_interval = last if last >= 2**32 else now + last

    with reverts_with(
        exchange.ExchangeInvalidWindow, firstInterval=first_interval, lastInterval=last_interval, currentInterval=now
    ):
        exchange.postOffer(WH, PRICE, first_interval, last_interval, sender=producer)


# ------------------------------------------------------------------ accept


def test_accept_escrows_cost_and_emits_offer_accepted(exchange, token, clock, producer, consumer):
    offer_id, _, _ = post(exchange, clock, producer)
    before = token.balanceOf(consumer)

    tx = exchange.accept(offer_id, sender=consumer)

    assert tx.events.filter(exchange.OfferAccepted) == [
        exchange.OfferAccepted(offerId=offer_id, producer=producer, consumer=consumer, cost=COST)
    ]
    assert tx.events.filter(token.Transfer) == [token.Transfer(consumer, exchange, COST)]
    o = exchange.offer(offer_id)
    assert (o.consumer, o.status, o.escrowed, o.released) == (consumer, ACCEPTED, COST, 0)
    assert before - token.balanceOf(consumer) == COST
    assert token.balanceOf(exchange) == COST


def test_accept_rounds_cost_down(exchange, token, clock, producer, consumer):
    wh, price = 1234, 10**17 + 7
    offer_id, _, _ = post(exchange, clock, producer, wh=wh, price=price)

    tx = exchange.accept(offer_id, sender=consumer)

    cost = wh * price // 1000
    assert (wh * price) % 1000 != 0
    assert tx.events.filter(exchange.OfferAccepted)[0].cost == cost
    assert exchange.offer(offer_id).cost == cost
    assert token.balanceOf(exchange) == cost


def test_accept_free_offer_transfers_nothing(exchange, token, clock, producer, consumer):
    offer_id, _, _ = post(exchange, clock, producer, price=0)

    tx = exchange.accept(offer_id, sender=consumer)

    assert tx.events.filter(token.Transfer) == []
    assert exchange.offer(offer_id).status == ACCEPTED


def test_accept_twice_reverts_not_open(exchange, clock, producer, consumer, other_consumer):
    offer_id, _, _ = accepted(exchange, clock, producer, consumer)

    with reverts_with(exchange.ExchangeOfferNotOpen, offerId=offer_id, status=ACCEPTED):
        exchange.accept(offer_id, sender=other_consumer)
    with reverts_with(exchange.ExchangeOfferNotOpen, offerId=offer_id, status=ACCEPTED):
        exchange.accept(offer_id, sender=consumer)


def test_accept_own_offer_reverts(exchange, clock, producer):
    offer_id, _, _ = post(exchange, clock, producer)

    with reverts_with(exchange.ExchangeOwnOffer, offerId=offer_id, account=producer):
        exchange.accept(offer_id, sender=producer)


def test_accept_by_non_member_reverts(exchange, clock, producer, outsider):
    offer_id, _, _ = post(exchange, clock, producer)

    with reverts_with(exchange.ExchangeNotMember, account=outsider):
        exchange.accept(offer_id, sender=outsider)


def test_accept_by_removed_member_reverts(exchange, community, clock, admin, producer, consumer):
    offer_id, _, _ = post(exchange, clock, producer)
    community.removeMember(consumer, sender=admin)

    with reverts_with(exchange.ExchangeNotMember, account=consumer):
        exchange.accept(offer_id, sender=consumer)


def test_accept_unknown_offer_reverts(exchange, consumer):
    with reverts_with(exchange.ExchangeUnknownOffer, offerId=5):
        exchange.accept(5, sender=consumer)


def test_accept_after_window_started_reverts(exchange, clock, producer, consumer):
    offer_id, first, _ = post(exchange, clock, producer)
    clock.warp_to(first * INTERVAL)

    with reverts_with(exchange.ExchangeWindowStarted, offerId=offer_id, firstInterval=first, currentInterval=first):
        exchange.accept(offer_id, sender=consumer)


def test_accept_offer_of_removed_producer_reverts(exchange, community, clock, admin, producer, consumer):
    offer_id, _, _ = post(exchange, clock, producer)
    community.removeMember(producer, sender=admin)

    with reverts_with(exchange.ExchangeNotProducer, account=producer):
        exchange.accept(offer_id, sender=consumer)


def test_accept_without_allowance_reverts_in_token(exchange, token, clock, producer, consumer):
    offer_id, _, _ = post(exchange, clock, producer)
    token.approve(exchange, 0, sender=consumer)

    with reverts_with(token.ERC20InsufficientAllowance, spender=exchange.address, allowance=0, needed=COST):
        exchange.accept(offer_id, sender=consumer)


def test_accept_with_permit_needs_no_approve(chain, exchange, token, clock, producer, consumer):
    offer_id, _, _ = post(exchange, clock, producer)
    token.approve(exchange, 0, sender=consumer)
    deadline = chain.pending_timestamp + 3600
    v, r, s = sign_permit(token, consumer, exchange, COST, deadline, chain.chain_id)

    tx = exchange.acceptWithPermit(offer_id, deadline, v, r, s, sender=consumer)

    assert tx.events.filter(exchange.OfferAccepted)[0].consumer == consumer
    assert exchange.offer(offer_id).status == ACCEPTED
    assert token.balanceOf(exchange) == COST
    assert token.allowance(consumer, exchange) == 0


def test_accept_with_front_run_permit_uses_existing_allowance(
    chain, exchange, token, clock, producer, consumer, outsider
):
    offer_id, _, _ = post(exchange, clock, producer)
    token.approve(exchange, 0, sender=consumer)
    deadline = chain.pending_timestamp + 3600
    v, r, s = sign_permit(token, consumer, exchange, COST, deadline, chain.chain_id)
    token.permit(consumer, exchange, COST, deadline, v, r, s, sender=outsider)

    exchange.acceptWithPermit(offer_id, deadline, v, r, s, sender=consumer)

    assert exchange.offer(offer_id).consumer == consumer


def test_accept_with_permit_by_non_member_reverts(chain, exchange, token, clock, producer, outsider):
    offer_id, _, _ = post(exchange, clock, producer)
    deadline = chain.pending_timestamp + 3600
    v, r, s = sign_permit(token, outsider, exchange, COST, deadline, chain.chain_id)

    with reverts_with(exchange.ExchangeNotMember, account=outsider):
        exchange.acceptWithPermit(offer_id, deadline, v, r, s, sender=outsider)


# ------------------------------------------------------------------ recordDelivery


def test_record_delivery_books_min_of_export_and_import_and_pays_pro_rata(
    exchange, community, token, clock, producer, consumer, other_consumer
):
    offer_id, first, _ = accepted(exchange, clock, producer, consumer)
    readings(community, clock, first, producer, consumer, 600, 450)
    before = token.balanceOf(producer)

    tx = exchange.recordDelivery(offer_id, sender=other_consumer)

    tokens = COST * 450 // WH
    assert tx.events.filter(exchange.DeliveryRecorded) == [
        exchange.DeliveryRecorded(
            offerId=offer_id, producer=producer, consumer=consumer, interval=first, wh=450, tokens=tokens
        )
    ]
    assert tx.events.filter(exchange.ExchangeCompleted) == []
    assert tx.events.filter(token.Transfer) == [token.Transfer(exchange, producer, tokens)]
    assert token.balanceOf(producer) - before == tokens
    o = exchange.offer(offer_id)
    actual = (o.deliveredWh, o.lastMeteredInterval, o.released, o.escrowed, o.status)
    assert actual == (450, first, tokens, COST - tokens, ACCEPTED)


def test_record_delivery_is_limited_by_export(exchange, community, clock, producer, consumer):
    offer_id, first, _ = accepted(exchange, clock, producer, consumer)
    readings(community, clock, first, producer, consumer, 300, 700)

    exchange.recordDelivery(offer_id, sender=producer)

    assert exchange.offer(offer_id).deliveredWh == 300


def test_record_delivery_completes_the_exchange_at_the_offered_wh(
    exchange, community, token, clock, producer, consumer
):
    offer_id, first, _ = accepted(exchange, clock, producer, consumer)
    readings(community, clock, first, producer, consumer, 700, 650)
    exchange.recordDelivery(offer_id, sender=consumer)
    settle(community, clock, first, producer)
    readings(community, clock, first + 1, producer, consumer, 5000, 5000)

    tx = exchange.recordDelivery(offer_id, sender=producer)

    assert tx.events.filter(exchange.DeliveryRecorded)[0].wh == WH - 650
    assert tx.events.filter(exchange.ExchangeCompleted) == [
        exchange.ExchangeCompleted(offerId=offer_id, producer=producer, consumer=consumer, wh=WH, cost=COST)
    ]
    o = exchange.offer(offer_id)
    assert (o.deliveredWh, o.status, o.released, o.escrowed) == (WH, COMPLETED, COST, 0)
    assert token.balanceOf(exchange) == 0
    assert exchange.isActive(offer_id) is False


def test_record_delivery_of_nothing_advances_metering(exchange, community, token, clock, producer, consumer):
    offer_id, first, _ = accepted(exchange, clock, producer, consumer)
    readings(community, clock, first, producer, consumer, 0, 800)

    tx = exchange.recordDelivery(offer_id, sender=consumer)

    assert tx.events.filter(exchange.DeliveryRecorded)[0].wh == 0
    assert tx.events.filter(token.Transfer) == []
    assert exchange.offer(offer_id).lastMeteredInterval == first


def test_record_delivery_twice_for_an_interval_reverts(exchange, community, clock, producer, consumer):
    offer_id, first, _ = accepted(exchange, clock, producer, consumer)
    readings(community, clock, first, producer, consumer, 200, 200)
    exchange.recordDelivery(offer_id, sender=producer)

    with reverts_with(
        exchange.ExchangeIntervalAlreadyMetered, offerId=offer_id, interval=first, lastMeteredInterval=first
    ):
        exchange.recordDelivery(offer_id, sender=consumer)


def test_record_delivery_before_both_readings_reverts_not_aligned(exchange, community, clock, producer, consumer):
    offer_id, first, _ = accepted(exchange, clock, producer, consumer)
    clock.end_interval(first)
    community.submitReading(first, 0, 500, sender=producer)

    with reverts_with(
        exchange.ExchangeReadingsNotAligned, offerId=offer_id, producerInterval=first, consumerInterval=0
    ):
        exchange.recordDelivery(offer_id, sender=producer)


def test_record_delivery_with_readings_of_different_intervals_reverts(
    exchange, community, clock, producer, consumer
):
    offer_id, first, _ = accepted(exchange, clock, producer, consumer)
    readings(community, clock, first, producer, consumer, 100, 100)
    settle(community, clock, first, producer)
    clock.end_interval(first + 1)
    community.submitReading(first + 1, 0, 500, sender=producer)

    with reverts_with(
        exchange.ExchangeReadingsNotAligned, offerId=offer_id, producerInterval=first + 1, consumerInterval=first
    ):
        exchange.recordDelivery(offer_id, sender=consumer)


def test_record_delivery_of_interval_before_window_reverts(exchange, community, clock, producer, consumer):
    offer_id, first, last = accepted(exchange, clock, producer, consumer, start=2)
    readings(community, clock, first - 1, producer, consumer, 500, 500)

    with reverts_with(
        exchange.ExchangeIntervalOutsideWindow,
        offerId=offer_id,
        interval=first - 1,
        firstInterval=first,
        lastInterval=last,
    ):
        exchange.recordDelivery(offer_id, sender=producer)


def test_record_delivery_of_interval_after_window_reverts(exchange, community, clock, producer, consumer):
    offer_id, first, last = accepted(exchange, clock, producer, consumer, length=1)
    readings(community, clock, last + 1, producer, consumer, 500, 500)

    with reverts_with(
        exchange.ExchangeIntervalOutsideWindow,
        offerId=offer_id,
        interval=last + 1,
        firstInterval=first,
        lastInterval=last,
    ):
        exchange.recordDelivery(offer_id, sender=producer)


def test_record_delivery_of_open_offer_reverts_not_accepted(exchange, clock, producer):
    offer_id, _, _ = post(exchange, clock, producer)

    with reverts_with(exchange.ExchangeNotAccepted, offerId=offer_id, status=OPEN):
        exchange.recordDelivery(offer_id, sender=producer)


def test_record_delivery_of_unknown_offer_reverts(exchange, producer):
    with reverts_with(exchange.ExchangeUnknownOffer, offerId=9):
        exchange.recordDelivery(9, sender=producer)


def test_release_is_cumulative_so_rounding_never_drifts(exchange, community, token, clock, producer, consumer):
    # cost = ⌊7 · 1429 / 1000⌋ = 10 token units for 7 Wh: 1 Wh earns 1.43 units, never a whole number.
    offer_id, first, last = accepted(exchange, clock, producer, consumer, wh=7, price=1429)
    producer_before, consumer_before = token.balanceOf(producer), token.balanceOf(consumer)
    paid = []
    for interval, wh in zip(range(first, last + 1), (1, 2, 3)):
        readings(community, clock, interval, producer, consumer, wh, wh)
        tx = exchange.recordDelivery(offer_id, sender=producer)
        paid.append(tx.events.filter(exchange.DeliveryRecorded)[0].tokens)
        settle(community, clock, interval, producer)

    tx = exchange.close(offer_id, sender=consumer)

    assert paid == [10 * 1 // 7, 10 * 3 // 7 - 10 * 1 // 7, 10 * 6 // 7 - 10 * 3 // 7]  # 1, 3, 4
    refunded = tx.events.filter(exchange.ExchangeExpired)[0].refunded
    assert refunded == 10 - sum(paid) == 2
    assert token.balanceOf(producer) - producer_before == sum(paid)
    assert token.balanceOf(consumer) - consumer_before == refunded
    assert token.balanceOf(exchange) == 0


def test_overlapping_deals_never_sell_the_same_export_twice(
    exchange, community, clock, producer, consumer, other_consumer
):
    now = fresh_interval(clock)
    first = now + 1
    for buyer in (consumer, other_consumer):
        exchange.postOffer(WH, PRICE, first, first + 1, sender=producer)
        exchange.accept(exchange.offerCount(), sender=buyer)
    clock.end_interval(first)
    community.submitReading(first, 0, 800, sender=producer)
    community.submitReading(first, 600, 0, sender=consumer)
    community.submitReading(first, 600, 0, sender=other_consumer)

    assert exchange.pendingDelivery(2) == (first, 600, True)
    exchange.recordDelivery(2, sender=other_consumer)
    assert exchange.pendingDelivery(1) == (first, 200, True)
    exchange.recordDelivery(1, sender=consumer)

    assert (exchange.offer(1).deliveredWh, exchange.offer(2).deliveredWh) == (200, 600)
    # The next interval's readings are booked afresh.
    settle(community, clock, first, producer)
    clock.end_interval(first + 1)
    community.submitReading(first + 1, 0, 500, sender=producer)
    community.submitReading(first + 1, 500, 0, sender=consumer)
    exchange.recordDelivery(1, sender=consumer)
    assert exchange.offer(1).deliveredWh == 700


def test_overlapping_deals_never_buy_the_same_import_twice(exchange, community, clock, producer, consumer):
    now = fresh_interval(clock)
    for _ in range(2):
        exchange.postOffer(WH, PRICE, now + 1, now + 1, sender=producer)
        exchange.accept(exchange.offerCount(), sender=consumer)
    readings(community, clock, now + 1, producer, consumer, 1000, 600)

    exchange.recordDelivery(1, sender=producer)
    tx = exchange.recordDelivery(2, sender=producer)

    assert tx.events.filter(exchange.DeliveryRecorded)[0].wh == 0
    assert (exchange.offer(1).deliveredWh, exchange.offer(2).deliveredWh) == (600, 0)


# ------------------------------------------------------------------ pendingDelivery and isActive


def test_pending_delivery_follows_the_readings(exchange, community, clock, producer, consumer):
    offer_id, first, _ = accepted(exchange, clock, producer, consumer)
    clock.end_interval(first)
    community.submitReading(first, 0, 900, sender=producer)
    assert exchange.pendingDelivery(offer_id) == (0, 0, False)

    community.submitReading(first, 400, 0, sender=consumer)
    assert exchange.pendingDelivery(offer_id) == (first, 400, True)

    exchange.recordDelivery(offer_id, sender=consumer)
    assert exchange.pendingDelivery(offer_id) == (0, 0, False)


def test_pending_delivery_of_open_offer_is_not_ready(exchange, clock, producer):
    offer_id, _, _ = post(exchange, clock, producer)

    assert exchange.pendingDelivery(offer_id) == (0, 0, False)


def test_pending_delivery_of_unknown_offer_reverts(exchange):
    with reverts_with(exchange.ExchangeUnknownOffer, offerId=1):
        exchange.pendingDelivery(1)


def test_is_active_only_inside_the_window_of_an_accepted_deal(chain, exchange, clock, producer, consumer):
    offer_id, first, last = post(exchange, clock, producer)
    assert exchange.isActive(offer_id) is False
    exchange.accept(offer_id, sender=consumer)
    assert exchange.isActive(offer_id) is False

    # Views run on the latest block: mine one at each moment.
    for moment, active in [(first * INTERVAL, True), ((last + 1) * INTERVAL - 1, True), ((last + 1) * INTERVAL, False)]:
        clock.warp_to(moment)
        chain.mine()
        assert exchange.isActive(offer_id) is active, moment


def test_is_active_ends_when_the_deal_completes(chain, exchange, community, clock, producer, consumer):
    offer_id, first, _ = accepted(exchange, clock, producer, consumer)
    readings(community, clock, first, producer, consumer, WH, WH)
    assert exchange.isActive(offer_id) is True

    exchange.recordDelivery(offer_id, sender=producer)

    assert exchange.isActive(offer_id) is False


def test_is_active_of_unknown_offer_reverts(exchange):
    with reverts_with(exchange.ExchangeUnknownOffer, offerId=2):
        exchange.isActive(2)


def test_offer_of_unknown_id_reverts(exchange):
    with reverts_with(exchange.ExchangeUnknownOffer, offerId=0):
        exchange.offer(0)


# ------------------------------------------------------------------ close


def test_close_after_partial_delivery_refunds_the_rest(exchange, community, token, clock, producer, consumer, outsider):
    offer_id, first, last = accepted(exchange, clock, producer, consumer, length=2)
    readings(community, clock, first, producer, consumer, 400, 1000)
    exchange.recordDelivery(offer_id, sender=producer)
    settle(community, clock, first, producer)
    settle(community, clock, last, producer)
    consumer_before = token.balanceOf(consumer)

    tx = exchange.close(offer_id, sender=outsider)

    released = COST * 400 // WH
    assert tx.events.filter(exchange.ExchangeExpired) == [
        exchange.ExchangeExpired(
            offerId=offer_id, producer=producer, consumer=consumer, deliveredWh=400, refunded=COST - released
        )
    ]
    assert tx.events.filter(token.Transfer) == [token.Transfer(exchange, consumer, COST - released)]
    assert token.balanceOf(consumer) - consumer_before == COST - released
    o = exchange.offer(offer_id)
    assert (o.status, o.deliveredWh, o.released, o.escrowed) == (EXPIRED, 400, released, 0)
    assert token.balanceOf(exchange) == 0


def test_close_without_delivery_refunds_everything(exchange, community, token, clock, producer, consumer):
    offer_id, _, last = accepted(exchange, clock, producer, consumer)
    settle(community, clock, last, producer)

    tx = exchange.close(offer_id, sender=consumer)

    assert tx.events.filter(exchange.ExchangeExpired)[0].refunded == COST
    assert tx.events.filter(token.Transfer) == [token.Transfer(exchange, consumer, COST)]


def test_interval_settled_before_metering_counts_as_not_delivered(exchange, community, token, clock, producer, consumer):
    offer_id, _, last = accepted(exchange, clock, producer, consumer, length=1)
    readings(community, clock, last, producer, consumer, 250, 300)
    clock.pass_grace(last)
    settled = community.settle(last, sender=consumer)

    assert exchange.pendingDelivery(offer_id) == (0, 0, False)
    with reverts_with(exchange.ExchangeIntervalSettled, offerId=offer_id, interval=last):
        exchange.recordDelivery(offer_id, sender=producer)
    tx = exchange.close(offer_id, sender=consumer)

    # The community's key shared the interval, so the deal refunds everything: paid once, not twice.
    assert settled.events.filter(community.MemberSettled)[1].allocatedWh == 250
    assert tx.events.filter(exchange.DeliveryRecorded) == []
    assert tx.events.filter(exchange.ExchangeExpired)[0].deliveredWh == 0
    assert tx.events.filter(token.Transfer) == [token.Transfer(exchange, consumer, COST)]


def test_settlement_shares_only_what_the_deal_left(exchange, community, clock, producer, consumer):
    offer_id, first, _ = accepted(exchange, clock, producer, consumer, wh=500, length=1)
    readings(community, clock, first, producer, consumer, 800, 600)
    exchange.recordDelivery(offer_id, sender=consumer)
    clock.pass_grace(first)
    surplus_before = community.surplusOf(producer)

    tx = community.settle(first, sender=producer)

    # 500 Wh came through the deal; the key shares the producer's other 300 Wh with the other 100 Wh of demand.
    assert tx.events.filter(community.IntervalSettled)[0].productionWh == 300
    assert tx.events.filter(community.IntervalSettled)[0].allocatedWh == 100
    assert [e.allocatedWh for e in tx.events.filter(community.MemberSettled)] == [0, 100]
    assert community.surplusOf(producer) - surplus_before == 200


def test_close_unaccepted_offer_expires_it(exchange, community, token, clock, producer, consumer):
    offer_id, _, last = post(exchange, clock, producer)
    settle(community, clock, last, producer)

    tx = exchange.close(offer_id, sender=producer)

    assert tx.events == [
        exchange.ExchangeExpired(offerId=offer_id, producer=producer, consumer=ZERO, deliveredWh=0, refunded=0)
    ]
    assert exchange.offer(offer_id).status == EXPIRED
    with reverts_with(exchange.ExchangeOfferNotOpen, offerId=offer_id, status=EXPIRED):
        exchange.accept(offer_id, sender=consumer)


@pytest.mark.parametrize("when", ["inside the window", "last interval ended", "grace period over, unsettled"])
def test_close_before_the_last_interval_is_settled_reverts(exchange, clock, producer, consumer, when):
    offer_id, first, last = accepted(exchange, clock, producer, consumer)
    moment = {
        "inside the window": first * INTERVAL,
        "last interval ended": (last + 1) * INTERVAL,
        "grace period over, unsettled": (last + 1) * INTERVAL + 3600,
    }[when]
    clock.warp_to(moment)

    with reverts_with(exchange.ExchangeWindowNotSettled, offerId=offer_id, lastInterval=last):
        exchange.close(offer_id, sender=consumer)


def test_close_twice_reverts_finished(exchange, community, clock, producer, consumer):
    offer_id, _, last = accepted(exchange, clock, producer, consumer)
    settle(community, clock, last, producer)
    exchange.close(offer_id, sender=consumer)

    with reverts_with(exchange.ExchangeFinished, offerId=offer_id, status=EXPIRED):
        exchange.close(offer_id, sender=consumer)


def test_close_completed_exchange_reverts_finished(exchange, community, clock, producer, consumer):
    offer_id, first, last = accepted(exchange, clock, producer, consumer, length=1)
    readings(community, clock, first, producer, consumer, WH, WH)
    exchange.recordDelivery(offer_id, sender=producer)
    settle(community, clock, last, producer)

    with reverts_with(exchange.ExchangeFinished, offerId=offer_id, status=COMPLETED):
        exchange.close(offer_id, sender=consumer)
    with reverts_with(exchange.ExchangeNotAccepted, offerId=offer_id, status=COMPLETED):
        exchange.recordDelivery(offer_id, sender=consumer)


def test_close_unknown_offer_reverts(exchange, consumer):
    with reverts_with(exchange.ExchangeUnknownOffer, offerId=3):
        exchange.close(3, sender=consumer)


def test_record_delivery_after_close_reverts(exchange, community, clock, producer, consumer):
    offer_id, _, last = accepted(exchange, clock, producer, consumer)
    settle(community, clock, last, producer)
    exchange.close(offer_id, sender=consumer)

    with reverts_with(exchange.ExchangeNotAccepted, offerId=offer_id, status=EXPIRED):
        exchange.recordDelivery(offer_id, sender=consumer)


# ------------------------------------------------------------------ cancel


def test_producer_cancels_open_offer(exchange, clock, producer, consumer):
    offer_id, _, _ = post(exchange, clock, producer)

    tx = exchange.cancel(offer_id, sender=producer)

    assert tx.events == [exchange.OfferCancelled(offerId=offer_id, producer=producer)]
    assert exchange.offer(offer_id).status == CANCELLED
    with reverts_with(exchange.ExchangeOfferNotOpen, offerId=offer_id, status=CANCELLED):
        exchange.accept(offer_id, sender=consumer)


def test_producer_cancels_open_offer_after_its_window_started(exchange, clock, producer):
    offer_id, first, _ = post(exchange, clock, producer)
    clock.warp_to(first * INTERVAL)

    exchange.cancel(offer_id, sender=producer)

    assert exchange.offer(offer_id).status == CANCELLED


def test_cancel_open_offer_by_another_member_reverts(exchange, clock, producer, consumer):
    offer_id, _, _ = post(exchange, clock, producer)

    with reverts_with(exchange.ExchangeNotParty, offerId=offer_id, account=consumer):
        exchange.cancel(offer_id, sender=consumer)


@pytest.mark.parametrize("by", ["consumer", "producer"])
def test_cancel_accepted_exchange_before_window_refunds_consumer(exchange, token, clock, producer, consumer, by):
    offer_id, _, _ = post(exchange, clock, producer)
    before = token.balanceOf(consumer)
    exchange.accept(offer_id, sender=consumer)
    canceller = consumer if by == "consumer" else producer

    tx = exchange.cancel(offer_id, sender=canceller)

    assert tx.events.filter(exchange.ExchangeCancelled) == [
        exchange.ExchangeCancelled(
            offerId=offer_id, producer=producer, consumer=consumer, cancelledBy=canceller, refunded=COST
        )
    ]
    assert tx.events.filter(token.Transfer) == [token.Transfer(exchange, consumer, COST)]
    assert token.balanceOf(consumer) == before
    o = exchange.offer(offer_id)
    assert (o.status, o.escrowed, o.released) == (CANCELLED, 0, 0)


def test_cancel_accepted_exchange_by_outsider_reverts(exchange, clock, producer, consumer, other_consumer):
    offer_id, _, _ = accepted(exchange, clock, producer, consumer)

    with reverts_with(exchange.ExchangeNotParty, offerId=offer_id, account=other_consumer):
        exchange.cancel(offer_id, sender=other_consumer)


@pytest.mark.parametrize("by", ["consumer", "producer"])
def test_cancel_after_window_started_reverts(exchange, clock, producer, consumer, by):
    offer_id, first, _ = accepted(exchange, clock, producer, consumer)
    clock.warp_to(first * INTERVAL + 10)

    with reverts_with(exchange.ExchangeWindowStarted, offerId=offer_id, firstInterval=first, currentInterval=first):
        exchange.cancel(offer_id, sender=consumer if by == "consumer" else producer)


def test_cancel_twice_reverts_finished(exchange, clock, producer):
    offer_id, _, _ = post(exchange, clock, producer)
    exchange.cancel(offer_id, sender=producer)

    with reverts_with(exchange.ExchangeFinished, offerId=offer_id, status=CANCELLED):
        exchange.cancel(offer_id, sender=producer)


def test_cancel_expired_exchange_reverts_finished(exchange, community, clock, producer, consumer):
    offer_id, _, last = accepted(exchange, clock, producer, consumer)
    settle(community, clock, last, producer)
    exchange.close(offer_id, sender=consumer)

    with reverts_with(exchange.ExchangeFinished, offerId=offer_id, status=EXPIRED):
        exchange.cancel(offer_id, sender=consumer)


def test_cancel_unknown_offer_reverts(exchange, producer):
    with reverts_with(exchange.ExchangeUnknownOffer, offerId=4):
        exchange.cancel(4, sender=producer)


# ------------------------------------------------------------------ property: tokens are conserved


interval_readings = st.one_of(
    st.none(),  # the nodes submitted nothing, or nobody metered the interval
    st.tuples(st.integers(min_value=0, max_value=700), st.integers(min_value=0, max_value=700)),
)


@settings(max_examples=20, deadline=None)
@given(
    wh=st.integers(min_value=1, max_value=2000),
    price=st.integers(min_value=0, max_value=10**18),
    window=st.lists(interval_readings, min_size=1, max_size=4),
)
def test_delivery_keeps_tokens_conserved_and_never_exceeds_the_offer(
    chain, community, exchange, token, producer, consumer, wh, price, window
):
    # No `chain.isolate()` here: Ape's swallows exceptions raised inside it, assertions included. Each
    # example runs its own offer in later intervals instead, and compares balances with its own start.
    clock = Clock(chain, community)
    escrow_before = token.balanceOf(exchange)
    offer_id, first, last = accepted(exchange, clock, producer, consumer, wh=wh, price=price, length=len(window))
    cost = wh * price // 1000
    producer_before, consumer_after_accept = token.balanceOf(producer), token.balanceOf(consumer)
    delivered = 0
    for interval, metered in zip(range(first, last + 1), window):
        if metered is not None and delivered < wh:
            export_wh, import_wh = metered
            readings(community, clock, interval, producer, consumer, export_wh, import_wh)
            exchange.recordDelivery(offer_id, sender=producer)
            delivered += min(export_wh, import_wh, wh - delivered)
        o = exchange.offer(offer_id)
        assert o.deliveredWh == delivered <= wh
        assert o.released == cost * delivered // wh
        assert token.balanceOf(exchange) - escrow_before == o.escrowed == cost - o.released
        settle(community, clock, interval, producer)
    if delivered < wh:
        exchange.close(offer_id, sender=consumer)

    paid = token.balanceOf(producer) - producer_before
    refunded = token.balanceOf(consumer) - consumer_after_accept
    assert paid + refunded == cost
    assert paid == cost * delivered // wh
    assert token.balanceOf(exchange) == escrow_before
    assert exchange.offer(offer_id).status == (COMPLETED if delivered == wh else EXPIRED)
