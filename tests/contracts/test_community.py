"""Community: membership, parameters, escrow, readings and settlement, function by function."""

import pytest
from conftest import (
    GRACE, INTERVAL, LIMITS, PRICE_PER_KWH, PRIORITY, PRORATA, SCHEDULED, STATIC_FIXED, STATIC_ROUNDS, reverts_with,
)
from permits import sign_permit

ZERO = "0x0000000000000000000000000000000000000000"
METER = b"\x11" * 32
CREDIT = 10**18



@pytest.fixture(scope="session")
def newcomers(member_accounts):
    """Accounts that the households fixture never admits."""
    return member_accounts[4:]


# ---------------------------------------------------------------- deployment


def test_deployment_sets_parameters_and_starts_at_the_current_interval(community, token, chain):
    assert community.token() == token.address
    assert community.intervalLength() == INTERVAL
    assert community.parameters() == (PRICE_PER_KWH, GRACE, PRORATA, 0)
    assert community.firstInterval() == community.currentInterval()


@pytest.mark.parametrize(
    "interval, grace, error",
    [(59, 0, "CommunityInvalidIntervalLength"), (900, 900, "CommunityInvalidGracePeriod")],
)
def test_deployment_rejects_unworkable_timing(project, admin, token, interval, grace, error):
    with reverts_with(getattr(project.Community, error)):
        admin.deploy(project.Community, token, admin, interval, grace, PRICE_PER_KWH, PRORATA)


def test_deployment_rejects_zero_token(project, admin):
    with reverts_with(project.Community.CommunityZeroAddress):
        admin.deploy(project.Community, ZERO, admin, INTERVAL, GRACE, PRICE_PER_KWH, PRORATA)


# ---------------------------------------------------------------- membership


def test_adding_a_member_gives_it_the_next_id_and_profile(community, admin, newcomers):
    account = newcomers[0]
    expected_id = community.memberCount() + 1
    tx = community.addMember(account, METER, True, False, 250_000, 3, *LIMITS, sender=admin)
    assert community.memberIdOf(account) == expected_id
    assert community.isMember(account) is True
    assert community.isProducer(account) is True
    assert community.memberProfile(expected_id) == (account.address, METER, True, False, True, 250_000, 3, *LIMITS)
    assert tx.events.filter(community.MemberAdded) == [community.MemberAdded(expected_id, account, METER)]
    assert tx.events.filter(community.MemberLimitsChanged) == [community.MemberLimitsChanged(expected_id, *LIMITS)]
    assert tx.events.filter(community.MemberProfileChanged) == [
        community.MemberProfileChanged(expected_id, True, False, 250_000, 3)
    ]


def test_only_the_admin_adds_members(community, outsider):
    with reverts_with(community.AccessControlUnauthorizedAccount, account=outsider.address):
        community.addMember(outsider, METER, True, True, 0, 0, *LIMITS, sender=outsider)


def test_adding_an_active_member_twice_is_refused(community, admin, households):
    with reverts_with(community.CommunityMemberExists, account=households[0].account.address):
        community.addMember(households[0].account, METER, True, True, 0, 0, *LIMITS, sender=admin)


def test_adding_the_zero_address_is_refused(community, admin):
    with reverts_with(community.CommunityZeroAddress):
        community.addMember(ZERO, METER, True, True, 0, 0, *LIMITS, sender=admin)


def test_priority_above_fifteen_is_refused(community, admin, newcomers):
    with reverts_with(community.CommunityPriorityOutOfRange, priority=16):
        community.addMember(newcomers[0], METER, False, True, 0, 16, *LIMITS, sender=admin)


def test_coefficients_over_one_hundred_percent_are_refused(community, admin, newcomers):
    community.addMember(newcomers[0], METER, False, True, 600_000, 0, *LIMITS, sender=admin)
    with reverts_with(community.CommunityCoefficientsOverflow, totalPpm=1_100_000):
        community.addMember(newcomers[1], METER, False, True, 500_000, 0, *LIMITS, sender=admin)


def test_removing_a_member_keeps_its_id_and_frees_its_coefficient(community, admin, newcomers):
    a, b = newcomers[:2]
    community.addMember(a, METER, False, True, 700_000, 0, *LIMITS, sender=admin)
    member_id = community.memberIdOf(a)
    tx = community.removeMember(a, sender=admin)
    assert community.isMember(a) is False
    assert community.memberIdOf(a) == member_id
    assert tx.events.filter(community.MemberRemoved) == [community.MemberRemoved(member_id, a)]
    community.addMember(b, METER, False, True, 700_000, 0, *LIMITS, sender=admin)
    assert community.parameters()[3] == 700_000


