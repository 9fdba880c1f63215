"""Energy offers in the DApp: the order book and my deals from mirrored EnergyExchange events, posting,
accepting and cancelling through a review step (exact queued parameters, every refusal), and the
whole flow on the real contracts on anvil."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from chainkit import anvil_fixture
from dappkit import ADDRESS, NOW, csrf_token, queued
from offerkit import Exchange, Household, know_interval_length, refused

from dapp import offers as offers_module
from dapp.market import Wallet
from dapp.pseudonyms import pseudonym
from node.chain.client import connect
from node.chain.devnet import INTERVAL, LocalCommunity, dev_account

OTHER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"  # anvil's dev account 2
THIRD = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"  # anvil's dev account 3
NEIGHBOUR = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"  # anvil's dev account 4
CREDIT = 10**18
CURRENT = int(NOW) // 900  # 1963584: 2026-01-01 01:00-01:15 CET
TODAY = "2026-01-01"
GOOD_OFFER = {"kwh": "2.5", "price": "0.2", "day": TODAY, "start": "10:00", "end": "11:00"}
FIRST_AT_TEN = CURRENT + 36  # 10:00 CET is 09:00 UTC, 9 hours after NOW


def offer_book(me_producer: bool = True) -> Exchange:
    """Offers around the node's time, one of each state; the ids are in the comments."""
    x = Exchange()
    x.member(ADDRESS, producer=me_producer)
    for account in (OTHER, THIRD):
        x.member(account, producer=True)
    x.member(NEIGHBOUR, producer=False)
    x.post(OTHER, 2000, 2 * 10**17, CURRENT + 40, CURRENT + 43)  # 1: open, the dearest
    x.post(THIRD, 1000, 10**17, CURRENT + 50, CURRENT + 51)  # 2: open, cheap, late
    x.post(OTHER, 3000, 10**17, CURRENT + 20, CURRENT + 23)  # 3: open, cheap, early
    x.post(ADDRESS, 500, 10**17, CURRENT + 10, CURRENT + 10)  # 4: my open offer
    x.post(OTHER, 700, 5 * 10**16, CURRENT - 2, CURRENT + 1)  # 5: open, but its window started
    x.post(OTHER, 800, 10**17, CURRENT + 8, CURRENT + 9)  # 6: I accepted, the window is ahead
    x.accept(6, ADDRESS)
    x.post(ADDRESS, 1200, 10**17, CURRENT - 1, CURRENT + 2)  # 7: I sell, delivering now
    x.accept(7, NEIGHBOUR)
    x.deliver(7, CURRENT - 1, 300)
    x.post(OTHER, 1000, 3 * 10**17, CURRENT - 10, CURRENT - 8)  # 8: I bought, expired part-delivered
    x.accept(8, ADDRESS)
    x.deliver(8, CURRENT - 10, 400)
    x.deliver(8, CURRENT - 9, 0)
    x.expire(8)
    x.post(ADDRESS, 1000, 10**17, CURRENT - 20, CURRENT - 19)  # 9: I sold, completed
    x.accept(9, NEIGHBOUR)
    x.deliver(9, CURRENT - 20, 600)
    x.deliver(9, CURRENT - 19, 400)
    x.post(OTHER, 900, 10**17, CURRENT + 30, CURRENT + 31)  # 10: a deal between others
    x.accept(10, THIRD)
    x.post(OTHER, 900, 10**17, CURRENT + 30, CURRENT + 31)  # 11: withdrawn by its producer
    x.cancel(11, OTHER)
    x.post(ADDRESS, 600, 10**17, CURRENT + 5, CURRENT + 6)  # 12: I sold, the buyer called it off
    x.accept(12, OTHER)
    x.cancel(12, OTHER)
    return x


@pytest.fixture
def book(node_config):
    """The mirror holds the offers above; the node knows the 15-minute interval."""
    node_config.data_dir.mkdir(parents=True, exist_ok=True)
    offer_book().write(node_config.mirror_path)
    know_interval_length(node_config, CURRENT)
    return node_config


def rows(html: str, prefix: str) -> dict[int, str]:
    """Table rows by id, nested tables included: a row ends where the next one or its table does."""
    found = re.finditer(rf'id="{prefix}-(\d+)">(.*?)</tr>\s*(?=<tr id="|</table></div>)', html, re.S)
    return {int(m.group(1)): m.group(2) for m in found}


