"""A node in two communities, each on its own anvil chain, at 60 % and 40 %: every interval's shares
reach both contracts exactly once, and a second chain that is down for a while holds up neither
the first community nor its own readings, which go out in order once it is back."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import asdict
from datetime import datetime, timezone

import pytest
from node.chain.devnet import INTERVAL, LocalCommunity, dev_account
from nodekit import ENV, wait_until

from node.chain.anvil import AnvilSettings, EmbeddedAnvil
from node.chain.client import connect
from node.chain.timekeeper import ChainTimeKeeper
from node.runtime.clock import SimulatedClock
from node.runtime.devnode import write_dev_node
from node.runtime.node import NodeRuntime
from node.store.store import MeterStore, StoreSettings
from node.submit.outbox import MISSED, Outbox

FACTOR = 120.0  # a 15-minute interval in 7.5 s
PRIMARY_PORT, SECOND_PORT = 18601, 18602
MEMBER = 1  # the household is the only member of both communities
METER = 'source = "simulator"\nprofile = "prosumer"\nseed = 5\nevery_seconds = 10'


class FollowedTime:
    """One accelerated clock that drags several chains' clocks along (tolerating a dead chain)."""

    def __init__(self, chains, start: float):
        self.clock = SimulatedClock(FACTOR, start, time.time())
        self.keepers = [ChainTimeKeeper(w3, self.clock) for w3 in chains]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep, daemon=True)
        self._thread.start()

    def _keep(self) -> None:
        while not self._stop.wait(0.1):
            for keeper in self.keepers:
                try:
                    keeper.step()
                except Exception:
                    keeper.set_to = None  # the chain is down; set it again once it answers

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture
def chains(tmp_path):
    """The primary community's chain, and a second one that the test may stop and start again."""
    primary = EmbeddedAnvil(AnvilSettings(port=PRIMARY_PORT))
    second = EmbeddedAnvil(AnvilSettings(port=SECOND_PORT, state_file=tmp_path / "second-chain-state.json"))
    primary.start()
    try:
        second.start()
        yield primary, second
    finally:
        second.stop()
        primary.stop()


def communities_at_noon(chains):
    """A community on each chain with the household as its member, the chains' clocks at the same noon."""
    webs = [connect(chain.url) for chain in chains]
    latest = max(w3.eth.get_block("latest")["timestamp"] for w3 in webs)
    noon = (latest // 86400 + 1) * 86400 + 11 * 3600
    for w3 in webs:
        w3.provider.make_request("evm_setTime", [noon])
        w3.provider.make_request("evm_mine", [])
    communities = [LocalCommunity(w3) for w3 in webs]
    for community in communities:
        community.admit(dev_account(MEMBER).address, True, True)
    return webs, communities, max(w3.eth.get_block("latest")["timestamp"] for w3 in webs)


def readings(url: str, community) -> dict[int, list[tuple[int, int]]]:
    """(import Wh, export Wh) of each interval's ReadingSubmitted events, as the chain at `url` has them."""
    contract = connect(url).eth.contract(address=community.contracts["Community"].address,
                                         abi=community.contracts["Community"].abi)
    found: dict[int, list[tuple[int, int]]] = {}
    for log in contract.events.ReadingSubmitted().get_logs(from_block=0, argument_filters={"memberId": MEMBER}):
        found.setdefault(log.args.interval, []).append((log.args.importWh, log.args.exportWh))
    return found


def test_a_node_at_60_and_40_percent_puts_each_share_on_both_chains_once_though_the_second_was_down(chains, tmp_path):
    primary_chain, second_chain = chains
    (w3, _), (primary, second), now = communities_at_noon(chains)
    followed = FollowedTime([w3, connect(second_chain.url)], now)
    home = tmp_path / "home"
    config = write_dev_node(
        home, "home", dev_account(MEMBER), primary.deployment, primary_chain.url, METER, followed.clock,
        settle_patience=1800, chain="participation_percent = 60\n",
        extra=f'[[participation]]\nname = "oststrom"\nrpc = "{second_chain.url}"\n'
              'deployment = "oststrom-deployment.json"\nparticipation_percent = 40\n',
    )
    (home / "oststrom-deployment.json").write_text(json.dumps(asdict(second.deployment)))
    runtime = NodeRuntime(config, env=ENV, backoff=(0.5, 1.0))
    second_outbox = config.participation_outbox_path("oststrom")
    on_primary = lambda: readings(primary_chain.url, primary)  # noqa: E731
    on_second = lambda: readings(second_chain.url, second)  # noqa: E731
    runtime.start()
    try:
        assert wait_until(lambda: on_primary() and on_second(), timeout=60)
        second_chain.stop()
        down_from = int(followed.clock()) // INTERVAL
        primary_before = len(on_primary())
        time.sleep(4.2 * INTERVAL / FACTOR)
        depth_while_down = Outbox(second_outbox).depth()
        primary_while_down = len(on_primary())
        submit_restarts = next(p for p in runtime.parts if p.name == "submit:oststrom").status.restarts
        second_chain.start()
        last = int(followed.clock()) // INTERVAL - 1
        assert wait_until(lambda: last in on_second() and last in on_primary(), timeout=90)
    finally:
        runtime.stop()
        followed.stop()

    assert depth_while_down >= 3  # the second community's readings kept queueing while its chain was down
    assert primary_while_down - primary_before >= 3  # and the first community's went on meanwhile
    assert submit_restarts >= 1
    assert {part.name: part.status.restarts for part in runtime.parts if part.name != "submit:oststrom"} == {
        part.name: 0 for part in runtime.parts if part.name != "submit:oststrom"
    }
    got_primary, got_second = on_primary(), on_second()
    first = max(min(got_primary), min(got_second))
    intervals = range(first, last + 1)
    assert last - down_from >= 3  # intervals that closed while the second chain was down
    assert Counter(len(got_primary[i]) for i in intervals) == Counter({1: len(intervals)})
    assert Counter(len(got_second[i]) for i in intervals) == Counter({1: len(intervals)})
    assert sorted(got_second) == list(range(min(got_second), max(got_second) + 1))  # in order, none skipped
    store = MeterStore(config.store_path, StoreSettings(interval=INTERVAL))
    try:
        measured = {
            int(energy.start.timestamp()) // INTERVAL: (energy.import_wh, energy.export_wh)
            for energy in store.interval_energy(_utc(first * INTERVAL), _utc((last + 1) * INTERVAL))
        }
    finally:
        store.close()
    shares = {i: (got_primary[i][0], got_second[i][0]) for i in intervals}
    assert {i: (a[0] + b[0] <= measured[i][0], a[1] + b[1] <= measured[i][1]) for i, (a, b) in shares.items()} == {
        i: (True, True) for i in intervals
    }
    assert shares == {
        i: ((m[0] * 6 // 10, m[1] * 6 // 10), (m[0] * 4 // 10, m[1] * 4 // 10)) for i, m in measured.items()
    }
    assert sum(m[0] + m[1] for m in measured.values()) > 0
    assert [Outbox(path).count(MISSED) for path in (config.outbox_path, second_outbox)] == [0, 0]


def _utc(unix: int) -> datetime:
    return datetime.fromtimestamp(unix, timezone.utc)
