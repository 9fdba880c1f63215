"""`gridcommons init`, `gridcommons node run` and `gridcommons node status`."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

import click

from node.chain.cli import _checked_by
from node.errors import NodeError

_CONFIG_OPTION = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=Path("node.toml"),
    show_default=True, help="The node's TOML config (written by `gridcommons init`).",
)


@click.command()
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Where to write node.toml and the keystore.")
@click.option("--name", required=True, help="The household's name for this node, e.g. 'de-vries'.")
@click.option("--join", "bundle_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The community's join bundle: unpacks its genesis, deployment and contracts here and runs a "
                   "geth validator that syncs from its bootnodes.")
@click.option("--chain-client", type=click.Choice(["external", "anvil", "geth"]), default=None,
              help="The chain client the node starts: none (external, at --rpc), anvil, or a geth validator. "
                   "[default: geth with --join, else external]")
@click.option("--rpc", default="http://127.0.0.1:8545", show_default=True, help="The chain client's JSON-RPC URL.")
@click.option("--embedded-chain", is_flag=True, help="Start and supervise anvil (a single-machine community): "
                                                     "--chain-client anvil.")
@click.option("--deployment", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The community's deployment record (from `ape run deploy`).")
@click.option("--manifest", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The compiled contracts (.build/__local__.json from `ape compile`).")
@click.option("--genesis", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="geth: the community's genesis.json (from `gridcommons chain genesis`).")
@click.option("--peer", "peers", multiple=True, metavar="ENODE", callback=_checked_by("node.chain.network_files:parse_enode"),
              help="geth: a validator's enode URL to sync from (repeatable; added to a bundle's bootnodes).")
@click.option("--p2p-host", default="", help="geth: the address the other households reach this machine at "
                                             "[default: blank, listen on every interface].")
@click.option("--p2p-port", type=click.IntRange(1, 65535), default=30303, show_default=True,
              help="geth: its peer-to-peer TCP port.")
@click.option("--meter-device", default=None, help="Serial device of the P1/M-Bus port, e.g. /dev/ttyUSB0.")
@click.option("--meter-standard", type=click.Choice(["dsmr5", "dsmr4", "dsmr3", "dsmr22", "mbus"]), default="dsmr5",
              show_default=True)
@click.option("--simulated-meter", type=click.Choice(["consumer", "prosumer", "producer"]), default=None,
              help="No meter: simulate this kind of household.")
@click.option("--passphrase-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File (mode 0600) holding the keystore passphrase; else GRIDCOMMONS_NODE_PASSPHRASE or a prompt.")
@click.option("--force", is_flag=True, help="Overwrite an existing node.toml and a bundle's different files "
                                            "(never the keystore).")
def init(directory, name, bundle_path, chain_client, rpc, embedded_chain, deployment, manifest, genesis, peers,
         p2p_host, p2p_port, meter_device, meter_standard, simulated_meter, passphrase_file, force) -> None:
    """Write a node's config (node.toml) and create its account keystore."""
    from node.runtime.setup import NodeSetup, write_node

    if meter_device and simulated_meter:
        raise click.BadParameter("choose a meter device or a simulated meter, not both", param_hint="--meter-device")
    client = _chain_client(chain_client, embedded_chain, bundle_path, genesis, deployment, manifest, peers, p2p_host)
    setup = NodeSetup(
        name=name,
        rpc=rpc,
        chain_client=client,
        deployment=deployment,
        manifest=manifest,
        genesis=genesis,
        peers=peers,
        p2p_host=p2p_host,
        p2p_port=p2p_port,
        meter_device=meter_device,
        meter_standard=meter_standard,
        simulated_meter=simulated_meter or ("consumer" if meter_device is None else None),
        passphrase_file=passphrase_file,
    )
    try:
        bundle = _join_bundle(bundle_path)  # refused before a passphrase is asked for
        passphrase = _new_passphrase(passphrase_file)
        written = write_node(directory, setup, passphrase, force=force, bundle=bundle)
    except NodeError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"wrote {written.config}")
    if written.joined is not None:
        click.echo(f"joined the community on chain {bundle.chain_id}: {written.joined.genesis.name}, "
                   f"{written.joined.deployment.name} and {written.joined.manifest.name} in {directory}, "
                   f"{len(written.joined.bootnodes)} bootnodes as peers")
    click.echo(f"node account {written.address} (keystore {written.keystore})")
    if written.enode is not None:
        _echo_enode(written.enode)
    _dapp_password(written.config)
    _next_steps(written, client)


