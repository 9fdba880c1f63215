"""ConsentRegistry: members' consents to share meter data, and the escrow that pays for them."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from conftest import isolated, reverts_with
from eth_utils import keccak
from hypothesis import given, settings
from hypothesis import strategies as st
from permits import sign_permit

ENERGY_15MIN, POWER_1S, VOLTAGES, GAS = 1, 2, 4, 8
PURPOSE = 7
POLICY = keccak(text="https://example.org/policy/v1")
HOUR = 3600
DAY = 24 * HOUR
PERIOD = 3 * HOUR
# Not a multiple of PERIOD, so accrual per second rounds.
PRICE = 10**18 + 7
ZERO = "0x0000000000000000000000000000000000000000"
MAX_UINT = 2**256 - 1


@pytest.fixture(scope="module")
def subject(households):
    return households[0].account


@pytest.fixture(scope="module")
def other_member(households):
    return households[1].account


@pytest.fixture(scope="module")
def recipient(member_accounts, token, admin, consent_registry):
    """A data user (not a member) holding 1000 credits, with the registry approved."""
    account = member_accounts[6]
    token.issue(account, 1000 * 10**18, b"\x00" * 32, sender=admin)
    token.approve(consent_registry, MAX_UINT, sender=account)
    return account


@pytest.fixture(scope="module", autouse=True)
def _parties(subject, other_member, recipient, outsider):
    """Sets up every module-scoped party before the first test's snapshot."""


@pytest.fixture
def now(chain):
    return chain.pending_timestamp


def make_grant(registry, subject, recipient, now, *, scope=ENERGY_15MIN, starts=0, lasts=30 * DAY, price=0,
               period=0):
    """Grants consent from `now + starts` for `lasts` seconds; returns (grant id, receipt)."""
    tx = registry.grantConsent(
        recipient, scope, PURPOSE, POLICY, now + starts, now + starts + lasts, price, period, sender=subject
    )
    return tx.events.filter(registry.ConsentGranted)[0].grantId, tx


def paid_grant(registry, subject, recipient, now, **kwargs):
    """A grant at PRICE per PERIOD, starting in an hour so that coverage starts at a known time."""
    kwargs.setdefault("starts", HOUR)
    return make_grant(registry, subject, recipient, now, price=PRICE, period=PERIOD, **kwargs)


def accrued(seconds):
    return PRICE * seconds // PERIOD


# ------------------------------------------------------------------ constructor


def test_constructor_records_community_and_token(consent_registry, community, token):
    assert consent_registry.community() == community.address
    assert consent_registry.token() == token.address
    assert consent_registry.grantCount() == 0


def test_scope_constants_are_the_documented_bits(consent_registry):
    actual = [
        consent_registry.SCOPE_ENERGY_15MIN(),
        consent_registry.SCOPE_POWER_1S(),
        consent_registry.SCOPE_VOLTAGES(),
        consent_registry.SCOPE_GAS(),
    ]
    assert actual == [ENERGY_15MIN, POWER_1S, VOLTAGES, GAS]


@pytest.mark.parametrize("which", ["community", "token"])
def test_constructor_rejects_zero_address(project, admin, community, token, which):
    args = (ZERO, token) if which == "community" else (community, ZERO)
    with reverts_with(project.ConsentRegistry.ConsentRegistryZeroAddress):
        admin.deploy(project.ConsentRegistry, *args)


# ------------------------------------------------------------------ grantConsent


def test_grant_records_terms_and_emits_consent_granted(consent_registry, subject, recipient, now):
    tx = consent_registry.grantConsent(
        recipient, ENERGY_15MIN | VOLTAGES, PURPOSE, POLICY, now, now + DAY, PRICE, PERIOD, sender=subject
    )

    assert tx.events == [
        consent_registry.ConsentGranted(
            grantId=1,
            subject=subject,
            recipient=recipient,
            scope=ENERGY_15MIN | VOLTAGES,
            purpose=PURPOSE,
            policyHash=POLICY,
            validFrom=now,
            validUntil=now + DAY,
            pricePerPeriod=PRICE,
            periodLength=PERIOD,
        )
    ]
    grant = consent_registry.grant(1)
    actual = (grant.subject, grant.recipient, grant.scope, grant.purpose, grant.policyHash, grant.validFrom,
              grant.validUntil, grant.pricePerPeriod, grant.periodLength, grant.revokedAt)
    assert actual == (subject, recipient, ENERGY_15MIN | VOLTAGES, PURPOSE, POLICY, now, now + DAY, PRICE, PERIOD, 0)
    assert consent_registry.grantCount() == 1
    assert consent_registry.grantIdsOf(subject, recipient) == [1]
    assert consent_registry.isLive(1)


