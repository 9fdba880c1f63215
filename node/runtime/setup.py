"""What `gridcommons init` writes: node.toml, the node account's keystore and, for geth, its node key."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from node.chain.keystore import create_keystore
from node.config import ConfigError, NodeConfig, parse

if TYPE_CHECKING:
    from node.chain.bundle import JoinBundle, UnpackedBundle

KEYSTORE_NAME = "node-key.json"
CONFIG_NAME = "node.toml"
# Stands in an enode for the address init cannot know: the one the other households reach this machine at.
UNKNOWN_HOST = "LAN-ADDRESS"


@dataclass(frozen=True)
class NodeSetup:
    """The answers `gridcommons init` collects."""

    name: str
    rpc: str = "http://127.0.0.1:8545"
    chain_client: str = "external"  # node.config.CHAIN_CLIENTS
    deployment: Path | None = None
    manifest: Path | None = None
    genesis: Path | None = None  # geth
    peers: tuple[str, ...] = ()  # geth: other validators' enodes
    p2p_host: str = ""  # geth: blank listens on every interface
    p2p_port: int = 30303  # geth
    meter_device: str | None = None
    meter_standard: str = "dsmr5"
    simulated_meter: str | None = "consumer"
    passphrase_file: Path | None = None


@dataclass(frozen=True)
class WrittenNode:
    config: Path
    keystore: Path
    address: str
    enode: str | None = None  # geth: with UNKNOWN_HOST where p2p_host is blank
    joined: "UnpackedBundle | None" = None  # where `--join` put the bundle's files


def write_node(directory: Path, setup: NodeSetup, passphrase: str, force: bool = False,
               bundle: "JoinBundle | None" = None) -> WrittenNode:
    """Write node.toml, the keystore (an existing one is kept) and, with a join bundle, its files beside them."""
    from node.chain.bundle import unpack_bundle

    config_path = directory / CONFIG_NAME
    if config_path.exists() and not force:
        raise ConfigError("", f"{config_path} exists; use --force to replace it (the keystore is kept)")
    if bundle is not None:
        setup = joining(setup, bundle, directory)
    text = render_config(setup, directory)
    config = parse(tomllib.loads(text), base=directory.resolve())  # what init writes, run must accept
    directory.mkdir(parents=True, exist_ok=True)
    keystore = directory / KEYSTORE_NAME
    if keystore.exists():  # opened first, so that a wrong passphrase leaves everything as it was
        from node.chain.keystore import load_node_account

        address = load_node_account(keystore, setup.passphrase_file, {"GRIDCOMMONS_NODE_PASSPHRASE": passphrase}).address
    joined = unpack_bundle(bundle, directory, force=force) if bundle is not None else None
    if not keystore.exists():
        address = create_keystore(keystore, passphrase)
    config_path.write_text(text)
    return WrittenNode(config_path, keystore, address, _node_enode(config), joined)


def joining(setup: NodeSetup, bundle: "JoinBundle", directory: Path) -> NodeSetup:
    """The setup of a geth validator of the bundle's community, its files in `directory`."""
    from node.chain.bundle import CONTRACTS_NAME, DEPLOYMENT_NAME, GENESIS_NAME

    peers = dict.fromkeys((*bundle.bootnodes, *setup.peers))  # the bundle's first, each once
    return replace(
        setup, chain_client="geth", genesis=directory / GENESIS_NAME, deployment=directory / DEPLOYMENT_NAME,
        manifest=directory / CONTRACTS_NAME, peers=tuple(peers),
    )


def _node_enode(config: NodeConfig) -> str | None:
    """geth's node key, made now so that the enode is known before geth first runs."""
    if config.chain.client != "geth":
        return None
    from node.chain.bundle import node_key_file, own_enode
    from node.chain.geth import ensure_node_key

    config.chain_dir.mkdir(parents=True, exist_ok=True, mode=0o700)  # as the runtime makes geth's folder
    ensure_node_key(node_key_file(config))
    return own_enode(config, config.chain.p2p_host or UNKNOWN_HOST)


def render_config(setup: NodeSetup, directory: Path) -> str:
    """node.toml: every choice explained; files in the node's folder named relative to it."""
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
        *_chain_client_lines(setup, directory),
        f"deployment = {q(_named_from(deployment, directory))}  # where the community's contracts are",
        f"manifest = {q(_named_from(manifest, directory))}  # their compiled ABIs",
        f'keystore = "{KEYSTORE_NAME}"  # the node account, which signs its transactions (and seals, with geth)',
    ]
    if setup.passphrase_file is not None:
        lines.append(f"passphrase_file = {q(str(setup.passphrase_file.resolve()))}")
    lines += ["poll_seconds = 2.0", "", "[meter]"]
    if setup.meter_device:
        lines += ['source = "serial"', f"device = {q(setup.meter_device)}", f"standard = {q(setup.meter_standard)}",
                  "# key_file = \"meter.key\"  # encrypted DLMS meters: the grid operator's key, mode 0600",
                  "# auth_key_file = \"meter-auth.key\"  # meters that also authenticate (security control 0x30)",
                  "# baudrate = 115200  # only for a meter that deviates from its standard's port settings"]
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


def _chain_client_lines(setup: NodeSetup, directory: Path) -> list[str]:
    q = json.dumps
    lines = [
        "[chain]",
        "# The chain client this node starts and supervises: \"geth\" (this household's validator of the",
        "# community's chain), \"anvil\" (a community on this machine only) or \"external\" (none: it uses rpc).",
        f"client = {q(setup.chain_client)}",
        f"rpc = {q(setup.rpc)}  # the chain client's JSON-RPC",
    ]
    if setup.chain_client == "anvil":
        lines.append('state_file = "data/chain-state.json"  # anvil keeps the chain here across restarts')
    if setup.chain_client != "geth":
        return lines
    if setup.genesis is not None:  # else parse says chain.genesis is required
        lines.append(f"genesis = {q(_named_from(setup.genesis, directory))}  # the community's chain: every validator has the same")
    peers = "".join(f"\n    {q(enode)}," for enode in setup.peers)
    return lines + [
        '# chain_dir = "data/chain"  # geth\'s data directory (this is the default)',
        "# The address the other households' nodes reach this one at; blank: listen on every interface.",
        f"p2p_host = {q(setup.p2p_host)}",
        f"p2p_port = {setup.p2p_port}  # geth's peer-to-peer TCP port",
        "# The community's validators (enode URLs): this node connects to them and syncs the chain from them.",
        f"peers = [{peers}{chr(10) if peers else ''}]",
        "# Vote the community's active members in as validators, and removed ones out, in the blocks this node seals.",
        "follow_membership = true",
    ]


def _named_from(path: Path, directory: Path) -> str:
    """A file in the node's folder by its relative name (the folder can move); any other absolute."""
    absolute, folder = path.resolve(), directory.resolve()
    return str(absolute.relative_to(folder)) if absolute.is_relative_to(folder) else str(absolute)
