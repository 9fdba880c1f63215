"""Settlement over random communities, for every key, with and without peer deals, on the real EVM:
invariants, and exact agreement with the Python reference settlement (node/settlement.py)."""

import ape
import pytest
from conftest import INTERVAL, LIMITS, PRICE_PER_KWH, fund, isolated
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.allocation import FULL_SHARE_PPM, SCHEDULE_SLOTS, AllocationKey, schedule_slot
from node.settlement import DealDelivery, MemberInterval, book_deliveries, settle_interval, taken_wh

# Twelve households: four producers, six consumers, two prosumers, over four priority levels.
ROLES = [(True, False)] * 4 + [(False, True)] * 6 + [(True, True)] * 2
# Prepaid credit units per member: some consumers cannot pay in full, one has nothing.
PREPAID = [0, 0, 0, 0, 50 * 10**18, 50 * 10**18, 50 * 10**18, 0, 10**15, 50 * 10**18, 50 * 10**18, 50 * 10**18]
PRODUCERS = [i for i, (producer, _) in enumerate(ROLES) if producer]
WALLET = 100 * 10**18  # credits each member holds outside the community, for deals' escrow
MAX_UINT = 2**256 - 1


@pytest.fixture(scope="module")
def town(community, token, admin, accounts):
    members = [accounts[i] for i in range(1, 1 + len(ROLES))]
    for i, (account, (producer, consumer)) in enumerate(zip(members, ROLES)):
        community.addMember(account, b"\x01" * 32, producer, consumer, 0, i % 4, *LIMITS, sender=admin)
        if PREPAID[i]:
            fund(token, community, admin, account, PREPAID[i])
    return members


@pytest.fixture(scope="module")
def traders(town, token, admin, exchange):
    """The town, each member with credits in its wallet and the exchange approved to escrow them."""
    for account in town:
        token.issue(account, WALLET, b"\x00" * 32, sender=admin)
        token.approve(exchange, MAX_UINT, sender=account)
    return town


readings = st.lists(
    st.one_of(st.none(), st.tuples(st.integers(0, 6000), st.integers(0, 6000))),
    min_size=len(ROLES),
    max_size=len(ROLES),
)
weights = st.lists(st.integers(0, 100), min_size=len(ROLES), max_size=len(ROLES))


