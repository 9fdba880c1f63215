"""The Settlements and bill page over a mirror of fabricated but exact Community and EnergyExchange events."""

from __future__ import annotations

import csv
import io
import sys
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from dappkit import ADDRESS, NOW, AuthActions  # noqa: E402
from ledgerkit import Ledger  # noqa: E402

from dapp import create_app  # noqa: E402
from dapp.bill import CSV_COLUMNS  # noqa: E402
from dapp.services import NodeServices  # noqa: E402
from dapp.units import credits, energy  # noqa: E402
from node.allocation import SCHEDULE_SLOTS, AllocationKey, schedule_slot  # noqa: E402
from node.chain.anvil import AnvilSettings, EmbeddedAnvil  # noqa: E402
from node.chain.client import connect  # noqa: E402
from node.chain.contracts import CommunityContracts, load_abis  # noqa: E402
from node.chain.devnet import GRACE, INTERVAL, MANIFEST, LocalCommunity, dev_account  # noqa: E402
from node.mirror.db import MirrorDB  # noqa: E402
from node.mirror.mirror import EventMirror  # noqa: E402
from node.runtime.live import LiveSamples  # noqa: E402
from node.settlement import settle_interval  # noqa: E402
from web3.logs import DISCARD  # noqa: E402

PRODUCER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
NEIGHBOUR = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
NOON = int(NOW) // 900 + 11 * 4  # 2026-01-01 12:00 in Amsterdam (11:00 UTC)
# Per interval: (my import, my export), (producer import, export), (neighbour import, export)
READINGS = [((400, 0), (0, 500), (200, 0)), ((300, 0), (0, 900), (100, 0)), ((250, 120), (10, 300), (300, 0))]


@pytest.fixture
def ledger(services):
    """Three members, this node first: three settled intervals around noon, one submitted but not settled."""
    made = Ledger(start_time=int(NOW) - 3600)
    me = made.add_member(ADDRESS, producer=True, consumer=True, coefficient_ppm=500_000, priority=1)
    made.add_member(PRODUCER, producer=True, consumer=False)
    made.add_member(NEIGHBOUR, producer=False, consumer=True, coefficient_ppm=500_000, priority=0)
    for offset, readings in enumerate(READINGS):
        made.interval(NOON + offset, {member: reading for member, reading in zip((1, 2, 3), readings)})
    made.submit(NOON + 3, me, 100, 0)
    made.write(services.config.mirror_path)
    return made


def expected(ledger: Ledger, interval: int, key: AllocationKey | None = None, balances=None):
    members = ledger.member_intervals(interval, balance=10**30)
    return settle_interval(key if key is not None else ledger.key, ledger.price, members)


def rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


