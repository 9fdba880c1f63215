"""EnergyCertificate: certificates minted from settled surplus, sold between members, retired."""

from __future__ import annotations

import pytest
from conftest import Clock, isolated, reverts_with
from eth_utils import keccak
from hypothesis import given, settings
from hypothesis import strategies as st
from permits import sign_permit

EXPORT_WH = 5000
IMPORTS_WH = (1000, 500)
SURPLUS_WH = EXPORT_WH - sum(IMPORTS_WH)
PRICE = 3 * 10**18
ZERO = "0x0000000000000000000000000000000000000000"
MAX_UINT = 2**256 - 1
ERC721_INTERFACE_ID = bytes.fromhex("80ac58cd")


@pytest.fixture(scope="module")
def producer(households):
    return households[0].account


@pytest.fixture(scope="module")
def buyer(households):
    return households[1].account


@pytest.fixture(scope="module")
def other_buyer(households):
    return households[2].account


@pytest.fixture(scope="module")
def settled_interval(chain, community, households, certificates):
    """One settled interval, as real nodes would produce it: the producer exported 5000 Wh, the two
    consumers took 1500 Wh between them, so the producer has 3500 Wh of certifiable surplus."""
    clock = Clock(chain, community)
    interval = clock.current_interval()
    clock.end_interval(interval)
    community.submitReading(interval, 0, EXPORT_WH, sender=households[0].account)
    for household, import_wh in zip(households[1:], IMPORTS_WH):
        community.submitReading(interval, import_wh, 0, sender=household.account)
    clock.pass_grace(interval)
    community.settle(interval, sender=households[1].account)
    return interval


@pytest.fixture(scope="module", autouse=True)
def _market(token, admin, certificates, settled_interval, producer, buyer, other_buyer, outsider):
    """Gives the buyers (and the outsider) 100 credits each in their wallets, with the certificates approved."""
    for account in (buyer, other_buyer, outsider):
        token.issue(account, 100 * 10**18, b"\x00" * 32, sender=admin)
        token.approve(certificates, MAX_UINT, sender=account)


def mint(certificates, producer, wh=1200):
    tx = certificates.mint(wh, sender=producer)
    return tx.events.filter(certificates.CertificateMinted)[0].tokenId, tx


def listed(certificates, producer, price=PRICE, wh=1200):
    token_id, _ = mint(certificates, producer, wh)
    certificates.list(token_id, price, sender=producer)
    return token_id


# ------------------------------------------------------------------ constructor


def test_constructor_records_collection_community_and_token(certificates, community, token):
    actual = (certificates.name(), certificates.symbol(), certificates.community(), certificates.token())
    assert actual == ("Test Energy Certificate", "TEGC", community.address, token.address)
    assert certificates.certificateCount() == 0


def test_supports_erc721_interface(certificates):
    assert certificates.supportsInterface(ERC721_INTERFACE_ID) is True


@pytest.mark.parametrize("which", ["community", "token"])
def test_constructor_rejects_zero_address(project, admin, community, token, which):
    args = (ZERO, token) if which == "community" else (community, ZERO)
    with reverts_with(project.EnergyCertificate.EnergyCertificateZeroAddress):
        admin.deploy(project.EnergyCertificate, *args, "C", "C")


# ------------------------------------------------------------------ mint


def test_settled_interval_leaves_producer_its_unallocated_export(community, producer):
    assert community.surplusOf(producer) == SURPLUS_WH