def test_grant_ids_of_lists_each_pairs_grants_oldest_first(consent_registry, subject, other_member, recipient, now):
    make_grant(consent_registry, subject, recipient, now)
    make_grant(consent_registry, other_member, recipient, now)
    make_grant(consent_registry, subject, recipient, now, scope=GAS)

    assert consent_registry.grantIdsOf(subject, recipient) == [1, 3]
    assert consent_registry.grantIdsOf(other_member, recipient) == [2]
    assert consent_registry.grantIdsOf(recipient, subject) == []


def test_free_grant_ignores_period_length(consent_registry, subject, recipient, now):
    grant_id, _ = make_grant(consent_registry, subject, recipient, now, price=0, period=PERIOD)

    assert consent_registry.grant(grant_id).periodLength == 0


def test_grant_by_outsider_reverts_not_member(consent_registry, outsider, recipient, now):
    with reverts_with(consent_registry.ConsentRegistryNotMember, account=outsider):
        make_grant(consent_registry, outsider, recipient, now)


def test_grant_by_removed_member_reverts_not_member(consent_registry, community, admin, subject, recipient, now):
    community.removeMember(subject, sender=admin)

    with reverts_with(consent_registry.ConsentRegistryNotMember, account=subject):
        make_grant(consent_registry, subject, recipient, now)


@pytest.mark.parametrize("who", ["zero", "self"])
def test_grant_to_zero_or_self_reverts_invalid_recipient(consent_registry, subject, now, who):
    target = ZERO if who == "zero" else subject.address

    with reverts_with(consent_registry.ConsentRegistryInvalidRecipient, recipient=target):
        make_grant(consent_registry, subject, target, now)


def test_grant_with_empty_scope_reverts(consent_registry, subject, recipient, now):
    with reverts_with(consent_registry.ConsentRegistryEmptyScope):
        make_grant(consent_registry, subject, recipient, now, scope=0)


@pytest.mark.parametrize(
    ("starts", "lasts"),
    [(0, 0), (HOUR, -1), (-2 * DAY, DAY)],
    ids=["empty", "ends-before-start", "already-expired"],
)
def test_grant_with_invalid_validity_reverts(consent_registry, subject, recipient, now, starts, lasts):
    with reverts_with(
        consent_registry.ConsentRegistryInvalidValidity, validFrom=now + starts, validUntil=now + starts + lasts
    ):
        make_grant(consent_registry, subject, recipient, now, starts=starts, lasts=lasts)


def test_paid_grant_without_period_reverts_invalid_period(consent_registry, subject, recipient, now):
    with reverts_with(consent_registry.ConsentRegistryInvalidPeriod, periodLength=0):
        make_grant(consent_registry, subject, recipient, now, price=PRICE, period=0)


# ------------------------------------------------------------------ isAllowed


def test_free_grant_allows_its_scope_only_while_valid(consent_registry, subject, recipient, now):
    make_grant(consent_registry, subject, recipient, now, scope=ENERGY_15MIN | POWER_1S, starts=HOUR, lasts=DAY)
    start, end = now + HOUR, now + HOUR + DAY

    def allowed(scope, t):
        return consent_registry.isAllowed(subject, recipient, scope, t)

    assert [allowed(ENERGY_15MIN, t) for t in (start - 1, start, end - 1, end)] == [False, True, True, False]
    assert allowed(ENERGY_15MIN | POWER_1S, start) is True
    assert allowed(POWER_1S, start) is True
    assert allowed(ENERGY_15MIN | VOLTAGES, start) is False
    assert allowed(GAS, start) is False


def test_is_allowed_is_specific_to_subject_and_recipient(consent_registry, subject, other_member, recipient, now):
    make_grant(consent_registry, subject, recipient, now)

    assert consent_registry.isAllowed(subject, recipient, ENERGY_15MIN, now + 1) is True
    assert consent_registry.isAllowed(other_member, recipient, ENERGY_15MIN, now + 1) is False
    assert consent_registry.isAllowed(subject, other_member, ENERGY_15MIN, now + 1) is False
    assert consent_registry.isAllowed(recipient, subject, ENERGY_15MIN, now + 1) is False