def coefficients(raw, share):
    total = sum(raw) or 1
    return [w * share // total for w in raw]


# SCHEDULED: three share sets of random weights, and a random schedule of them over the 192 slots.
share_sets = st.lists(st.tuples(weights, st.integers(0, FULL_SHARE_PPM)), min_size=3, max_size=3)
schedules = st.binary(min_size=SCHEDULE_SLOTS, max_size=SCHEDULE_SLOTS).map(lambda b: bytes(x % 3 for x in b))


def choose_key(community, admin, town, key, interval, coeffs, sets, schedule) -> list[int]:
    """Puts `key` in force from `interval` with the members' coefficients; under SCHEDULED also the
    share sets and schedule. Returns each member's share in the set the interval uses."""
    community.setAllocationKey(int(key), interval, sender=admin)
    community.setCoefficients(town, coeffs, sender=admin)
    if key != AllocationKey.SCHEDULED:
        return [0] * len(town)
    shares = [coefficients(raw, share) for raw, share in sets]
    for n, set_shares in enumerate(shares):
        community.setShares(n, town, set_shares, sender=admin)
    community.setShareSchedule(schedule, sender=admin)
    in_force = schedule[schedule_slot(interval * INTERVAL)]
    assert community.shareSetAt(interval) == in_force
    return shares[in_force]


@given(
    key=st.sampled_from(AllocationKey),
    readings=readings,
    raw_weights=weights,
    share=st.integers(0, FULL_SHARE_PPM),
    sets=share_sets,
    schedule=schedules,
    days_ahead=st.integers(0, 6),
)
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_settlement_conserves_credits_and_matches_the_reference(
    chain, community, token, admin, town, key, readings, raw_weights, share, sets, schedule, days_ahead
):
    with isolated(chain):
        # Some days and quarter-hours ahead, so the schedule's weekday and weekend slots both come up.
        interval = chain.pending_timestamp // INTERVAL + 1 + days_ahead * 96 + schedule[0] * 37
        chain.pending_timestamp = interval * INTERVAL
        coeffs = coefficients(raw_weights, share)
        scheduled = choose_key(community, admin, town, key, interval, coeffs, sets, schedule)
        chain.pending_timestamp = (interval + 1) * INTERVAL
        for account, reading in zip(town, readings):
            if reading is not None:
                community.submitReading(interval, *reading, sender=account)
        ids = [community.memberIdOf(a) for a in town]
        balances_before = {i: community.memberLedger(i).balance for i in ids}
        surplus_before = {i: community.memberLedger(i).surplusWh for i in ids}
        escrow_before = token.balanceOf(community)
        chain.pending_timestamp = (interval + 1) * INTERVAL + community.parameters()[1]

        tx = community.settle(interval, sender=admin)

        expected = settle_interval(
            key,
            PRICE_PER_KWH,
            [
                MemberInterval(mid, r[0], r[1], p, c, k, n % 4, balances_before[mid], share_ppm=scheduled[n])
                for n, (mid, r, (p, c), k) in enumerate(zip(ids, readings, ROLES, coeffs))
                if r is not None
            ],
        )
        settled = tx.events.filter(community.MemberSettled)
        summary = tx.events.filter(community.IntervalSettled)[0]
        # The chain books exactly what the reference computes.
        assert [(e.memberId, e.allocatedWh, e.tokenDelta) for e in settled] == [
            (m.member_id, m.allocated_wh, m.token_delta) for m in expected.members
        ]
        assert (summary.productionWh, summary.allocatedWh, summary.paid, summary.unpaid) == (
            expected.production_wh,
            expected.allocated_wh,
            expected.paid,
            expected.unpaid,
        )
        # Never more than produced, never more than a member imported.
        assert summary.allocatedWh <= summary.productionWh
        demand = {mid: (r[0] if c else 0) for mid, r, (_, c) in zip(ids, readings, ROLES) if r is not None}
        assert all(e.allocatedWh <= demand[e.memberId] for e in settled)
        # Credits are conserved: what consumers pay, producers receive; the escrow is untouched.
        assert sum(e.tokenDelta for e in settled) == 0
        assert sum(community.memberLedger(i).balance for i in ids) == sum(balances_before.values())
        assert token.balanceOf(community) == escrow_before
        # Surplus never exceeds what producers exported and the community did not take.
        surplus_added = sum(community.memberLedger(i).surplusWh - surplus_before[i] for i in ids)
        assert surplus_added <= summary.productionWh - summary.allocatedWh
        # Pro rata is exact within 1 Wh per member.
        if key == AllocationKey.PRORATA:
            total_demand = sum(demand.values())
            for e in settled:
                exact = demand[e.memberId] * min(summary.productionWh, total_demand) / (total_demand or 1)
                assert abs(e.allocatedWh - exact) < 1
        # An interval settles once.
        with ape.reverts(community.CommunityIntervalSettled):
            community.settle(interval, sender=admin)


# A deal: (which producer sells, which member buys, Wh, price per kWh); metered in a random order.
deal_terms = st.tuples(
    st.sampled_from(PRODUCERS), st.integers(0, len(ROLES) - 1), st.integers(1, 4000), st.integers(0, 5 * 10**18)
).filter(lambda d: d[0] != d[1])


@given(
    key=st.sampled_from(AllocationKey),
    readings=readings,
    raw_weights=weights,
    share=st.integers(0, FULL_SHARE_PPM),
    sets=share_sets,
    schedule=schedules,
    terms=st.lists(deal_terms, max_size=5),
    order=st.randoms(use_true_random=False),
)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_deals_then_settlement_pay_every_wh_once_and_match_the_reference(
    chain, community, exchange, token, admin, traders, key, readings, raw_weights, share, sets, schedule, terms, order
):
    town = traders
    with isolated(chain):
        # Start a fresh interval, so that the next one's offers are accepted before their window starts.
        now = chain.pending_timestamp // INTERVAL + 1
        chain.pending_timestamp = now * INTERVAL
        interval = now + 1
        coeffs = coefficients(raw_weights, share)
        scheduled = choose_key(community, admin, town, key, interval, coeffs, sets, schedule)
        offers = []
        for seller, buyer, wh, price in terms:
            posted = exchange.postOffer(wh, price, interval, interval, sender=town[seller])
            offer_id = posted.events.filter(exchange.OfferPosted)[0].offerId
            exchange.accept(offer_id, sender=town[buyer])
            offers.append((offer_id, seller, buyer, wh))
        ids = [community.memberIdOf(a) for a in town]
        everyone = [*town, community.address, exchange.address]
        credits_before = sum(token.balanceOf(a) for a in everyone)

        chain.pending_timestamp = (interval + 1) * INTERVAL
        for account, reading in zip(town, readings):
            if reading is not None:
                community.submitReading(interval, *reading, sender=account)
        order.shuffle(offers)
        metered = []
        for offer_id, seller, buyer, wh in offers:
            if readings[seller] is None or readings[buyer] is None:
                assert exchange.pendingDelivery(offer_id)[2] is False
                continue
            tx = exchange.recordDelivery(offer_id, sender=admin)
            metered.append((seller, buyer, wh, tx.events.filter(exchange.DeliveryRecorded)[0].wh))
        # Deals are metered first come, first served, never beyond a reading.
        expected_deals = book_deliveries(
            {ids[i]: r for i, r in enumerate(readings) if r is not None},
            [DealDelivery(ids[s], ids[b], wh) for s, b, wh, _ in metered],
        )
        assert [booked for *_, booked in metered] == expected_deals
        dealt_import = {m: 0 for m in ids}
        dealt_export = {m: 0 for m in ids}
        for seller, buyer, _, booked in metered:
            dealt_export[ids[seller]] += booked
            dealt_import[ids[buyer]] += booked
        balances_before = {i: community.memberLedger(i).balance for i in ids}
        surplus_before = {i: community.memberLedger(i).surplusWh for i in ids}
        chain.pending_timestamp = (interval + 1) * INTERVAL + community.parameters()[1]

        tx = community.settle(interval, sender=admin)

        expected = settle_interval(
            key,
            PRICE_PER_KWH,
            [
                MemberInterval(mid, r[0], r[1], p, c, k, n % 4, balances_before[mid], dealt_import[mid], dealt_export[mid],
                               share_ppm=scheduled[n])
                for n, (mid, r, (p, c), k) in enumerate(zip(ids, readings, ROLES, coeffs))
                if r is not None
            ],
        )
        settled = {e.memberId: e for e in tx.events.filter(community.MemberSettled)}
        summary = tx.events.filter(community.IntervalSettled)[0]
        assert [(m, e.allocatedWh, e.tokenDelta) for m, e in settled.items()] == [
            (m.member_id, m.allocated_wh, m.token_delta) for m in expected.members
        ]
        assert (summary.productionWh, summary.allocatedWh, summary.paid, summary.unpaid) == (
            expected.production_wh, expected.allocated_wh, expected.paid, expected.unpaid,
        )
        for n, (mid, reading) in enumerate(zip(ids, readings)):
            if reading is None:
                continue
            imported, exported = reading
            allocated = settled[mid].allocatedWh
            surplus_added = community.memberLedger(mid).surplusWh - surplus_before[mid]
            supply = exported - dealt_export[mid] if ROLES[n][0] else 0
            community_taken = taken_wh(summary.allocatedWh, supply, summary.productionWh)
            # Community allocation plus deals never exceed what the member imported...
            assert allocated + dealt_import[mid] <= imported
            # ...and what deals, the community and certificates take never exceeds what it exported.
            assert community_taken + dealt_export[mid] + surplus_added <= exported
        assert summary.allocatedWh <= summary.productionWh
        # Credits are conserved across wallets, the community's escrow and the exchange's escrow.
        assert sum(token.balanceOf(a) for a in everyone) == credits_before
        assert sum(e.tokenDelta for e in settled.values()) == 0