def test_mint_records_certificate_and_draws_surplus_down(certificates, community, producer, settled_interval):
    tx = certificates.mint(1200, sender=producer)

    assert tx.events.filter(certificates.CertificateMinted) == [
        certificates.CertificateMinted(tokenId=1, producer=producer, wh=1200, settledInterval=settled_interval)
    ]
    assert tx.events.filter(certificates.Transfer) == [certificates.Transfer(ZERO, producer, 1)]
    assert tx.events.filter(community.SurplusConsumed) == [
        community.SurplusConsumed(memberId=community.memberIdOf(producer), wh=1200, by=certificates)
    ]
    certificate = certificates.certificate(1)
    actual = (certificate.producer, certificate.wh, certificate.issuedAt, certificate.settledInterval)
    assert actual == (producer, 1200, tx.timestamp, settled_interval)
    assert certificates.ownerOf(1) == producer
    assert community.surplusOf(producer) == SURPLUS_WH - 1200
    assert (certificates.totalIssuedWh(), certificates.certificateCount()) == (1200, 1)


def test_mint_never_certifies_the_same_wh_twice(certificates, community, producer):
    mint(certificates, producer, SURPLUS_WH)

    with reverts_with(
        certificates.EnergyCertificateInsufficientSurplus, producer=producer, surplusWh=0, requestedWh=1
    ):
        certificates.mint(1, sender=producer)
    assert community.surplusOf(producer) == 0


def test_mint_more_than_surplus_reverts(certificates, producer):
    with reverts_with(
        certificates.EnergyCertificateInsufficientSurplus,
        producer=producer,
        surplusWh=SURPLUS_WH,
        requestedWh=SURPLUS_WH + 1,
    ):
        certificates.mint(SURPLUS_WH + 1, sender=producer)


def test_mint_records_the_latest_settled_interval(chain, community, certificates, households, producer):
    clock = Clock(chain, community)
    interval = clock.current_interval()
    clock.end_interval(interval)
    community.submitReading(interval, 0, 700, sender=producer)
    clock.pass_grace(interval)
    community.settle(interval, sender=producer)

    tx = certificates.mint(SURPLUS_WH + 700, sender=producer)

    assert tx.events.filter(certificates.CertificateMinted)[0].settledInterval == interval


@pytest.mark.parametrize("who", ["consumer", "outsider"])
def test_mint_by_non_producer_reverts_not_producer(certificates, buyer, outsider, who):
    account = buyer if who == "consumer" else outsider

    with reverts_with(certificates.EnergyCertificateNotProducer, account=account):
        certificates.mint(1, sender=account)


def test_mint_by_removed_producer_reverts_not_producer(certificates, community, admin, producer):
    community.removeMember(producer, sender=admin)

    with reverts_with(certificates.EnergyCertificateNotProducer, account=producer):
        certificates.mint(1, sender=producer)


def test_mint_zero_wh_reverts(certificates, producer):
    with reverts_with(certificates.EnergyCertificateZeroAmount):
        certificates.mint(0, sender=producer)


def test_mint_without_certifier_role_reverts_in_community(project, admin, community, token, producer):
    unwired = admin.deploy(project.EnergyCertificate, community, token, "Unwired", "U")

    with reverts_with(community.AccessControlUnauthorizedAccount, account=unwired):
        unwired.mint(1, sender=producer)


# ------------------------------------------------------------------ list / unlist


def test_list_sets_price_and_emits_certificate_listed(certificates, producer):
    token_id, _ = mint(certificates, producer)

    tx = certificates.list(token_id, PRICE, sender=producer)

    assert tx.events == [certificates.CertificateListed(tokenId=token_id, seller=producer, price=PRICE)]
    assert certificates.listingPrice(token_id) == PRICE


def test_list_again_changes_price(certificates, producer):
    token_id = listed(certificates, producer)

    certificates.list(token_id, 2 * PRICE, sender=producer)

    assert certificates.listingPrice(token_id) == 2 * PRICE


def test_list_by_non_owner_reverts_not_owner(certificates, producer, buyer):
    token_id, _ = mint(certificates, producer)

    with reverts_with(certificates.EnergyCertificateNotOwner, tokenId=token_id, caller=buyer):
        certificates.list(token_id, PRICE, sender=buyer)


def test_list_unknown_certificate_reverts_nonexistent(certificates, producer):
    with reverts_with(certificates.ERC721NonexistentToken, tokenId=42):
        certificates.list(42, PRICE, sender=producer)


