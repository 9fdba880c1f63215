"""The Market page: certificates from mirrored events, the requests it queues (exact parameters),
the send-credits confirmation step, the offers summary, and a certificate sale on the real contracts
on anvil. The energy offers themselves are tested in test_offers.py."""

from __future__ import annotations

from dataclasses import replace

import pytest
from chainkit import anvil_fixture
from dappkit import ADDRESS, queued
from offerkit import Household, refused

from dapp.errors import BadRequest
from dapp.market import exact_credits, parse_credits
from dapp.pseudonyms import pseudonym
from node.chain.client import connect
from node.chain.devnet import GRACE, INTERVAL, LocalCommunity, dev_account
from node.mirror.db import MirrorDB, MirroredEvent

OTHER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"  # anvil's dev account 2
THIRD = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"  # anvil's dev account 3
ZERO = "0x0000000000000000000000000000000000000000"
CREDIT = 10**18


def event(block: int, contract: str, name: str, **args) -> MirroredEvent:
    return MirroredEvent(block, 0, f"0x{block:064x}", 1_767_225_000 + block, f"0x{block:064x}", contract, name, args)


def certificate_events() -> list[MirroredEvent]:
    """Members; #1 mine and listed, #2 another's and listed, #3 bought by me, #4 retired by me; offer 7 open."""
    c = "EnergyCertificate"
    return [
        event(1, "Community", "MemberAdded", memberId=1, account=ADDRESS, meterIdHash="0x" + "11" * 32),
        event(2, "Community", "MemberAdded", memberId=2, account=OTHER, meterIdHash="0x" + "22" * 32),
        event(3, "Community", "MemberAdded", memberId=3, account=THIRD, meterIdHash="0x" + "33" * 32),
        event(4, "Community", "MemberRemoved", memberId=3, account=THIRD),
        event(10, c, "Transfer", **{"from": ZERO, "to": ADDRESS, "tokenId": 1}),
        event(11, c, "CertificateMinted", tokenId=1, producer=ADDRESS, wh=1200, settledInterval=1_963_584),
        event(12, c, "CertificateListed", tokenId=1, seller=ADDRESS, price=CREDIT // 2),
        event(13, c, "CertificateMinted", tokenId=2, producer=OTHER, wh=800, settledInterval=1_963_585),
        event(14, c, "Transfer", **{"from": ZERO, "to": OTHER, "tokenId": 2}),
        event(15, c, "CertificateListed", tokenId=2, seller=OTHER, price=CREDIT // 4),
        event(16, c, "CertificateMinted", tokenId=3, producer=OTHER, wh=300, settledInterval=1_963_585),
        event(17, c, "Transfer", **{"from": ZERO, "to": OTHER, "tokenId": 3}),
        event(18, c, "CertificateListed", tokenId=3, seller=OTHER, price=CREDIT),
        event(19, c, "Transfer", **{"from": OTHER, "to": ADDRESS, "tokenId": 3}),
        event(20, c, "CertificateSold", tokenId=3, seller=OTHER, buyer=ADDRESS, price=CREDIT),
        event(21, c, "CertificateMinted", tokenId=4, producer=ADDRESS, wh=450, settledInterval=1_963_586),
        event(22, c, "Transfer", **{"from": ZERO, "to": ADDRESS, "tokenId": 4}),
        event(23, c, "Transfer", **{"from": ADDRESS, "to": ZERO, "tokenId": 4}),
        event(24, c, "CertificateRetired", tokenId=4, retiredBy=ADDRESS, beneficiary=ADDRESS, wh=450,
              claim="our bakery's January bread"),
        event(30, "EnergyExchange", "OfferPosted", offerId=7, producer=OTHER, wh=2000, pricePerKWh=2 * 10**17,
              firstInterval=1_970_000, lastInterval=1_970_003),
        event(31, "EnergyExchange", "OfferPosted", offerId=8, producer=ADDRESS, wh=500, pricePerKWh=10**17,
              firstInterval=1_970_000, lastInterval=1_970_000),
    ]


@pytest.fixture
def market(node_config):
    """The mirror holds the certificate events above."""
    node_config.data_dir.mkdir(parents=True, exist_ok=True)
    mirror = MirrorDB(node_config.mirror_path)
    mirror.append(certificate_events(), {}, 40, 32)
    mirror.close()
    return node_config


# -- the page ---------------------------------------------------------------------------------


def test_market_page_needs_a_login(client):
    response = client.get("/market/")

    assert (response.status_code, response.headers["Location"]) == (302, "/auth/login?next=/market/")


def test_page_lists_my_certificates_with_their_state_and_others_listings(client, auth, market):
    auth.login()

    page = client.get("/market/").get_data(as_text=True)

    mine = page.split("<h2>My certificates</h2>")[1].split("<h2>Listings</h2>")[0]
    assert [int(n) for n in _ids(mine, "certificate-")] == [4, 3, 1]
    row = {n: mine.split(f'id="certificate-{n}"')[1].split("</tr>")[0] for n in (1, 3, 4)}
    assert "listed at 0.5000 credits" in row[1] and "Unlist" in row[1] and "1.20 kWh" in row[1]
    assert "held" in row[3] and pseudonym(OTHER) in row[3] and "Unlist" not in row[3]
    assert "retired" in row[4] and "our bakery&#39;s January bread" in row[4] and "Retire" not in row[4]
    listings = page.split("<h2>Listings</h2>")[1].split("<h2>Send credits</h2>")[0]
    assert _ids(listings, "listing-") == ["2"]
    assert "0.2500 credits" in listings and 'name="price" value="250000000000000000"' in listings
    assert "The chain is unreachable" in page


def test_send_form_offers_current_members_but_not_me_nor_a_removed_one(client, auth, market):
    auth.login()

    page = client.get("/market/").get_data(as_text=True)

    picker = page.split('<select name="member">')[1].split("</select>")[0]
    assert f'<option value="{OTHER}">{pseudonym(OTHER)}</option>' in picker
    assert ADDRESS not in picker and THIRD not in picker


def test_page_summarises_other_members_open_offers_and_links_to_the_order_book(client, auth, market):
    auth.login()

    offers = client.get("/market/").get_data(as_text=True).split("<h2>Energy offers</h2>")[1]

    assert "1 open offer from neighbours" in offers and "the cheapest at 0.200 credits/kWh" in offers  # offer 7
    assert "Your offers and deals still open or running: 1." in offers  # offer 8, my own
    assert 'href="/market/offers/"' in offers


def test_certificates_show_when_their_surplus_was_settled_once_the_interval_length_is_known(client, auth, market,
                                                                                          clock):
    from node.submit.outbox import Outbox

    outbox = Outbox(market.outbox_path)
    outbox.start_at(int(clock.now) // 900, 900)
    outbox.close()
    auth.login()

    page = client.get("/market/").get_data(as_text=True)

    assert "surplus settled up to 2026-01-01 01:15 CET" in page  # certificate #1: interval 1963584 ends 00:15 UTC


def test_empty_market_explains_what_to_do(client, auth):
    auth.login()

    page = client.get("/market/").get_data(as_text=True)

    assert "You hold no certificates." in page and "No other member lists a certificate right now." in page


def _ids(html: str, prefix: str) -> list[str]:
    return [part.split('"')[0] for part in html.split(f'id="{prefix}')[1:]]


# -- certificates -----------------------------------------------------------------------------


def test_list_queues_my_certificate_at_the_price_in_token_units(auth, market):
    auth.login()

    response = auth.post("/market/certificates/3/list", {"price": "0.75"})

    assert (response.status_code, response.headers["Location"]) == (302, "/market/#activity")
    assert queued(market) == [("list_certificate", {"token_id": 3, "price": 750_000_000_000_000_000})]


@pytest.mark.parametrize("price, message", [
    ("abc", "Write the price in credits with a dot for decimals, e.g. 1.5"),
    ("1,5", "Write the price in credits with a dot for decimals"),
    ("0.0000000000000000001", "at most 18 decimals"),
    ("0", "The price must be more than 0 credits."),
    ("-1", "Write the price in credits"),
])
def test_list_refuses_a_bad_price(auth, market, price, message):
    auth.login()

    assert message in refused(auth.post("/market/certificates/3/list", {"price": price}))
    assert queued(market) == []


@pytest.mark.parametrize("path, message", [
    ("/market/certificates/2/list", "Certificate #2 is not yours."),
    ("/market/certificates/4/list", "Certificate #4 is retired."),
    ("/market/certificates/3/unlist", "Certificate #3 is not listed."),
    ("/market/certificates/2/retire", "Certificate #2 is not yours."),
])
def test_certificate_actions_refuse_what_i_cannot_do(auth, market, path, message):
    auth.login()

    assert message in refused(auth.post(path, {"price": "1"}))
    assert queued(market) == []


@pytest.mark.parametrize("action", ["list", "unlist", "retire", "buy"])
def test_certificate_actions_on_an_unknown_certificate_are_not_found(auth, market, action):
    auth.login()

    assert auth.post(f"/market/certificates/99/{action}", {"price": "1"}).status_code == 404


def test_unlist_queues_my_listed_certificate(auth, market):
    auth.login()

    auth.post("/market/certificates/1/unlist")

    assert queued(market) == [("unlist_certificate", {"token_id": 1})]


def test_retire_queues_the_claim_and_a_checksummed_beneficiary(auth, market):
    auth.login()

    auth.post("/market/certificates/3/retire", {"claim": "  flat 3B, January  ", "beneficiary": OTHER.lower()})
    auth.post("/market/certificates/1/retire", {"claim": ""})

    assert queued(market) == [
        ("retire_certificate", {"token_id": 3, "beneficiary": OTHER, "claim": "flat 3B, January"}),
        ("retire_certificate", {"token_id": 1, "beneficiary": None, "claim": ""}),
    ]


@pytest.mark.parametrize("form, message", [
    ({"beneficiary": "0x1234"}, "The beneficiary is not an account address"),
    ({"claim": "x" * 201}, "The claim is 201 characters long: keep it to 200."),
])
def test_retire_refuses_a_bad_beneficiary_or_a_long_claim(auth, market, form, message):
    auth.login()

    assert message in refused(auth.post("/market/certificates/3/retire", form))


def test_buy_queues_the_listing_at_its_price_as_the_maximum(auth, market):
    auth.login()

    auth.post("/market/certificates/2/buy", {"price": str(CREDIT // 4)})

    assert queued(market) == [("buy_certificate", {"token_id": 2, "max_price": CREDIT // 4})]


@pytest.mark.parametrize("token_id, price, message", [
    (1, CREDIT // 2, "Certificate #1 is your own listing."),
    (3, CREDIT, "Certificate #3 is not for sale (any more)."),
    (2, CREDIT // 5, "The price of certificate #2 rose to 0.25 credits: look again and buy at the new price."),
    (2, "lots", "The form lacks the price you saw"),
    (2, "²", "The form lacks the price you saw"),
])
def test_buy_refuses_my_own_an_unlisted_or_a_dearer_certificate(auth, market, token_id, price, message):
    auth.login()

    assert message in refused(auth.post(f"/market/certificates/{token_id}/buy", {"price": str(price)}))
    assert queued(market) == []


def test_mint_queues_the_wh_while_the_chain_cannot_be_asked(auth, market):
    auth.login()

    auth.post("/market/certificates/mint", {"wh": "500"})

    assert queued(market) == [("mint_certificate", {"wh": 500})]


@pytest.mark.parametrize("wh", ["0", "1.5", "", "-3", "1e3"])
def test_mint_refuses_anything_but_a_whole_number_of_wh(auth, market, wh):
    auth.login()

    assert "must be a whole number above 0" in refused(auth.post("/market/certificates/mint", {"wh": wh}))


# -- sending credits --------------------------------------------------------------------------


def test_send_shows_a_confirmation_with_pseudonym_full_address_and_amount_and_queues_nothing(auth, market):
    auth.login()

    response = auth.post("/market/send", {"member": OTHER, "amount": "1.5"})

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert pseudonym(OTHER) in page and OTHER in page and "Send 1.5 credits" in page
    assert "unknown: the chain is unreachable" in page
    assert queued(market) == []


def test_confirmed_send_queues_the_exact_token_units(auth, market):
    auth.login()

    response = auth.post("/market/send/confirm", {"to": OTHER, "amount": "1.5"})

    assert response.status_code == 302
    assert queued(market) == [("send_tokens", {"to": OTHER, "amount": 1_500_000_000_000_000_000})]


def test_a_typed_lowercase_address_wins_over_the_picker_and_is_checksummed(auth, market):
    auth.login()

    auth.post("/market/send/confirm", {"member": OTHER, "to": THIRD.lower(), "amount": "0.000000000000000001"})

    assert queued(market) == [("send_tokens", {"to": THIRD, "amount": 1})]


@pytest.mark.parametrize("form, message", [
    ({"amount": "1"}, "Choose a member or paste the recipient&#39;s account address."),
    ({"to": "0xnot-an-address", "amount": "1"}, "The recipient is not an account address"),
    ({"to": OTHER[:-1] + "c", "amount": "1"}, "The recipient&#39;s capital letters do not match its checksum"),
    ({"to": ADDRESS.lower(), "amount": "1"}, "That is this node&#39;s own account: choose another recipient."),
    ({"to": OTHER, "amount": "0.0"}, "The amount must be more than 0 credits."),
    ({"to": OTHER, "amount": "1.5 credits"}, "Write the amount in credits"),
    ({"to": OTHER, "amount": "١.٥"}, "Write the amount in credits"),
    ({"to": OTHER}, "Write the amount in credits"),
])
@pytest.mark.parametrize("step", ["/market/send", "/market/send/confirm"])
def test_send_refuses_a_bad_recipient_or_amount_at_both_steps(auth, market, step, form, message):
    auth.login()

    assert message in refused(auth.post(step, form))
    assert queued(market) == []


def test_send_confirm_without_the_csrf_token_is_refused(client, auth, market):
    auth.login()

    response = client.post("/market/send/confirm", data={"to": OTHER, "amount": "1"})

    assert response.status_code == 400
    assert queued(market) == []


def test_amounts_are_parsed_and_shown_exactly():
    assert parse_credits("1.5", "amount") == 1_500_000_000_000_000_000
    assert parse_credits("123456789012345.123456789012345678", "amount") == 123456789012345123456789012345678
    assert exact_credits(123456789012345123456789012345678) == "123456789012345.123456789012345678 credits"
    assert exact_credits(2 * CREDIT) == "2 credits"
    with pytest.raises(BadRequest):
        parse_credits("1e3", "amount")


# -- on the real contracts: a producer's certificate sold to a neighbour --------------------------

ANVIL_PORT = 18740
EXPORT_WH, IMPORTS_WH = 5000, (1000, 500)
SURPLUS_WH = EXPORT_WH - sum(IMPORTS_WH)
anvil = anvil_fixture(ANVIL_PORT)


@pytest.fixture
def settled_community(anvil, tmp_path):
    """A community with the certificate contract, three members and one settled interval: the producer
    exported 5000 Wh and the two consumers took 1500 Wh, so 3500 Wh are the producer's to certify."""
    w3 = connect(anvil.url)
    community = LocalCommunity(w3)
    token, hub = community.contracts["EnergyToken"], community.contracts["Community"]
    certificates = community._deploy("EnergyCertificate", hub.address, token.address, "Test Certificate", "TC")
    community.send(hub.functions.grantRole(hub.functions.CERTIFIER_ROLE().call(), certificates.address))
    deployment = replace(community.deployment, contracts={**community.deployment.contracts,
                                                          "EnergyCertificate": certificates.address})
    producer, buyer, latecomer = dev_account(1), dev_account(2), dev_account(3)
    community.admit(producer.address, True, False)
    for consumer in (buyer, latecomer):
        community.admit(consumer.address, False, True)
        community.send(token.functions.issue(consumer.address, 10 * CREDIT, b"\x00" * 32))

    def set_time(moment: int) -> None:
        w3.provider.make_request("evm_setTime", [moment])
        w3.provider.make_request("evm_mine", [])

    interval = w3.eth.get_block("latest")["timestamp"] // INTERVAL
    set_time((interval + 1) * INTERVAL + 1)
    for account, (import_wh, export_wh) in zip((producer, buyer, latecomer), ((0, EXPORT_WH), *((i, 0) for i in IMPORTS_WH))):
        receipt = w3.eth.wait_for_transaction_receipt(
            hub.functions.submitReading(interval, import_wh, export_wh).transact({"from": account.address}))
        assert receipt["status"] == 1
    set_time((interval + 1) * INTERVAL + GRACE + 1)
    community.send(hub.functions.settle(interval))
    clock = lambda: float(w3.eth.get_block("latest")["timestamp"])  # noqa: E731 - node time follows the chain
    members = {name: Household(tmp_path / name, name, account, anvil.url, deployment, w3, clock)
               for name, account in (("producer", producer), ("buyer", buyer), ("latecomer", latecomer))}
    yield members, certificates, token
    for member in members.values():
        member.close()


def test_a_certificate_minted_and_listed_by_a_producer_is_bought_through_another_members_dapp(settled_community):
    members, certificates, token = settled_community
    producer, buyer, latecomer = members["producer"], members["buyer"], members["latecomer"]

    assert "3.50 kWh" in producer.page()  # the surplus, live from the chain
    assert f"You have {SURPLUS_WH} Wh of settled surplus: certify at most that." in refused(
        producer.auth.post("/market/certificates/mint", {"wh": str(SURPLUS_WH + 1)}))
    producer.auth.post("/market/certificates/mint", {"wh": "1200"})
    producer.runner.tick()
    assert producer.last_action().state == "confirmed"
    producer.mirror.poll()
    assert 'id="certificate-1"' in producer.page()
    producer.auth.post("/market/certificates/1/list", {"price": "0.5"})
    producer.runner.tick()
    assert (producer.last_action().kind, producer.last_action().state) == ("list_certificate", "confirmed")

    buyer.mirror.poll()
    latecomer.mirror.poll()
    listing = buyer.page().split('id="listing-1"')[1].split("</tr>")[0]
    assert "1.20 kWh" in listing and "0.5000 credits" in listing and pseudonym(producer.account.address) in listing
    buyer.auth.post("/market/certificates/1/buy", {"price": str(CREDIT // 2)})
    assert buyer.last_action().params == {"token_id": 1, "max_price": CREDIT // 2}
    buyer.runner.tick()

    assert buyer.last_action().state == "confirmed"
    assert certificates.functions.ownerOf(1).call() == buyer.account.address
    assert token.functions.balanceOf(buyer.account.address).call() == 10 * CREDIT - CREDIT // 2
    buyer.mirror.poll()
    mine = buyer.page().split("<h2>My certificates</h2>")[1].split("<h2>Listings</h2>")[0]
    assert 'id="certificate-1"' in mine and "held" in mine

    # The latecomer's mirror still shows the listing: its node tries, and the chain refuses.
    latecomer.auth.post("/market/certificates/1/buy", {"price": str(CREDIT // 2)})
    latecomer.runner.tick()
    failed = latecomer.last_action()
    assert (failed.state, failed.error) == ("failed", "EnergyCertificateNotListed(tokenId=1)")
    assert "EnergyCertificateNotListed" in latecomer.page()


def test_sending_more_credits_than_the_wallet_holds_is_refused_and_the_confirmation_shows_the_balance_after(
    settled_community,
):
    members, _, _ = settled_community
    buyer, latecomer = members["buyer"], members["latecomer"]
    buyer.mirror.poll()

    too_much = buyer.auth.post("/market/send", {"member": latecomer.account.address, "amount": "10.000000000000000001"})
    confirmation = buyer.auth.post("/market/send", {"member": latecomer.account.address, "amount": "2.25"})

    assert "You have 10 credits: send at most that." in refused(too_much)
    page = confirmation.get_data(as_text=True)
    assert "7.75 credits" in page and pseudonym(latecomer.account.address) in page and latecomer.account.address in page
    assert "not a member this node knows" not in page