def test_a_removed_member_can_be_readmitted_under_its_old_id(community, admin, newcomers):
    a = newcomers[0]
    community.addMember(a, METER, False, True, 0, 0, *LIMITS, sender=admin)
    member_id, count = community.memberIdOf(a), community.memberCount()
    community.removeMember(a, sender=admin)
    community.addMember(a, b"\x22" * 32, True, True, 0, 1, *LIMITS, sender=admin)
    assert community.memberIdOf(a) == member_id
    assert community.memberCount() == count
    assert community.memberProfile(member_id) == (a.address, b"\x22" * 32, True, True, True, 0, 1, *LIMITS)


def test_removing_requires_admin_and_an_active_member(community, admin, outsider, households):
    with reverts_with(community.AccessControlUnauthorizedAccount):
        community.removeMember(households[0].account, sender=outsider)
    with reverts_with(community.CommunityUnknownMember, account=outsider.address):
        community.removeMember(outsider, sender=admin)
    community.removeMember(households[0].account, sender=admin)
    with reverts_with(community.CommunityMemberInactive):
        community.removeMember(households[0].account, sender=admin)


def test_admin_changes_a_members_profile(community, admin, outsider, households):
    account = households[1].account
    tx = community.setMemberProfile(account, True, True, 100_000, 2, sender=admin)
    assert community.memberProfile(households[1].member_id)[2:7] == (True, True, True, 100_000, 2)
    assert tx.events.filter(community.MemberProfileChanged) == [
        community.MemberProfileChanged(households[1].member_id, True, True, 100_000, 2)
    ]
    with reverts_with(community.AccessControlUnauthorizedAccount):
        community.setMemberProfile(account, True, True, 0, 0, sender=outsider)
    with reverts_with(community.CommunityUnknownMember):
        community.setMemberProfile(outsider, True, True, 0, 0, sender=admin)


def test_coefficients_move_between_members_in_one_call(community, admin, outsider, households):
    _, c1, c2 = households
    community.setCoefficients([c1.account, c2.account], [900_000, 100_000], sender=admin)
    tx = community.setCoefficients([c1.account, c2.account], [100_000, 900_000], sender=admin)
    assert community.memberProfile(c1.member_id)[5] == 100_000
    assert community.memberProfile(c2.member_id)[5] == 900_000
    assert community.parameters()[3] == 1_000_000
    assert len(tx.events.filter(community.MemberProfileChanged)) == 2
    with reverts_with(community.CommunityCoefficientsOverflow, totalPpm=1_100_000):
        community.setCoefficients([c1.account], [200_000], sender=admin)
    with reverts_with(community.CommunityLengthMismatch):
        community.setCoefficients([c1.account], [1, 2], sender=admin)
    with reverts_with(community.AccessControlUnauthorizedAccount):
        community.setCoefficients([c1.account], [1], sender=outsider)


def test_member_profile_of_an_unknown_id_is_refused(community):
    unknown = community.memberCount() + 1
    with reverts_with(community.CommunityUnknownMemberId, memberId=unknown):
        community.memberProfile(unknown)
    with reverts_with(community.CommunityUnknownMemberId, memberId=0):
        community.memberProfile(0)


# ---------------------------------------------------------------- physical limits


def test_a_reading_beyond_the_grid_connection_or_the_generation_capacity_is_refused(community, households, clock):
    producer, c1, _ = households
    interval = clock.current_interval()
    clock.end_interval(interval)
    # 50 kW of grid connection and 30 kW of generation: 12.5 kWh and 7.5 kWh in a quarter-hour.
    with reverts_with(community.CommunityReadingAboveLimit, importWh=12_501, exportWh=0, importLimitWh=12_500,
                      exportLimitWh=7_500):
        community.submitReading(interval, 12_501, 0, sender=c1.account)
    # The review's night-time gigawatt-hours.
    with reverts_with(community.CommunityReadingAboveLimit, importWh=0, exportWh=4_000_000_000):
        community.submitReading(interval, 0, 4_000_000_000, sender=producer.account)
    community.submitReading(interval, 12_500, 7_500, sender=c1.account)
    assert community.memberLedger(c1.member_id).importWh == 12_500


