"""A community on a real Clique network: each household a gridcommons node with its own geth validator.

Real time, 60 s intervals and 1 s blocks. The nodes start before the community exists, as a new
community's would: their parts wait (with backoff) until the admin has deployed and admitted them.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from eth_account import Account

from node.chain.client import connect
from node.chain.devnet import LocalCommunity
from node.chain.genesis import NetworkSpec, genesis
from node.chain.geth import enode_of, ensure_node_key
from node.runtime.devnode import DEV_ENV, DEV_PASSPHRASE, write_dev_config
from node.runtime.node import NodeRuntime

INTERVAL = 60
GRACE = 10
PERIOD = 1
CHAIN_ID = 4_242_001
ETHER = 10**18
GRIDCOMMONS = str(Path(sys.executable).with_name("gridcommons"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Household:
    name: str
    profile: str
    producer: bool
    consumer: bool
    account: object
    directory: Path
    rpc_port: int
    p2p_port: int
    p2p_host: str = "127.0.0.1"
    dapp_port: int | None = None  # serves its DApp and data API when set
    enode: str = ""
    runtime: NodeRuntime | None = None
    process: subprocess.Popen | None = None  # a node run as `gridcommons node run` on a test host

    @property
    def rpc(self) -> str:
        return f"http://127.0.0.1:{self.rpc_port}"

    @property
    def address(self) -> str:
        return self.account.address


@dataclass
class Network:
    root: Path
    households: list[Household]
    admin: object
    settle_patience: float = 45
    community: LocalCommunity | None = None

    def by_name(self, name: str) -> Household:
        return next(h for h in self.households if h.name == name)

    def w3(self, household: Household | None = None):
        return connect((household or self.households[0]).rpc)

    def write_identity(self, household: Household) -> None:
        """The keystore, peer-to-peer key and genesis `gridcommons init` leaves in a geth node's folder."""
        d = household.directory
        d.mkdir(parents=True)
        keystore = d / "node-key.json"
        keystore.write_text(json.dumps(Account.encrypt(household.account.key, DEV_PASSPHRASE)))
        keystore.chmod(0o600)
        node_key = ensure_node_key(d / "data" / "chain" / "geth" / "nodekey")
        household.enode = enode_of(node_key, household.p2p_host, household.p2p_port)
        (d / "genesis.json").write_text((self.root / "genesis.json").read_text())

    def configure(self, household: Household, peers: list[str]) -> None:
        meter = f'source = "simulator"\nprofile = "{household.profile}"\nseed = {len(household.name)}\nevery_seconds = 5'
        chain = (
            f'client = "geth"\ngenesis = "genesis.json"\np2p_host = "{household.p2p_host}"\n'
            f"p2p_port = {household.p2p_port}\npeers = {json.dumps(peers)}\n"
        )
        dapp = None if household.dapp_port is None else f"enabled = true\nport = {household.dapp_port}"
        write_dev_config(household.directory, household.name, household.rpc, meter, poll_seconds=0.5,
                         settle_patience=self.settle_patience, chain=chain, dapp=dapp)

    def join(self, household: Household, sponsor: Household) -> None:
        """The new household's way in: `sponsor`'s node writes the join bundle, `gridcommons init --join`
        sets up a node with a new account from it (this machine has no LAN, so no DApp either)."""
        from node import config as node_config
        from node.chain.bundle import bundle_from_config, write_bundle
        from node.chain.keystore import load_node_account

        bundle = self.root / "join-bundle.json"
        write_bundle(bundle_from_config(node_config.load(sponsor.directory / "node.toml")), bundle)
        done = subprocess.run(
            [GRIDCOMMONS, "init", "--dir", str(household.directory), "--name", household.name, "--join", str(bundle),
             "--rpc", household.rpc, "--p2p-host", household.p2p_host, "--p2p-port", str(household.p2p_port),
             "--simulated-meter", household.profile],
            env={**os.environ, **DEV_ENV}, capture_output=True, text=True, timeout=120,
        )
        assert done.returncode == 0, done.stderr
        config = household.directory / "node.toml"
        config.write_text(config.read_text() + "\n[dapp]\nenabled = false\n")
        household.account = load_node_account(household.directory / "node-key.json", env=DEV_ENV)

    def start(self, household: Household) -> NodeRuntime:
        from node import config as node_config

        household.runtime = NodeRuntime(node_config.load(household.directory / "node.toml"), env=DEV_ENV,
                                        backoff=(0.5, 2.0))
        household.runtime.start()
        return household.runtime

    def spawn(self, household: Household, prefix: list[str]) -> subprocess.Popen:
        """Run the node as its own process behind `prefix` (e.g. on a test host's namespace)."""
        log = open(household.directory / "node.log", "ab")
        household.process = subprocess.Popen(
            [*prefix, GRIDCOMMONS, "node", "run", "--config", str(household.directory / "node.toml")],
            env={**os.environ, **DEV_ENV}, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        return household.process

    def stop(self) -> None:
        for household in self.households:
            if household.runtime is not None:
                household.runtime.stop()
                household.runtime = None
            if household.process is not None:
                household.process.terminate()
                try:
                    household.process.wait(60)
                except subprocess.TimeoutExpired:
                    household.process.kill()
                household.process = None

    def deploy(self, members: list[Household]) -> LocalCommunity:
        """The admin deploys through the first validator and admits `members`; every node gets the record."""
        self.community = LocalCommunity(self.w3(), network="ethereum:community:node", admin=self.admin,
                                        interval=INTERVAL, grace=GRACE)
        for household in members:
            self.admit(household)
        for household in self.households:
            if household.directory.is_dir():  # a household yet to join gets it in the join bundle
                self.hand_deployment(household)
        return self.community

    def admit(self, household: Household) -> None:
        self.community.admit(household.address, household.producer, household.consumer)

    def hand_deployment(self, household: Household) -> None:
        (household.directory / "deployment.json").write_text(json.dumps(asdict(self.community.deployment)))


def make_network(root: Path, households: list[tuple[str, str, bool, bool]], validators: int,
                 hosts: dict[str, str] | None = None, settle_patience: float = 45,
                 dapps: tuple[str, ...] = (), joiners: int = 0) -> Network:
    """Folders and a genesis for `households`; the first `validators` of them seal from block 0 and
    the last `joiners` get no folder: they join later with the community's join bundle.
    `hosts` gives a household's peer-to-peer address where it is not 127.0.0.1; `dapps` names the
    households whose node serves its DApp."""
    root.mkdir(parents=True, exist_ok=True)
    hosts = hosts or {}
    members = [
        Household(name, profile, producer, consumer, Account.create(), root / name, free_port(), free_port(),
                  hosts.get(name, "127.0.0.1"), free_port() if name in dapps else None)
        for name, profile, producer, consumer in households
    ]
    admin = Account.create()
    spec = NetworkSpec(
        "clique", tuple(h.address for h in members[:validators]), PERIOD, CHAIN_ID,
        tuple((h.address, 1000 * ETHER) for h in members[:len(members) - joiners]) + ((admin.address, 10**6 * ETHER),),
    )
    (root / "genesis.json").write_text(json.dumps(genesis(spec), indent=2))
    network = Network(root, members, admin, settle_patience)
    founders = members[:len(members) - joiners]
    for household in founders:
        network.write_identity(household)
    for household in founders:  # every node lists every validator, as a join bundle's bootnodes do
        network.configure(household, [h.enode for h in founders])
    return network


def signer_of(w3, block: int) -> str:
    return w3.provider.make_request("clique_getSigner", [hex(block)])["result"]


def signers(w3) -> list[str]:
    return [a.lower() for a in w3.provider.make_request("clique_getSigners", [])["result"]]