def section(html: str, anchor: str) -> str:
    return html.split(f'<h2 id="{anchor}">')[1].split("<h2")[0]


# -- access -----------------------------------------------------------------------------------

POSTS = ["/market/offers/post", "/market/offers/post/confirm", "/market/offers/3/accept",
         "/market/offers/3/accept/confirm", "/market/offers/4/cancel", "/market/offers/4/cancel/confirm"]


@pytest.mark.parametrize("path", ["/market/offers/", *POSTS])
def test_every_offers_route_needs_a_login(client, book, path):
    if path.endswith("/"):
        response = client.get(path)
    else:
        response = client.post(path, data={**GOOD_OFFER, "csrf_token": csrf_token(client)})

    assert (response.status_code, response.headers["Location"]) == (302, f"/auth/login?next={path}")
    assert queued(book) == []


@pytest.mark.parametrize("path", POSTS)
def test_every_offers_form_without_the_csrf_token_is_refused(client, auth, book, path):
    auth.login()

    response = client.post(path, data=GOOD_OFFER)

    assert "The form was refused" in refused(response)
    assert queued(book) == []


def test_every_form_on_the_offers_page_carries_the_csrf_token(client, auth, book):
    auth.login()

    page = client.get("/market/offers/").get_data(as_text=True)

    forms = re.findall(r'<form [^>]*method="post".*?</form>', page, re.S)
    assert len(forms) == 1 + 3 + 1 + 2  # logout, three accepts, the post form, two cancels
    assert all('name="csrf_token"' in form for form in forms)


# -- the order book ---------------------------------------------------------------------------


def test_order_book_lists_others_open_offers_cheapest_first_then_earliest_with_their_cost(client, auth, book):
    auth.login()

    listed = rows(section(client.get("/market/offers/").get_data(as_text=True), "book"), "offer")

    assert list(listed) == [3, 2, 1]  # 0.1 from 06:00, 0.1 from 13:30, 0.2; not mine (4), not started (5)
    assert "3.00 kWh" in listed[3] and "0.100 credits/kWh" in listed[3] and "0.3000 credits" in listed[3]
    assert "2026-01-01 06:00 CET – 07:00 CET" in listed[3]
    assert "0.4000 credits" in listed[1] and pseudonym(OTHER) in listed[1]
    assert pseudonym(THIRD) in listed[2] and "/market/offers/2/accept" in listed[2]


def test_offers_page_shows_members_by_pseudonym_never_by_address(client, auth, book):
    auth.login()

    page = client.get("/market/offers/").get_data(as_text=True).lower()

    assert [a for a in (ADDRESS, OTHER, THIRD, NEIGHBOUR) if a.lower()[2:] in page] == []


def test_my_deals_show_their_state_the_counterpart_and_what_was_paid_and_refunded(client, auth, book):
    auth.login()

    mine = rows(section(client.get("/market/offers/").get_data(as_text=True), "mine"), "deal")

    assert list(mine) == [12, 9, 8, 7, 6, 4]  # newest first, only deals I am a party to
    state = {offer_id: re.search(r'class="deal-state">(\w+)<', row).group(1) for offer_id, row in mine.items()}
    assert state == {12: "cancelled", 9: "completed", 8: "expired", 7: "delivering", 6: "accepted", 4: "open"}
    assert "selling" in mine[4] and "nobody yet" in mine[4]
    assert "buying" in mine[6] and pseudonym(OTHER) in mine[6]
    assert "selling" in mine[7] and pseudonym(NEIGHBOUR) in mine[7]
    # Offer 8: 1000 Wh for 0.3 credits, 400 Wh delivered: 0.12 released, 0.18 refunded.
    assert "400 Wh of 1.00 kWh" in mine[8] and "0.1200 credits" in mine[8] and "0.1800 credits" in mine[8]
    assert "0.0600 credits" in mine[12].split("</td>")[-3]  # the whole cost back to the buyer


def test_my_deals_show_delivery_interval_by_interval(client, auth, book):
    auth.login()

    mine = rows(section(client.get("/market/offers/").get_data(as_text=True), "mine"), "deal")

    assert "1 of 4 intervals metered" in mine[7] and "2 of 3 intervals metered" in mine[8]
    deliveries = re.findall(r'<tr class="delivery"><td>(.*?)</td><td class="num">(.*?)</td><td class="num">(.*?)</td>',
                            mine[9])
    assert deliveries == [("2025-12-31 20:00 CET – 20:15 CET", "600 Wh", "0.0600 credits"),
                          ("2025-12-31 20:15 CET – 20:30 CET", "400 Wh", "0.0400 credits")]
    assert "intervals metered" not in mine[6]  # nothing delivered yet