def _chain_client(chain_client, embedded_chain, bundle_path, genesis, deployment, manifest, peers, p2p_host) -> str:
    """The chain client init's options ask for; options that cannot go together are refused."""
    client = chain_client or ("geth" if bundle_path else "anvil" if embedded_chain else "external")
    if embedded_chain and client != "anvil":
        raise click.UsageError(f"--embedded-chain is --chain-client anvil, not {client}")
    if bundle_path is not None:
        if client != "geth":
            raise click.UsageError(f"--join runs a geth validator, not --chain-client {client}")
        given = [option for option, value in (("--genesis", genesis), ("--deployment", deployment),
                                              ("--manifest", manifest)) if value is not None]
        if given:
            raise click.UsageError(f"--join brings the community's genesis, deployment and manifest: leave out {', '.join(given)}")
    elif client == "geth" and genesis is None:
        raise click.UsageError("--chain-client geth needs the community's genesis: give --genesis FILE, or --join BUNDLE")
    if client != "geth" and (genesis is not None or peers or p2p_host):
        raise click.UsageError("--genesis, --peer and --p2p-host are for a geth validator (--chain-client geth or --join)")
    return client


def _join_bundle(bundle_path: Path | None):
    if bundle_path is None:
        return None
    from node.chain.bundle import read_bundle

    return read_bundle(bundle_path)


def _echo_enode(enode: str) -> None:
    from node.runtime.setup import UNKNOWN_HOST

    click.echo(f"node enode {enode}")
    if UNKNOWN_HOST in enode:
        click.echo(f"  ({UNKNOWN_HOST}: this machine's address on the households' network; "
                   "`--p2p-host ADDR` writes it into node.toml)")


def _next_steps(written, client: str) -> None:
    run = f"gridcommons node run --config {written.config}"
    if client != "geth":
        click.echo(f"next: ask the community's deployer to admit this account, then run `{run}`")
        return
    click.echo("next steps:")
    click.echo(f"  1. start the node: `{run}`; its geth syncs the chain from genesis meanwhile")
    click.echo(f"  2. send the account address {written.address} to the community's admin, who admits it: "
               f"`ape run community add-member {written.address} --meter-id ... --grid-kw ... [--generation-kw ...]`")
    click.echo("  3. once it is a member, the validators vote it in by themselves and it starts sealing blocks in turn "
               "(check with `gridcommons node status`)")


def _dapp_password(config_path: Path) -> None:
    from dapp.cli import PASSWORD_VARIABLE, new_password, set_password
    from node import config as node_config

    if not os.environ.get(PASSWORD_VARIABLE) and not sys.stdin.isatty():
        click.echo("set the DApp's login password with `gridcommons dapp password` before opening it")
        return
    try:
        set_password(node_config.load(config_path), new_password())
    except NodeError as error:
        raise click.ClickException(str(error)) from None
    click.echo("DApp password set")


def _new_passphrase(passphrase_file: Path | None) -> str:
    from node.chain.keystore import PASSPHRASE_VARIABLE, read_passphrase

    if passphrase_file is not None or os.environ.get(PASSPHRASE_VARIABLE):
        try:
            return read_passphrase(Path("node-key.json"), passphrase_file, os.environ)
        except NodeError as error:
            raise click.ClickException(str(error)) from None
    return click.prompt("passphrase for the new node keystore", hide_input=True, confirmation_prompt=True)


@click.group()
def node() -> None:
    """Run the node and look at it."""