def test_a_producer_without_generation_capacity_cannot_export(community, admin, newcomers, clock):
    community.addMember(newcomers[0], METER, True, True, 0, 0, 20_000, 0, sender=admin)
    interval = clock.current_interval()
    clock.end_interval(interval)
    with reverts_with(community.CommunityReadingAboveLimit, exportWh=1, exportLimitWh=0):
        community.submitReading(interval, 0, 1, sender=newcomers[0])
    community.submitReading(interval, 5_000, 0, sender=newcomers[0])


def test_limits_are_kept_in_ten_watt_steps_rounded_up_and_changed_by_the_admin_only(
    community, admin, outsider, households
):
    _, c1, _ = households
    tx = community.setMemberLimits(c1.account, 17_301, 801, sender=admin)
    assert tx.events.filter(community.MemberLimitsChanged) == [community.MemberLimitsChanged(c1.member_id, 17_310, 810)]
    assert community.memberProfile(c1.member_id)[-2:] == (17_310, 810)
    with reverts_with(community.CommunityLimitOutOfRange, importLimitW=3_000_000, exportLimitW=0, maxW=2_621_430):
        community.setMemberLimits(c1.account, 3_000_000, 0, sender=admin)
    with reverts_with(community.AccessControlUnauthorizedAccount, account=outsider.address):
        community.setMemberLimits(c1.account, 1, 1, sender=outsider)


def test_a_profile_change_keeps_the_limits_and_a_removal_clears_them(community, admin, households):
    _, c1, _ = households
    community.setMemberProfile(c1.account, True, True, 0, 2, sender=admin)
    assert community.memberProfile(c1.member_id)[-2:] == LIMITS
    community.removeMember(c1.account, sender=admin)
    assert community.memberProfile(c1.member_id)[-2:] == (0, 0)


# ---------------------------------------------------------------- parameters


def test_admin_sets_key_price_and_grace_period(community, admin, clock):
    later = clock.current_interval() + 1
    tx = community.setAllocationKey(STATIC_ROUNDS, later, sender=admin)
    assert tx.events.filter(community.AllocationKeyChanged) == [community.AllocationKeyChanged(STATIC_ROUNDS, later)]
    assert (community.allocationKeyAt(later - 1), community.allocationKeyAt(later)) == (PRORATA, STATIC_ROUNDS)
    tx = community.setLocalPrice(2 * PRICE_PER_KWH, sender=admin)
    assert tx.events.filter(community.LocalPriceChanged) == [community.LocalPriceChanged(2 * PRICE_PER_KWH)]
    tx = community.setGracePeriod(120, sender=admin)
    assert tx.events.filter(community.GracePeriodChanged) == [community.GracePeriodChanged(120)]
    assert community.parameters() == (2 * PRICE_PER_KWH, 120, STATIC_ROUNDS, 0)


@pytest.mark.parametrize(
    "call, args",
    [
        ("setAllocationKey", [PRIORITY, 10**9]),
        ("setLocalPrice", [1]),
        ("setGracePeriod", [1]),
        ("setShares", [0, [], []]),
        ("setShareSchedule", [bytes(192)]),
    ],
)
def test_only_the_admin_sets_parameters(community, outsider, call, args):
    with reverts_with(community.AccessControlUnauthorizedAccount, account=outsider.address):
        getattr(community, call)(*args, sender=outsider)


def test_grace_period_must_be_shorter_than_an_interval(community, admin):
    with reverts_with(community.CommunityInvalidGracePeriod, gracePeriod=INTERVAL, intervalLength=INTERVAL):
        community.setGracePeriod(INTERVAL, sender=admin)


def test_price_beyond_128_bits_is_refused(community, admin):
    with reverts_with(community.CommunityAmountTooLarge):
        community.setLocalPrice(2**128, sender=admin)


# ---------------------------------------------------------------- escrow


def test_deposit_credits_the_member_and_holds_the_tokens(community, token, admin, households):
    member = households[1]
    token.issue(admin, 7, b"\x00" * 32, sender=admin)
    token.approve(community, 7, sender=admin)
    before = community.memberLedger(member.member_id).balance
    tx = community.deposit(member.account, 7, sender=admin)
    assert community.memberLedger(member.member_id).balance == before + 7
    assert tx.events.filter(community.Deposited) == [community.Deposited(member.member_id, admin, 7)]


def test_deposit_for_a_stranger_is_refused(community, admin, outsider):
    with reverts_with(community.CommunityUnknownMember, account=outsider.address):
        community.deposit(outsider, 1, sender=admin)


