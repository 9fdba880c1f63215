"""The demo community on a real Proof-of-Authority network: each household's node runs its own geth
Clique validator on this machine, in real time, with 60 s intervals.

A fresh start goes as a new community's would: the five validators are the households' node
accounts from the genesis; the nodes start (each starting its geth) before the community exists and
wait, with backoff, for its deployment record; an admin key of this run only, funded in the
genesis, deploys through one validator once they all have their peers, admits the five and hands
each node the record. After that the admin is gone and the validators run the community.

    .demo-network/genesis.json        the chain's genesis (each node folder holds a copy)
    .demo-network/<household>/data/chain/   that household's geth data directory: its copy of the chain
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from eth_account import Account
from web3 import Web3

from node.chain.client import connect
from node.chain.deployment import Deployment
from node.chain.devnet import LocalCommunity, dev_account
from node.chain.genesis import NetworkSpec, genesis
from node.chain.geth import enode_of, ensure_node_key
from node.demo.community import (
    HISTORY_DAYS, DemoError, DemoFiles, DemoState, admit_household, check_chain, furnish_household,
)
from node.demo.households import HOUSEHOLDS, DemoHousehold
from node.demo.run import Demo, DemoSettings, dapp_table, serial_meter_table
from node.runtime.devnode import DEV_PASSPHRASE, write_dev_config

NETWORK = "ethereum:community:demo-network"  # the deployment record's network name
ETHER = 10**18
HOUSEHOLD_FUNDS = 100 * ETHER  # gas for years of readings, from the genesis
ADMIN_FUNDS = 10_000 * ETHER  # the admin also gives each new member 1 ETH
RESET = "make demo-network-reset"


@dataclass(frozen=True)
class NetworkDemoSettings(DemoSettings):
    """Where the five validators listen, and the community's pace (real time)."""

    root: Path = Path(".demo-network")
    chain_port: int = 8641  # de-vries' geth JSON-RPC; the other four on the ports after it
    first_p2p_port: int = 30341
    first_dapp_port: int = 8091
    time_factor: float = 1.0
    block_period: int = 2  # Clique: seconds between blocks
    interval: int = 60  # the community's settlement interval, seconds
    grace: int = 10  # seconds after an interval's end for late readings
    settle_patience: float = 45.0  # a node settles without a silent neighbour's reading after this long
    poll_seconds: float = 1.0  # half a block: a node sees each new block
    chain_id: int = 4_242_060
    node_stop_s: float = 45.0  # a node stops its geth (up to 30 s) before it exits

    def rpc_url(self, household: DemoHousehold) -> str:
        return f"http://{self.host}:{self.chain_port + HOUSEHOLDS.index(household)}"

    def p2p_port(self, household: DemoHousehold) -> int:
        return self.first_p2p_port + HOUSEHOLDS.index(household)


class NetworkFiles(DemoFiles):
    """The `.demo-network/` folder: the demo's files, with a genesis instead of anvil's state."""

    @property
    def genesis(self) -> Path:
        return self.root / "genesis.json"

    def node_key(self, household: DemoHousehold) -> Path:
        """geth's peer-to-peer key, where the node's geth (data/chain) keeps it."""
        return self.node_dir(household) / "data" / "chain" / "geth" / "nodekey"