def test_scopes_of_separate_grants_are_not_pooled(consent_registry, subject, recipient, now):
    make_grant(consent_registry, subject, recipient, now, scope=ENERGY_15MIN)
    make_grant(consent_registry, subject, recipient, now, scope=VOLTAGES, lasts=DAY)

    assert consent_registry.isAllowed(subject, recipient, ENERGY_15MIN, now + 1) is True
    assert consent_registry.isAllowed(subject, recipient, VOLTAGES, now + 1) is True
    assert consent_registry.isAllowed(subject, recipient, ENERGY_15MIN | VOLTAGES, now + 1) is False
    # The second grant's expiry leaves the first one in force.
    assert consent_registry.isAllowed(subject, recipient, VOLTAGES, now + 2 * DAY) is False
    assert consent_registry.isAllowed(subject, recipient, ENERGY_15MIN, now + 2 * DAY) is True


def test_paid_grant_allows_only_paid_time(consent_registry, subject, recipient, now):
    grant_id, _ = paid_grant(consent_registry, subject, recipient, now)
    start = now + HOUR

    assert consent_registry.isAllowed(subject, recipient, ENERGY_15MIN, start) is False

    consent_registry.pay(grant_id, 2, sender=recipient)

    paid_until = start + 2 * PERIOD
    actual = [consent_registry.isAllowed(subject, recipient, ENERGY_15MIN, t) for t in (start, paid_until - 1, paid_until)]
    assert actual == [True, True, False]


def test_is_allowed_without_grants_is_false(consent_registry, subject, recipient, now):
    assert consent_registry.isAllowed(subject, recipient, ENERGY_15MIN, now) is False


# ------------------------------------------------------------------ renew


def test_renew_extends_validity_and_emits_consent_renewed(consent_registry, subject, recipient, now):
    grant_id, _ = make_grant(consent_registry, subject, recipient, now, lasts=DAY)

    tx = consent_registry.renew(grant_id, now + 3 * DAY, sender=subject)

    assert tx.events == [consent_registry.ConsentRenewed(grantId=grant_id, validUntil=now + 3 * DAY)]
    assert consent_registry.grant(grant_id).validUntil == now + 3 * DAY
    assert consent_registry.isAllowed(subject, recipient, ENERGY_15MIN, now + 2 * DAY) is True


@pytest.mark.parametrize("caller", ["recipient", "outsider"])
def test_renew_by_other_than_subject_reverts_not_subject(
    consent_registry, subject, recipient, outsider, now, caller
):
    grant_id, _ = make_grant(consent_registry, subject, recipient, now)
    account = recipient if caller == "recipient" else outsider

    with reverts_with(consent_registry.ConsentRegistryNotSubject, grantId=grant_id, caller=account):
        consent_registry.renew(grant_id, now + 60 * DAY, sender=account)


def test_renew_unknown_grant_reverts(consent_registry, subject, now):
    with reverts_with(consent_registry.ConsentRegistryUnknownGrant, grantId=5):
        consent_registry.renew(5, now + DAY, sender=subject)


def test_renew_not_later_reverts(consent_registry, subject, recipient, now):
    grant_id, _ = make_grant(consent_registry, subject, recipient, now, lasts=DAY)

    with reverts_with(
        consent_registry.ConsentRegistryRenewalNotLater, grantId=grant_id, validUntil=now + DAY, newValidUntil=now + DAY
    ):
        consent_registry.renew(grant_id, now + DAY, sender=subject)


def test_renew_expired_grant_reverts_grant_ended(consent_registry, subject, recipient, now, clock):
    grant_id, _ = make_grant(consent_registry, subject, recipient, now, lasts=DAY)
    clock.warp_to(now + DAY)

    with reverts_with(consent_registry.ConsentRegistryGrantEnded, grantId=grant_id):
        consent_registry.renew(grant_id, now + 3 * DAY, sender=subject)


def test_renew_revoked_grant_reverts_grant_ended(consent_registry, subject, recipient, now):
    grant_id, _ = make_grant(consent_registry, subject, recipient, now, lasts=DAY)
    consent_registry.revoke(grant_id, sender=subject)

    with reverts_with(consent_registry.ConsentRegistryGrantEnded, grantId=grant_id):
        consent_registry.renew(grant_id, now + 3 * DAY, sender=subject)