def test_deposit_without_allowance_fails_and_credits_nothing(community, token, households):
    member = households[1]
    before = community.memberLedger(member.member_id).balance
    with reverts_with(token.ERC20InsufficientAllowance):
        community.deposit(member.account, 1, sender=member.account)
    assert community.memberLedger(member.member_id).balance == before


def test_deposit_with_permit_needs_no_approve_transaction(community, token, admin, households, chain):
    member = households[1]
    token.issue(member.account, 5 * CREDIT, b"\x00" * 32, sender=admin)
    deadline = chain.pending_timestamp + 600
    v, r, s = sign_permit(token, member.account, community, 5 * CREDIT, deadline, chain.chain_id)
    before = community.memberLedger(member.member_id).balance
    community.depositWithPermit(member.account, 5 * CREDIT, deadline, v, r, s, sender=member.account)
    assert community.memberLedger(member.member_id).balance == before + 5 * CREDIT


def test_deposit_with_a_front_run_permit_still_succeeds(community, token, admin, households, chain):
    member = households[1]
    token.issue(member.account, CREDIT, b"\x00" * 32, sender=admin)
    deadline = chain.pending_timestamp + 600
    v, r, s = sign_permit(token, member.account, community, CREDIT, deadline, chain.chain_id)
    token.permit(member.account, community, CREDIT, deadline, v, r, s, sender=admin)  # someone else used it
    before = community.memberLedger(member.member_id).balance
    community.depositWithPermit(member.account, CREDIT, deadline, v, r, s, sender=member.account)
    assert community.memberLedger(member.member_id).balance == before + CREDIT


def test_deposit_that_would_overflow_the_ledger_is_refused(community, token, admin, households):
    token.issue(admin, 2**96, b"\x00" * 32, sender=admin)
    token.approve(community, 2**96, sender=admin)
    with reverts_with(community.CommunityAmountTooLarge):
        community.deposit(households[1].account, 2**96, sender=admin)


def test_withdraw_pays_out_the_members_balance(community, token, households, outsider):
    member = households[1]
    tx = community.withdraw(40 * CREDIT, outsider, sender=member.account)
    assert token.balanceOf(outsider) == 40 * CREDIT
    assert community.memberLedger(member.member_id).balance == 60 * CREDIT
    assert tx.events.filter(community.Withdrawn) == [community.Withdrawn(member.member_id, outsider, 40 * CREDIT)]


def test_withdraw_more_than_the_balance_is_refused(community, households):
    member = households[1]
    with reverts_with(community.CommunityInsufficientBalance, balance=100 * CREDIT, requested=101 * CREDIT):
        community.withdraw(101 * CREDIT, member.account, sender=member.account)


def test_withdraw_to_zero_or_by_a_stranger_is_refused(community, households, outsider):
    with reverts_with(community.CommunityZeroAddress):
        community.withdraw(1, ZERO, sender=households[1].account)
    with reverts_with(community.CommunityUnknownMember):
        community.withdraw(1, outsider, sender=outsider)


def test_a_removed_member_can_still_withdraw(community, token, admin, households):
    member = households[1]
    community.removeMember(member.account, sender=admin)
    community.withdraw(100 * CREDIT, member.account, sender=member.account)
    assert token.balanceOf(member.account) == 100 * CREDIT


# ---------------------------------------------------------------- readings


def test_reading_is_recorded_and_announced(community, households, clock):
    interval = clock.current_interval()
    clock.end_interval(interval)
    member = households[1]
    tx = community.submitReading(interval, 1234, 5, sender=member.account)
    assert community.memberLedger(member.member_id)[2:] == (interval, 1234, 5)
    assert tx.events.filter(community.ReadingSubmitted) == [
        community.ReadingSubmitted(interval, member.member_id, 1234, 5)
    ]


def test_reading_for_a_running_interval_is_refused(community, households, clock):
    interval = clock.current_interval()
    with reverts_with(community.CommunityIntervalNotEnded, interval=interval, endsAt=(interval + 1) * INTERVAL):
        community.submitReading(interval, 1, 0, sender=households[1].account)


def test_reading_before_the_community_existed_is_refused(community, households):
    first = community.firstInterval()
    with reverts_with(community.CommunityIntervalBeforeStart, interval=first - 1, firstInterval=first):
        community.submitReading(first - 1, 1, 0, sender=households[1].account)


