"""Settlement over random communities, for every key, with and without peer deals, on the real EVM:
invariants, and exact agreement with the Python reference settlement (node/settlement.py)."""

import ape
import pytest
from conftest import INTERVAL, PRICE_PER_KWH, fund, isolated
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.allocation import FULL_SHARE_PPM, AllocationKey
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
        community.addMember(account, b"\x01" * 32, producer, consumer, 0, i % 4, sender=admin)
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


@given(
    key=st.sampled_from(AllocationKey),
    readings=readings,
    raw_weights=weights,
    share=st.integers(0, FULL_SHARE_PPM),
)
@settings(max_examples=45, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_settlement_conserves_credits_and_matches_the_reference(
    chain, community, token, admin, town, key, readings, raw_weights, share
):
    with isolated(chain):
        community.setAllocationKey(int(key), sender=admin)
        coeffs = coefficients(raw_weights, share)
        community.setCoefficients(town, coeffs, sender=admin)
        interval = chain.pending_timestamp // INTERVAL
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
                MemberInterval(mid, r[0], r[1], p, c, k, n % 4, balances_before[mid])
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
    terms=st.lists(deal_terms, max_size=5),
    order=st.randoms(use_true_random=False),
)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_deals_then_settlement_pay_every_wh_once_and_match_the_reference(
    chain, community, exchange, token, admin, traders, key, readings, raw_weights, share, terms, order
):
    town = traders
    with isolated(chain):
        community.setAllocationKey(int(key), sender=admin)
        coeffs = coefficients(raw_weights, share)
        community.setCoefficients(town, coeffs, sender=admin)
        # Start a fresh interval, so that the next one's offers are accepted before their window starts.
        now = chain.pending_timestamp // INTERVAL + 1
        chain.pending_timestamp = now * INTERVAL
        interval = now + 1
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
                MemberInterval(mid, r[0], r[1], p, c, k, n % 4, balances_before[mid], dealt_import[mid], dealt_export[mid])
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