# ------------------------------------------------------------------ revoke


def test_revoke_free_grant_ends_access_at_once(consent_registry, subject, recipient, now, clock):
    grant_id, _ = make_grant(consent_registry, subject, recipient, now)
    clock.warp_to(now + HOUR)

    tx = consent_registry.revoke(grant_id, sender=subject)

    assert tx.events == [consent_registry.ConsentRevoked(grantId=grant_id, revokedAt=tx.timestamp)]
    assert consent_registry.grant(grant_id).revokedAt == tx.timestamp
    assert consent_registry.isLive(grant_id) is False
    assert consent_registry.isAllowed(subject, recipient, ENERGY_15MIN, tx.timestamp) is False
    # Access before the revocation stays on record as allowed.
    assert consent_registry.isAllowed(subject, recipient, ENERGY_15MIN, tx.timestamp - 1) is True


def test_revoke_paid_grant_pays_accrued_and_refunds_rest(consent_registry, token, subject, recipient, now, clock):
    grant_id, _ = paid_grant(consent_registry, subject, recipient, now)
    consent_registry.pay(grant_id, 4, sender=recipient)
    start = now + HOUR
    clock.warp_to(start + PERIOD + 1234)
    subject_before, recipient_before = token.balanceOf(subject), token.balanceOf(recipient)

    tx = consent_registry.revoke(grant_id, sender=subject)

    earned = accrued(tx.timestamp - start)
    assert tx.events.filter(consent_registry.ConsentRevoked) == [
        consent_registry.ConsentRevoked(grantId=grant_id, revokedAt=tx.timestamp)
    ]
    assert tx.events.filter(consent_registry.PaymentReleased) == [
        consent_registry.PaymentReleased(grantId=grant_id, subject=subject, amount=earned)
    ]
    assert tx.events.filter(consent_registry.PaymentRefunded) == [
        consent_registry.PaymentRefunded(grantId=grant_id, recipient=recipient, amount=4 * PRICE - earned)
    ]
    assert token.balanceOf(subject) - subject_before == earned
    assert token.balanceOf(recipient) - recipient_before == 4 * PRICE - earned
    assert token.balanceOf(consent_registry) == 0
    escrow = consent_registry.escrow(grant_id)
    assert (escrow.paid, escrow.released, escrow.refunded) == (4 * PRICE, earned, 4 * PRICE - earned)
    assert consent_registry.isAllowed(subject, recipient, ENERGY_15MIN, tx.timestamp) is False


def test_revoke_before_validity_refunds_everything(consent_registry, token, subject, recipient, now):
    grant_id, _ = paid_grant(consent_registry, subject, recipient, now, starts=DAY)
    consent_registry.pay(grant_id, 2, sender=recipient)
    recipient_before = token.balanceOf(recipient)

    tx = consent_registry.revoke(grant_id, sender=subject)

    assert tx.events.filter(consent_registry.PaymentReleased) == []
    assert token.balanceOf(recipient) - recipient_before == 2 * PRICE


@pytest.mark.parametrize("caller", ["recipient", "outsider"])
def test_revoke_by_other_than_subject_reverts_not_subject(
    consent_registry, subject, recipient, outsider, now, caller
):
    grant_id, _ = make_grant(consent_registry, subject, recipient, now)
    account = recipient if caller == "recipient" else outsider

    with reverts_with(consent_registry.ConsentRegistryNotSubject, grantId=grant_id, caller=account):
        consent_registry.revoke(grant_id, sender=account)


def test_revoke_unknown_grant_reverts(consent_registry, subject):
    with reverts_with(consent_registry.ConsentRegistryUnknownGrant, grantId=1):
        consent_registry.revoke(1, sender=subject)


def test_revoke_twice_reverts_grant_ended(consent_registry, subject, recipient, now):
    grant_id, _ = make_grant(consent_registry, subject, recipient, now)
    consent_registry.revoke(grant_id, sender=subject)

    with reverts_with(consent_registry.ConsentRegistryGrantEnded, grantId=grant_id):
        consent_registry.revoke(grant_id, sender=subject)


def test_revoke_expired_grant_reverts_grant_ended(consent_registry, subject, recipient, now, clock):
    grant_id, _ = make_grant(consent_registry, subject, recipient, now, lasts=DAY)
    clock.warp_to(now + DAY)

    with reverts_with(consent_registry.ConsentRegistryGrantEnded, grantId=grant_id):
        consent_registry.revoke(grant_id, sender=subject)