@pytest.mark.parametrize("path", ["/bill/", "/bill/interval/5", "/bill/export.csv?month=2026-01"])
def test_bill_pages_send_a_visitor_to_the_login_first(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_bill_refuses_a_post(client, auth):
    auth.login()

    assert auth.post("/bill/").status_code == 405


def test_bill_csv_lists_each_settled_interval_with_what_the_chain_booked(client, auth, ledger):
    auth.login()

    response = client.get("/bill/export.csv?date=2026-01-01")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="gridcommons-bill-2026-01-01.csv"'
    lines = rows(response)
    assert [int(r["interval"]) for r in lines] == [NOON, NOON + 1, NOON + 2]
    first = lines[0]
    outcome = expected(ledger, NOON)
    mine = outcome.members[0]
    assert first["interval_start_local"] == "2026-01-01T12:00:00+01:00"
    assert (int(first["import_wh"]), int(first["from_community_wh"]), int(first["from_grid_wh"])) == (400, mine.allocated_wh, 400 - mine.allocated_wh)
    assert first["paid_credits"] == f"0.{mine.paid:018d}"
    assert (first["allocation_key"], first["price_credits_per_kwh"]) == ("PRORATA", "0.100000000000000000")


def test_a_prosumer_sees_what_it_gave_the_community_and_the_grid_and_both_payments(client, auth, ledger):
    auth.login()

    last = rows(client.get("/bill/export.csv?date=2026-01-01"))[2]

    outcome = expected(ledger, NOON + 2)
    mine = outcome.members[0]
    taken = -(-outcome.allocated_wh * 120 // outcome.production_wh)
    assert (int(last["to_community_wh"]), int(last["to_grid_wh"])) == (taken, 120 - taken)
    assert (last["paid_credits"], last["received_credits"]) == (f"0.{mine.paid:018d}", f"0.{mine.earned:018d}")
    assert last["net_credits"] == ("-" if mine.token_delta < 0 else "") + f"0.{abs(mine.token_delta):018d}"


def test_an_unpaid_allocation_splits_payment_and_earnings_exactly(client, auth, services):
    made = Ledger(start_time=int(NOW) - 3600)
    made.add_member(ADDRESS, producer=True, consumer=True, balance=10**15)  # 0.001 credits prepaid
    made.add_member(PRODUCER, producer=True, consumer=False)
    outcome = made.interval(NOON, {1: (600, 200), 2: (0, 900)})
    made.write(services.config.mirror_path)
    auth.login()

    line = rows(client.get("/bill/export.csv?date=2026-01-01"))[0]

    mine = outcome.members[0]
    assert outcome.unpaid > 0
    assert (line["paid_credits"], line["received_credits"]) == (f"0.{mine.paid:018d}", f"0.{mine.earned:018d}")
    assert line["owed_credits"] == f"0.{outcome.unpaid:018d}"


def test_the_day_page_shows_the_totals_and_links_each_interval_to_its_explanation(client, auth, ledger):
    auth.login()

    page = client.get("/bill/?date=2026-01-01").get_data(as_text=True)

    allocated = sum(expected(ledger, NOON + n).members[0].allocated_wh for n in range(3))
    assert energy(allocated) in page
    assert f'href="/bill/interval/{NOON + 1}"' in page
    assert "1 intervals have readings but are not settled yet" in page
    assert "differs from the reference" not in page


def test_the_month_page_recomputes_the_month_under_every_key(client, auth, ledger):
    auth.login()

    page = client.get("/bill/?month=2026-01").get_data(as_text=True)

    for key in AllocationKey:
        mine = [expected(ledger, NOON + n, key).members[0] for n in range(3)]
        net = sum(m.earned for m in mine) - sum(m.paid for m in mine)
        assert energy(sum(m.allocated_wh for m in mine)) in page
        assert credits(net) in page
    assert "PRORATA (in force)" in page
    assert 'href="/bill/?date=2026-01-01"' in page


def test_the_explanation_retells_the_allocation_and_confirms_the_chain(client, auth, ledger):
    auth.login()

    page = client.get(f"/bill/interval/{NOON}").get_data(as_text=True)

    outcome = expected(ledger, NOON)
    assert "gives exactly what the chain booked" in page
    assert f"⌊{outcome.production_wh} · 400 / 600⌋ = {outcome.members[0].allocated_wh} Wh" in page
    assert "(you)" in page
    assert PRODUCER not in page and NEIGHBOUR not in page and PRODUCER[:6] not in page


def test_a_booking_that_differs_from_the_reference_is_flagged(client, auth, services):
    made = Ledger(start_time=int(NOW) - 3600)
    made.add_member(ADDRESS, producer=False, consumer=True)
    made.add_member(PRODUCER, producer=True, consumer=False)
    made.interval(NOON, {1: (400, 0), 2: (0, 300)})
    booked = next(e for e in made.events if e.event == "MemberSettled" and e.args["memberId"] == 1)
    booked.args["allocatedWh"] = 250  # not what the contract's arithmetic gives
    made.write(services.config.mirror_path)
    auth.login()

    page = client.get(f"/bill/interval/{NOON}").get_data(as_text=True)
    day = client.get("/bill/?date=2026-01-01").get_data(as_text=True)

    assert "Mismatch" in page and "reference 300 Wh, chain 250 Wh" in page
    assert "differs from the reference settlement in 1 interval" in day


def test_an_interval_not_settled_yet_is_not_found(client, auth, ledger):
    auth.login()

    response = client.get(f"/bill/interval/{NOON + 3}")

    assert response.status_code == 404
    assert f"interval {NOON + 3} is not settled yet" in response.get_data(as_text=True)


@pytest.mark.parametrize("path, message", [
    ("/bill/?month=2026-13", "month must be 01 to 12"),
    ("/bill/?month=jan", "month must look like 2026-01"),
    ("/bill/?date=2026-02-30", "2026-02-30 is not a calendar date"),
    ("/bill/?date=2026-01-01&month=2026-01", "a date or a month, not both"),
    ("/bill/interval/-3", "interval must be a whole number"),
    ("/bill/interval/99999999999", "interval must be a whole number"),
    ("/bill/export.csv", "say which period to export"),
    ("/bill/export.csv?month=2026-1", "month must look like 2026-01"),
])
def test_bad_periods_are_refused_with_what_to_change(client, auth, path, message):
    auth.login()

    response = client.get(path)

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_a_node_that_is_not_a_member_is_told_so(client, auth, services):
    made = Ledger(start_time=int(NOW) - 3600)
    made.add_member(PRODUCER, producer=True, consumer=False)
    made.write(services.config.mirror_path)
    auth.login()

    page = client.get("/bill/").get_data(as_text=True)

    assert "is not a member of the community yet" in page


ANVIL_PORT = 18720


class RealCommunity:
    """The real contracts on a fresh anvil: this node (producer and consumer), a producer and a consumer
    neighbour, admitted at 11:00 UTC of a later day; `interval` is the next one to begin."""

    def __init__(self, w3):
        self.w3 = w3
        start = (w3.eth.get_block("latest")["timestamp"] // 86400 + 1) * 86400 + 11 * 3600  # a later day, 11:00 UTC
        self.set_time(start)
        self.local = LocalCommunity(w3)
        self.me, self.producer, self.neighbour = (dev_account(n).address for n in (1, 2, 3))
        assert self.me == ADDRESS  # this node is the first member
        self.local.admit(self.me, producer=True, consumer=True)
        self.local.admit(self.producer, producer=True, consumer=False)
        self.local.admit(self.neighbour, producer=False, consumer=True)
        self.community = self.local.contracts["Community"]
        self.interval = start // INTERVAL + 1

    def set_time(self, moment: int) -> None:
        self.w3.provider.make_request("evm_setTime", [moment])
        self.w3.provider.make_request("evm_mine", [])

    def send(self, call, account: str):
        receipt = self.w3.eth.wait_for_transaction_receipt(call.transact({"from": account}))
        assert receipt["status"] == 1
        return receipt

    def submit_readings(self) -> None:
        """Once the interval has ended: I import 400 Wh and export 100, the producer exports 800, the
        neighbour imports 300."""
        self.set_time((self.interval + 1) * INTERVAL + 1)
        for account, (import_wh, export_wh) in ((self.me, (400, 100)), (self.producer, (0, 800)),
                                                (self.neighbour, (300, 0))):
            self.send(self.community.functions.submitReading(self.interval, import_wh, export_wh), account)

    def settle(self) -> tuple[dict, int]:
        """After the grace period: the MemberSettled arguments by member id, and my export the community
        did not take."""
        self.set_time((self.interval + 1) * INTERVAL + GRACE + 1)
        receipt = self.send(self.community.functions.settle(self.interval), self.local.admin)
        booked = {e.args.memberId: e.args
                  for e in self.community.events.MemberSettled().process_receipt(receipt, errors=DISCARD)}
        return booked, self.community.functions.surplusOf(self.me).call()

    def mirror_into(self, path: Path) -> None:
        """What the chain holds, through the node's EventMirror into the mirror at `path`."""
        contracts = CommunityContracts(self.w3, self.local.deployment, load_abis(MANIFEST))
        mirror = MirrorDB(path)
        try:
            EventMirror(self.w3, contracts, mirror).poll()
        finally:
            mirror.close()


@contextmanager
def real_community(port: int):
    with EmbeddedAnvil(AnvilSettings(port=port)) as anvil:
        yield RealCommunity(connect(anvil.url))


def bill_of(client, auth, clock, services, interval: int) -> tuple[dict, str]:
    """Logged in once `interval` is past: its line of the day's CSV, and its why-page."""
    clock.now = (interval + 2) * INTERVAL
    day = datetime.fromtimestamp(interval * INTERVAL, services.timezone).date()
    auth.login()
    line = rows(client.get(f"/bill/export.csv?date={day.isoformat()}"))[0]
    return line, client.get(f"/bill/interval/{interval}").get_data(as_text=True)


def test_the_bill_equals_what_the_real_contracts_booked(client, auth, services, clock, tmp_path):
    """Readings of three members on a real anvil, settled by the Community contract, mirrored by the
    EventMirror: the bill page's numbers are the chain's MemberSettled."""
    with real_community(ANVIL_PORT) as chain:
        interval = chain.interval
        chain.submit_readings()
        booked, surplus = chain.settle()
        chain.mirror_into(services.config.mirror_path)

    line, page = bill_of(client, auth, clock, services, interval)

    mine = booked[1]
    assert (int(line["interval"]), int(line["from_community_wh"])) == (interval, mine.allocatedWh)
    assert line["net_credits"] == ("-" if mine.tokenDelta < 0 else "") + f"0.{abs(mine.tokenDelta):018d}"
    assert (int(line["to_community_wh"]), int(line["to_grid_wh"])) == (100 - surplus, surplus)
    assert "gives exactly what the chain booked" in page


@pytest.mark.parametrize("key, step", [
    (AllocationKey.STATIC_ROUNDS, "they split the R = "),
    (AllocationKey.PRIORITY, "Level 0 ("),
    (AllocationKey.STATIC_FIXED, "import 400 Wh → uses 400 Wh of it; the other 20 Wh are surplus"),
    (AllocationKey.PRORATA, "production is short, so each consumer gets"),
])
def test_every_key_is_explained_with_its_own_steps_and_matches_the_booking(client, auth, services, key, step):
    made = Ledger(start_time=int(NOW) - 3600, key=key)
    made.add_member(ADDRESS, producer=False, consumer=True, coefficient_ppm=300_000, priority=1)
    made.add_member(PRODUCER, producer=True, consumer=False)
    made.add_member(NEIGHBOUR, producer=False, consumer=True, coefficient_ppm=600_000, priority=0)
    outcome = made.interval(NOON, {1: (500, 0), 2: (0, 700), 3: (400, 0)})
    made.write(services.config.mirror_path)
    auth.login()

    page = client.get(f"/bill/interval/{NOON}").get_data(as_text=True)

    assert "gives exactly what the chain booked" in page
    assert step in page
    assert f"Why did I get {energy(outcome.members[0].allocated_wh)}?" in page


def test_scheduled_key_is_explained_with_the_share_set_of_its_quarter_hour(client, auth, services):
    made = Ledger(start_time=int(NOW) - 3600, key=AllocationKey.SCHEDULED)
    made.add_member(ADDRESS, producer=False, consumer=True, coefficient_ppm=100_000)
    made.add_member(PRODUCER, producer=True, consumer=False)
    made.add_member(NEIGHBOUR, producer=False, consumer=True, coefficient_ppm=900_000)
    made.set_shares(2, {1: 500_000, 3: 500_000})
    slots = bytearray(SCHEDULE_SLOTS)
    slots[schedule_slot(NOON * 900)] = 2
    made.set_schedule(bytes(slots))
    outcome = made.interval(NOON, {1: (500, 0), 2: (0, 700), 3: (400, 0)})
    made.write(services.config.mirror_path)
    auth.login()

    page = client.get(f"/bill/interval/{NOON}").get_data(as_text=True)

    assert [m.allocated_wh for m in outcome.members] == [350, 0, 350]
    assert "gives exactly what the chain booked" in page
    assert "share ⌊700 · 50 %⌋ = 350 Wh" in page


def test_the_what_if_table_compares_every_key(client, auth, services):
    made = Ledger(start_time=int(NOW) - 3600)
    made.add_member(ADDRESS, producer=False, consumer=True, coefficient_ppm=300_000)
    made.add_member(PRODUCER, producer=True, consumer=False)
    made.interval(NOON, {1: (500, 0), 2: (0, 700)})
    made.write(services.config.mirror_path)
    auth.login()

    page = client.get("/bill/?date=2026-01-01").get_data(as_text=True)

    table = page[page.index("What if the community used another key?"):]
    assert [key.name for key in AllocationKey if f">{key.name} (in force)<" in table or f">{key.name}<" in table] == [
        key.name for key in AllocationKey
    ]


# -- peer deals: metered first, the community key shares what is left (issue 13) ----------------------

DEAL_PRICE = 2 * 10**17  # 0.2 credits per kWh: 1000 Wh cost 0.2 credits, released as delivered
CONSUMER_COLUMNS = ("import_wh", "from_deals_wh", "from_community_wh", "from_grid_wh")
PRODUCER_COLUMNS = ("export_wh", "to_deals_wh", "to_community_wh", "to_grid_wh")


@pytest.fixture
def deal_ledger(services):
    """This node (a consumer) buys 1000 Wh from the producer over two intervals; a neighbour buys only
    from the community. At noon the deal takes 400 of the producer's 500 Wh, the neighbour gets 50 of
    the 100 Wh left and 50 Wh are surplus; at 12:15 the deal takes its last 600 Wh of 900, and the key
    shares the 300 Wh left over 400 + 100 Wh of demand."""
    made = Ledger(start_time=int(NOW) - 3600)
    me = made.add_member(ADDRESS, producer=False, consumer=True)
    producer = made.add_member(PRODUCER, producer=True, consumer=False)
    made.add_member(NEIGHBOUR, producer=False, consumer=True)
    deal = made.deal(producer, me, 1000, DEAL_PRICE, NOON, NOON + 1)
    made.interval(NOON, {1: (400, 0), 2: (0, 500), 3: (50, 0)}, deals=(deal,))
    made.interval(NOON + 1, {1: (1000, 0), 2: (0, 900), 3: (100, 0)}, deals=(deal,))
    made.write(services.config.mirror_path)
    return made


@pytest.fixture
def client_of(node_config, clock):
    """`client_of(account)`: a logged-in test client of another member's DApp over the same node files."""
    made = []

    def log_in(account: str):
        services = NodeServices(node_config, account, clock, wall=clock, live=LiveSamples())
        made.append(services)
        client = create_app({"TESTING": True}, services=services).test_client()
        AuthActions(client).login()
        return client

    yield log_in
    for services in made:
        services.close()


def booked(ledger: Ledger, event: str, interval: int, member_id: int | None = None) -> dict:
    return next(e.args for e in ledger.events if e.event == event and e.args.get("interval") == interval
                and member_id in (None, e.args.get("memberId")))


def test_a_deal_shows_on_the_consumers_bill_as_energy_and_credits_from_the_deal(client, auth, deal_ledger):
    auth.login()

    lines = rows(client.get("/bill/export.csv?date=2026-01-01"))

    assert [tuple(int(line[c]) for c in CONSUMER_COLUMNS) for line in lines] == [(400, 400, 0, 0), (1000, 600, 240, 160)]
    assert [line["deals_paid_credits"] for line in lines] == ["0.080000000000000000", "0.120000000000000000"]
    assert [line["paid_credits"] for line in lines] == ["0.000000000000000000", "0.024000000000000000"]
    assert [int(line["to_deals_wh"]) for line in lines] == [0, 0]


def test_a_deal_shows_on_the_producers_bill_as_delivered_and_earned(client_of, deal_ledger):
    producer = client_of(PRODUCER)

    lines = rows(producer.get("/bill/export.csv?date=2026-01-01"))

    assert [tuple(int(line[c]) for c in PRODUCER_COLUMNS) for line in lines] == [(500, 400, 50, 50), (900, 600, 300, 0)]
    assert [line["deals_received_credits"] for line in lines] == ["0.080000000000000000", "0.120000000000000000"]
    assert [line["received_credits"] for line in lines] == ["0.005000000000000000", "0.030000000000000000"]
    assert [int(line["from_deals_wh"]) for line in lines] == [0, 0]


def test_the_community_allocation_excludes_what_the_deal_delivered(client, auth, deal_ledger):
    auth.login()

    lines = rows(client.get("/bill/export.csv?date=2026-01-01"))

    settled = [booked(deal_ledger, "IntervalSettled", NOON + n) for n in range(2)]
    assert [(s["productionWh"], s["allocatedWh"]) for s in settled] == [(100, 50), (300, 300)]
    assert [booked(deal_ledger, "MemberSettled", NOON + n, 1)["allocatedWh"] for n in range(2)] == [0, 240]
    assert [int(line["from_community_wh"]) for line in lines] == [0, 240]


def test_the_reference_check_agrees_with_a_settlement_that_left_the_dealt_energy_out(client, auth, deal_ledger):
    auth.login()

    day = client.get("/bill/?date=2026-01-01").get_data(as_text=True)
    pages = [client.get(f"/bill/interval/{NOON + n}").get_data(as_text=True) for n in range(2)]

    assert "differs from the reference" not in day
    assert ["gives exactly what the chain booked" in page for page in pages] == [True, True]


def test_a_settlement_that_shares_the_dealt_energy_again_is_flagged(client, auth, services):
    made = Ledger(start_time=int(NOW) - 3600)
    made.add_member(ADDRESS, producer=False, consumer=True)
    made.add_member(PRODUCER, producer=True, consumer=False)
    deal = made.deal(2, 1, 1000, DEAL_PRICE, NOON, NOON)
    for member_id, reading in {1: (400, 0), 2: (0, 500)}.items():
        made.submit(NOON, member_id, *reading)
    made.deliver(NOON, deal)
    made.settle(NOON, count_deals=False)  # a Community that does not know about deals: 400 Wh paid twice
    made.write(services.config.mirror_path)
    auth.login()

    page = client.get(f"/bill/interval/{NOON}").get_data(as_text=True)
    day = client.get("/bill/?date=2026-01-01").get_data(as_text=True)

    assert "production: reference 100 Wh, chain 500 Wh (the 400 Wh delivered under peer deals were shared again)" in page
    assert "differs from the reference settlement in 1 interval" in day


def test_the_csv_keeps_its_columns_and_adds_the_deal_columns_at_the_end(client, auth, deal_ledger):
    auth.login()

    response = client.get("/bill/export.csv?date=2026-01-01")

    header = response.get_data(as_text=True).splitlines()[0].split(",")
    assert header[:15] == ["interval", "interval_start_local", "reported", "import_wh", "export_wh", "from_community_wh",
                           "from_grid_wh", "to_community_wh", "to_grid_wh", "paid_credits", "received_credits",
                           "net_credits", "owed_credits", "price_credits_per_kwh", "allocation_key"]
    assert header[15:] == ["from_deals_wh", "deals_paid_credits", "to_deals_wh", "deals_received_credits",
                           "total_net_credits"]
    assert header == list(CSV_COLUMNS)
    last = rows(response)[1]
    assert (last["net_credits"], last["total_net_credits"]) == ("-0.024000000000000000", "-0.144000000000000000")


def test_the_day_page_shows_the_deals_apart_and_nets_every_credit(client, auth, deal_ledger):
    auth.login()

    page = client.get("/bill/?date=2026-01-01").get_data(as_text=True)

    assert "<h2>From your deals</h2><p class=\"figure import\">1.00 kWh</p>" in page
    assert "0.20 credits paid through the deals" in page
    assert "<h2>From the community</h2><p class=\"figure import\">240 Wh</p>" in page
    assert "<h2>From the grid</h2><p class=\"figure\">160 Wh</p>" in page
    assert "<h2>Net credits</h2><p class=\"figure\">-0.22 credits</p>" in page
    assert "-0.02 credits with the community" in page and "-0.20 credits through deals" in page
    assert '"from_deals": [400, 600]' in page


def test_the_month_page_totals_the_deals_per_day(client, auth, deal_ledger):
    auth.login()

    page = client.get("/bill/?month=2026-01").get_data(as_text=True)

    assert "<th class=\"num\">From deals</th>" in page
    assert '"from_deals": [1000, 0' in page
    assert 'colspan="12" class="empty">nothing settled' in page


def test_the_why_page_tells_the_deal_first_then_what_the_key_shared(client, auth, deal_ledger):
    auth.login()

    page = client.get(f"/bill/interval/{NOON + 1}").get_data(as_text=True)

    deal = "600 Wh of your import came through deal #1 at 0.200 credits/kWh (0.1200 credits paid through the deal)"
    assert deal in page
    assert "The community key shared what your deals left:" in page
    assert page.index(deal) < page.index("Production P is the export of the members with the producer role, less what")
    assert "⌊300 · 400 / 500⌋ = 240 Wh" in page
    assert "600 Wh came through your deals first" in page
    assert "gives exactly what the chain booked" in page


def test_the_why_page_of_the_producer_tells_what_it_delivered_and_earned(client_of, deal_ledger):
    producer = client_of(PRODUCER)

    page = " ".join(producer.get(f"/bill/interval/{NOON}").get_data(as_text=True).split())  # as the browser shows it

    assert "400 Wh of your export went to deal #1 at 0.200 credits/kWh (0.0800 credits earned through the deal)" in page
    assert "400 Wh under your deals (0.0800 credits earned through them), 50 Wh to the community, 50 Wh to the grid" in page


def test_the_why_page_shows_other_members_deals_only_as_the_intervals_total(client, auth, services):
    made = Ledger(start_time=int(NOW) - 3600)
    made.add_member(ADDRESS, producer=False, consumer=True)
    made.add_member(PRODUCER, producer=True, consumer=False)
    made.add_member(NEIGHBOUR, producer=False, consumer=True)
    deal = made.deal(2, 3, 5000, 3 * 10**17, NOON, NOON)
    made.interval(NOON, {1: (400, 0), 2: (0, 777), 3: (333, 0)}, deals=(deal,))  # the deal takes the neighbour's 333 Wh
    made.write(services.config.mirror_path)
    auth.login()

    page = client.get(f"/bill/interval/{NOON}").get_data(as_text=True)

    assert "Peer deals between other members came first; the community key shared what they left:" in page
    assert "deal #" not in page and "0.300 credits/kWh" not in page and "333 Wh" not in page
    assert "777 Wh" not in page  # the producer's export before its deal: 444 Wh are shown, what the key shared
    assert "444 Wh" in page
    assert "gives exactly what the chain booked" in page


def test_the_now_page_counts_deal_energy_as_local_and_shows_it_apart(client, auth, clock, deal_ledger):
    clock.now = (NOON + 3) * 900
    auth.login()

    today = client.get("/now/api/summary").get_json()["today"]
    page = client.get("/now/").get_data(as_text=True)

    assert (today["from_deals_wh"], today["allocated_wh"], today["settled_import_wh"]) == (1000, 240, 1400)
    assert today["self_sufficiency"] == pytest.approx(1240 / 1400)
    assert "240 Wh from the community and 1.00 kWh through your deals of 1.40 kWh" in page


def test_the_producers_now_page_counts_only_the_export_left_after_deals_as_taken_by_the_community(client_of, clock,
                                                                                                   deal_ledger):
    clock.now = (NOON + 3) * 900
    producer = client_of(PRODUCER)

    today = producer.get("/now/api/summary").get_json()["today"]
    page = producer.get("/now/").get_data(as_text=True)

    assert (today["to_deals_wh"], today["sold_wh"]) == (1000, 50 + 300)
    assert "350 Wh of it taken by the community, 1.00 kWh delivered under your deals, in settled intervals" in page


DEAL_ANVIL_PORT = 18721


def test_a_deal_on_the_real_contracts_is_billed_once_and_the_reference_agrees(client, auth, services, clock):
    """A deal metered by the real EnergyExchange before the real Community settles the interval: the
    bill's deal and community figures are the chain's DeliveryRecorded and MemberSettled, and the
    reference (node.settlement with the deals subtracted) agrees with the chain."""
    with real_community(DEAL_ANVIL_PORT) as chain:
        exchange, token = (chain.local.contracts[name] for name in ("EnergyExchange", "EnergyToken"))
        interval, me = chain.interval, chain.me
        posted = chain.send(exchange.functions.postOffer(1000, DEAL_PRICE, interval, interval), chain.producer)
        offer_id = exchange.events.OfferPosted().process_receipt(posted, errors=DISCARD)[0].args.offerId
        chain.local.send(token.functions.issue(me, 10**18, b"\x00" * 32))
        chain.send(token.functions.approve(exchange.address, 1000 * DEAL_PRICE // 1000), me)
        chain.send(exchange.functions.accept(offer_id), me)
        chain.submit_readings()
        metered = chain.send(exchange.functions.recordDelivery(offer_id), me)
        delivery = exchange.events.DeliveryRecorded().process_receipt(metered, errors=DISCARD)[0].args
        booked, surplus = chain.settle()
        chain.mirror_into(services.config.mirror_path)

    line, page = bill_of(client, auth, clock, services, interval)

    assert (delivery.wh, delivery.tokens) == (400, 400 * DEAL_PRICE // 1000)  # min(due, 800 exported, 400 imported)
    assert (int(line["from_deals_wh"]), line["deals_paid_credits"]) == (delivery.wh, f"0.{delivery.tokens:018d}")
    assert (int(line["from_community_wh"]), int(line["from_grid_wh"])) == (booked[1].allocatedWh, 0)
    assert booked[1].allocatedWh == 0  # the deal covered my whole import: the key shares none of it again
    assert (int(line["to_community_wh"]), int(line["to_grid_wh"])) == (100 - surplus, surplus)
    assert booked[3].allocatedWh == 300  # the neighbour: the 800 − 400 + 100 Wh the deal left cover its import
    assert "gives exactly what the chain booked" in page
    assert f"400 Wh of your import came through deal #{offer_id} at 0.200 credits/kWh" in page
