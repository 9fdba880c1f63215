"""The Now page: live power over server-sent events, today's energy and self-sufficiency, balances."""

from __future__ import annotations

import json
import threading

import pytest
from chainkit import anvil_fixture
from dappkit import PASSWORD, AuthActions
from energykit import ME, NEIGHBOUR, community, local, write_meter

from dapp import create_app, now
from dapp.cli import set_password
from dapp.services import NodeServices
from node import config as config_module
from node.chain.client import connect
from node.chain.deployment import save
from node.chain.devnet import MANIFEST, LocalCommunity, dev_account
from node.store.samples import Sample

ANVIL_PORT = 18710
MIDNIGHT = local(2026, 1, 1)
ONE_AM = local(2026, 1, 1, 1)
NOW = local(2026, 1, 1, 2, 5)
FIRST = MIDNIGHT // 900  # today's first community interval


@pytest.fixture
def today_data(node_config, clock):
    """Since midnight: 360 W import until 01:00, then 720 W export, a reading every 10 s up to 02:05.
    Three of today's intervals settled (and one of yesterday, and the neighbour's, which do not count)."""
    clock.now = NOW
    write_meter(node_config, clock, MIDNIGHT - 60, NOW,
                import_w=lambda ts: 360 if ts < ONE_AM else 0, export_w=lambda ts: 720 if ts >= ONE_AM else 0)
    events = community()
    events.block().reading(FIRST - 1, ME, 90, 0).settled(FIRST - 1, {ME: 90}, 90)
    events.block().reading(FIRST, ME, 90, 0).reading(FIRST, NEIGHBOUR, 45, 100)
    events.settled(FIRST, {ME: 30, NEIGHBOUR: 45}, 100)
    events.block().reading(FIRST + 1, ME, 90, 0).settled(FIRST + 1, {ME: 60}, 60)
    events.block().reading(FIRST + 4, ME, 0, 180).reading(FIRST + 4, NEIGHBOUR, 250, 120)
    events.settled(FIRST + 4, {ME: 0, NEIGHBOUR: 250}, 300)
    events.write(node_config)


