"""Node folders for a community on one machine (tests, benchmarks, the demo): the same node.toml
and keystore `gridcommons init` makes, for a dev-chain account."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from eth_account import Account

from node import config as node_config
from node.chain.deployment import Deployment
from node.chain.devnet import MANIFEST
from node.runtime.clock import SimulatedClock

DEV_PASSPHRASE = "correct horse battery staple"  # dev-chain keys are public anyway
DEV_ENV = {"GRIDCOMMONS_NODE_PASSPHRASE": DEV_PASSPHRASE}


def write_dev_node(directory: Path, name: str, account, deployment: Deployment, rpc: str, meter: str,
                   *args, **kwargs) -> node_config.NodeConfig:
    """Write a new node folder: `write_dev_identity`, then `write_dev_config` with the remaining arguments."""
    write_dev_identity(directory, account, deployment)
    return write_dev_config(directory, name, rpc, meter, *args, **kwargs)


def write_dev_identity(directory: Path, account, deployment: Deployment) -> None:
    """A new node folder's keystore (dev passphrase) and the community's deployment record."""
    directory.mkdir(parents=True)
    keystore = directory / "node-key.json"
    keystore.write_text(json.dumps(Account.encrypt(account.key, DEV_PASSPHRASE)))
    keystore.chmod(0o600)
    (directory / "deployment.json").write_text(json.dumps(asdict(deployment)))


def write_dev_config(
    directory: Path,
    name: str,
    rpc: str,
    meter: str,
    clock: SimulatedClock | None = None,
    poll_seconds: float = 0.2,
    settle_patience: float = 120,
    extra: str = "",
    dapp: str | None = None,
    pins: str = "gpio",
    chain: str = "",
) -> node_config.NodeConfig:
    """(Re)write only `directory`/node.toml: a demo that resumes gets a new clock and meter device."""
    clock_table = "" if clock is None else (
        f"[clock]\ntime_factor = {clock.factor}\nstart = {clock.start}\nwall_start = {clock.wall_start}\n"
    )
    (directory / "node.toml").write_text(
        f"""[node]
name = "{name}"
data_dir = "data"
pins = "{pins}"

[chain]
rpc = "{rpc}"
deployment = "deployment.json"
manifest = "{MANIFEST}"
keystore = "node-key.json"
poll_seconds = {poll_seconds}
settle_patience = {settle_patience}
{chain}
[meter]
{meter}

{clock_table}
[dapp]
{"enabled = false" if dapp is None else dapp}

{extra}
"""
    )
    return node_config.load(directory / "node.toml")
