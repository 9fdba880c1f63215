"""Nodes as `gridcommons node run` runs them, for tests: config files, accelerated time, references."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict

from chainkit import MANIFEST, PREPAID, PRICE_PER_KWH, dev_account
from eth_account import Account

from node import config as node_config
from node.allocation import AllocationKey
from node.chain.timekeeper import ChainTimeKeeper
from node.runtime.clock import SimulatedClock
from node.settlement import MemberInterval, settle_interval

PASSPHRASE = "correct horse battery staple"
ENV = {"GRIDCOMMONS_NODE_PASSPHRASE": PASSPHRASE}


def write_node(directory, name, account_index, profile, deployment, rpc, clock: SimulatedClock, seed,
               settle_patience=120, extra="") -> node_config.NodeConfig:
    """A node folder like `gridcommons init` makes, with the dev account's key in its keystore."""
    directory.mkdir()
    keystore = directory / "node-key.json"
    keystore.write_text(json.dumps(Account.encrypt(dev_account(account_index).key, PASSPHRASE)))
    keystore.chmod(0o600)
    (directory / "deployment.json").write_text(json.dumps(asdict(deployment)))
    (directory / "node.toml").write_text(
        f"""
[node]
name = "{name}"
data_dir = "data"

[chain]
rpc = "{rpc}"
deployment = "deployment.json"
manifest = "{MANIFEST}"
keystore = "node-key.json"
poll_seconds = 0.2
settle_patience = {settle_patience}

[meter]
source = "simulator"
profile = "{profile}"
seed = {seed}
every_seconds = 10

[clock]
time_factor = {clock.factor}
start = {clock.start}
wall_start = {clock.wall_start}
{extra}
"""
    )
    return node_config.load(directory / "node.toml")


class KeptTime:
    """Accelerated time with a thread that drags the chain's clock along (tolerating a dead chain)."""

    def __init__(self, w3, start: float, factor: float):
        self.clock = SimulatedClock(factor, start, time.time())
        self.keeper = ChainTimeKeeper(w3, self.clock)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep, daemon=True)
        self._thread.start()

    def _keep(self) -> None:
        while not self._stop.wait(0.1):
            try:
                self.keeper.step()
            except Exception:
                self.keeper.set_to = None  # the chain is down; set it again once it answers

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def wait_until(predicate, timeout: float, every: float = 0.25) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return predicate()


def reference_balances(readings, settled, roles: dict[int, tuple[bool, bool]]) -> dict[int, int]:
    """Replay every settled interval through node.settlement, from the prepaid balances."""
    balances = {member_id: PREPAID for member_id in roles}
    by_interval: dict[int, list] = {}
    for r in readings:
        by_interval.setdefault(r.args.interval, []).append(r.args)
    for interval in sorted(settled):
        members = [
            MemberInterval(a.memberId, a.importWh, a.exportWh, *roles[a.memberId], balance=balances[a.memberId])
            for a in by_interval.get(interval, [])
        ]
        for member in settle_interval(AllocationKey.PRORATA, PRICE_PER_KWH, members).members:
            balances[member.member_id] += member.token_delta
    return balances


def chain_record(contract):
    """(settled intervals, ReadingSubmitted logs) as the chain has them."""
    settled = [e.args.interval for e in contract.events.IntervalSettled().get_logs(from_block=0)]
    return settled, contract.events.ReadingSubmitted().get_logs(from_block=0)
