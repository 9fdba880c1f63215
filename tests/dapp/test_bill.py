"""The Settlements and bill page over a mirror of fabricated but exact Community events."""

from __future__ import annotations

import csv
import io
import sys
from datetime import datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from dappkit import ADDRESS, NOW  # noqa: E402
from ledgerkit import Ledger  # noqa: E402

from dapp.units import credits, energy  # noqa: E402
from node.allocation import AllocationKey  # noqa: E402
from node.settlement import MemberInterval, settle_interval  # noqa: E402

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
    readings = ledger.readings[interval]
    members = [MemberInterval(m, i, e, ledger.profiles[m]["producer"], ledger.profiles[m]["consumer"],
                              ledger.profiles[m]["coefficient_ppm"], ledger.profiles[m]["priority"], 10**30)
               for m, (i, e) in readings.items()]
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


def test_the_bill_equals_what_the_real_contracts_booked(client, auth, services, clock, tmp_path):
    """Readings of three members on a real anvil, settled by the Community contract, mirrored by the
    EventMirror: the bill page's numbers are the chain's MemberSettled."""
    from node.chain.anvil import AnvilSettings, EmbeddedAnvil
    from node.chain.client import connect
    from node.chain.contracts import CommunityContracts, load_abis
    from node.chain.devnet import GRACE, INTERVAL, MANIFEST, LocalCommunity, dev_account
    from node.mirror.db import MirrorDB
    from node.mirror.mirror import EventMirror
    from web3.logs import DISCARD

    with EmbeddedAnvil(AnvilSettings(port=ANVIL_PORT)) as anvil:
        w3 = connect(anvil.url)
        start = (w3.eth.get_block("latest")["timestamp"] // 86400 + 1) * 86400 + 11 * 3600  # a later day, 11:00 UTC

        def set_time(moment: int) -> None:
            w3.provider.make_request("evm_setTime", [moment])
            w3.provider.make_request("evm_mine", [])

        set_time(start)
        local = LocalCommunity(w3)
        me, producer, neighbour = (dev_account(n).address for n in (1, 2, 3))
        assert me == ADDRESS  # this node is the first member
        local.admit(me, producer=True, consumer=True)
        local.admit(producer, producer=True, consumer=False)
        local.admit(neighbour, producer=False, consumer=True)
        contract = local.contracts["Community"]
        interval = start // INTERVAL + 1
        set_time((interval + 1) * INTERVAL + 1)
        for account, (import_wh, export_wh) in ((me, (400, 100)), (producer, (0, 800)), (neighbour, (300, 0))):
            tx = contract.functions.submitReading(interval, import_wh, export_wh).transact({"from": account})
            assert w3.eth.wait_for_transaction_receipt(tx)["status"] == 1
        set_time((interval + 1) * INTERVAL + GRACE + 1)
        receipt = w3.eth.wait_for_transaction_receipt(contract.functions.settle(interval).transact({"from": local.admin}))
        booked = {e.args.memberId: e.args for e in contract.events.MemberSettled().process_receipt(receipt, errors=DISCARD)}
        surplus = contract.functions.surplusOf(me).call()  # my export the community did not take
        contracts = CommunityContracts(w3, local.deployment, load_abis(MANIFEST))
        mirror = MirrorDB(services.config.mirror_path)
        try:
            EventMirror(w3, contracts, mirror).poll()
        finally:
            mirror.close()
    clock.now = (interval + 2) * INTERVAL
    day = datetime.fromtimestamp(interval * INTERVAL, services.timezone).date()
    auth.login()

    line = rows(client.get(f"/bill/export.csv?date={day.isoformat()}"))[0]
    page = client.get(f"/bill/interval/{interval}").get_data(as_text=True)

    mine = booked[1]
    assert (int(line["interval"]), int(line["from_community_wh"])) == (interval, mine.allocatedWh)
    assert line["net_credits"] == ("-" if mine.tokenDelta < 0 else "") + f"0.{abs(mine.tokenDelta):018d}"
    assert (int(line["to_community_wh"]), int(line["to_grid_wh"])) == (100 - surplus, surplus)
    assert "gives exactly what the chain booked" in page


@pytest.mark.parametrize("key, step", [
    (AllocationKey.STATIC, "they split the R = "),
    (AllocationKey.PRIORITY, "Level 0 ("),
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
