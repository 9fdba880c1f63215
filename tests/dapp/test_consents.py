"""The Consents page: consents from mirrored registry events, the grant/renew/revoke requests it queues
(exact parameters), input checks, the data-fetch form and the access log."""

from __future__ import annotations

import html
import re

import pytest
from dappkit import ADDRESS, NOW, csrf_token, queued

from dapp.consents import Consent, consents, policy_document, policy_hash
from dapp.db import DappDB
from dapp.pseudonyms import pseudonym
from eth_utils import keccak
from node.chain.devnet import dev_account
from node.mirror.db import MirrorDB, MirroredEvent

OTHER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"  # anvil's dev account 2
THIRD = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"  # anvil's dev account 3
OUTSIDER = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"  # dev account 4, never a member
DAY = 86400
NOW_INT = int(NOW)
CREDIT = 10**18
HASH = "0x" + "ab" * 32


def event(block: int, contract: str, name: str, **args) -> MirroredEvent:
    return MirroredEvent(block, 0, f"0x{block:064x}", NOW_INT - 1000 + block, f"0x{block:064x}", contract, name, args)


def granted(block: int, grant_id: int, subject: str, recipient: str, scope: int, purpose: int, valid_until: int,
            price: int = 0, period: int = 0) -> MirroredEvent:
    return event(block, "ConsentRegistry", "ConsentGranted", grantId=grant_id, subject=subject, recipient=recipient,
                 scope=scope, purpose=purpose, policyHash=HASH, validFrom=NOW_INT - DAY, validUntil=valid_until,
                 pricePerPeriod=price, periodLength=period)