class NetworkDemo(Demo):
    """`make demo`'s community on five geth validators: `start()`, `watch(stopped)`, `stop()`."""

    port_options = "--chain-port/--first-p2p-port/--first-dapp-port"

    def __init__(self, settings: NetworkDemoSettings, say: Callable[[str], None] = print,
                 wall: Callable[[], float] = time.time, interrupted: threading.Event | None = None):
        super().__init__(settings, say, wall)
        self.files = NetworkFiles(settings.root)
        self.interrupted = interrupted or threading.Event()  # Ctrl-C while starting: stop waiting

    # -- starting -------------------------------------------------------------------------

    def start(self) -> None:
        self._check_ports()
        resuming = self._open_folder()
        self.clock = self.wall
        admin = None
        if resuming:
            if not self.files.genesis.is_file():  # e.g. `make demo`'s folder: its node.toml files stay as they are
                raise DemoError(f"{self.files.root}/ holds a demo without validators (no genesis.json): choose another"
                                f" --dir, or start afresh with `{RESET}`")
            self.state = self.files.read_state()
            self.say(f"resuming the demo community in {self.files.root}/ on its five validators")
        else:
            admin = Account.create()  # this run's only: once the five are admitted, nothing needs it
            self.say(f"creating a demo community on five geth validators in {self.files.root}/")
            self._write_households(admin.address)
        s = self.settings
        self.say(f"  starting the five nodes, each with its geth validator (JSON-RPC on {s.host}:{s.chain_port}-"
                 f"{s.chain_port + len(HOUSEHOLDS) - 1}, peer-to-peer on {s.first_p2p_port}-"
                 f"{s.p2p_port(HOUSEHOLDS[-1])})")
        self._start_meters_and_nodes()
        w3 = self._wait_for_validators()
        if w3 is None:
            return
        if resuming:
            check_chain(w3, self.state, reset=RESET)
        else:
            self.state = self._found_community(admin)
            if self.state is None:
                return
        self._wait_for_dapps()
        self._narrator = self._make_narrator(w3)

    def _ports(self) -> list[int]:
        s = self.settings
        return [port for h in HOUSEHOLDS
                for port in (s.chain_port + HOUSEHOLDS.index(h), s.p2p_port(h), s.dapp_port(h))]

    def _write_households(self, admin: str) -> None:
        """The genesis, and each household's node folder: keystore, geth's node key, genesis, history, password."""
        s = self.settings
        accounts = [dev_account(h.account_index) for h in HOUSEHOLDS]
        spec = NetworkSpec(
            "clique", tuple(a.address for a in accounts), s.block_period, s.chain_id,
            tuple((a.address, HOUSEHOLD_FUNDS) for a in accounts) + ((admin, ADMIN_FUNDS),),
        )
        text = json.dumps(genesis(spec), indent=2)
        self.files.genesis.write_text(text)
        self.say(f"  wrote the genesis: Clique, a block every {s.block_period} s, the five node accounts as validators")
        self.say(f"  writing each household's {HISTORY_DAYS} days of meter history")
        start = self.wall()
        logins = {}
        for household, account in zip(HOUSEHOLDS, accounts):
            directory = self.files.node_dir(household)
            directory.mkdir()
            keystore = directory / "node-key.json"
            keystore.write_text(json.dumps(Account.encrypt(account.key, DEV_PASSPHRASE)))
            keystore.chmod(0o600)
            (directory / "genesis.json").write_text(text)
            self.files.node_key(household).parent.parent.mkdir(parents=True, mode=0o700)  # as geth's own folder
            ensure_node_key(self.files.node_key(household))
            logins[household.name] = furnish_household(directory, household, start)
        self.files.write_logins(logins)

    def _write_config(self, household: DemoHousehold, device: str) -> None:
        s = self.settings
        peers = [self._enode(other) for other in HOUSEHOLDS if other != household]
        chain = (f'client = "geth"\ngenesis = "genesis.json"\np2p_host = "{s.host}"\n'
                 f"p2p_port = {s.p2p_port(household)}\npeers = {json.dumps(peers)}\n")
        write_dev_config(
            self.files.node_dir(household), household.name, s.rpc_url(household), serial_meter_table(device),
            poll_seconds=s.poll_seconds, settle_patience=s.settle_patience, chain=chain,
            dapp=dapp_table(s, household), extra=household.extra_config, pins="mock",
        )

    def _enode(self, household: DemoHousehold) -> str:
        key = ensure_node_key(self.files.node_key(household))
        return enode_of(key, self.settings.host, self.settings.p2p_port(household))

    def _wait_for_validators(self, timeout: float = 180) -> Web3 | None:
        """A connection to the first validator once every geth answers with all four others as peers
        (contracts deployed before that could be sealed on a fork and lost); None if interrupted."""
        deadline = self.wall() + timeout
        urls = {h.name: self.settings.rpc_url(h) for h in HOUSEHOLDS}
        while not self.interrupted.wait(0.5):
            self._refuse_dead_nodes()
            waiting = [name for name, url in urls.items() if (peer_count(url) or 0) < len(HOUSEHOLDS) - 1]
            if not waiting:
                return connect(urls[HOUSEHOLDS[0].name])
            if self.wall() > deadline:
                raise DemoError(f"the validators of {', '.join(waiting)} did not connect to all their peers within"
                                f" {timeout:.0f} s: see <household>/data/geth.log in {self.files.root}/")
        return None

    def _found_community(self, admin) -> DemoState | None:
        """Deploy and admit the five, then hand every node the record; None if interrupted."""
        s = self.settings
        first = HOUSEHOLDS[0]
        self.say(f"  deploying the contracts through the {first.name} validator ({s.interval} s intervals,"
                 f" {s.grace} s grace)")
        # Its own connection: the admin's signing middleware stays out of the narrator's.
        community = PipelinedCommunity(connect(s.rpc_url(first)), network=NETWORK, admin=admin,
                                       interval=s.interval, grace=s.grace)
        if self.interrupted.is_set():
            return None
        for household in HOUSEHOLDS:
            admit_household(community, household)
        community.confirm()
        for household in HOUSEHOLDS:
            self.say(f"  admitted {household.name} ({household.description})")
        for household in HOUSEHOLDS:
            hand_over(community.deployment, self.files.node_dir(household) / "deployment.json")
        self.say("  handed each node the deployment record")
        state = DemoState(s.time_factor, self.wall(), asdict(community.deployment))
        self.files.write_state(state)
        return state

    def _pace(self) -> str:
        s = self.settings
        return (f"Real time: a {s.interval} s interval every minute, a block every {s.block_period} s sealed in turn by"
                f" the five validators. Ctrl-C stops; `make demo-network` resumes, `{RESET}` starts afresh.")

    # -- stopping -------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop the nodes (each stops its geth); then make sure no geth of this demo is left."""
        super().stop()
        stop_validators(self.files.root)