def test_cancel_is_offered_for_my_open_offer_and_my_deal_before_its_window_only(client, auth, book):
    auth.login()

    mine = rows(section(client.get("/market/offers/").get_data(as_text=True), "mine"), "deal")

    assert [offer_id for offer_id, row in mine.items() if "/cancel" in row] == [6, 4]


def test_offers_page_without_deals_explains_what_to_do(client, auth, node_config):
    auth.login()

    page = client.get("/market/offers/").get_data(as_text=True)

    assert "No open offer from another member right now." in page and "You have no offers or deals yet." in page
    assert "has not learnt the community's interval length yet" in page


# -- posting an offer -------------------------------------------------------------------------


def test_post_form_is_prefilled_with_an_hour_from_the_interval_after_next(client, auth, book):
    auth.login()

    form = section(client.get("/market/offers/").get_data(as_text=True), "post")

    assert f'name="day" value="{TODAY}"' in form and 'name="start" value="01:30"' in form
    assert 'name="end" value="02:30"' in form and "at most 24 hours" in form


def test_post_review_shows_the_offer_in_local_time_with_its_intervals_and_queues_nothing(auth, book):
    auth.login()

    response = auth.post("/market/offers/post", GOOD_OFFER)

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "2.5 kWh (2500 Wh)" in page and "0.2 credits per kWh" in page and "0.5 credits" in page
    assert "2026-01-01 10:00 CET – 11:00 CET" in page
    assert f"4 of 15 minutes, numbers {FIRST_AT_TEN} to {FIRST_AT_TEN + 3}" in page
    assert "Nothing is sent until you confirm." in page
    assert all(f'name="{name}" value="{value}"' in page for name, value in GOOD_OFFER.items())
    assert 'action="/market/offers/post/confirm"' in page
    assert queued(book) == []


def test_confirmed_post_queues_the_offer_in_wh_token_units_and_interval_numbers(auth, book):
    auth.login()

    response = auth.post("/market/offers/post/confirm", GOOD_OFFER)

    assert (response.status_code, response.headers["Location"]) == (302, "/market/offers/#activity")
    assert queued(book) == [("post_offer", {"wh": 2500, "price_per_kwh": 2 * 10**17,
                                            "first_interval": FIRST_AT_TEN, "last_interval": FIRST_AT_TEN + 3})]


def test_a_window_off_the_quarter_hours_shrinks_to_the_whole_intervals_inside_it(auth, book):
    auth.login()

    review = auth.post("/market/offers/post", {**GOOD_OFFER, "start": "10:05", "end": "10:50"}).get_data(as_text=True)
    auth.post("/market/offers/post/confirm", {**GOOD_OFFER, "start": "10:05", "end": "10:50"})

    assert "2026-01-01 10:15 CET – 10:45 CET" in review and "you asked for 2026-01-01 10:05 CET – 10:50" in review
    assert queued(book) == [("post_offer", {"wh": 2500, "price_per_kwh": 2 * 10**17,
                                            "first_interval": FIRST_AT_TEN + 1, "last_interval": FIRST_AT_TEN + 2})]


def test_an_end_at_00_00_is_the_midnight_ending_the_day_and_a_whole_day_is_the_longest_window(auth, book):
    auth.login()

    auth.post("/market/offers/post/confirm", {**GOOD_OFFER, "day": "2026-01-02", "start": "00:00", "end": "00:00"})

    midnight = CURRENT + 92  # 2026-01-02 00:00 CET is 2026-01-01 23:00 UTC
    assert queued(book) == [("post_offer", {"wh": 2500, "price_per_kwh": 2 * 10**17,
                                            "first_interval": midnight, "last_interval": midnight + 95})]


def test_a_free_offer_is_allowed_and_says_so(auth, book):
    auth.login()

    review = auth.post("/market/offers/post", {**GOOD_OFFER, "price": "0"}).get_data(as_text=True)

    assert "free: you give the energy away" in review