def test_list_at_zero_price_reverts(certificates, producer):
    token_id, _ = mint(certificates, producer)

    with reverts_with(certificates.EnergyCertificateZeroPrice, tokenId=token_id):
        certificates.list(token_id, 0, sender=producer)


def test_unlist_clears_price_and_emits_certificate_unlisted(certificates, producer):
    token_id = listed(certificates, producer)

    tx = certificates.unlist(token_id, sender=producer)

    assert tx.events == [certificates.CertificateUnlisted(tokenId=token_id)]
    assert certificates.listingPrice(token_id) == 0


def test_unlist_unlisted_certificate_reverts_not_listed(certificates, producer):
    token_id, _ = mint(certificates, producer)

    with reverts_with(certificates.EnergyCertificateNotListed, tokenId=token_id):
        certificates.unlist(token_id, sender=producer)


def test_unlist_by_non_owner_reverts_not_owner(certificates, producer, buyer):
    token_id = listed(certificates, producer)

    with reverts_with(certificates.EnergyCertificateNotOwner, tokenId=token_id, caller=buyer):
        certificates.unlist(token_id, sender=buyer)


# ------------------------------------------------------------------ buy


def test_buy_pays_owner_and_transfers_certificate(certificates, token, producer, buyer):
    token_id = listed(certificates, producer)
    producer_before, buyer_before = token.balanceOf(producer), token.balanceOf(buyer)

    tx = certificates.buy(token_id, PRICE, sender=buyer)

    assert tx.events.filter(certificates.CertificateSold) == [
        certificates.CertificateSold(tokenId=token_id, seller=producer, buyer=buyer, price=PRICE)
    ]
    assert tx.events.filter(certificates.CertificateUnlisted) == []
    assert tx.events.filter(token.Transfer) == [token.Transfer(buyer, producer, PRICE)]
    assert certificates.ownerOf(token_id) == buyer
    assert certificates.listingPrice(token_id) == 0
    assert token.balanceOf(producer) - producer_before == PRICE
    assert buyer_before - token.balanceOf(buyer) == PRICE


def test_resale_pays_the_current_owner(certificates, token, producer, buyer, other_buyer):
    token_id = listed(certificates, producer)
    certificates.buy(token_id, PRICE, sender=buyer)
    certificates.list(token_id, 2 * PRICE, sender=buyer)
    producer_before, buyer_before = token.balanceOf(producer), token.balanceOf(buyer)

    certificates.buy(token_id, 2 * PRICE, sender=other_buyer)

    assert token.balanceOf(buyer) - buyer_before == 2 * PRICE
    assert token.balanceOf(producer) == producer_before
    assert certificates.ownerOf(token_id) == other_buyer


def test_buy_by_non_member_reverts_not_member(certificates, producer, outsider):
    token_id = listed(certificates, producer)

    with reverts_with(certificates.EnergyCertificateNotMember, account=outsider):
        certificates.buy(token_id, PRICE, sender=outsider)


def test_buy_unlisted_certificate_reverts_not_listed(certificates, producer, buyer):
    token_id, _ = mint(certificates, producer)

    with reverts_with(certificates.EnergyCertificateNotListed, tokenId=token_id):
        certificates.buy(token_id, PRICE, sender=buyer)


def test_buy_unknown_certificate_reverts_not_listed(certificates, buyer):
    with reverts_with(certificates.EnergyCertificateNotListed, tokenId=77):
        certificates.buy(77, PRICE, sender=buyer)


def test_buy_own_listing_reverts(certificates, producer):
    token_id = listed(certificates, producer)

    with reverts_with(certificates.EnergyCertificateOwnListing, tokenId=token_id, buyer=producer):
        certificates.buy(token_id, PRICE, sender=producer)


def test_buy_above_max_price_reverts(certificates, producer, buyer):
    token_id = listed(certificates, producer)

    with reverts_with(
        certificates.EnergyCertificatePriceAboveLimit, tokenId=token_id, price=PRICE, maxPrice=PRICE - 1
    ):
        certificates.buy(token_id, PRICE - 1, sender=buyer)