@node.command()
@_CONFIG_OPTION
@click.option("--dry-run", is_flag=True, help="Check the config, keystore and files without starting anything.")
@click.option("-v", "--verbose", count=True, help="More log output (-v for debug).")
def run(config_path: Path, dry_run: bool, verbose: int) -> None:
    """Run the node until Ctrl-C or SIGTERM: meter, store, submitter, event mirror, relays."""
    from node import config as node_config

    _logging(verbose)
    try:
        config = node_config.load(config_path)
        if dry_run:
            _dry_run(config)
            return
        from node.runtime.node import NodeRuntime

        runtime = NodeRuntime(config)
    except NodeError as error:
        raise click.ClickException(str(error)) from None
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    click.echo(f"node {config.name} running as {runtime.account.address}; Ctrl-C stops it", err=True)
    try:
        runtime.run_until(stopped)
    except NodeError as error:
        raise click.ClickException(str(error)) from None


def _dry_run(config) -> None:
    from node.chain import deployment
    from node.chain.contracts import load_abis
    from node.chain.keystore import load_node_account

    account = load_node_account(config.chain.keystore, config.chain.passphrase_file, os.environ)
    record = deployment.read(config.chain.deployment)
    missing = [name for name in record.contracts if name not in load_abis(config.chain.manifest)]
    if missing:
        raise click.ClickException(f"{config.chain.manifest} has no ABI for {', '.join(missing)}")
    validator = _validator_lines(config, record, account.address) if config.chain.client == "geth" else []
    click.echo(f"config {config.name}: OK")
    click.echo(f"  account   {account.address}")
    click.echo(f"  chain     {config.chain.rpc} ({_CLIENT_NAMES[config.chain.client]})")
    for line in validator:
        click.echo(f"  {line}")
    click.echo(f"  community {record.contracts.get('Community')} on chain {record.chain_id}")
    click.echo(f"  meter     {config.meter.source} {config.meter.device or config.meter.profile}")
    click.echo(f"  relays    {', '.join(config.relays) or 'none'}")
    click.echo(f"  data      {config.data_dir}")


_CLIENT_NAMES = {"external": "external client", "anvil": "embedded anvil", "geth": "supervised geth validator"}


def _validator_lines(config, record, account: str) -> list[str]:
    """What a geth validator needs, checked without starting it: its genesis, peers and geth itself."""
    from node.chain.bundle import check_same_chain, clique_genesis, node_key_file, own_enode
    from node.chain.geth import GETH_VERSION, find_geth, genesis_chain_id
    from node.runtime.setup import UNKNOWN_HOST

    chain = config.chain
    genesis_chain_id(chain.genesis)  # its errors say what to do about a missing or broken file
    clique = clique_genesis(json.loads(chain.genesis.read_text()), f"genesis {chain.genesis}")
    check_same_chain(clique.chain_id, record, f"genesis {chain.genesis}", f"deployment {chain.deployment}")
    geth = find_geth()
    signer = ("a signer from genesis" if account in clique.signers
              else "not a signer yet: the validators vote it in once the admin has admitted it")
    listen = f"{chain.p2p_host or '(every interface)'}:{chain.p2p_port}"
    enode = own_enode(config, chain.p2p_host or UNKNOWN_HOST) or (
        f"none yet ({node_key_file(config)} is made by `gridcommons init` or the first start)")
    return [
        f"geth      {geth} ({GETH_VERSION})",
        f"genesis   {chain.genesis}: Clique, chain id {clique.chain_id}, {clique.period} s blocks, "
        f"{len(clique.signers)} signers at genesis",
        f"seals as  {account} ({signer})",
        f"p2p       {listen}, enode {enode}",
        f"peers     {len(chain.peers) or 'none (no other validator to sync from)'}",
        *(f"          {enode}" for enode in chain.peers),
    ]


@node.command()
@_CONFIG_OPTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(config_path: Path, as_json: bool) -> None:
    """Chain head, peers, last reading, outbox depth and relay states."""
    from node import config as node_config
    from node.runtime.status import collect_status, format_status

    try:
        config = node_config.load(config_path)
    except NodeError as error:
        raise click.ClickException(str(error)) from None
    report = collect_status(config, time.time())
    click.echo(json.dumps(report, indent=2, default=str) if as_json else format_status(report))


def _logging(verbose: int) -> None:
    level = logging.WARNING - 10 * min(verbose + 1, 2)
    logging.basicConfig(stream=sys.stderr, level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
