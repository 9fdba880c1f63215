"""Browser tests: two households' nodes (producer and consumer) run for real against anvil, with
accelerated time and their DApps on local ports; Debian's Chromium drives the DApps through Playwright.

Screenshots of every page go to .screenshots/ (desktop and phone sizes)."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

sys.path.insert(0, str(Path(__file__).parents[1] / "node"))

from browserkit import PASSWORD  # noqa: E402
from nodekit import ENV, KeptTime, wait_until  # noqa: E402

from dapp.cli import set_password  # noqa: E402
from node.chain.anvil import AnvilSettings, EmbeddedAnvil  # noqa: E402
from node.chain.client import connect  # noqa: E402
from node.chain.devnet import LocalCommunity, dev_account  # noqa: E402
from node.demo.run import dapp_answers  # noqa: E402
from node.runtime.devnode import write_dev_node  # noqa: E402
from node.runtime.node import NodeRuntime  # noqa: E402

ANVIL_PORT = 18750
CHROMIUM = "/usr/bin/chromium"
TIME_FACTOR = 60.0  # a 15-minute interval passes in 15 s
DAY = 86400
# Chromium as root in a container, on a machine whose network is closed.
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--metrics-recording-only", "--mute-audio",
]
HOUSEHOLDS = {
    # name: (dev account, profile, producer, consumer, DApp port)
    "producer": (1, "producer", True, False, 18751),
    "consumer": (2, "consumer", False, True, 18752),
}
# The consumer has a battery and a relay that switches the house to the community when it runs low.
RELAYS = {
    "consumer": """
[battery]
source = "simulator"
soc_pct = 50

[relays.community-supply]
pin = 17
rule = "battery"
low_pct = 20
high_pct = 80
min_on_s = 0
min_off_s = 0
""",
}


class Household:
    """One running node with its DApp."""

    def __init__(self, name: str, account, runtime: NodeRuntime, url: str):
        self.name = name
        self.account = account
        self.runtime = runtime
        self.url = url


@pytest.fixture(scope="session")
def households(tmp_path_factory):
    # Whatever fails half-way, the chain and every started node stop: a leftover anvil would hold the port.
    with EmbeddedAnvil(AnvilSettings(port=ANVIL_PORT)) as anvil, contextlib.ExitStack() as running:
        w3 = connect(anvil.url)
        latest = w3.eth.get_block("latest")["timestamp"]
        start = (latest // DAY + 1) * DAY + 11 * 3600  # 11:00 UTC: the producer's panels produce
        w3.provider.make_request("evm_setNextBlockTimestamp", [start])
        w3.provider.make_request("evm_mine", [])
        community = LocalCommunity(w3)
        kept = KeptTime(w3, start, factor=TIME_FACTOR)
        running.callback(kept.stop)
        made = _households(tmp_path_factory.mktemp("households"), community, anvil.url, kept.clock)
        for household in made.values():
            household.runtime.start()
            running.callback(household.runtime.stop)
        for household in made.values():
            assert wait_until(lambda: dapp_answers(household.url), 30), f"{household.name}'s DApp never answered"
        yield made


def _households(root, community, rpc: str, clock) -> dict[str, Household]:
    made = {}
    for name, (index, profile, producer, consumer, port) in HOUSEHOLDS.items():
        account = dev_account(index)
        community.admit(account.address, producer, consumer)
        token = community.contracts["EnergyToken"]
        community.send(token.functions.issue(account.address, 10 * 10**18, b"\x00" * 32))
        peers = "\n".join(
            f'"{dev_account(other[0]).address}" = "http://127.0.0.1:{other[4]}"'
            for other_name, other in HOUSEHOLDS.items() if other_name != name
        )
        config = write_dev_node(
            root / name, name, account, community.deployment, rpc,
            f'source = "simulator"\nprofile = "{profile}"\nseed = {index}\nevery_seconds = 10',
            clock, settle_patience=900, dapp=f"port = {port}\n\n[dapp.peers]\n{peers}",
            extra=RELAYS.get(name, ""),
        )
        set_password(config, PASSWORD)
        runtime = NodeRuntime(config, env=ENV, pin_factory=MockFactory(), backoff=(0.5, 1.0))
        made[name] = Household(name, account, runtime, f"http://127.0.0.1:{port}")
    return made


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
