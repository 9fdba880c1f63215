"""What `gridcommons init` writes: node.toml and the node account's keystore."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from node.chain.keystore import create_keystore
from node.config import ConfigError, load

KEYSTORE_NAME = "node-key.json"
CONFIG_NAME = "node.toml"


@dataclass(frozen=True)
class NodeSetup:
    """The answers `gridcommons init` collects."""

    name: str
    rpc: str = "http://127.0.0.1:8545"
    embedded_chain: bool = False
    deployment: Path | None = None
    manifest: Path | None = None
    meter_device: str | None = None
    meter_standard: str = "dsmr5"
    simulated_meter: str | None = "consumer"
    passphrase_file: Path | None = None


@dataclass(frozen=True)
class WrittenNode:
    config: Path
    keystore: Path
    address: str


def write_node(directory: Path, setup: NodeSetup, passphrase: str, force: bool = False) -> WrittenNode:
    """Write node.toml and create the keystore (an existing keystore is kept, never replaced)."""
    directory.mkdir(parents=True, exist_ok=True)
    config_path = directory / CONFIG_NAME
    if config_path.exists() and not force:
        raise ConfigError("", f"{config_path} exists; use --force to replace it (the keystore is kept)")
    keystore = directory / KEYSTORE_NAME
    if keystore.exists():
        from node.chain.keystore import load_node_account

        address = load_node_account(keystore, setup.passphrase_file, {"GRIDCOMMONS_NODE_PASSPHRASE": passphrase}).address
    else:
        address = create_keystore(keystore, passphrase)
    text = render_config(setup, directory)
    config_path.write_text(text)
    load(config_path)  # what init writes, run must accept
    return WrittenNode(config_path, keystore, address)


def render_config(setup: NodeSetup, directory: Path) -> str:
    """node.toml: every path relative to the config's folder, every choice explained."""
    q = json.dumps  # TOML basic strings accept JSON's escapes
    root = Path(__file__).resolve().parents[2]
    deployment = setup.deployment or root / "deployments" / "ethereum-local.json"
    manifest = setup.manifest or root / ".build" / "__local__.json"
    lines = [
        "# gridcommons node configuration (written by `gridcommons init`).",
        "# Secrets never go here: the keystore passphrase comes from chain.passphrase_file (mode 0600)",
        "# or the environment variable GRIDCOMMONS_NODE_PASSPHRASE.",
        "",
        "[node]",
        f"name = {q(setup.name)}",
        'data_dir = "data"',
        'timezone = "Europe/Amsterdam"',
        "",
        "[chain]",
        f"rpc = {q(setup.rpc)}",
        f"embedded = {'true' if setup.embedded_chain else 'false'}  # start and supervise anvil on this machine",
    ]
    if setup.embedded_chain:
        lines.append('state_file = "data/chain-state.json"')
    lines += [
        f"deployment = {q(str(deployment.resolve()))}",
        f"manifest = {q(str(manifest.resolve()))}",
        f'keystore = "{KEYSTORE_NAME}"',
    ]
    if setup.passphrase_file is not None:
        lines.append(f"passphrase_file = {q(str(setup.passphrase_file.resolve()))}")
    lines += ["poll_seconds = 2.0", "", "[meter]"]
    if setup.meter_device:
        lines += ['source = "serial"', f"device = {q(setup.meter_device)}", f"standard = {q(setup.meter_standard)}",
                  "# key_file = \"meter.key\"  # encrypted DLMS meters: the grid operator's key, mode 0600"]
    else:
        lines += ['source = "simulator"', f"profile = {q(setup.simulated_meter or 'consumer')}", "seed = 1"]
    lines += [
        "",
        "# Relays, e.g. (see docs/relays.md):",
        "# [relays.battery]",
        "# pin = 17",
        '# rule = "battery"',
        "# low_pct = 20",
        "# high_pct = 80",
        "",
    ]
    return "\n".join(lines)
