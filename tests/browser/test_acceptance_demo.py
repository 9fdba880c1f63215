"""Acceptance: `gridcommons demo run` (what `make demo` runs) brings up the five-household community,
headless, and it lives: intervals settle to the reference allocation, a producer's surplus becomes a
certificate a neighbour buys, a consent is granted, used and revoked, the prosumer's battery relay
switches, forecasts are made; Ctrl-C stops it cleanly and a second run resumes the same community.

Everything goes through the real programs: the demo's own processes, Chromium on the DApps, and the
chain for checking. The Now page's screenshot is .screenshots/demo-now.png."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from browserkit import login, screenshot, wait_until
from nodekit import reference_balances

from node.chain.client import connect
from node.chain.contracts import CommunityContracts, load_abis
from node.chain.deployment import Deployment
from node.chain.devnet import MANIFEST, dev_account
from node.demo.households import HOUSEHOLDS
from node.demo.run import dapp_answers

ROOT = Path(__file__).parents[2]
CHAIN_PORT = 18850
FIRST_DAPP_PORT = 18851
STARTED = "The community is running"


class DemoHousehold:
    """One household of the running demo, as its operator meets it: URL and login."""

    def __init__(self, name: str, index: int, password: str):
        self.name = name
        self.account = dev_account(next(h.account_index for h in HOUSEHOLDS if h.name == name))
        self.url = f"http://127.0.0.1:{FIRST_DAPP_PORT + index}"
        self.password = password


class RunningDemo:
    """`gridcommons demo run` as a child process, its output kept for the assertions."""

    def __init__(self, root: Path, *extra: str):
        self.output_path = root.parent / f"demo-{len(list(root.parent.glob('demo-*.out')))}.out"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "node.cli", "demo", "run", "--dir", str(root), "--chain-port", str(CHAIN_PORT),
             "--first-dapp-port", str(FIRST_DAPP_PORT), *extra],
            cwd=ROOT, stdout=open(self.output_path, "w"), stderr=subprocess.STDOUT,
        )

    @property
    def output(self) -> str:
        return self.output_path.read_text()

    def wait_started(self) -> None:
        assert wait_until(lambda: STARTED in self.output or self.process.poll() is not None, 180), self.output
        assert self.process.poll() is None, self.output

    def interrupt(self) -> int:
        """Ctrl-C, as in a terminal; the demo's exit code."""
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(90)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo") / "community"
    running = RunningDemo(root)
    try:
        running.wait_started()
        yield root, running
    finally:
        if running.process.poll() is None:
            running.interrupt()


def _households(root: Path) -> dict[str, DemoHousehold]:
    logins = json.loads((root / "logins.json").read_text())
    return {h.name: DemoHousehold(h.name, i, logins[h.name]) for i, h in enumerate(HOUSEHOLDS)}


def _contracts(root: Path) -> CommunityContracts:
    record = Deployment(**json.loads((root / "demo.json").read_text())["deployment"])
    return CommunityContracts(connect(f"http://127.0.0.1:{CHAIN_PORT}"), record, load_abis(MANIFEST))


