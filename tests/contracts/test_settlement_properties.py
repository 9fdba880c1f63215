"""Settlement over random communities, for every key, on the real EVM: invariants, and exact
agreement with the Python reference settlement (node/settlement.py)."""

import ape
import pytest
from conftest import INTERVAL, PRICE_PER_KWH, fund, isolated
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.allocation import FULL_SHARE_PPM, AllocationKey
from node.settlement import MemberInterval, settle_interval

# Twelve households: four producers, six consumers, two prosumers, over four priority levels.
ROLES = [(True, False)] * 4 + [(False, True)] * 6 + [(True, True)] * 2
# Prepaid credit units per member: some consumers cannot pay in full, one has nothing.
PREPAID = [0, 0, 0, 0, 50 * 10**18, 50 * 10**18, 50 * 10**18, 0, 10**15, 50 * 10**18, 50 * 10**18, 50 * 10**18]


@pytest.fixture(scope="module")
def town(community, token, admin, accounts):
    members = [accounts[i] for i in range(1, 1 + len(ROLES))]
    for i, (account, (producer, consumer)) in enumerate(zip(members, ROLES)):
        community.addMember(account, b"\x01" * 32, producer, consumer, 0, i % 4, sender=admin)
        if PREPAID[i]:
            fund(token, community, admin, account, PREPAID[i])
    return members


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