@pytest.mark.parametrize("change, message", [
    ({"kwh": "0"}, "The energy must be more than 0 kWh."),
    ({"kwh": "0.000"}, "The energy must be more than 0 kWh."),
    ({"kwh": "-2"}, "The energy must be more than 0 kWh."),
    ({"kwh": "1000.001"}, "Offer at most 1,000 kWh at a time."),
    ({"kwh": "99999999999"}, "Offer at most 1,000 kWh at a time."),
    ({"kwh": "2.5 kWh"}, "Write the energy in kWh with a dot for decimals"),
    ({"kwh": "1.2345"}, "at most 3 decimals"),
    ({"kwh": "٢"}, "Write the energy in kWh"),
    ({"price": "100.000000000000000001"}, "The price must be at most 100 credits per kWh."),
    ({"price": "-0.1"}, "The price per kWh cannot be negative."),
    ({"price": "cheap"}, "Write the price per kWh in credits"),
    ({"day": "2026-02-30"}, "Enter the delivery day as a date, e.g. 2026-03-08."),
    ({"day": "1 January"}, "Enter the delivery day as a date"),
    ({"start": "25:00"}, "Enter the start of the window as a time of day, e.g. 21:00."),
    ({"end": ""}, "Enter the end of the window as a time of day"),
    ({"day": "2025-12-31"}, "The window starts at 2025-12-31 10:00 CET, which has passed"),
    ({"start": "01:00"}, "The window starts at 2026-01-01 01:00 CET, which has passed"),  # the node's time now
    ({"start": "01:10"}, "The window starts in the current interval, which runs until 01:15 CET: start then or later."),
    ({"start": "11:00", "end": "10:00"}, "The window ends (10:00) before it starts (11:00)"),
    ({"start": "10:00", "end": "10:00"}, "The window ends (10:00) before it starts (10:00)"),
    ({"start": "10:05", "end": "10:14"}, "The window holds no whole interval of 15 minutes"),
    ({"day": "2026-10-25", "start": "00:00", "end": "00:00"},  # the clocks go back: a day of 25 hours
     "The window spans 25 hours: an offer&#39;s window is at most 24 hours (96 intervals)."),
    ({"day": "2026-03-29", "start": "02:30", "end": "04:00"}, "02:30 does not exist on 2026-03-29 in Europe/Amsterdam"),
])
@pytest.mark.parametrize("step", ["/market/offers/post", "/market/offers/post/confirm"])
def test_post_refuses_bad_energy_price_or_window_at_both_steps(auth, book, step, change, message):
    auth.login()

    assert message in refused(auth.post(step, {**GOOD_OFFER, **change}))
    assert queued(book) == []


@pytest.mark.parametrize("step", ["/market/offers/post", "/market/offers/post/confirm"])
def test_a_non_producer_sees_no_post_form_and_cannot_post(client, auth, node_config, step):
    node_config.data_dir.mkdir(parents=True, exist_ok=True)
    offer_book(me_producer=False).write(node_config.mirror_path)
    know_interval_length(node_config, CURRENT)
    auth.login()

    form = section(client.get("/market/offers/").get_data(as_text=True), "post")

    assert "Only producer members post energy offers, and this account is not one." in form
    assert 'name="kwh"' not in form
    assert "Only producer members post energy offers" in refused(auth.post(step, GOOD_OFFER))
    assert queued(node_config) == []


def test_post_is_refused_until_the_node_knows_the_interval_length(auth, node_config):
    node_config.data_dir.mkdir(parents=True, exist_ok=True)
    offer_book().write(node_config.mirror_path)
    auth.login()

    assert "has not learnt the community&#39;s interval length" in refused(auth.post("/market/offers/post", GOOD_OFFER))


# -- accepting an offer -----------------------------------------------------------------------


def test_accept_review_shows_the_cost_and_the_escrow_and_queues_nothing(auth, book):
    auth.login()

    response = auth.post("/market/offers/3/accept")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"#3 from {pseudonym(OTHER)}" in page and "3 kWh (3000 Wh)" in page and "0.3 credits, held in escrow" in page
    assert "2026-01-01 06:00 CET – 07:00 CET" in page and "Nothing is sent until you confirm." in page
    assert "unknown: the chain is unreachable" in page and 'action="/market/offers/3/accept/confirm"' in page
    assert queued(book) == []