def test_buy_without_allowance_reverts_in_token(certificates, token, producer, buyer):
    token_id = listed(certificates, producer)
    token.approve(certificates, 0, sender=buyer)

    with reverts_with(token.ERC20InsufficientAllowance, spender=certificates.address, needed=PRICE):
        certificates.buy(token_id, PRICE, sender=buyer)


def test_buy_with_permit_needs_no_approve(chain, certificates, token, producer, buyer):
    token_id = listed(certificates, producer)
    token.approve(certificates, 0, sender=buyer)
    deadline = chain.pending_timestamp + 3600
    v, r, s = sign_permit(token, buyer, certificates, PRICE, deadline, chain.chain_id)

    tx = certificates.buyWithPermit(token_id, PRICE, deadline, v, r, s, sender=buyer)

    assert tx.events.filter(certificates.CertificateSold)[0].buyer == buyer
    assert certificates.ownerOf(token_id) == buyer
    assert token.allowance(buyer, certificates) == 0


def test_buy_with_front_run_permit_uses_existing_allowance(chain, certificates, token, producer, buyer, outsider):
    token_id = listed(certificates, producer)
    token.approve(certificates, 0, sender=buyer)
    deadline = chain.pending_timestamp + 3600
    v, r, s = sign_permit(token, buyer, certificates, PRICE, deadline, chain.chain_id)
    token.permit(buyer, certificates, PRICE, deadline, v, r, s, sender=outsider)

    certificates.buyWithPermit(token_id, PRICE, deadline, v, r, s, sender=buyer)

    assert certificates.ownerOf(token_id) == buyer


def test_buy_with_permit_by_non_member_reverts_not_member(chain, certificates, token, producer, outsider):
    token_id = listed(certificates, producer)
    deadline = chain.pending_timestamp + 3600
    v, r, s = sign_permit(token, outsider, certificates, PRICE, deadline, chain.chain_id)

    with reverts_with(certificates.EnergyCertificateNotMember, account=outsider):
        certificates.buyWithPermit(token_id, PRICE, deadline, v, r, s, sender=outsider)


# ------------------------------------------------------------------ transfers cancel listings


def test_transfer_cancels_listing(certificates, producer, buyer, other_buyer):
    token_id = listed(certificates, producer)

    tx = certificates.transferFrom(producer, other_buyer, token_id, sender=producer)

    assert tx.events.filter(certificates.CertificateUnlisted) == [certificates.CertificateUnlisted(tokenId=token_id)]
    assert certificates.listingPrice(token_id) == 0
    with reverts_with(certificates.EnergyCertificateNotListed, tokenId=token_id):
        certificates.buy(token_id, PRICE, sender=buyer)


def test_transfer_by_approved_operator_cancels_listing(certificates, producer, buyer, outsider):
    token_id = listed(certificates, producer)
    certificates.setApprovalForAll(outsider, True, sender=producer)

    certificates.safeTransferFrom(producer, buyer, token_id, sender=outsider)

    assert certificates.listingPrice(token_id) == 0
    assert certificates.ownerOf(token_id) == buyer


def test_new_owner_can_list_a_transferred_certificate(certificates, producer, buyer, other_buyer):
    token_id = listed(certificates, producer)
    certificates.transferFrom(producer, buyer, token_id, sender=producer)

    certificates.list(token_id, PRICE, sender=buyer)
    certificates.buy(token_id, PRICE, sender=other_buyer)

    assert certificates.ownerOf(token_id) == other_buyer


# ------------------------------------------------------------------ retire


