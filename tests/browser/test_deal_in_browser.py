"""A producer offers energy for a window of intervals through its DApp, the neighbour accepts it in
its own, both meters deliver it interval by interval, and both households' pages show the deal's
energy and credits once, beside what the community's key shared of what the deal left."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from browserkit import chain_contracts, login, screenshot, wait_until

from dapp.market import exact_credits
from dapp.units import credits, energy
from node.meter.simulator.household import PROFILES, Household
from node.meter.simulator.meter import SimulatedMeter

LEAD = 3  # intervals from now to the window: time to post, review, see and accept the offer
WINDOW = 3  # intervals in the delivery window
SEARCH = 8  # how many later windows to try when the simulated sun gives the first no surplus
MIN_WH = 40  # what the meters must be able to deliver in each of the window's first two intervals
PRICE = "1"  # credits per kWh
PRICE_UNITS = 10**18
WAIT_CONFIRMED = 60_000  # ms
NEWEST_CONFIRMED = "#activity ~ .table-wrap tr:nth-child(2) [data-state=confirmed]"  # the Activity list is newest first


def test_deal_posted_and_accepted_in_the_dapps_is_delivered_metered_and_billed_once(browser, households):
    producer, consumer = households["producer"], households["consumer"]
    contracts = chain_contracts(producer)
    community, exchange = contracts["Community"], contracts["EnergyExchange"]
    length = community.functions.intervalLength().call()
    zone = ZoneInfo(producer.runtime.config.timezone)
    first, wh = _window_and_energy(producer, consumer, length)
    last = first + WINDOW - 1
    cost = wh * PRICE_UNITS // 1000

    # The producer posts the offer: form, review, confirm; its node sends postOffer.
    seller = login(browser, producer)
    seller.goto(producer.url + "/market/offers/")
    start, end = _local(first * length, zone), _local((last + 1) * length, zone)
    assert end.date() == start.date(), "the window must end the day it starts"
    seller.fill("input[name=kwh]", f"{wh / 1000:g}")
    seller.fill("input[name=price]", PRICE)
    seller.fill("input[name=day]", start.date().isoformat())
    seller.fill("input[name=start]", f"{start:%H:%M}")
    seller.fill("input[name=end]", f"{end:%H:%M}")
    seller.click("form.post-offer button[type=submit]")
    review = _facts(seller)
    assert review["Energy"] == f"{wh / 1000:g} kWh ({wh} Wh)"
    assert review["Intervals"] == f"{WINDOW} of {length // 60} minutes, numbers {first} to {last}"
    assert review["Total value"].startswith(exact_credits(cost))
    screenshot(seller, "deal-producer-review")
    seller.click("section.confirm button[type=submit]")
    seller.wait_for_selector(NEWEST_CONFIRMED, timeout=WAIT_CONFIRMED)
    offer_id = _posted_offer(exchange, producer.account.address, wh, first, last)
    assert offer_id is not None, "no OfferPosted event for the offer confirmed in the DApp"

    # The neighbour sees it in its order book with the cost, reviews and accepts; its node sends approve + accept.
    buyer = login(browser, consumer)
    offers = consumer.url + "/market/offers/"
    listed = f"#offer-{offer_id}"
    assert wait_until(lambda: _reload_finds(buyer, listed, offers), 60), \
        "the offer never reached the neighbour's order book"
    assert credits(cost, 4) in buyer.inner_text(listed)
    screenshot(buyer, "deal-consumer-book")
    buyer.click(f"{listed} button[type=submit]")
    terms = _facts(buyer)
    assert terms["Cost"] == f"{exact_credits(cost)}, held in escrow"
    screenshot(buyer, "deal-consumer-accept")
    buyer.click("section.confirm button[type=submit]")
    buyer.wait_for_selector(NEWEST_CONFIRMED, timeout=WAIT_CONFIRMED)
    assert exchange.functions.offer(offer_id).call()[1] == consumer.account.address  # Offer.consumer

    # Inside the window the deal is delivering on the neighbour's page.
    deal = f"#deal-{offer_id}"
    starts_in = _wall_until(consumer, first * length)
    assert wait_until(lambda: _deal_state(buyer, offers, deal) == "delivering", 30 + starts_in), \
        "the neighbour's page never showed the deal delivering"
    screenshot(buyer, "deal-consumer-delivering")

    # Both meters deliver; the intervals are settled and the deal closed (completed or expired).
    ends_in = _wall_until(producer, (last + 1) * length)
    assert wait_until(lambda: community.functions.isSettled(last).call(), 60 + ends_in), \
        "the window's last interval was never settled"
    recorded = _delivery_events(exchange, offer_id)
    delivered = [(e.args.interval, e.args.wh, e.args.tokens) for e in recorded]
    total = sum(d_wh for _t, d_wh, _tokens in delivered)
    assert total > 0, f"nothing was delivered: {delivered}"
    finished = "completed" if total == wh else "expired"
    assert wait_until(lambda: _deal_state(buyer, offers, deal) == finished, 30), \
        f"the neighbour's page never showed the deal {finished}"
    by_interval = {t: (d_wh, tokens) for t, d_wh, tokens in delivered}
    metered = [t for t, d_wh, _tokens in delivered if d_wh]

    # The chain: each delivered Wh is booked once, and the community shares only what the deal left.
    member = {h.name: community.functions.memberIdOf(h.account.address).call() for h in (producer, consumer)}
    readings = _events(community.events.ReadingSubmitted, lambda a: first <= a.interval <= last)
    allocations = _events(community.events.MemberSettled, lambda a: first <= a.interval <= last)
    booked_at = {e.args.interval: e.blockNumber for e in recorded}  # dealtOf holds only the latest reading's
    for t in metered:
        delivered_wh = by_interval[t][0]
        dealt = {name: tuple(community.functions.dealtOf(member[name], t).call(block_identifier=booked_at[t]))
                 for name in member}
        assert dealt == {"consumer": (delivered_wh, 0), "producer": (0, delivered_wh)}
        imported = readings[(t, member["consumer"])].importWh
        assert allocations[(t, member["consumer"])].allocatedWh <= imported - delivered_wh

    # The offers pages of both households: the deal's state and its delivery interval by interval.
    for household, page in ((producer, seller), (consumer, buyer)):
        assert _deal_state(page, household.url + "/market/offers/", deal) == finished
        assert page.inner_text(f"{deal} td.num >> nth=2").startswith(f"{energy(total)} of {energy(wh)}")
        page.click(f"{deal} details.deliveries summary")
        shown = [[cell.inner_text() for cell in row.query_selector_all("td")[1:]]
                 for row in page.query_selector_all(f"{deal} tr.delivery")]
        assert shown == [[energy(d_wh), credits(tokens, 4)] for _t, d_wh, tokens in delivered]
        screenshot(page, f"deal-{household.name}")

    # The Settlements pages: the deal's Wh and credits in the deals columns and cards, once.
    day = start.date().isoformat()
    consumer_rows = _bill_rows(buyer, consumer, day, [first, last])
    for t in range(first, last + 1):
        d_wh, tokens = by_interval.get(t, (0, 0))
        imported = readings[(t, member["consumer"])].importWh
        allocated = allocations[(t, member["consumer"])].allocatedWh
        row = consumer_rows[t]
        assert (row["Import"], row["From deals"], row["From community"], row["From grid"], row["Paid, deals"]) == \
            (energy(imported), energy(d_wh), energy(allocated), energy(imported - d_wh - allocated), credits(tokens, 4))
    bought = _deals_of_day(exchange, "consumer", consumer.account.address, consumer_rows)
    figure, label = _card(buyer, "From your deals")
    assert figure == energy(bought[0])
    assert f"{credits(bought[1])} paid through the deals" in label
    screenshot(buyer, "deal-consumer-bill")

    producer_rows = _bill_rows(seller, producer, day, [first, last])
    for t in range(first, last + 1):
        d_wh, tokens = by_interval.get(t, (0, 0))
        row = producer_rows[t]
        assert (row["Export"], row["To deals"], row["Earned, deals"]) == \
            (energy(readings[(t, member["producer"])].exportWh), energy(d_wh), credits(tokens, 4))
    sold = _deals_of_day(exchange, "producer", producer.account.address, producer_rows)
    figure, label = _card(seller, "Under your deals")
    assert figure == energy(sold[0])
    assert f"{credits(sold[1])} earned through the deals" in label
    screenshot(seller, "deal-producer-bill")

    # The neighbour's "why?" page of a delivery interval tells that the deal came first.
    t = metered[0]
    buyer.goto(f"{consumer.url}/bill/interval/{t}")
    why = buyer.inner_text("main")
    assert f"{energy(by_interval[t][0])} came through your deals first ({credits(by_interval[t][1], 4)} paid" in why
    assert f"Why did I get {energy(allocations[(t, member['consumer'])].allocatedWh)}?" in why
    screenshot(buyer, "deal-consumer-why")


# -- choosing the window ------------------------------------------------------------------------


def _window_and_energy(producer, consumer, length: int) -> tuple[int, int]:
    """The first window starting LEAD intervals from now or later in which the households' simulated
    meters can deliver in each of the first two intervals, and an energy that the first interval
    cannot deliver alone but the first two can, so that (as far as the prediction holds: the meters'
    10-second steps need not start on the interval) delivery is metered over more than one interval."""
    now = producer.runtime.clock()
    current = int(now) // length
    for first in range(current + LEAD, current + LEAD + SEARCH):
        one, two = (_deliverable_wh(producer, consumer, t, length) for t in (first, first + 1))
        if one >= MIN_WH and two >= MIN_WH:
            return first, one + two // 2
    raise AssertionError(f"the simulated meters give no surplus to deliver in intervals {current + LEAD} to "
                         f"{current + LEAD + SEARCH} (node time {_local(now, ZoneInfo('UTC')):%H:%M} UTC)")


def _deliverable_wh(producer, consumer, interval: int, length: int) -> int:
    """min(producer's export, consumer's import) in `interval`, as their simulated meters will measure."""
    return min(_measured(producer, interval, length)[1], _measured(consumer, interval, length)[0])


def _measured(household, interval: int, length: int) -> tuple[int, int]:
    """(import, export) Wh of the household's simulated meter over the interval (same seed and profile)."""
    meter = household.runtime.config.meter
    start = datetime.fromtimestamp(interval * length, timezone.utc)
    simulated = SimulatedMeter(Household(PROFILES[meter.profile], meter.seed), start, interval=meter.every_seconds)
    for _ in range(int(length // meter.every_seconds)):
        simulated.step()
    registers = simulated.registers
    return sum(registers.import_mwh) // 1000, sum(registers.export_mwh) // 1000


# -- reading the chain --------------------------------------------------------------------------


def _posted_offer(exchange, producer: str, wh: int, first: int, last: int) -> int | None:
    found = [e.args.offerId for e in exchange.events.OfferPosted().get_logs(from_block=0)
             if (e.args.producer, e.args.wh, e.args.firstInterval, e.args.lastInterval) == (producer, wh, first, last)]
    return found[-1] if found else None


def _delivery_events(exchange, offer_id: int) -> list:
    """Every DeliveryRecorded of the offer, in chain order."""
    return [e for e in exchange.events.DeliveryRecorded().get_logs(from_block=0) if e.args.offerId == offer_id]


def _events(event, keep) -> dict:
    """A Community event's args by (interval, member id)."""
    return {(e.args.interval, e.args.memberId): e.args for e in event().get_logs(from_block=0) if keep(e.args)}


def _deals_of_day(exchange, role: str, account: str, rows: dict[int, dict]) -> tuple[int, int]:
    """(Wh, tokens) of every delivery of the day's settled intervals in which `account` took `role`."""
    found = [e.args for e in exchange.events.DeliveryRecorded().get_logs(from_block=0)
             if getattr(e.args, role) == account and e.args.interval in rows]
    return sum(a.wh for a in found), sum(a.tokens for a in found)


# -- reading the pages --------------------------------------------------------------------------


def _facts(page) -> dict[str, str]:
    """The review page's facts, label -> value."""
    page.wait_for_selector("section.confirm dl.facts")
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('dl.facts dt')]
        .map(dt => [dt.textContent.trim(), dt.nextElementSibling.textContent.trim()]))""")


def _deal_state(page, url: str, deal: str) -> str | None:
    page.goto(url)
    cell = page.query_selector(f"{deal} .deal-state")
    return cell.inner_text() if cell else None


def _bill_rows(page, household, day: str, needed: list[int]) -> dict[int, dict[str, str]]:
    """The day's Settlements table, interval number -> column header -> text, once the mirror holds
    the settlement of every interval in `needed`."""
    rows: dict[int, dict[str, str]] = {}

    def read() -> bool:
        page.goto(f"{household.url}/bill/?date={day}")
        rows.clear()
        rows.update({int(n): row for n, row in page.evaluate(_BILL_TABLE).items()})
        return all(t in rows for t in needed)

    assert wait_until(read, 30), f"{household.name}'s Settlements page never showed intervals {needed}"
    return rows


_BILL_TABLE = """() => {
    const link = document.querySelector('a[href*="/bill/interval/"]');
    if (!link) return {};
    const rows = [...link.closest('table').querySelectorAll('tr')];
    const headers = [...rows[0].children].map(cell => cell.textContent.trim());
    const out = {};
    for (const row of rows.slice(1)) {
        const why = row.querySelector('a[href*="/bill/interval/"]');
        if (why) out[why.getAttribute('href').split('/').pop()] =
            Object.fromEntries([...row.children].map((cell, i) => [headers[i], cell.textContent.trim()]));
    }
    return out;
}"""


def _card(page, title: str) -> tuple[str, str]:
    """A Settlements card's figure and label."""
    card = page.locator(f".card:has(h2:text-is('{title}'))")
    return card.locator(".figure").inner_text(), card.locator(".label").inner_text()


def _reload_finds(page, selector: str, url: str) -> bool:
    page.goto(url)
    return page.query_selector(selector) is not None


def _wall_until(household, moment: float) -> float:
    """Wall seconds until the household's accelerated clock shows `moment` (0 once it has)."""
    return max(moment - household.runtime.clock(), 0) / household.runtime.config.clock.time_factor


def _local(seconds: float, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc).astimezone(zone)