def test_second_reading_for_an_interval_is_refused(community, households, clock):
    interval = clock.current_interval()
    clock.end_interval(interval)
    member = households[1]
    community.submitReading(interval, 1, 0, sender=member.account)
    with reverts_with(community.CommunityReadingExists, interval=interval):
        community.submitReading(interval, 2, 0, sender=member.account)


def test_reading_after_settlement_is_refused(community, households, clock):
    interval = clock.current_interval()
    clock.pass_grace(interval)
    community.settle(interval, sender=households[0].account)
    with reverts_with(community.CommunityIntervalSettled, interval=interval):
        community.submitReading(interval, 1, 0, sender=households[1].account)


def test_readings_go_in_interval_order(community, households, clock):
    interval = clock.current_interval()
    clock.pass_grace(interval + 1)
    member = households[1].account
    community.submitReading(interval + 1, 1, 0, sender=member)
    with reverts_with(community.CommunityReadingOutOfOrder, interval=interval, latestInterval=interval + 1):
        community.submitReading(interval, 1, 0, sender=member)


def test_next_reading_waits_until_the_previous_interval_is_settled(community, households, clock):
    interval = clock.current_interval()
    clock.end_interval(interval + 1)
    member = households[1].account
    community.submitReading(interval, 1, 0, sender=member)
    with reverts_with(community.CommunityPreviousIntervalUnsettled, previousInterval=interval):
        community.submitReading(interval + 1, 1, 0, sender=member)
    community.settle(interval, sender=member)
    community.submitReading(interval + 1, 1, 0, sender=member)


def test_reading_beyond_32_bits_is_refused(community, households, clock):
    interval = clock.current_interval()
    clock.end_interval(interval)
    with reverts_with(community.CommunityReadingTooLarge, importWh=2**32, exportWh=0):
        community.submitReading(interval, 2**32, 0, sender=households[1].account)


def test_strangers_and_removed_members_cannot_submit(community, admin, households, outsider, clock):
    interval = clock.current_interval()
    clock.end_interval(interval)
    with reverts_with(community.CommunityUnknownMember, account=outsider.address):
        community.submitReading(interval, 1, 0, sender=outsider)
    community.removeMember(households[1].account, sender=admin)
    with reverts_with(community.CommunityMemberInactive):
        community.submitReading(interval, 1, 0, sender=households[1].account)


# ---------------------------------------------------------------- settlement


def submit(community, interval, readings):
    for household, (import_wh, export_wh) in readings.items():
        community.submitReading(interval, import_wh, export_wh, sender=household.account)


def test_settlement_allocates_pro_rata_and_consumers_pay_the_producer(community, households, clock):
    producer, c1, c2 = households
    interval = clock.current_interval()
    clock.end_interval(interval)
    submit(community, interval, {producer: (0, 3000), c1: (1000, 0), c2: (3000, 0)})
    clock.pass_grace(interval)
    tx = community.settle(interval, sender=c1.account)
    # 3 kWh shared over 4 kWh of demand: 750 Wh and 2250 Wh, at 0.1 credit/kWh.
    assert tx.events.filter(community.MemberSettled) == [
        community.MemberSettled(interval, producer.member_id, 0, 3 * 10**17),
        community.MemberSettled(interval, c1.member_id, 750, -75 * 10**15),
        community.MemberSettled(interval, c2.member_id, 2250, -225 * 10**15),
    ]
    assert tx.events.filter(community.IntervalSettled) == [
        community.IntervalSettled(interval, 3000, 3000, 3 * 10**17, 0, PRORATA)
    ]
    assert community.memberLedger(producer.member_id).balance == 100 * CREDIT + 3 * 10**17
    assert community.isSettled(interval) is True
    assert community.lastSettledInterval() == interval


def test_unallocated_production_becomes_the_producers_surplus(community, households, clock):
    producer, c1, _ = households
    interval = clock.current_interval()
    clock.end_interval(interval)
    submit(community, interval, {producer: (0, 5000), c1: (1200, 0)})
    clock.pass_grace(interval)
    community.settle(interval, sender=producer.account)
    assert community.surplusOf(producer.account) == 3800
    assert community.memberLedger(c1.member_id)[2:] == (interval, 1200, 0)


def test_members_without_a_reading_count_as_zero(community, households, clock):
    producer, c1, c2 = households
    interval = clock.current_interval()
    clock.end_interval(interval)
    submit(community, interval, {producer: (0, 1000), c1: (4000, 0)})
    clock.pass_grace(interval)
    tx = community.settle(interval, sender=c2.account)
    settled = tx.events.filter(community.MemberSettled)
    assert [e.memberId for e in settled] == [producer.member_id, c1.member_id]
    assert settled[1].allocatedWh == 1000


