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

from node.errors import NodeError

_CONFIG_OPTION = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=Path("node.toml"),
    show_default=True, help="The node's TOML config (written by `gridcommons init`).",
)


@click.command()
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Where to write node.toml and the keystore.")
@click.option("--name", required=True, help="The household's name for this node, e.g. 'de-vries'.")
@click.option("--rpc", default="http://127.0.0.1:8545", show_default=True, help="The chain client's JSON-RPC URL.")
@click.option("--embedded-chain", is_flag=True, help="Start and supervise anvil (a single-machine community).")
@click.option("--deployment", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The community's deployment record (from `ape run deploy`).")
@click.option("--manifest", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The compiled contracts (.build/__local__.json from `ape compile`).")
@click.option("--meter-device", default=None, help="Serial device of the P1/M-Bus port, e.g. /dev/ttyUSB0.")
@click.option("--meter-standard", type=click.Choice(["dsmr5", "dsmr4", "dsmr3", "dsmr22", "mbus"]), default="dsmr5",
              show_default=True)
@click.option("--simulated-meter", type=click.Choice(["consumer", "prosumer", "producer"]), default=None,
              help="No meter: simulate this kind of household.")
@click.option("--passphrase-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File (mode 0600) holding the keystore passphrase; else GRIDCOMMONS_NODE_PASSPHRASE or a prompt.")
@click.option("--force", is_flag=True, help="Overwrite an existing node.toml (never the keystore).")
def init(directory, name, rpc, embedded_chain, deployment, manifest, meter_device, meter_standard, simulated_meter,
         passphrase_file, force) -> None:
    """Write a node's config (node.toml) and create its account keystore."""
    from node.runtime.setup import NodeSetup, write_node

    if meter_device and simulated_meter:
        raise click.BadParameter("choose a meter device or a simulated meter, not both", param_hint="--meter-device")
    setup = NodeSetup(
        name=name,
        rpc=rpc,
        embedded_chain=embedded_chain,
        deployment=deployment,
        manifest=manifest,
        meter_device=meter_device,
        meter_standard=meter_standard,
        simulated_meter=simulated_meter or ("consumer" if meter_device is None else None),
        passphrase_file=passphrase_file,
    )
    passphrase = _new_passphrase(passphrase_file)
    try:
        written = write_node(directory, setup, passphrase, force=force)
    except NodeError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"wrote {written.config}")
    click.echo(f"node account {written.address} (keystore {written.keystore})")
    _dapp_password(written.config)
    click.echo("next: ask the community's deployer to admit this account, then run `gridcommons node run`")


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
    click.echo(f"config {config.name}: OK")
    click.echo(f"  account   {account.address}")
    click.echo(f"  chain     {config.chain.rpc} ({'embedded anvil' if config.chain.embedded else 'external client'})")
    click.echo(f"  community {record.contracts.get('Community')} on chain {record.chain_id}")
    click.echo(f"  meter     {config.meter.source} {config.meter.device or config.meter.profile}")
    click.echo(f"  relays    {', '.join(config.relays) or 'none'}")
    click.echo(f"  data      {config.data_dir}")


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
