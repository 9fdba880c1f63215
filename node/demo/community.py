"""The demo's files in `.demo/`: what persists between runs, and how a fresh community is made.

    .demo/demo.json          the demo's settings and the simulated time it stopped at
    .demo/logins.json        each household's DApp password (0600; a demo on this machine only)
    .demo/chain/state.json   anvil's state (every block), written while it runs and when it stops
    .demo/<household>/       a node folder as `gridcommons init` makes it: node.toml, keystore, data/
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from node.chain.devnet import LocalCommunity, dev_account
from node.chain.deployment import Deployment
from node.demo.history import write_history
from node.demo.households import HOUSEHOLDS, DemoHousehold
from node.errors import NodeError
from dapp.cli import store_password
from node.runtime.devnode import write_dev_identity

WALLET_CREDITS = 20 * 10**18  # spendable on the market, beside the prepaid balance settlement draws on
HISTORY_DAYS = 21
TIMEZONE = ZoneInfo("Europe/Amsterdam")
START_HOUR = 11  # the demo's first simulated moment: late morning, panels producing


class DemoError(NodeError):
    """The demo's files or chain are missing, inconsistent or in use."""


@dataclass(frozen=True)
class DemoState:
    """What a resumed demo needs besides the node folders and the chain."""

    time_factor: float
    simulated_until: float  # where simulated time stopped (a fresh demo: its start)
    deployment: dict

    @property
    def record(self) -> Deployment:
        return Deployment(**self.deployment)


class DemoFiles:
    """The `.demo/` folder."""

    def __init__(self, root: Path):
        self.root = root

    @property
    def state_path(self) -> Path:
        return self.root / "demo.json"

    @property
    def logins_path(self) -> Path:
        return self.root / "logins.json"

    @property
    def chain_state(self) -> Path:
        return self.root / "chain" / "state.json"

    def node_dir(self, household: DemoHousehold) -> Path:
        return self.root / household.name

    def exists(self) -> bool:
        return self.state_path.is_file()

    def read_state(self) -> DemoState:
        try:
            return DemoState(**json.loads(self.state_path.read_text()))
        except (OSError, ValueError, TypeError) as error:
            raise DemoError(f"{self.state_path} is unreadable ({error}): start afresh with `make demo-reset`") from None

    def write_state(self, state: DemoState) -> None:
        temporary = self.state_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(state), indent=2))
        os.replace(temporary, self.state_path)

    def logins(self) -> dict[str, str]:
        return json.loads(self.logins_path.read_text())

    def write_logins(self, logins: dict[str, str]) -> None:
        self.logins_path.write_text(json.dumps(logins, indent=2))
        self.logins_path.chmod(0o600)


def first_moment(now: float) -> float:
    """The next late morning after `now` (the chain's time only moves forward)."""
    local = datetime.fromtimestamp(now, TIMEZONE)
    start = local.replace(hour=START_HOUR, minute=0, second=0, microsecond=0)
    if start.timestamp() <= now:
        start = (local + timedelta(days=1)).replace(hour=START_HOUR, minute=0, second=0, microsecond=0)
    return start.timestamp()


def create_community(files: DemoFiles, w3, time_factor: float, progress) -> DemoState:
    """Deploy the contracts on a fresh chain, admit the households and write their node folders."""
    files.root.mkdir(parents=True, exist_ok=True)
    start = first_moment(w3.eth.get_block("latest")["timestamp"])
    w3.provider.make_request("evm_setNextBlockTimestamp", [int(start)])
    w3.provider.make_request("evm_mine", [])
    progress("deploying the contracts")
    community = LocalCommunity(w3)
    logins = {}
    for household in HOUSEHOLDS:
        admit_household(community, household)
        progress(f"admitted {household.name} ({household.description}); writing {HISTORY_DAYS} days of meter history")
        directory = files.node_dir(household)
        write_dev_identity(directory, dev_account(household.account_index), community.deployment)
        logins[household.name] = furnish_household(directory, household, start)
    files.write_logins(logins)
    state = DemoState(time_factor, start, asdict(community.deployment))
    files.write_state(state)
    return state


def admit_household(community: LocalCommunity, household: DemoHousehold) -> None:
    """Make the household's node account a member, with its prepaid balance and credits to spend."""
    account = dev_account(household.account_index)
    community.admit(account.address, household.producer, household.consumer)
    community.send(community.contracts["EnergyToken"].functions.issue(account.address, WALLET_CREDITS, b"\x00" * 32))


def furnish_household(directory: Path, household: DemoHousehold, start: float) -> str:
    """The household's weeks of meter history up to `start` and a new DApp password, which it returns."""
    write_history(directory / "data" / "meter.sqlite", household.profile, household.seed, start, HISTORY_DAYS)
    password = secrets.token_urlsafe(9)
    store_password(directory / "data" / "dapp.sqlite", password)
    return password


def check_chain(w3, state: DemoState, reset: str = "make demo-reset") -> None:
    """The chain must still hold the demo's deployment (anvil's state file may have been lost)."""
    record = state.record
    try:
        block = w3.eth.get_block(record.deploy_block)
    except Exception:  # noqa: BLE001 - web3 raises several kinds for a missing block
        block = None
    if block is None or block["hash"].hex().removeprefix("0x") != record.deploy_block_hash.removeprefix("0x"):
        raise DemoError(
            f"the demo's chain state is gone (was the demo killed?): start afresh with `{reset}`"
        )