def test_confirmed_accept_queues_the_offer_with_its_cost(auth, book):
    auth.login()

    response = auth.post("/market/offers/3/accept/confirm")

    assert (response.status_code, response.headers["Location"]) == (302, "/market/offers/#activity")
    assert queued(book) == [("accept_offer", {"offer_id": 3, "cost": 3 * 10**17})]


@pytest.mark.parametrize("offer_id, message", [
    (4, "Offer 4 is your own."),
    (5, "The delivery window of offer 5 has started: it can no longer be accepted."),
    (6, "Offer 6 is accepted: only open offers can be accepted."),
    (11, "Offer 11 is cancelled: only open offers can be accepted."),
])
@pytest.mark.parametrize("step", ["accept", "accept/confirm"])
def test_accept_refuses_my_own_a_started_or_a_taken_offer_at_both_steps(auth, book, step, offer_id, message):
    auth.login()

    assert message in refused(auth.post(f"/market/offers/{offer_id}/{step}"))
    assert queued(book) == []


@pytest.mark.parametrize("step", ["accept", "accept/confirm", "cancel", "cancel/confirm"])
def test_an_unknown_offer_is_not_found(auth, book, step):
    auth.login()

    assert auth.post(f"/market/offers/99/{step}").status_code == 404
    assert queued(book) == []