# -- access ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/now/", "/now/api/summary", "/now/stream"])
def test_now_routes_send_a_visitor_to_the_login_page(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_summary_answers_401_in_json_to_a_visitor(client):
    response = client.get("/now/api/summary", headers={"Accept": "application/json"})

    assert response.status_code == 401
    assert response.get_json() == {"error": "log in first"}


# -- today's figures ----------------------------------------------------------------------------

def test_summary_gives_todays_energy_and_self_sufficiency_from_store_and_mirror(client, auth, today_data):
    auth.login()

    summary = client.get("/now/api/summary").get_json()

    # Import 360 W × 1 h; export 720 W × 65 min, the running quarter hour included.
    # Self-sufficiency: (30 + 60 + 0) Wh allocated ÷ (90 + 90 + 0) Wh imported in the settled intervals.
    # Sold: ceil(250 allocated × 180 own export ÷ 300 production).
    assert summary["today"] == {
        "day": "2026-01-01", "import_wh": 360, "export_wh": 780, "elapsed_intervals": 9, "complete_intervals": 8,
        "settled_intervals": 3, "allocated_wh": 90, "settled_import_wh": 180, "sold_wh": 150, "self_sufficiency": 0.5,
        "from_deals_wh": 0, "to_deals_wh": 0,
    }
    assert summary["now"] == NOW
    assert summary["self_sufficiency_definition"].startswith("Self-sufficiency: the share of today's grid import")


def test_summary_power_is_the_newest_stored_reading_when_the_live_feed_is_empty(client, auth, today_data):
    auth.login()

    power = client.get("/now/api/summary").get_json()["power"]

    assert power == {"ts": NOW, "import_w": 0, "export_w": 720, "arrived_at": NOW, "sequence": NOW, "sent_at": NOW}


def test_summary_power_is_the_live_sample_when_the_meter_part_published_one(client, auth, services, today_data):
    services.live.publish(Sample(NOW + 3, "E0001", 1_000_360, 500_781, 0, 1500), arrived_at=NOW + 4)
    auth.login()

    power = client.get("/now/api/summary").get_json()["power"]

    assert power == {"ts": NOW + 3, "import_w": 0, "export_w": 1500, "arrived_at": NOW + 4, "sequence": 1,
                     "sent_at": NOW}


def test_summary_without_data_has_no_power_and_zero_energy(client, auth):
    auth.login()

    summary = client.get("/now/api/summary").get_json()

    assert summary["power"] is None
    assert summary["today"]["import_wh"] == 0
    assert summary["today"]["self_sufficiency"] is None


def test_balance_is_unavailable_when_the_chain_is_unreachable(client, auth, today_data):
    auth.login()

    balance = client.get("/now/api/summary").get_json()["balance"]

    assert balance == {"token": None, "escrow": None, "error": "chain unreachable"}


def test_page_shows_todays_figures_and_the_unreachable_chain(client, auth, today_data):
    auth.login()

    page = client.get("/now/").get_data(as_text=True)

    assert '<p class="figure import">360 Wh</p>' in page
    assert '<p class="figure export">780 Wh</p>' in page
    assert '<p class="figure">50 %</p>' in page
    assert "90 Wh from the community of 180 Wh" in page
    assert "imported in 3 settled quarter hours" in page
    assert "150 Wh of it taken by the community" in page
    assert "balance unavailable: chain unreachable" in page
    assert "meter reading of 02:05:00 CET" in page
    assert '<p class="figure export" data-live="export_w">720 W</p>' in page
    assert "Self-sufficiency: the share of today&#39;s grid import" in page


def test_page_waits_for_the_meter_before_the_first_sample(client, auth):
    auth.login()

    page = client.get("/now/").get_data(as_text=True)

    assert "waiting for the meter…" in page
    assert "No interval of today is settled yet" in page
    assert '<script src="/static/now.js" defer></script>' in page


# -- balances on a real chain -------------------------------------------------------------------

anvil = anvil_fixture(ANVIL_PORT)


def test_page_shows_wallet_and_prepaid_credits_from_the_chain(anvil, tmp_path, clock):
    account = dev_account(1).address
    w3 = connect(anvil.url)
    chain = LocalCommunity(w3)
    chain.admit(account, producer=True, consumer=True, prepaid=7 * 10**18)
    chain.send(chain.contracts["EnergyToken"].functions.issue(account, 3 * 10**18 // 2, b"\x00" * 32))
    record = save(chain.deployment, tmp_path / "deployments")
    (tmp_path / "node.toml").write_text(f"""
[node]
name = "chain-house"
data_dir = "data"
[chain]
rpc = "{anvil.url}"
deployment = "{record}"
manifest = "{MANIFEST}"
keystore = "node-key.json"
""")
    config = config_module.load(tmp_path / "node.toml")
    set_password(config, PASSWORD)
    services = NodeServices(config, account, clock, wall=clock)
    client = create_app({"TESTING": True}, services=services).test_client()
    AuthActions(client).login()

    balance = client.get("/now/api/summary").get_json()["balance"]
    page = client.get("/now/").get_data(as_text=True)
    services.close()

    assert balance == {"token": 3 * 10**18 // 2, "escrow": 7 * 10**18, "error": None}
    assert '<p class="figure">1.50 credits</p>' in page
    assert "7.00 credits prepaid to the community" in page


# -- the live stream ----------------------------------------------------------------------------

def _event(chunk: bytes) -> tuple[str, dict]:
    """The id and JSON data of one server-sent event."""
    lines = dict(line.split(": ", 1) for line in chunk.decode().strip().split("\n"))
    return lines["id"], json.loads(lines["data"])


def test_stream_sends_each_sample_the_meter_part_publishes(client, auth, services, clock):
    auth.login()
    publisher = threading.Timer(0.05, services.live.publish, [Sample(NOW, "E0001", 1_000, 500, 420, 0), 1_000.5])
    publisher.start()
    # The test client reads the first chunk before it returns: the stream waits for the publisher.
    response = client.get("/now/stream", buffered=False)
    chunks = response.iter_encoded()

    first = _event(next(chunks))
    services.live.publish(Sample(NOW + 1, "E0001", 1_000, 500, 0, 230), 1_001.5)
    second = _event(next(chunks))
    response.close()
    publisher.join()

    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Accel-Buffering"] == "no"
    assert first == ("1", {"ts": NOW, "import_w": 420, "export_w": 0, "arrived_at": 1_000.5, "sequence": 1,
                           "sent_at": clock.now})
    assert second == ("2", {"ts": NOW + 1, "import_w": 0, "export_w": 230, "arrived_at": 1_001.5, "sequence": 2,
                            "sent_at": clock.now})


def test_stream_starts_with_the_latest_sample_already_published(client, auth, services):
    services.live.publish(Sample(NOW, "E0001", 1_000, 500, 99, 0), 1_000.0)
    services.live.publish(Sample(NOW + 1, "E0001", 1_000, 500, 101, 0), 1_001.0)
    auth.login()
    response = client.get("/now/stream", buffered=False)

    event_id, data = _event(next(response.iter_encoded()))
    response.close()

    assert (event_id, data["import_w"]) == ("2", 101)


def test_stream_sends_a_keep_alive_comment_when_no_sample_comes(client, auth, monkeypatch):
    monkeypatch.setattr(now, "HEARTBEAT_S", 0.01)
    auth.login()
    response = client.get("/now/stream", buffered=False)

    chunk = next(response.iter_encoded())
    response.close()

    assert chunk == b": keep-alive\n\n"


def test_stream_ends_when_the_client_leaves(client, auth, services, monkeypatch):
    monkeypatch.setattr(now, "HEARTBEAT_S", 0.01)
    auth.login()
    response = client.get("/now/stream", buffered=False)
    chunks = response.iter_encoded()
    next(chunks)

    response.close()

    assert list(chunks) == []


def test_stream_beside_the_node_polls_the_store(client, auth, services, today_data, monkeypatch):
    services.live = None
    monkeypatch.setattr(now, "POLL_S", 0.0)
    monkeypatch.setattr(now, "HEARTBEAT_S", 0.0)
    auth.login()
    response = client.get("/now/stream", buffered=False)
    chunks = response.iter_encoded()

    first = _event(next(chunks))
    quiet = next(chunks)
    response.close()

    assert first == (str(NOW), {"ts": NOW, "import_w": 0, "export_w": 720, "arrived_at": NOW, "sequence": NOW,
                                "sent_at": NOW})
    assert quiet == b": keep-alive\n\n"


def test_balances_are_asked_of_the_chain_at_most_once_per_five_seconds(client, auth, services, clock, monkeypatch):
    from node.chain.client import ChainUnreachable

    asked = []

    def unreachable():
        asked.append(clock.now)
        raise ChainUnreachable("no chain client answers")

    monkeypatch.setattr(services, "chain", unreachable)
    auth.login()

    client.get("/now/api/summary")
    client.get("/now/")
    clock.now += now.BALANCE_TTL_S
    balance = client.get("/now/api/summary").get_json()["balance"]

    assert asked == [clock.now - now.BALANCE_TTL_S, clock.now]
    assert balance["error"] == "chain unreachable"