def test_retire_burns_certificate_and_records_claim(certificates, producer, buyer):
    token_id = listed(certificates, producer)
    certificates.buy(token_id, PRICE, sender=buyer)
    claim = "Bakery Lenz, consumption of March 2025"

    tx = certificates.retire(token_id, ZERO, claim, sender=buyer)

    assert tx.events.filter(certificates.CertificateRetired) == [
        certificates.CertificateRetired(tokenId=token_id, retiredBy=buyer, beneficiary=buyer, wh=1200, claim=claim)
    ]
    assert tx.events.filter(certificates.Transfer) == [certificates.Transfer(buyer, ZERO, token_id)]
    retirement = certificates.retirement(token_id)
    actual = (retirement.retiredBy, retirement.retiredAt, retirement.beneficiary, retirement.claimHash)
    assert actual == (buyer, tx.timestamp, buyer, keccak(text=claim))
    assert certificates.certificate(token_id).wh == 1200
    assert certificates.balanceOf(buyer) == 0
    assert certificates.totalRetiredWh() == 1200
    with reverts_with(certificates.ERC721NonexistentToken, tokenId=token_id):
        certificates.ownerOf(token_id)


def test_retire_for_named_beneficiary_without_note(certificates, producer, other_buyer):
    token_id, _ = mint(certificates, producer)

    tx = certificates.retire(token_id, other_buyer, "", sender=producer)

    assert tx.events.filter(certificates.CertificateRetired)[0].beneficiary == other_buyer
    retirement = certificates.retirement(token_id)
    assert (retirement.retiredBy, retirement.beneficiary, retirement.claimHash) == (producer, other_buyer, b"\x00" * 32)


def test_retire_listed_certificate_cancels_listing(certificates, producer):
    token_id = listed(certificates, producer)

    tx = certificates.retire(token_id, ZERO, "", sender=producer)

    assert tx.events.filter(certificates.CertificateUnlisted) == [certificates.CertificateUnlisted(tokenId=token_id)]
    assert certificates.listingPrice(token_id) == 0


@pytest.mark.parametrize("who", ["member", "approved operator"])
def test_retire_by_non_owner_reverts_not_owner(certificates, producer, buyer, who):
    token_id, _ = mint(certificates, producer)
    if who == "approved operator":
        certificates.approve(buyer, token_id, sender=producer)

    with reverts_with(certificates.EnergyCertificateNotOwner, tokenId=token_id, caller=buyer):
        certificates.retire(token_id, ZERO, "", sender=buyer)


def test_retire_twice_reverts_nonexistent(certificates, producer):
    token_id, _ = mint(certificates, producer)
    certificates.retire(token_id, ZERO, "", sender=producer)

    with reverts_with(certificates.ERC721NonexistentToken, tokenId=token_id):
        certificates.retire(token_id, ZERO, "", sender=producer)


# ------------------------------------------------------------------ views


def test_certificate_of_unknown_id_reverts(certificates):
    with reverts_with(certificates.EnergyCertificateUnknown, tokenId=3):
        certificates.certificate(3)


def test_retirement_of_unretired_certificate_reverts(certificates, producer):
    token_id, _ = mint(certificates, producer)

    with reverts_with(certificates.EnergyCertificateNotRetired, tokenId=token_id):
        certificates.retirement(token_id)


def test_listing_price_of_unlisted_certificate_is_zero(certificates):
    assert certificates.listingPrice(1) == 0


# ------------------------------------------------------------------ property: surplus is never over-certified


@settings(max_examples=15, deadline=None)
@given(requests=st.lists(st.integers(min_value=1, max_value=SURPLUS_WH + 100), min_size=1, max_size=6))
def test_minted_wh_never_exceed_settled_surplus(chain, community, certificates, producer, requests):
    with isolated(chain):
        remaining = SURPLUS_WH
        for wh in requests:
            if wh <= remaining:
                certificates.mint(wh, sender=producer)
                remaining -= wh
            else:
                with reverts_with(certificates.EnergyCertificateInsufficientSurplus, requestedWh=wh):
                    certificates.mint(wh, sender=producer)
            assert community.surplusOf(producer) == remaining
            assert certificates.totalIssuedWh() + remaining == SURPLUS_WH