def test_a_consumer_that_cannot_pay_in_full_pays_what_it_has(community, admin, token, households, clock):
    producer, c1, _ = households
    community.withdraw(100 * CREDIT - 10**16, c1.account, sender=c1.account)  # leaves 0.01 credit
    interval = clock.current_interval()
    clock.end_interval(interval)
    submit(community, interval, {producer: (0, 2000), c1: (2000, 0)})
    clock.pass_grace(interval)
    tx = community.settle(interval, sender=producer.account)
    assert community.memberLedger(c1.member_id).balance == 0
    assert tx.events.filter(community.IntervalSettled)[0].unpaid == 2 * 10**17 - 10**16
    assert community.memberLedger(producer.member_id).balance == 100 * CREDIT + 10**16


def test_settlement_during_the_grace_period_is_refused(community, households, clock):
    interval = clock.current_interval()
    clock.end_interval(interval)
    settles_from = (interval + 1) * INTERVAL + GRACE
    with reverts_with(community.CommunityGracePeriodRunning, interval=interval, settlesFrom=settles_from):
        community.settle(interval, sender=households[0].account)


def test_an_interval_settles_only_once(community, households, clock):
    interval = clock.current_interval()
    clock.pass_grace(interval)
    community.settle(interval, sender=households[0].account)
    with reverts_with(community.CommunityIntervalSettled, interval=interval):
        community.settle(interval, sender=households[1].account)


def test_settling_before_the_community_existed_is_refused(community, households):
    first = community.firstInterval()
    with reverts_with(community.CommunityIntervalBeforeStart):
        community.settle(first - 1, sender=households[0].account)


def test_a_removed_members_last_reading_is_still_settled(community, admin, households, clock):
    producer, c1, _ = households
    interval = clock.current_interval()
    clock.end_interval(interval)
    submit(community, interval, {producer: (0, 1000), c1: (1000, 0)})
    community.removeMember(c1.account, sender=admin)
    clock.pass_grace(interval)
    tx = community.settle(interval, sender=producer.account)
    assert [e.memberId for e in tx.events.filter(community.MemberSettled)] == [producer.member_id, c1.member_id]
    # Removal cleared its consumer role, so it receives nothing and pays nothing.
    assert tx.events.filter(community.MemberSettled)[1].allocatedWh == 0


def test_priority_key_serves_level_zero_first(community, admin, households, clock):
    producer, c1, c2 = households
    interval = clock.current_interval()
    community.setAllocationKey(PRIORITY, interval, sender=admin)
    community.setMemberProfile(c2.account, False, True, 0, 1, sender=admin)
    clock.end_interval(interval)
    submit(community, interval, {producer: (0, 1500), c1: (1000, 0), c2: (1000, 0)})
    clock.pass_grace(interval)
    tx = community.settle(interval, sender=producer.account)
    assert [e.allocatedWh for e in tx.events.filter(community.MemberSettled)] == [0, 1000, 500]


@pytest.mark.parametrize("key, allocated, surplus", [
    # Brussels' rounds: c2 receives the 800 Wh c1 left of its share.
    (STATIC_ROUNDS, [0, 200, 1800], 0),
    # Austria's static key: the 800 Wh c1 left are surplus, not passed to c2.
    (STATIC_FIXED, [0, 200, 1000], 800),
], ids=["rounds pass it on", "austria keeps it as surplus"])
def test_a_share_a_consumer_leaves_unused(community, admin, households, clock, key, allocated, surplus):
    producer, c1, c2 = households
    interval = clock.current_interval()
    community.setAllocationKey(key, interval, sender=admin)
    community.setCoefficients([c1.account, c2.account], [500_000, 500_000], sender=admin)
    clock.end_interval(interval)
    # Each is entitled to 1000 Wh; c1 needs only 200 of its share.
    submit(community, interval, {producer: (0, 2000), c1: (200, 0), c2: (5000, 0)})
    clock.pass_grace(interval)
    tx = community.settle(interval, sender=producer.account)
    assert [e.allocatedWh for e in tx.events.filter(community.MemberSettled)] == allocated
    assert tx.events.filter(community.IntervalSettled)[0].key == key
    assert community.memberLedger(producer.member_id).surplusWh == surplus


def scheduled_slot(interval):
    start = interval * INTERVAL
    return start % 86400 // 900 + (96 if (start // 86400 + 3) % 7 >= 5 else 0)