@pytest.mark.parametrize("step", ["accept", "accept/confirm"])
def test_accept_refuses_an_offer_dearer_than_my_wallet_saying_both(auth, book, monkeypatch, step):
    wallet = Wallet(balance=CREDIT // 4, producer=True, surplus_wh=0)
    monkeypatch.setattr(offers_module, "wallet_of", lambda services: wallet)
    auth.login()

    assert "Offer 3 costs 0.3 credits and your wallet holds 0.25 credits." in refused(
        auth.post(f"/market/offers/3/{step}"))
    assert queued(book) == []


# -- cancelling -------------------------------------------------------------------------------


def test_cancel_review_of_my_open_offer_says_it_is_withdrawn_and_queues_nothing(auth, book):
    auth.login()

    page = auth.post("/market/offers/4/cancel").get_data(as_text=True)

    assert "Cancel offer #4?" in page and "The offer is withdrawn: nobody can accept it any more." in page
    assert "Nothing is sent until you confirm." in page and 'action="/market/offers/4/cancel/confirm"' in page
    assert queued(book) == []


def test_cancel_review_of_my_accepted_deal_says_who_gets_the_escrow_back(auth, book):
    auth.login()

    page = auth.post("/market/offers/6/cancel").get_data(as_text=True)

    assert "The deal is called off: you get the whole 0.08 credits back from escrow." in page
    assert queued(book) == []


@pytest.mark.parametrize("offer_id", [4, 6])
def test_confirmed_cancel_queues_the_offer(auth, book, offer_id):
    auth.login()

    response = auth.post(f"/market/offers/{offer_id}/cancel/confirm")

    assert (response.status_code, response.headers["Location"]) == (302, "/market/offers/#activity")
    assert queued(book) == [("cancel_offer", {"offer_id": offer_id})]


@pytest.mark.parametrize("offer_id, message", [
    (1, "Offer 1 is another member&#39;s: only its producer can withdraw it."),
    (10, "Offer 10 is a deal between other members."),
    (7, "The delivery window of offer 7 has started: the deal runs to its end"),
    (8, "Offer 8 is expired: there is nothing left to cancel."),
    (9, "Offer 9 is completed: there is nothing left to cancel."),
    (12, "Offer 12 is cancelled: there is nothing left to cancel."),
])
@pytest.mark.parametrize("step", ["cancel", "cancel/confirm"])
def test_cancel_refuses_others_offers_finished_ones_and_started_deals_at_both_steps(auth, book, step, offer_id,
                                                                                    message):
    auth.login()

    assert message in refused(auth.post(f"/market/offers/{offer_id}/{step}"))
    assert queued(book) == []


def test_a_deal_whose_window_came_while_reviewing_can_no_longer_be_cancelled(auth, book, clock):
    auth.login()
    assert auth.post("/market/offers/6/cancel").status_code == 200

    clock.now = (CURRENT + 8) * 900  # offer 6's window starts

    assert "The delivery window of offer 6 has started" in refused(auth.post("/market/offers/6/cancel/confirm"))
    assert queued(book) == []


# -- on the real contracts: an offer posted, refused, accepted, called off and withdrawn ---------

ANVIL_PORT = 18760
anvil = anvil_fixture(ANVIL_PORT)


@pytest.fixture
def neighbours(anvil, tmp_path):
    """A producer and a consumer whose wallet holds 10 credits; node time follows the chain."""
    w3 = connect(anvil.url)
    community = LocalCommunity(w3)
    token = community.contracts["EnergyToken"]
    producer, consumer = dev_account(1), dev_account(2)
    community.admit(producer.address, True, False)
    community.admit(consumer.address, False, True)
    community.send(token.functions.issue(consumer.address, 10 * CREDIT, b"\x00" * 32))
    clock = lambda: float(w3.eth.get_block("latest")["timestamp"])  # noqa: E731
    households = {name: Household(tmp_path / name, name, account, anvil.url, community.deployment, w3, clock)
                  for name, account in (("producer", producer), ("consumer", consumer))}
    yield households, community.contracts, clock
    for household in households.values():
        household.close()


def window_form(start: int, zone: ZoneInfo, minutes: int) -> dict[str, str]:
    """Day, start and end fields for a window of `minutes` from unix time `start`, in local time."""
    begin = datetime.fromtimestamp(start, zone)
    end = begin + timedelta(minutes=minutes)
    return {"day": begin.date().isoformat(), "start": f"{begin:%H:%M}",
            "end": f"{end:%H:%M}" if end.date() == begin.date() else "00:00"}


def confirmed(household, path: str, form: dict | None = None) -> str:
    """Review, confirm, let the node send it; the action's final state."""
    assert household.auth.post(path, form).status_code == 200
    assert household.auth.post(f"{path}/confirm", form).status_code == 302
    household.runner.tick()
    action = household.last_action()
    return action.state if action.state == "confirmed" else f"{action.state}: {action.error}"


def test_an_offer_goes_from_the_producers_dapp_through_the_consumers_and_back(neighbours):
    households, contracts, clock = neighbours
    producer, consumer = households["producer"], households["consumer"]
    exchange, token = contracts["EnergyExchange"], contracts["EnergyToken"]
    zone = producer.services.timezone
    start = (int(clock()) // INTERVAL + 3) * INTERVAL  # well after the current interval
    window = window_form(start, zone, 15)

    assert "Only producer members post energy offers" in refused(
        consumer.auth.post("/market/offers/post", {"kwh": "2", "price": "0.2", **window}))
    assert confirmed(producer, "/market/offers/post", {"kwh": "2", "price": "0.2", **window}) == "confirmed"
    assert confirmed(producer, "/market/offers/post", {"kwh": "200", "price": "0.1", **window}) == "confirmed"
    first = start // INTERVAL
    assert tuple(exchange.functions.offer(1).call())[2:7] == (2000, 0, 2 * 10**17, first, first)

    consumer.mirror.poll()
    listed = rows(section(consumer.page("/market/offers/"), "book"), "offer")
    assert list(listed) == [2, 1] and "20.0000 credits" in listed[2] and "0.4000 credits" in listed[1]
    assert "Offer 2 costs 20 credits and your wallet holds 10 credits." in refused(
        consumer.auth.post("/market/offers/2/accept"))
    assert "9.6 credits" in consumer.auth.post("/market/offers/1/accept").get_data(as_text=True)  # balance after
    assert confirmed(consumer, "/market/offers/1/accept") == "confirmed"
    assert token.functions.balanceOf(consumer.account.address).call() == 10 * CREDIT - 4 * 10**17

    consumer.mirror.poll()
    deal = rows(section(consumer.page("/market/offers/"), "mine"), "deal")[1]
    assert 'class="deal-state">accepted<' in deal and "/market/offers/1/cancel" in deal
    assert confirmed(consumer, "/market/offers/1/cancel") == "confirmed"
    assert token.functions.balanceOf(consumer.account.address).call() == 10 * CREDIT
    producer.mirror.poll()
    assert confirmed(producer, "/market/offers/2/cancel") == "confirmed"

    producer.mirror.poll()
    mine = rows(section(producer.page("/market/offers/"), "mine"), "deal")
    assert [re.search(r'class="deal-state">(\w+)<', mine[n]).group(1) for n in (2, 1)] == ["cancelled", "cancelled"]
    assert "0.4000 credits" in mine[1].split("</td>")[-3]  # refunded to the consumer
    assert pseudonym(consumer.account.address) in mine[1]
