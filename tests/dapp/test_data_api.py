"""The consent-gated data API end to end: two DApps, the real ConsentRegistry on a real anvil, real HTTP.

The subject's DApp serves /api/v1/readings from a real werkzeug server; the recipient's node fetches
with dapp.peers, signing with its node key. The chain's answer decides, live, on every request.
"""

from __future__ import annotations

import dataclasses
import json
import re
import secrets
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests
from chainkit import anvil_fixture
from dappkit import PASSWORD, csrf_token

from dapp import create_app
from dapp.cli import set_password
from dapp.data_api import NOT_ALLOWED
from dapp.data_request import SCOPE_ENERGY_15MIN, SCOPE_POWER_1S, DataRequest, Domain, sign
from dapp.db import Access
from dapp.errors import NotAvailable, PeerRefused
from dapp.peers import fetch_readings
from dapp.server import DappServer
from dapp.services import NodeServices
from node import config as config_module
from node.chain.anvil import AnvilSettings, EmbeddedAnvil
from node.chain.client import connect
from node.chain.deployment import save
from node.chain.devnet import MANIFEST, LocalCommunity, dev_account
from node.store.samples import Sample
from node.store.store import MeterStore

ANVIL_PORT, SUBJECT_DAPP_PORT, STOPPABLE_ANVIL_PORT = 18730, 18731, 18732  # this feature's range: 18730-18739
DAY = 86400
SUBJECT, RECIPIENT, STRANGER = dev_account(1), dev_account(2), dev_account(3)


class Clock:
    """Node time, shared by both nodes, that the test moves by hand."""

    now: float = 0.0

    def __call__(self) -> float:
        return self.now


@dataclasses.dataclass
class Pair:
    """A subject's node serving its data and a recipient's node asking for it, on one chain."""

    w3: object
    registry: object
    clock: Clock
    subject: NodeServices
    recipient: NodeServices
    url: str
    domain: Domain

    def grant(self, scope: int = SCOPE_ENERGY_15MIN) -> int:
        now = int(self.clock.now)
        self._transact(self.registry.functions.grantConsent(
            RECIPIENT.address, scope, 1, b"\x00" * 32, now - DAY, now + 30 * DAY, 0, 0))
        return self.registry.functions.grantCount().call()

    def revoke(self, grant_id: int) -> None:
        self._transact(self.registry.functions.revoke(grant_id))
        # Node time catches up with the block that revoked.
        self.clock.now = self.w3.eth.get_block("latest")["timestamp"]

    def _transact(self, call) -> None:
        receipt = self.w3.eth.wait_for_transaction_receipt(call.transact({"from": SUBJECT.address}))
        assert receipt["status"] == 1

    def accesses(self) -> list[Access]:
        with self.subject.dapp_db() as db:
            return db.accesses()

    def stored(self, first: int, last: int) -> list[dict]:
        with self.subject.store() as store:
            rows = store.interval_energy(datetime.fromtimestamp(first, timezone.utc),
                                         datetime.fromtimestamp(last, timezone.utc))
        return [{"start": int(r.start.timestamp()), "import_wh": r.import_wh, "export_wh": r.export_wh,
                 "complete": r.complete} for r in rows]

    def signed(self, signer=RECIPIENT, **changes) -> dict:
        """A request body for the last two hours, signed by `signer`."""
        now = int(self.clock.now)
        asked = DataRequest(SUBJECT.address, RECIPIENT.address, SCOPE_ENERGY_15MIN, now - 7200, now,
                            "0x" + secrets.token_hex(32), now + 60)
        asked = dataclasses.replace(asked, **changes)
        return {"request": asked.message(), "signature": sign(asked, self.domain, signer)}

    def post(self, body) -> requests.Response:
        data = body if isinstance(body, (str, bytes)) else json.dumps(body)
        return requests.post(f"{self.url}/api/v1/readings", data=data,
                             headers={"Content-Type": "application/json"}, timeout=10)