def test_removed_member_can_still_revoke(consent_registry, community, admin, subject, recipient, now):
    grant_id, _ = make_grant(consent_registry, subject, recipient, now)
    community.removeMember(subject, sender=admin)

    consent_registry.revoke(grant_id, sender=subject)

    assert consent_registry.isLive(grant_id) is False


# ------------------------------------------------------------------ pay


def test_pay_escrows_periods_and_emits_consent_paid(consent_registry, token, subject, recipient, now):
    grant_id, _ = paid_grant(consent_registry, subject, recipient, now)
    before = token.balanceOf(recipient)

    tx = consent_registry.pay(grant_id, 3, sender=recipient)

    start = now + HOUR
    assert tx.events.filter(consent_registry.ConsentPaid) == [
        consent_registry.ConsentPaid(
            grantId=grant_id, payer=recipient, periods=3, amount=3 * PRICE, paidUntil=start + 3 * PERIOD
        )
    ]
    assert before - token.balanceOf(recipient) == 3 * PRICE
    assert token.balanceOf(consent_registry) == 3 * PRICE
    escrow = consent_registry.escrow(grant_id)
    actual = (escrow.paid, escrow.released, escrow.refunded, escrow.coverageStart, escrow.paidUntil)
    assert actual == (3 * PRICE, 0, 0, start, start + 3 * PERIOD)


