from conftest import reverts_with
import pytest

from permits import sign_permit


def test_treasury_issues_credits_with_payment_reference(token, admin, member_accounts):
    member = member_accounts[0]
    tx = token.issue(member, 5 * 10**18, b"\x07" * 32, sender=admin)
    assert token.balanceOf(member) == 5 * 10**18
    assert tx.events.filter(token.CreditsIssued) == [
        token.CreditsIssued(to=member, amount=5 * 10**18, paymentRef=b"\x07" * 32)
    ]


def test_issuing_without_treasury_role_is_refused(token, outsider):
    with reverts_with(token.AccessControlUnauthorizedAccount, account=outsider.address):
        token.issue(outsider, 1, b"\x00" * 32, sender=outsider)


def test_admin_can_appoint_another_treasury(token, admin, outsider):
    token.grantRole(token.TREASURY_ROLE(), outsider, sender=admin)
    token.issue(outsider, 3, b"\x00" * 32, sender=outsider)
    assert token.balanceOf(outsider) == 3


def test_permit_sets_allowance_without_a_transaction_from_the_owner(token, admin, member_accounts, chain):
    owner, spender = member_accounts[0], member_accounts[1]
    deadline = chain.pending_timestamp + 3600
    v, r, s = sign_permit(token, owner, spender, 42, deadline, chain.chain_id)
    token.permit(owner, spender, 42, deadline, v, r, s, sender=admin)
    assert token.allowance(owner, spender) == 42
    assert token.nonces(owner) == 1


def test_expired_permit_is_refused(token, admin, member_accounts, chain):
    owner, spender = member_accounts[0], member_accounts[1]
    deadline = chain.pending_timestamp - 1
    v, r, s = sign_permit(token, owner, spender, 42, deadline, chain.chain_id)
    with reverts_with(token.ERC2612ExpiredSignature):
        token.permit(owner, spender, 42, deadline, v, r, s, sender=admin)


@pytest.mark.parametrize("name", ["name", "symbol", "decimals"])
def test_metadata_is_what_the_deployer_chose(token, name):
    assert {"name": "Test Energy Credit", "symbol": "TEC", "decimals": 18}[name] == getattr(token, name)()