anvil = anvil_fixture(ANVIL_PORT)


@pytest.fixture
def make_pair(tmp_path):
    """Builds a Pair on the anvil given; stops the subject's server afterwards."""
    made = []

    def build(chain: EmbeddedAnvil) -> Pair:
        w3 = connect(chain.url)
        clock = Clock()
        clock.now = _later_day(w3)
        community = LocalCommunity(w3)
        registry = community.contracts["ConsentRegistry"]
        for member in (SUBJECT, RECIPIENT):
            community.admit(member.address, producer=True, consumer=True, prepaid=0)
        deployment = community.deployment
        record = save(deployment, tmp_path / "deployments")
        subject = NodeServices(_config(tmp_path / "subject", chain.url, record), SUBJECT.address, clock, wall=clock)
        _fill_store(subject, clock.now)
        server = DappServer(create_app({"TESTING": True}, services=subject), "127.0.0.1", SUBJECT_DAPP_PORT)
        thread = threading.Thread(target=server.serve, daemon=True)
        thread.start()
        recipient = NodeServices(
            _config(tmp_path / "recipient", chain.url, record, peers={SUBJECT.address: server.url}),
            RECIPIENT.address, clock, wall=clock, signer=RECIPIENT)
        made.append((server, thread, subject, recipient))
        return Pair(w3, registry, clock, subject, recipient, server.url, Domain(deployment.chain_id, registry.address))

    yield build
    for server, thread, subject, recipient in made:
        server.server.shutdown()
        thread.join()
        server.close()
        subject.close()
        recipient.close()


@pytest.fixture
def pair(anvil, make_pair) -> Pair:
    return make_pair(anvil)