class PipelinedCommunity(LocalCommunity):
    """LocalCommunity whose admin transactions after the contracts' deployment go out without each
    waiting for its block (one at a time, admitting five households takes two minutes at a block
    every 2 s); `confirm()` waits for them all."""

    # Given, not estimated: an estimate against the last block would run a deposit before the
    # approval sent just ahead of it, and revert.
    GAS = 1_000_000

    def __init__(self, *args, **kwargs):
        self._sent: list[tuple[str, bytes]] = []
        super().__init__(*args, **kwargs)

    def send(self, call) -> None:
        """Send an admin transaction (its nonce follows the pending ones); `confirm()` checks it."""
        self._sent.append((call.fn_name, call.transact({"from": self.admin, "gas": self.GAS})))

    def confirm(self, timeout: float = 120) -> None:
        """Wait until every transaction sent is in a block; raise if one reverted."""
        for name, tx_hash in self._sent:
            if self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout)["status"] != 1:
                raise DemoError(f"the admin's {name} transaction reverted while founding the demo community")
        self._sent.clear()


def hand_over(record: Deployment, path: Path) -> None:
    """Write a node's deployment record at once: a node polling for it never reads half a file."""
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(asdict(record)))
    os.replace(temporary, path)


def peer_count(url: str) -> int | None:
    """How many peers the geth at `url` has, or None while it does not answer."""
    try:
        return connect(url, timeout=2).net.peer_count
    except Exception:  # noqa: BLE001 - web3 and requests raise many kinds for a geth still starting
        return None


def validator_processes(root: Path) -> list[int]:
    """The ids of geth processes whose data directory is inside `root` (Linux: read from /proc)."""
    inside = str(root.resolve()) + os.sep
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if argv and Path(os.fsdecode(argv[0])).name == "geth" and any(os.fsdecode(a).startswith(inside) for a in argv):
            found.append(int(entry.name))
    return found


def stop_validators(root: Path, patience: float = 15.0) -> None:
    """Wait for geths of `root` that a killed node left stopping (its parent-death SIGTERM); kill them after `patience` s."""
    deadline = time.monotonic() + patience
    while (left := validator_processes(root)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