def test_scheduled_key_shares_by_the_set_its_quarter_hour_uses(community, admin, households, clock):
    producer, c1, c2 = households
    interval = clock.current_interval()
    community.setAllocationKey(SCHEDULED, interval, sender=admin)
    community.setShares(0, [c1.account, c2.account], [0, 1_000_000], sender=admin)
    community.setShares(3, [c1.account, c2.account], [700_000, 300_000], sender=admin)
    schedule = bytearray(192)
    schedule[scheduled_slot(interval)] = 3
    tx = community.setShareSchedule(bytes(schedule), sender=admin)
    assert tx.events.filter(community.ShareScheduleChanged)[0].slots == bytes(schedule)
    assert (community.shareSetAt(interval), community.shareSetAt(interval + 1)) == (3, 0)
    assert community.sharesOf(3, c1.member_id) == (700_000, 1_000_000)
    clock.end_interval(interval)
    submit(community, interval, {producer: (0, 1000), c1: (5000, 0), c2: (100, 0)})
    clock.pass_grace(interval)
    tx = community.settle(interval, sender=producer.account)
    # Set 3: c1 gets its 70 % (700 Wh), c2 only the 100 Wh it used of its 300; 200 Wh are surplus.
    assert [e.allocatedWh for e in tx.events.filter(community.MemberSettled)] == [0, 700, 100]
    assert community.memberLedger(producer.member_id).surplusWh == 200


def test_a_key_applies_from_its_interval_also_when_an_earlier_interval_settles_after(
    community, admin, households, clock
):
    producer, c1, c2 = households
    first = clock.current_interval()
    community.setCoefficients([c1.account, c2.account], [500_000, 500_000], sender=admin)
    community.setAllocationKey(STATIC_FIXED, first + 1, sender=admin)
    community.setAllocationKey(PRIORITY, first + 2, sender=admin)
    clock.end_interval(first)
    submit(community, first, {producer: (0, 2000), c1: (200, 0), c2: (5000, 0)})
    clock.pass_grace(first)
    settled = community.settle(first, sender=producer.account).events.filter(community.IntervalSettled)[0]
    assert settled.key == PRORATA
    clock.end_interval(first + 2)
    submit(community, first + 1, {producer: (0, 2000), c1: (200, 0), c2: (5000, 0)})
    settled = community.settle(first + 1, sender=producer.account).events.filter(community.IntervalSettled)[0]
    assert settled.key == STATIC_FIXED
    assert [community.allocationKeyAt(first + n) for n in range(4)] == [PRORATA, STATIC_FIXED, PRIORITY, PRIORITY]


def test_a_key_change_for_an_ended_interval_is_refused(community, admin, clock):
    now = clock.current_interval()
    with reverts_with(community.CommunityKeyChangeTooEarly, fromInterval=now - 1, earliestInterval=now):
        community.setAllocationKey(STATIC_FIXED, now - 1, sender=admin)
    community.setAllocationKey(STATIC_FIXED, now + 5, sender=admin)
    with reverts_with(community.CommunityKeyChangeTooEarly, fromInterval=now + 4, earliestInterval=now + 5):
        community.setAllocationKey(PRIORITY, now + 4, sender=admin)
    # A second change from the same interval replaces the first.
    community.setAllocationKey(PRIORITY, now + 5, sender=admin)
    assert [community.allocationKeyAt(now + n) for n in (4, 5)] == [PRORATA, PRIORITY]


def test_share_sets_over_one_hundred_percent_or_out_of_range_are_refused(community, admin, households):
    _, c1, c2 = households
    with reverts_with(community.CommunitySharesOverflow, shareSet=2, totalPpm=1_000_001):
        community.setShares(2, [c1.account, c2.account], [500_000, 500_001], sender=admin)
    with reverts_with(community.CommunityShareSetOutOfRange, shareSet=16):
        community.setShares(16, [c1.account], [1], sender=admin)
    with reverts_with(community.CommunityShareSetOutOfRange, shareSet=16):
        community.setShareSchedule(bytes([16]) + bytes(191), sender=admin)
    with reverts_with(community.CommunityShareScheduleLength, length=96, expected=192):
        community.setShareSchedule(bytes(96), sender=admin)


# ---------------------------------------------------------------- surplus