def _later_day(w3) -> int:
    """11:00 UTC on a day after the chain's clock; the chain follows (blocks are stamped from then on)."""
    latest = w3.eth.get_block("latest")["timestamp"]
    start = (latest // DAY + 1) * DAY + 11 * 3600
    w3.provider.make_request("evm_setTime", [start])
    w3.provider.make_request("evm_mine", [])
    return start


def _config(folder: Path, rpc: str, deployment: Path, peers: dict | None = None):
    (folder / "data").mkdir(parents=True)
    peer_lines = "".join(f'"{address}" = "{url}"\n' for address, url in (peers or {}).items())
    (folder / "node.toml").write_text(f"""
[node]
name = "{folder.name}"
data_dir = "data"
[chain]
rpc = "{rpc}"
deployment = "{deployment}"
manifest = "{MANIFEST}"
keystore = "node-key.json"
[dapp.peers]
{peer_lines}""")
    return config_module.load(folder / "node.toml")


def _fill_store(services: NodeServices, now: float) -> None:
    """Three hours of a household's meter, a reading every 10 s, with a 5-minute gap an hour ago."""
    first = int(now) - 3 * 3600
    with MeterStore(services.config.store_path, clock=services.clock, local=services.timezone) as store:
        for ts in range(first, int(now), 10):
            if not int(now) - 3600 <= ts < int(now) - 3300:
                elapsed = ts - first
                store.add_sample(Sample(ts, "E0001", 1_000_000 + elapsed // 9, 500_000 + elapsed // 30))


def _fetch(pair: Pair, hours: int = 2) -> list[dict]:
    now = int(pair.clock.now)
    return [dataclasses.asdict(row) for row in fetch_readings(pair.recipient, SUBJECT.address, now - hours * 3600, now)]


def _refusal(pair: Pair) -> PeerRefused:
    with pytest.raises(PeerRefused) as refused:
        _fetch(pair)
    return refused.value


# -- consent ----------------------------------------------------------------------------------


def test_without_consent_the_subjects_node_refuses_with_403_and_logs_the_request(pair):
    now = int(pair.clock.now)

    refusal = _refusal(pair)

    assert (refusal.status, str(refusal)) == (403, NOT_ALLOWED)
    assert pair.accesses() == [Access(1, now, RECIPIENT.address, SCOPE_ENERGY_15MIN, now - 7200, now, "refused",
                                      NOT_ALLOWED, 0)]


def test_with_consent_the_recipient_gets_exactly_the_intervals_in_the_subjects_store(pair):
    pair.grant()
    now = int(pair.clock.now)

    fetched = _fetch(pair)

    assert fetched == pair.stored(now - 7200, now)
    assert [row["complete"] for row in fetched] == [True, True, True, True, False, True, True, True]
    assert pair.accesses() == [Access(1, now, RECIPIENT.address, SCOPE_ENERGY_15MIN, now - 7200, now, "served",
                                      "8 intervals", 8)]


def test_a_consent_for_other_categories_only_does_not_open_the_energy_data(pair):
    pair.grant(scope=SCOPE_POWER_1S)

    assert _refusal(pair).status == 403


def test_after_revocation_the_next_request_is_refused(pair):
    grant_id = pair.grant()
    assert len(_fetch(pair)) == 8

    pair.revoke(grant_id)

    refusal = _refusal(pair)
    assert (refusal.status, str(refusal)) == (403, NOT_ALLOWED)
    assert [access.outcome for access in pair.accesses()] == ["refused", "served"]


def test_with_the_chain_stopped_the_subjects_node_serves_nothing(make_pair):
    chain = EmbeddedAnvil(AnvilSettings(port=STOPPABLE_ANVIL_PORT))
    chain.start()
    try:
        pair = make_pair(chain)
        pair.grant()
        assert len(_fetch(pair)) == 8
    finally:
        chain.stop()

    refusal = _refusal(pair)

    assert refusal.status == 503
    assert "the chain is unreachable" in str(refusal)
    assert pair.accesses()[0].outcome == "refused"


def test_the_consents_page_shows_the_fetched_intervals_beside_the_households_own(pair):
    pair.grant()
    set_password(pair.recipient.config, PASSWORD)
    client = create_app({"TESTING": True}, services=pair.recipient).test_client()
    client.post("/auth/login", data={"password": PASSWORD, "csrf_token": csrf_token(client)})
    day = datetime.fromtimestamp(pair.clock.now, pair.recipient.timezone).date()
    midnight = int(datetime.combine(day, datetime.min.time(), pair.recipient.timezone).timestamp())

    response = client.post("/consents/fetch", data={"subject": SUBJECT.address, "from": day.isoformat(),
                                                     "to": day.isoformat(), "csrf_token": csrf_token(client, "/now/")})

    page = response.get_data(as_text=True)
    chart = json.loads(re.search(r"data-chart='([^']+)'", page).group(1))
    stored = pair.stored(midnight, int(pair.clock.now))
    assert response.status_code == 200
    assert chart["peer"] == [row["import_wh"] for row in stored]
    assert [value is not None for value in chart["peer"]].count(True) == 12  # the subject's three metered hours
    assert chart["mine"] == [None] * len(stored)  # the recipient's own meter has no readings
    assert "Their node did not share" not in page
    assert (pair.accesses()[0].outcome, pair.accesses()[0].rows) == ("served", len(stored))


# -- signed requests --------------------------------------------------------------------------


def test_the_same_signed_request_sent_twice_is_refused_as_a_replay(pair):
    pair.grant()
    body = pair.signed()

    first, second = pair.post(body), pair.post(body)

    assert first.status_code == 200
    assert (second.status_code, second.json()) == (409, {"error": "replayed request"})
    assert [(a.outcome, a.detail) for a in pair.accesses()] == [("refused", "replayed request"), ("served", "8 intervals")]


def test_an_expired_request_is_refused_with_401(pair):
    pair.grant()

    answer = pair.post(pair.signed(expiry=int(pair.clock.now) - 1))

    assert (answer.status_code, answer.json()) == (401, {"error": "request expired"})
    assert pair.accesses()[0].detail == "request expired"


def test_a_request_signed_by_another_key_than_the_recipients_is_refused_with_401(pair):
    pair.grant()

    answer = pair.post(pair.signed(signer=STRANGER))

    assert (answer.status_code, answer.json()) == (401, {"error": "the signature is not the recipient's"})
    assert pair.accesses()[0].requester == RECIPIENT.address


def test_a_request_for_another_members_data_is_refused_with_404(pair):
    answer = pair.post(pair.signed(subject=STRANGER.address))

    assert (answer.status_code, answer.json()) == (404, {"error": "this node serves only its own member's data"})


@pytest.mark.parametrize("changes, message", [
    ({"expiry": "now+301"}, "expiry must be at most 300 s ahead of the node's time"),
    ({"scope": SCOPE_ENERGY_15MIN | SCOPE_POWER_1S}, "this node serves scope energy_15min (1) only"),
    ({"to_time": "from"}, "toTime must be later than fromTime"),
    ({"from_time": "32 days ago"}, "ask for at most 31 days at a time"),
    ({"to_time": "2 days ahead"}, "toTime is more than a day after the node's time: there is no data yet"),
])
def test_a_request_out_of_bounds_is_refused_with_400_and_logged(pair, changes, message):
    now = int(pair.clock.now)
    moments = {"now+301": now + 301, "from": now - 7200, "32 days ago": now - 32 * DAY, "2 days ahead": now + 2 * DAY}
    changes = {name: moments.get(value, value) for name, value in changes.items()}

    answer = pair.post(pair.signed(**changes))

    assert (answer.status_code, answer.json()) == (400, {"error": message})
    assert (pair.accesses()[0].outcome, pair.accesses()[0].detail) == ("refused", message)


@pytest.mark.parametrize("body, message", [
    ("not json", 'send JSON {"request": {...DataRequest fields}, "signature": "0x..."}'),
    ({"request": {}}, 'send JSON {"request": {...DataRequest fields}, "signature": "0x..."}'),
    ({"request": {"recipient": RECIPIENT.address, "subject": SUBJECT.address, "scope": 1, "fromTime": 2**64 - 2,
                  "toTime": 2**64 - 1, "nonce": "0x" + "00" * 32, "expiry": 2**64 - 1}, "signature": "0x"},
     "`fromTime` must be a whole number from 0 to 253402300799"),
    ({"request": {"recipient": RECIPIENT.address}, "signature": "0x"},
     "`request` must have exactly the fields expiry, fromTime, nonce, recipient, scope, subject, toTime"),
])
def test_a_malformed_request_is_refused_with_400_and_logged_with_any_requester_it_names(pair, body, message):
    answer = pair.post(body)

    assert (answer.status_code, answer.json()) == (400, {"error": message})
    access = pair.accesses()[0]
    assert (access.requester, access.outcome, access.detail) == (
        RECIPIENT.address if isinstance(body, dict) and "signature" in body else None, "refused", message)


def test_a_signature_that_is_not_hex_is_refused_with_400(pair):
    body = {**pair.signed(), "signature": "0xzz"}

    answer = pair.post(body)

    assert (answer.status_code, answer.json()) == (400, {"error": "`signature` must be 0x and 130 hex digits (65 bytes)"})


# -- the client -------------------------------------------------------------------------------


def test_fetching_from_a_member_whose_node_is_unknown_names_the_config_key(pair):
    with pytest.raises(NotAvailable, match=f'set dapp.peers."{STRANGER.address}"'):
        fetch_readings(pair.recipient, STRANGER.address, 0, 900)


def test_fetching_without_the_node_key_says_it_needs_the_node(pair):
    keyless = dataclasses.replace(pair.recipient, signer=None)

    with pytest.raises(NotAvailable, match="runs without the node key; fetching needs `gridcommons node run`"):
        fetch_readings(keyless, SUBJECT.address, 0, 900)