def registry_events() -> list[MirroredEvent]:
    """#1 live, #2 expired, #3 revoked, #4 renewed and paid (all mine); #5 free and #7 paid, given to me;
    #6 between others."""
    r = "ConsentRegistry"
    return [
        event(1, "Community", "MemberAdded", memberId=1, account=ADDRESS, meterIdHash="0x" + "11" * 32),
        event(2, "Community", "MemberAdded", memberId=2, account=OTHER, meterIdHash="0x" + "22" * 32),
        event(3, "Community", "MemberAdded", memberId=3, account=THIRD, meterIdHash="0x" + "33" * 32),
        granted(10, 1, ADDRESS, OTHER, 1, 1, NOW_INT + 30 * DAY),
        granted(11, 2, ADDRESS, THIRD, 5, 2, NOW_INT - 3600),
        granted(12, 3, ADDRESS, OTHER, 3, 3, NOW_INT + 10 * DAY),
        event(13, r, "ConsentRevoked", grantId=3, revokedAt=NOW_INT - 600),
        granted(14, 4, ADDRESS, OUTSIDER, 1, 1, NOW_INT + DAY, price=CREDIT // 10, period=DAY),
        event(15, r, "ConsentRenewed", grantId=4, validUntil=NOW_INT + 60 * DAY),
        event(16, r, "ConsentPaid", grantId=4, payer=OUTSIDER, periods=5, amount=CREDIT // 2, paidUntil=NOW_INT + 4 * DAY),
        granted(17, 5, THIRD, ADDRESS, 1, 3, NOW_INT + 7 * DAY),
        granted(18, 6, OTHER, THIRD, 1, 1, NOW_INT + 7 * DAY),
        granted(19, 7, OTHER, ADDRESS, 1, 1, NOW_INT + 7 * DAY, price=CREDIT // 10, period=DAY),
        event(20, r, "ConsentPaid", grantId=7, payer=ADDRESS, periods=3, amount=3 * CREDIT // 10, paidUntil=NOW_INT + 2 * DAY),
    ]


@pytest.fixture
def mirrored(node_config):
    node_config.data_dir.mkdir(parents=True, exist_ok=True)
    mirror = MirrorDB(node_config.mirror_path)
    mirror.append(registry_events(), {}, 30, 32)
    mirror.close()
    return node_config


def refusal(response) -> str:
    assert response.status_code == 400
    return html.unescape(response.get_data(as_text=True))


def text(response) -> str:
    """The page's text with tags and runs of white space collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


GRANT = {"recipient": "", "recipient_address": OTHER, "scope": ["1", "4"], "purpose": "2",
         "valid_from": "2026-01-01T01:00", "valid_until": "2026-01-31T01:00", "price": "0.25", "period_length": "86400"}


# -- reading the mirror -----------------------------------------------------------------------


def test_my_consents_come_from_the_mirror_with_renewals_revocations_and_payments_applied(mirrored):
    mirror = MirrorDB(mirrored.mirror_path)
    try:
        mine = consents(mirror, subject=ADDRESS)
    finally:
        mirror.close()

    assert mine == [
        Consent(4, ADDRESS, OUTSIDER, 1, 1, NOW_INT - DAY, NOW_INT + 60 * DAY, CREDIT // 10, DAY, None, NOW_INT + 4 * DAY),
        Consent(3, ADDRESS, OTHER, 3, 3, NOW_INT - DAY, NOW_INT + 10 * DAY, 0, 0, NOW_INT - 600, None),
        Consent(2, ADDRESS, THIRD, 5, 2, NOW_INT - DAY, NOW_INT - 3600, 0, 0, None, None),
        Consent(1, ADDRESS, OTHER, 1, 1, NOW_INT - DAY, NOW_INT + 30 * DAY, 0, 0, None, None),
    ]
    assert [c.state(NOW) for c in mine] == ["live", "revoked", "expired", "live"]


def test_the_policy_hash_is_keccak_of_the_documented_purpose_and_scope_text():
    assert policy_document(2, 5) == "gridcommons consent policy v1\npurpose 2: energy advice\nscope 5: energy per 15 min, voltages"
    assert policy_hash(2, 5) == "0x" + keccak(text=policy_document(2, 5)).hex()


# -- the page ---------------------------------------------------------------------------------


def test_consents_page_needs_a_login(client):
    response = client.get("/consents/")

    assert (response.status_code, response.headers["Location"]) == (302, "/auth/login?next=/consents/")


@pytest.mark.parametrize("path", ["/consents/grant", "/consents/1/renew", "/consents/1/revoke", "/consents/7/pay",
                                  "/consents/4/release", "/consents/fetch"])
def test_posting_without_a_login_goes_to_the_login_page(client, mirrored, path):
    response = client.post(path, data={"csrf_token": csrf_token(client)})

    assert (response.status_code, response.headers["Location"]) == (302, f"/auth/login?next={path}")
    assert queued(mirrored) == []


@pytest.mark.parametrize("path", ["/consents/grant", "/consents/1/renew", "/consents/1/revoke", "/consents/7/pay",
                                  "/consents/4/release", "/consents/fetch"])
def test_posting_without_the_csrf_token_is_refused(client, auth, mirrored, path):
    auth.login()

    response = client.post(path, data={**GRANT, "subject": THIRD, "from": "2025-12-31", "to": "2025-12-31",
                                       "periods": "1"})

    assert "The form was refused" in refusal(response)
    assert queued(mirrored) == []


def test_page_lists_my_consents_with_recipient_scope_purpose_price_and_state(client, auth, mirrored):
    auth.login()

    page = text(client.get("/consents/"))

    assert (f"4 {pseudonym(OUTSIDER)} {OUTSIDER[:6]}…{OUTSIDER[-4:]} energy per 15 min research "
            "2025-12-31 01:00 CET – 2026-03-02 01:00 CET 0.10 credits per day paid until 2026-01-05 01:00 CET live") in page
    assert (f"3 {pseudonym(OTHER)} {OTHER[:6]}…{OTHER[-4:]} energy per 15 min, power per second community balancing "
            "2025-12-31 01:00 CET – 2026-01-11 01:00 CET revoked 2026-01-01 00:50 CET free revoked") in page
    assert f"2 {pseudonym(THIRD)} {THIRD[:6]}…{THIRD[-4:]} energy per 15 min, voltages energy advice" in page
    assert "2026-01-01 00:00 CET free expired" in page


def test_only_live_consents_of_mine_offer_renew_and_revoke(client, auth, mirrored):
    auth.login()

    page = client.get("/consents/").get_data(as_text=True)

    assert re.findall(r'action="/consents/(\d+)/revoke"', page) == ["4", "1"]
    assert re.findall(r'action="/consents/(\d+)/renew"', page) == ["4", "1"]


def test_consents_others_gave_me_are_listed_with_a_fetch_form(client, auth, mirrored):
    auth.login()

    response = client.get("/consents/")

    assert f"5 {pseudonym(THIRD)} {THIRD[:6]}…{THIRD[-4:]} energy per 15 min community balancing" in text(response)
    assert (f"7 {pseudonym(OTHER)} {OTHER[:6]}…{OTHER[-4:]} energy per 15 min research 2025-12-31 01:00 CET – "
            "2026-01-08 01:00 CET 0.10 credits per day paid until 2026-01-03 01:00 CET live") in text(response)
    assert re.findall(r'name="subject" value="([^"]+)"', response.get_data(as_text=True)) == [OTHER, THIRD]


def test_a_paid_consent_given_to_me_offers_to_pay_the_periods_that_still_fit(client, auth, mirrored):
    auth.login()

    page = client.get("/consents/").get_data(as_text=True)

    assert re.findall(r'action="/consents/(\d+)/pay"', page) == ["7"]
    assert 'name="periods" min="1" max="5"' in page
    assert re.findall(r'action="/consents/(\d+)/release"', page) == ["4"]


def test_the_recipient_list_offers_the_other_members_by_pseudonym(client, auth, mirrored):
    auth.login()

    page = client.get("/consents/").get_data(as_text=True)

    assert re.findall(r'<option value="(0x[0-9a-fA-F]{40})">([^<]+)</option>', page) == sorted([
        (OTHER, f"{pseudonym(OTHER)} · {OTHER[:6]}…{OTHER[-4:]}"),
        (THIRD, f"{pseudonym(THIRD)} · {THIRD[:6]}…{THIRD[-4:]}"),
    ], key=lambda option: option[1])


def test_the_grant_form_defaults_to_now_until_thirty_days_later_in_the_nodes_time_zone(client, auth, mirrored):
    auth.login()

    page = client.get("/consents/").get_data(as_text=True)

    assert 'name="valid_from" value="2026-01-01T01:00"' in page
    assert 'name="valid_until" value="2026-01-31T01:00"' in page


def test_empty_page_explains_what_to_do(client, auth):
    auth.login()

    page = text(client.get("/consents/"))

    assert "You have not shared your data with anyone." in page
    assert "No member has shared data with this household." in page
    assert "Nobody has asked this node for data yet." in page


def test_the_access_log_shows_who_fetched_what_and_what_this_node_answered(client, auth, node_config, mirrored):
    db = DappDB(node_config.dapp_path)
    db.log_access(NOW - 120, OTHER, 1, NOW_INT - 7200, NOW_INT, "served", "8 intervals", 8)
    db.log_access(NOW - 60, OTHER, 1, NOW_INT - 7200, NOW_INT, "refused", "replayed request")
    db.log_access(NOW - 30, None, None, None, None, "refused", "send JSON")
    db.close()
    auth.login()

    page = text(client.get("/consents/"))

    short = f"{OTHER[:6]}…{OTHER[-4:]}"
    assert (f"2026-01-01 00:59:30 CET unknown – – refused : send JSON 0 "
            f"2026-01-01 00:59:00 CET {pseudonym(OTHER)} {short} energy per 15 min "
            f"2025-12-31 23:00 CET – 2026-01-01 01:00 CET refused : replayed request 0 "
            f"2026-01-01 00:58:00 CET {pseudonym(OTHER)} {short} energy per 15 min "
            f"2025-12-31 23:00 CET – 2026-01-01 01:00 CET served 8") in page


def test_recent_requests_show_their_state(client, auth, mirrored):
    auth.login()
    auth.post("/consents/1/revoke")

    page = client.get("/consents/").get_data(as_text=True)

    assert re.search(r'Revoke consent #1 · [^<]+<span class="tx tx-queued" data-action-id="1" data-state="queued"', page)


# -- grant ------------------------------------------------------------------------------------


def test_grant_queues_grant_consent_with_the_exact_terms(auth, mirrored):
    auth.login()

    response = auth.post("/consents/grant", GRANT)

    assert (response.status_code, response.headers["Location"]) == (302, "/consents/")
    assert queued(mirrored) == [("grant_consent", {
        "recipient": OTHER, "scope": 5, "purpose": 2, "policy_hash": policy_hash(2, 5),
        "valid_from": NOW_INT, "valid_until": NOW_INT + 30 * DAY, "price_per_period": CREDIT // 4, "period_length": DAY,
    })]


def test_a_free_grant_to_a_member_picked_from_the_list_has_no_period(auth, mirrored):
    auth.login()

    auth.post("/consents/grant", {**GRANT, "recipient": THIRD.lower(), "recipient_address": " ", "scope": "2",
                                  "price": ""})

    assert queued(mirrored) == [("grant_consent", {
        "recipient": THIRD, "scope": 2, "purpose": 2, "policy_hash": policy_hash(2, 2),
        "valid_from": NOW_INT, "valid_until": NOW_INT + 30 * DAY, "price_per_period": 0, "period_length": 0,
    })]


@pytest.mark.parametrize("change, message", [
    ({"recipient_address": "0x123"}, "The recipient must be an account address: 0x followed by 40 hex digits."),
    ({"recipient_address": ""}, "The recipient must be an account address"),
    ({"recipient_address": "0x" + "0" * 40}, "The recipient cannot be the zero address."),
    ({"recipient_address": ADDRESS.lower()}, "You cannot grant consent to yourself"),
    ({"scope": []}, "Choose at least one kind of data to share."),
    ({"scope": ["16"]}, "Choose a data category from the list."),
    ({"scope": ["x"]}, "Choose a data category from the list."),
    ({"purpose": "9"}, "Choose a purpose from the list."),
    ({"valid_from": "tomorrow"}, "Enter the valid from as a date and time, e.g. 2026-03-01T08:00."),
    ({"valid_from": "1969-12-31T23:00"}, "The valid from must be after 1970."),
    ({"valid_until": "2026-01-01T00:59"}, "The valid until must be in the future."),
    ({"valid_until": "2031-02-01T00:00"}, "The valid until must be within five years"),
    ({"valid_from": "2026-02-01T01:00"}, "The end of the consent must come after its start."),
    ({"price": "-1"}, "The price cannot be negative."),
    ({"price": "lots"}, "Enter the price as a number of credits, e.g. 0.5."),
    ({"price": "NaN"}, "Enter the price as a number of credits, e.g. 0.5."),
    ({"price": "1e-19"}, "The price can have at most 18 decimal places."),
    ({"price": "1e30"}, "The price is too large."),
    ({"period_length": "5"}, "Choose a period length from the list."),
])
def test_grant_refuses_bad_input_with_a_clear_message(auth, mirrored, change, message):
    auth.login()

    response = auth.post("/consents/grant", {**GRANT, **change})

    assert message in refusal(response)
    assert queued(mirrored) == []


# -- renew and revoke -------------------------------------------------------------------------


def test_renew_queues_renew_consent_with_the_new_end(auth, mirrored):
    auth.login()

    auth.post("/consents/1/renew", {"valid_until": "2026-03-01T01:00"})

    assert queued(mirrored) == [("renew_consent", {"grant_id": 1, "valid_until": NOW_INT + 59 * DAY})]


@pytest.mark.parametrize("grant_id, valid_until, message", [
    (1, "2026-01-15T01:00", "A renewal must end later than the consent ends now."),
    (1, "soon", "Enter the new end as a date and time"),
    (1, "2025-12-01T00:00", "The new end must be in the future."),
    (2, "2026-03-01T01:00", "Consent #2 is expired: grant a new one instead."),
    (3, "2026-03-01T01:00", "Consent #3 is revoked: grant a new one instead."),
    (5, "2026-03-01T01:00", "Consent #5 is not one this household gave"),
    (99, "2026-03-01T01:00", "Consent #99 is not one this household gave"),
])
def test_renew_refuses_what_the_registry_would_refuse(auth, mirrored, grant_id, valid_until, message):
    auth.login()

    response = auth.post(f"/consents/{grant_id}/renew", {"valid_until": valid_until})

    assert message in refusal(response)
    assert queued(mirrored) == []


def test_revoke_queues_revoke_consent(auth, mirrored):
    auth.login()

    response = auth.post("/consents/4/revoke")

    assert response.status_code == 302
    assert queued(mirrored) == [("revoke_consent", {"grant_id": 4})]


@pytest.mark.parametrize("grant_id, message", [
    (3, "Consent #3 is revoked"), (2, "Consent #2 is expired"), (6, "Consent #6 is not one this household gave"),
])
def test_revoke_refuses_a_consent_that_is_not_mine_or_not_live(auth, mirrored, grant_id, message):
    auth.login()

    assert message in refusal(auth.post(f"/consents/{grant_id}/revoke"))
    assert queued(mirrored) == []


def test_the_revoke_form_asks_for_confirmation(client, auth, mirrored):
    auth.login()

    page = client.get("/consents/").get_data(as_text=True)

    assert 'data-confirm="Revoke consent #1? The recipient loses access at once."' in page


# -- payments ---------------------------------------------------------------------------------


def test_pay_queues_pay_consent_with_the_amount_for_the_periods(auth, mirrored):
    auth.login()

    auth.post("/consents/7/pay", {"periods": "3"})

    assert queued(mirrored) == [("pay_consent", {"grant_id": 7, "periods": 3, "amount": 3 * CREDIT // 10})]


@pytest.mark.parametrize("grant_id, periods, message", [
    (7, "6", "Pay for 1 to 5 whole periods: no more fit before consent #7 ends."),
    (7, "0", "Pay for 1 to 5 whole periods"),
    (7, "two", "Pay for 1 to 5 whole periods"),
    (5, "1", "Consent #5 is free: there is nothing to pay."),
    (4, "1", "Consent #4 is not one this household received"),
])
def test_pay_refuses_what_the_registry_would_refuse(auth, mirrored, grant_id, periods, message):
    auth.login()

    assert message in refusal(auth.post(f"/consents/{grant_id}/pay", {"periods": periods}))
    assert queued(mirrored) == []


def test_release_queues_release_consent_for_my_paid_consent(auth, mirrored):
    auth.login()

    auth.post("/consents/4/release")

    assert queued(mirrored) == [("release_consent", {"grant_id": 4})]


@pytest.mark.parametrize("grant_id, message", [
    (1, "Consent #1 is free: there are no payments to release."), (7, "Consent #7 is not one this household gave"),
])
def test_release_refuses_free_consents_and_others(auth, mirrored, grant_id, message):
    auth.login()

    assert message in refusal(auth.post(f"/consents/{grant_id}/release"))
    assert queued(mirrored) == []


# -- fetching a peer's data -------------------------------------------------------------------


def test_fetching_without_the_node_key_explains_that_the_node_must_run_the_dapp(client, auth, mirrored):
    auth.login()

    response = auth.post("/consents/fetch", {"subject": THIRD, "from": "2025-12-31", "to": "2025-12-31"})

    assert response.status_code == 200
    assert ("Their node did not share the data: this DApp runs without the node key; "
            "fetching needs `gridcommons node run`") in text(response)


def test_fetching_from_a_member_whose_node_is_unknown_names_the_config_key(client, auth, services, mirrored):
    services.signer = dev_account(1)
    auth.login()

    response = auth.post("/consents/fetch", {"subject": THIRD, "from": "2025-12-31", "to": "2025-12-31"})

    assert f'set dapp.peers."{THIRD}" = "http://host:port" in node.toml' in text(response)


@pytest.mark.parametrize("form, message", [
    ({"subject": "0xnope", "from": "2025-12-31", "to": "2025-12-31"}, "The member must be an account address"),
    ({"subject": THIRD, "from": "yesterday", "to": "2025-12-31"}, "Enter the days to fetch as dates, e.g. 2026-03-01."),
    ({"subject": THIRD, "from": "2025-12-31", "to": "9999-12-31"}, "Enter the days to fetch as dates"),
    ({"subject": THIRD, "from": "2025-12-31", "to": "2025-12-30"}, "The last day must not come before the first"),
    ({"subject": THIRD, "from": "2026-01-02", "to": "2026-01-03"}, "the range must have started"),
    ({"subject": THIRD, "from": "2025-11-01", "to": "2025-12-31"}, "Fetch at most 31 days at a time."),
    ({"subject": THIRD, "from": "1969-12-31", "to": "1969-12-31"}, "The first day must be after 1970."),
])
def test_fetch_refuses_bad_input_with_a_clear_message(auth, mirrored, form, message):
    auth.login()

    assert message in refusal(auth.post("/consents/fetch", form))