def test_certifier_draws_down_surplus(community, admin, households, clock, outsider):
    producer, c1, _ = households
    interval = clock.current_interval()
    clock.end_interval(interval)
    submit(community, interval, {producer: (0, 5000), c1: (1000, 0)})
    clock.pass_grace(interval)
    community.settle(interval, sender=producer.account)
    community.grantRole(community.CERTIFIER_ROLE(), outsider, sender=admin)
    tx = community.consumeSurplus(producer.account, 1500, sender=outsider)
    assert community.surplusOf(producer.account) == 2500
    assert tx.events.filter(community.SurplusConsumed) == [
        community.SurplusConsumed(producer.member_id, 1500, outsider)
    ]
    with reverts_with(community.CommunityInsufficientSurplus, surplusWh=2500, requestedWh=2501):
        community.consumeSurplus(producer.account, 2501, sender=outsider)


def test_only_the_certifier_draws_down_surplus(community, households, outsider):
    with reverts_with(community.AccessControlUnauthorizedAccount, account=outsider.address):
        community.consumeSurplus(households[0].account, 1, sender=outsider)


# ---------------------------------------------------------------- peer-deal deliveries


def ended_with_readings(community, admin, clock, exchange, readings) -> int:
    """`exchange` holds the exchange role (it books deliveries as EnergyExchange does) and the current
    interval ends with `readings` submitted: the interval."""
    community.grantRole(community.EXCHANGE_ROLE(), exchange, sender=admin)
    interval = clock.current_interval()
    clock.end_interval(interval)
    submit(community, interval, readings)
    return interval


def test_booked_delivery_leaves_the_key_only_the_rest(community, admin, households, clock, outsider):
    producer, c1, c2 = households
    interval = ended_with_readings(community, admin, clock, outsider,
                                   {producer: (0, 3000), c1: (1000, 0), c2: (1000, 0)})

    community.bookDelivery(interval, producer.member_id, c1.member_id, 800, sender=outsider)
    clock.pass_grace(interval)
    tx = community.settle(interval, sender=producer.account)

    assert community.dealtOf(c1.member_id, interval) == (800, 0)
    assert community.dealtOf(producer.member_id, interval) == (0, 800)
    assert [e.allocatedWh for e in tx.events.filter(community.MemberSettled)] == [0, 200, 1000]
    assert tx.events.filter(community.IntervalSettled)[0].productionWh == 2200
    assert community.surplusOf(producer.account) == 1000


def test_deal_room_is_the_reading_less_what_deals_booked(community, admin, households, clock, outsider):
    producer, c1, _ = households
    interval = ended_with_readings(community, admin, clock, outsider, {producer: (10, 3000), c1: (1000, 0)})
    community.bookDelivery(interval, producer.member_id, c1.member_id, 700, sender=outsider)

    assert community.dealRoom(producer.member_id) == (interval, 10, 2300)
    assert community.dealRoom(c1.member_id) == (interval, 300, 0)


def test_delivery_beyond_what_deals_left_of_a_reading_reverts(community, admin, households, clock, outsider):
    producer, c1, _ = households
    interval = ended_with_readings(community, admin, clock, outsider, {producer: (0, 3000), c1: (1000, 0)})
    community.bookDelivery(interval, producer.member_id, c1.member_id, 600, sender=outsider)

    with reverts_with(community.CommunityDeliveryExceedsReading, wh=401, exportLeftWh=2400, importLeftWh=400):
        community.bookDelivery(interval, producer.member_id, c1.member_id, 401, sender=outsider)


def test_delivery_without_both_readings_of_the_interval_reverts(community, admin, households, clock, outsider):
    producer, c1, _ = households
    interval = ended_with_readings(community, admin, clock, outsider, {producer: (0, 3000)})

    with reverts_with(community.CommunityDeliveryWithoutReading, interval=interval):
        community.bookDelivery(interval, producer.member_id, c1.member_id, 1, sender=outsider)


def test_delivery_in_a_settled_interval_reverts(community, admin, households, clock, outsider):
    producer, c1, _ = households
    interval = ended_with_readings(community, admin, clock, outsider, {producer: (0, 3000), c1: (1000, 0)})
    clock.pass_grace(interval)
    community.settle(interval, sender=producer.account)

    with reverts_with(community.CommunityIntervalSettled, interval=interval):
        community.bookDelivery(interval, producer.member_id, c1.member_id, 1, sender=outsider)


def test_only_the_exchange_books_deliveries(community, households, outsider):
    with reverts_with(community.AccessControlUnauthorizedAccount, account=outsider.address):
        community.bookDelivery(1, households[0].member_id, households[1].member_id, 1, sender=outsider)