def test_demo_community_lives_stops_cleanly_and_resumes(demo, browser):
    root, running = demo
    households = _households(root)
    contracts = _contracts(root)
    community, certificates = contracts["Community"], contracts["EnergyCertificate"]
    assert (root / "logins.json").stat().st_mode & 0o777 == 0o600
    for household in households.values():
        assert f"{household.url}   password {household.password}" in running.output

    # A producer's surplus is certified and offered by its node, and a neighbour buys it in the DApp.
    listed = certificates.events.CertificateListed
    assert wait_until(lambda: listed.get_logs(from_block=0), 120), "no certificate was minted and listed"
    token_id = listed.get_logs(from_block=0)[0].args.tokenId
    buyer = login(browser, households["bakker"], password=households["bakker"].password)
    buyer.on("dialog", lambda dialog: dialog.accept())
    assert wait_until(lambda: buyer.goto(households["bakker"].url + "/market/") and
                      buyer.query_selector(f"#listing-{token_id}") is not None, 60)
    buyer.click(f"#listing-{token_id} >> text=Buy")
    buyer.wait_for_selector("#activity ~ .table-wrap [data-state=confirmed]", timeout=60_000)
    assert certificates.functions.ownerOf(token_id).call() == households["bakker"].account.address

    # visser lets de-vries read its 15-minute energy; de-vries' node fetches it; visser revokes.
    _consent_is_granted_used_and_revoked(browser, households["visser"], households["de-vries"], contracts)

    # The prosumer's battery rule switched its relay (the battery starts nearly empty).
    relays = {r["name"]: r for r in json.loads((root / "smit" / "data" / "status.json").read_text())["relays"]}
    assert relays["community-supply"]["on"] is True
    assert "battery" in relays["community-supply"]["reason"]
    assert "smit: relay community-supply ON" in running.output

    # A forecast of the next 24 hours, learned from the household's three weeks of history.
    forecast_page = login(browser, households["smit"], password=households["smit"].password)
    forecast_page.goto(households["smit"].url + "/forecast/api/forecast")
    forecast = json.loads(forecast_page.inner_text("body"))
    mine = forecast["mine"]
    assert len(mine["consumption"]["expected"]) == 24 and len(mine["production"]["expected"]) == 24
    assert all(wh is not None and wh > 0 for wh in mine["consumption"]["expected"])
    assert "no history" not in mine["consumption"]["method"]
    assert mine["consumption"]["low"][0] <= mine["consumption"]["expected"][0] <= mine["consumption"]["high"][0]

    # Several intervals settled, and every member's balance is what the reference allocation gives.
    assert wait_until(lambda: len(community.events.IntervalSettled.get_logs(from_block=0)) >= 3, 120)
    _balances_match_the_reference(contracts)

    now = login(browser, households["smit"], password=households["smit"].password)
    now.goto(households["smit"].url + "/now/")
    now.wait_for_function("document.querySelector('[data-live=status]').textContent.includes('meter reading of')")
    screenshot(now, "demo-now")

    last_settled = community.functions.lastSettledInterval().call()
    assert running.interrupt() == 0
    assert "stopped; the state is in" in running.output
    assert not dapp_answers(households["smit"].url)

    resumed = RunningDemo(root)
    try:
        resumed.wait_started()
        assert "resuming the demo community" in resumed.output
        assert households["smit"].password in resumed.output
        resumed_community = _contracts(root)["Community"]
        assert wait_until(lambda: resumed_community.functions.lastSettledInterval().call() > last_settled, 90), \
            "the resumed community settled nothing new"
        assert resumed_community.functions.isSettled(last_settled).call() is True
        assert resumed.interrupt() == 0
    finally:
        if resumed.process.poll() is None:
            resumed.interrupt()


def _consent_is_granted_used_and_revoked(browser, subject, recipient, contracts) -> None:
    registry = contracts["ConsentRegistry"]
    owner = login(browser, subject, password=subject.password)
    owner.on("dialog", lambda dialog: dialog.accept())
    owner.goto(subject.url + "/consents/")
    owner.select_option("select[name=recipient]", recipient.account.address)
    owner.click("text=Give consent")
    owner.wait_for_selector("[data-action-id][data-state=confirmed]", timeout=60_000)
    grant_id = registry.events.ConsentGranted.get_logs(from_block=0)[-1].args.grantId

    reader = login(browser, recipient, password=recipient.password)
    fetch = f"form:has(input[name=subject][value='{subject.account.address}']) >> text=Fetch data"
    assert wait_until(lambda: reader.goto(recipient.url + "/consents/") and reader.query_selector(fetch) is not None, 60)
    reader.click(fetch)
    reader.wait_for_load_state()
    assert "Their import" in reader.inner_text("main")

    owner.goto(subject.url + "/consents/")
    owner.click("text=Revoke")
    assert wait_until(lambda: not registry.functions.isLive(grant_id).call(), 60), "the revocation never reached the chain"
    reader.goto(recipient.url + "/consents/")
    if reader.query_selector(fetch) is not None:  # its mirror may still list the consent: the subject refuses
        reader.click(fetch)
        reader.wait_for_load_state()
        assert "Their node did not share the data" in reader.inner_text("main")


def _balances_match_the_reference(contracts: CommunityContracts) -> None:
    community = contracts["Community"]
    block = contracts.w3.eth.block_number
    settled = [e.args.interval for e in community.events.IntervalSettled.get_logs(from_block=0, to_block=block)]
    readings = community.events.ReadingSubmitted.get_logs(from_block=0, to_block=block)
    roles = {}
    for member_id in range(1, community.functions.memberCount().call() + 1):
        _account, _meter, producer, consumer, *_ = community.functions.memberProfile(member_id).call()
        roles[member_id] = (producer, consumer)
    expected = reference_balances(readings, settled, roles)
    actual = {m: community.functions.memberLedger(m).call(block_identifier=block)[0] for m in roles}
    assert actual == expected