def test_pay_again_extends_coverage(consent_registry, subject, recipient, now, clock):
    grant_id, _ = paid_grant(consent_registry, subject, recipient, now)
    consent_registry.pay(grant_id, 1, sender=recipient)
    clock.warp_to(now + HOUR + PERIOD // 2)

    tx = consent_registry.pay(grant_id, 2, sender=recipient)

    start = now + HOUR
    assert tx.events.filter(consent_registry.ConsentPaid)[0].paidUntil == start + 3 * PERIOD
    assert consent_registry.escrow(grant_id).coverageStart == start


def test_pay_after_lapse_starts_new_coverage_and_never_charges_the_gap(
    consent_registry, token, subject, recipient, now, clock
):
    grant_id, _ = paid_grant(consent_registry, subject, recipient, now)
    consent_registry.pay(grant_id, 1, sender=recipient)
    start = now + HOUR
    clock.warp_to(start + 2 * PERIOD)

    tx = consent_registry.pay(grant_id, 1, sender=recipient)

    restart = tx.timestamp
    escrow = consent_registry.escrow(grant_id)
    assert (escrow.coverageStart, escrow.paidUntil, escrow.earnedBefore) == (restart, restart + PERIOD, PRICE)
    assert consent_registry.isAllowed(subject, recipient, ENERGY_15MIN, start + PERIOD) is False
    assert consent_registry.isAllowed(subject, recipient, ENERGY_15MIN, restart) is True
    clock.warp_to(restart + PERIOD // 3)
    release = consent_registry.release(grant_id, sender=subject)
    assert release.events.filter(consent_registry.PaymentReleased)[0].amount == PRICE + accrued(
        release.timestamp - restart
    )


def test_pay_with_last_period_straddling_expiry_is_accepted(consent_registry, subject, recipient, now):
    grant_id, _ = paid_grant(consent_registry, subject, recipient, now, lasts=2 * PERIOD + 1)

    tx = consent_registry.pay(grant_id, 3, sender=recipient)

    assert tx.events.filter(consent_registry.ConsentPaid)[0].paidUntil == now + HOUR + 3 * PERIOD


def test_pay_beyond_validity_reverts(consent_registry, subject, recipient, now):
    grant_id, _ = paid_grant(consent_registry, subject, recipient, now, lasts=2 * PERIOD)

    with reverts_with(
        consent_registry.ConsentRegistryPaymentBeyondValidity,
        grantId=grant_id,
        paidUntil=now + HOUR + 3 * PERIOD,
        validUntil=now + HOUR + 2 * PERIOD,
    ):
        consent_registry.pay(grant_id, 3, sender=recipient)


@pytest.mark.parametrize("caller", ["subject", "outsider"])
def test_pay_by_other_than_recipient_reverts_not_recipient(
    consent_registry, subject, recipient, outsider, now, caller
):
    grant_id, _ = paid_grant(consent_registry, subject, recipient, now)
    account = subject if caller == "subject" else outsider

    with reverts_with(consent_registry.ConsentRegistryNotRecipient, grantId=grant_id, caller=account):
        consent_registry.pay(grant_id, 1, sender=account)


def test_pay_unknown_grant_reverts(consent_registry, recipient):
    with reverts_with(consent_registry.ConsentRegistryUnknownGrant, grantId=3):
        consent_registry.pay(3, 1, sender=recipient)


def test_pay_free_grant_reverts(consent_registry, subject, recipient, now):
    grant_id, _ = make_grant(consent_registry, subject, recipient, now)

    with reverts_with(consent_registry.ConsentRegistryFreeGrant, grantId=grant_id):
        consent_registry.pay(grant_id, 1, sender=recipient)


def test_pay_zero_periods_reverts(consent_registry, subject, recipient, now):
    grant_id, _ = paid_grant(consent_registry, subject, recipient, now)

    with reverts_with(consent_registry.ConsentRegistryZeroPeriods, grantId=grant_id):
        consent_registry.pay(grant_id, 0, sender=recipient)


def test_pay_revoked_grant_reverts_grant_ended(consent_registry, subject, recipient, now):
    grant_id, _ = paid_grant(consent_registry, subject, recipient, now)
    consent_registry.revoke(grant_id, sender=subject)

    with reverts_with(consent_registry.ConsentRegistryGrantEnded, grantId=grant_id):
        consent_registry.pay(grant_id, 1, sender=recipient)


def test_pay_without_allowance_reverts_in_token(consent_registry, token, subject, recipient, now):
    grant_id, _ = paid_grant(consent_registry, subject, recipient, now)
    token.approve(consent_registry, 0, sender=recipient)

    with reverts_with(token.ERC20InsufficientAllowance, spender=consent_registry.address, needed=PRICE):
        consent_registry.pay(grant_id, 1, sender=recipient)


# ------------------------------------------------------------------ payWithPermit


def test_pay_with_permit_needs_no_approve(chain, consent_registry, token, subject, recipient, now):
    grant_id, _ = paid_grant(consent_registry, subject, recipient, now)
    token.approve(consent_registry, 0, sender=recipient)
    v, r, s = sign_permit(token, recipient, consent_registry, 2 * PRICE, now + DAY, chain.chain_id)

    tx = consent_registry.payWithPermit(grant_id, 2, now + DAY, v, r, s, sender=recipient)

    assert tx.events.filter(consent_registry.ConsentPaid)[0].amount == 2 * PRICE
    assert token.balanceOf(consent_registry) == 2 * PRICE
    assert token.allowance(recipient, consent_registry) == 0


def test_pay_with_front_run_permit_uses_existing_allowance(chain, consent_registry, token, subject, recipient, outsider,
                                                           now):
    grant_id, _ = paid_grant(consent_registry, subject, recipient, now)
    token.approve(consent_registry, 0, sender=recipient)
    v, r, s = sign_permit(token, recipient, consent_registry, PRICE, now + DAY, chain.chain_id)
    token.permit(recipient, consent_registry, PRICE, now + DAY, v, r, s, sender=outsider)

    tx = consent_registry.payWithPermit(grant_id, 1, now + DAY, v, r, s, sender=recipient)

    assert tx.events.filter(consent_registry.ConsentPaid)[0].amount == PRICE


def test_pay_with_permit_by_other_than_recipient_reverts(chain, consent_registry, token, subject, recipient, outsider,
                                                         now):
    grant_id, _ = paid_grant(consent_registry, subject, recipient, now)
    v, r, s = sign_permit(token, outsider, consent_registry, PRICE, now + DAY, chain.chain_id)

    with reverts_with(consent_registry.ConsentRegistryNotRecipient, grantId=grant_id, caller=outsider):
        consent_registry.payWithPermit(grant_id, 1, now + DAY, v, r, s, sender=outsider)


def test_pay_with_bad_permit_and_no_allowance_reverts_in_token(chain, consent_registry, token, subject, recipient,
                                                                now):
    grant_id, _ = paid_grant(consent_registry, subject, recipient, now)
    token.approve(consent_registry, 0, sender=recipient)
    v, r, s = sign_permit(token, recipient, consent_registry, PRICE - 1, now + DAY, chain.chain_id)

    with reverts_with(token.ERC20InsufficientAllowance, needed=PRICE):
        consent_registry.payWithPermit(grant_id, 1, now + DAY, v, r, s, sender=recipient)


# ------------------------------------------------------------------ release


def test_release_pays_subject_what_elapsed_time_earned(consent_registry, token, subject, recipient, outsider, now,
                                                       clock):
    grant_id, _ = paid_grant(consent_registry, subject, recipient, now)
    consent_registry.pay(grant_id, 4, sender=recipient)
    start = now + HOUR
    clock.warp_to(start + PERIOD + 777)
    before = token.balanceOf(subject)

    tx = consent_registry.release(grant_id, sender=outsider)

    earned = accrued(tx.timestamp - start)
    assert tx.events.filter(consent_registry.PaymentReleased) == [
        consent_registry.PaymentReleased(grantId=grant_id, subject=subject, amount=earned)
    ]
    assert tx.events.filter(consent_registry.PaymentRefunded) == []
    assert token.balanceOf(subject) - before == earned
    assert consent_registry.escrow(grant_id).released == earned


def test_release_twice_pays_only_the_difference(consent_registry, subject, recipient, now, clock):
    grant_id, _ = paid_grant(consent_registry, subject, recipient, now)
    consent_registry.pay(grant_id, 4, sender=recipient)
    start = now + HOUR
    clock.warp_to(start + 1001)
    first = consent_registry.release(grant_id, sender=subject)
    clock.warp_to(start + 2 * PERIOD + 5)

    second = consent_registry.release(grant_id, sender=subject)

    amounts = [tx.events.filter(consent_registry.PaymentReleased)[0].amount for tx in (first, second)]
    assert amounts == [accrued(first.timestamp - start), accrued(second.timestamp - start) - amounts[0]]


def test_release_after_expiry_settles_subject_and_refunds_unused_rest(
    chain, consent_registry, token, subject, recipient, now, clock
):
    lasts = 2 * PERIOD + 100
    grant_id, _ = paid_grant(consent_registry, subject, recipient, now, lasts=lasts)
    consent_registry.pay(grant_id, 3, sender=recipient)
    clock.warp_to(now + HOUR + lasts + DAY)
    chain.mine()
    assert consent_registry.releasable(grant_id) == (accrued(lasts), 3 * PRICE - accrued(lasts))

    tx = consent_registry.release(grant_id, sender=recipient)

    assert tx.events.filter(consent_registry.PaymentReleased) == [
        consent_registry.PaymentReleased(grantId=grant_id, subject=subject, amount=accrued(lasts))
    ]
    assert tx.events.filter(consent_registry.PaymentRefunded) == [
        consent_registry.PaymentRefunded(grantId=grant_id, recipient=recipient, amount=3 * PRICE - accrued(lasts))
    ]
    assert token.balanceOf(consent_registry) == 0
    assert consent_registry.releasable(grant_id) == (0, 0)


def test_release_with_nothing_due_reverts(consent_registry, subject, recipient, now):
    grant_id, _ = paid_grant(consent_registry, subject, recipient, now)
    consent_registry.pay(grant_id, 1, sender=recipient)

    with reverts_with(consent_registry.ConsentRegistryNothingToRelease, grantId=grant_id):
        consent_registry.release(grant_id, sender=subject)


def test_release_of_free_grant_reverts_nothing_to_release(consent_registry, subject, recipient, now):
    grant_id, _ = make_grant(consent_registry, subject, recipient, now)

    with reverts_with(consent_registry.ConsentRegistryNothingToRelease, grantId=grant_id):
        consent_registry.release(grant_id, sender=subject)


def test_release_unknown_grant_reverts(consent_registry, subject):
    with reverts_with(consent_registry.ConsentRegistryUnknownGrant, grantId=9):
        consent_registry.release(9, sender=subject)


@pytest.mark.parametrize("view", ["grant", "escrow", "releasable", "isLive"])
def test_views_of_unknown_grant_revert(consent_registry, view):
    with reverts_with(consent_registry.ConsentRegistryUnknownGrant, grantId=4):
        getattr(consent_registry, view)(4)


# ------------------------------------------------------------------ property: the escrow conserves tokens


@dataclass
class EscrowModel:
    """Reference arithmetic for one paid grant's escrow, mirroring the contract's NatSpec."""

    price: int
    period: int
    valid_from: int
    valid_until: int
    revoked_at: int = 0
    paid: int = 0
    coverage_start: int = 0
    paid_until: int = 0
    earned_before: int = 0
    payments: list = field(default_factory=list)

    def end(self):
        return min(self.revoked_at, self.valid_until) if self.revoked_at else self.valid_until

    def live(self, t):
        return not self.revoked_at and t < self.valid_until

    def coverage_after(self, t, periods):
        start, until = self.coverage_start, self.paid_until
        if until <= t:
            start = until = max(t, self.valid_from)
        return start, until + periods * self.period

    def pay(self, t, periods):
        start, until = self.coverage_after(t, periods)
        if start != self.coverage_start:
            self.earned_before = self.paid
            self.coverage_start = start
        self.paid_until = until
        self.paid += periods * self.price

    def accrued(self, t):
        t = min(t, self.end())
        if t <= self.coverage_start:
            return self.earned_before
        return self.earned_before + self.price * (min(t, self.paid_until) - self.coverage_start) // self.period


operations = st.lists(
    st.tuples(
        st.sampled_from(["pay", "pay", "pay", "release", "release", "renew", "revoke", "wait"]),
        st.integers(min_value=0, max_value=250),  # seconds to wait first, in percent of a period
        st.integers(min_value=1, max_value=3),  # periods to pay for
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=20, deadline=None)
@given(
    price=st.integers(min_value=1, max_value=10**21),
    period=st.integers(min_value=1, max_value=DAY),
    starts=st.integers(min_value=0, max_value=150),  # percent of a period
    periods_valid=st.integers(min_value=1, max_value=8),
    extra=st.integers(min_value=0, max_value=DAY),
    ops=operations,
)
def test_escrow_pays_subject_plus_refunds_exactly_what_was_paid(
    chain, consent_registry, token, subject, recipient, price, period, starts, periods_valid, extra, ops
):
    starts = starts * period // 100
    lasts = periods_valid * period + extra % period
    with isolated(chain):
        now = chain.pending_timestamp
        chain.pending_timestamp = now  # pinned: on anvil the wall clock can tick between reading and mining
        grant_id, _ = make_grant(
            consent_registry, subject, recipient, now, starts=starts, lasts=lasts, price=price, period=period
        )
        model = EscrowModel(price, period, now + starts, now + starts + lasts)
        subject_before, recipient_before = token.balanceOf(subject), token.balanceOf(recipient)
        received = refunded = 0

        def collect(tx):
            nonlocal received, refunded
            received += sum(e.amount for e in tx.events.filter(consent_registry.PaymentReleased))
            refunded += sum(e.amount for e in tx.events.filter(consent_registry.PaymentRefunded))

        for op, wait, n in ops:
            # Every transaction is mined at exactly `t`, so the model sees the contract's clock.
            t = chain.blocks.head.timestamp + 1 + wait * period // 100
            chain.pending_timestamp = t
            if op == "pay" and model.live(t):
                _, until = model.coverage_after(t, n)
                # Only what the recipient can afford: an unfunded payment is another test's subject.
                if until - period < model.valid_until and price * n <= token.balanceOf(recipient):
                    consent_registry.pay(grant_id, n, sender=recipient)
                    model.pay(t, n)
            elif op == "release" and (
                model.accrued(t) > received or (not model.live(t) and model.paid > received + refunded)
            ):
                collect(consent_registry.release(grant_id, sender=recipient))
            elif op == "renew" and model.live(t):
                model.valid_until += n * period
                consent_registry.renew(grant_id, model.valid_until, sender=subject)
            elif op == "revoke" and model.live(t):
                collect(consent_registry.revoke(grant_id, sender=subject))
                model.revoked_at = t
            assert received <= model.accrued(t)
            assert consent_registry.isAllowed(subject, recipient, ENERGY_15MIN, t) == (
                model.live(t) and model.valid_from <= t and model.coverage_start <= t < model.paid_until
            )

        chain.pending_timestamp = max(chain.blocks.head.timestamp + 1, model.end())
        if model.paid > received + refunded:
            collect(consent_registry.release(grant_id, sender=subject))

        assert received == model.accrued(model.end())
        assert received + refunded == model.paid
        assert token.balanceOf(subject) - subject_before == received
        assert recipient_before - token.balanceOf(recipient) == model.paid - refunded
        assert token.balanceOf(consent_registry) == 0
