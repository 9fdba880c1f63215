"""`gridcommons chain ...`: run and inspect the node's chain client."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import click

from node.errors import NodeError


@click.group()
def chain() -> None:
    """The community chain: the embedded dev chain today, the PoA network later."""


@chain.command("dev", context_settings={"ignore_unknown_options": True})
@click.option("--port", default=8545, show_default=True, help="JSON-RPC port on 127.0.0.1.")
@click.option("--block-time", type=float, default=None, help="Seconds per block (default: one per transaction).")
@click.option("--state", "state_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Keep the chain in this file across restarts.")
@click.option("--quiet", is_flag=True, help="Say nothing about the chain itself.")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def dev(port: int, block_time: float | None, state_file: Path | None, quiet: bool, command: tuple[str, ...]) -> None:
    """Run the embedded anvil chain (chain id 1337).

    With COMMAND (after `--`), run it against the chain, then stop the chain and exit with the
    command's status. Without, run until Ctrl-C.
    """
    from node.chain.anvil import AnvilSettings, EmbeddedAnvil

    anvil = EmbeddedAnvil(AnvilSettings(port=port, block_time=block_time, state_file=state_file))
    try:
        anvil.start()
    except NodeError as error:
        raise click.ClickException(str(error)) from error
    if not quiet:
        click.echo(f"anvil answering on {anvil.url} (chain id {anvil.settings.chain_id})", err=True)
    # SIGTERM (systemd, a CI timeout) must stop anvil too, not orphan it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    try:
        status = subprocess.call(list(command)) if command else _run_until_stopped()
    except KeyboardInterrupt:
        status = 130
    finally:
        anvil.stop()
    sys.exit(status)


def _run_until_stopped() -> int:
    while True:
        signal.pause()


def _checked_by(parser: str):
    """A click callback applying `parser` ("module:function", imported on use) to the value, or to
    each value of a repeated option; the parser's GenesisError becomes click's BadParameter."""

    def callback(ctx: click.Context, param: click.Parameter, value):
        import importlib

        from node.chain.genesis import GenesisError

        module_name, function = parser.split(":")
        parse = getattr(importlib.import_module(module_name), function)
        try:
            return tuple(parse(each) for each in value) if param.multiple else parse(value)
        except GenesisError as error:
            raise click.BadParameter(str(error), ctx=ctx, param=param) from None

    return callback


@chain.command("genesis")
@click.option("--engine", type=click.Choice(["clique", "qbft"]), required=True,
              help="clique: geth 1.13.15; qbft: Besu.")
@click.option("--validator", "validators", multiple=True, metavar="ADDR",
              callback=_checked_by("node.chain.genesis:parse_address"),
              help="A validator's address (repeat for each). Clique: the node account; QBFT: the Besu node key's address.")
@click.option("--period", type=int, required=True, callback=_checked_by("node.chain.genesis:check_period"),
              help="Seconds between blocks.")
@click.option("--chain-id", type=int, required=True, callback=_checked_by("node.chain.genesis:check_chain_id"),
              help="The community chain's id (public chains' ids are refused).")
@click.option("--fund", "funds", multiple=True, metavar="ADDR=WEI",
              callback=_checked_by("node.chain.genesis:parse_funding"),
              help="Give ADDR a balance of WEI in the genesis block (repeatable).")
@click.option("--bootnode", "bootnodes", multiple=True, metavar="ENODE",
              callback=_checked_by("node.chain.network_files:parse_enode"),
              help="A validator's enode URL to write into every node's configuration (repeatable).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for genesis.json and the node-N/ directories.")
@click.option("--force", is_flag=True, help="Write into a non-empty --out directory, replacing our files there.")
def genesis_command(engine: str, validators: tuple[str, ...], period: int, chain_id: int,
                    funds: tuple[tuple[str, int], ...], bootnodes: tuple[str, ...], out_dir: Path, force: bool) -> None:
    """Write the PoA chain's genesis and each validator's node files.

    OUT/genesis.json is the chain; OUT/node-N/ holds what the Pi of the N-th --validator needs:
    the genesis, the chain client's configuration and the systemd units.
    """
    from node.chain.genesis import GenesisError, NetworkSpec
    from node.chain.network_files import foreign_files, network_files, write_network_files

    if not validators:
        raise click.UsageError("give at least one --validator")
    try:
        spec = NetworkSpec(engine=engine, validators=validators, period=period, chain_id=chain_id, funds=funds)
        files = network_files(spec, bootnodes)
        write_network_files(out_dir, files, force=force)
    except GenesisError as error:
        raise click.ClickException(str(error)) from None
    if leftovers := foreign_files(out_dir, files):
        click.echo(f"warning: {out_dir} also holds files this network did not write, e.g. {leftovers[0]}; "
                   "remove them before copying node directories", err=True)
    click.echo(f"wrote {out_dir / 'genesis.json'} ({engine}, chain id {chain_id}, {period} s blocks) and:")
    for index, validator in enumerate(spec.validators, start=1):
        click.echo(f"  {out_dir / f'node-{index}'}/  validator {validator}")
    if not bootnodes:
        click.echo(f"Bootnodes are placeholders: see {out_dir / 'README.md'} for exchanging enodes.")


@chain.command("propose")
@click.argument("address")
@click.option("--add/--remove", "add", default=None, help="Vote the validator in, or out.")
@click.option("--rpc", "url", default="http://127.0.0.1:8545", show_default=True,
              help="This node's chain client (JSON-RPC over HTTP).")
@click.option("--engine", type=click.Choice(["auto", "clique", "qbft"]), default="auto", show_default=True,
              help="auto: clique if the client answers clique_getSigners, else qbft.")
def propose_command(address: str, add: bool | None, url: str, engine: str) -> None:
    """Vote, as this validator, to add or remove validator ADDRESS."""
    from node.chain.genesis import GenesisError, parse_address
    from node.chain.validators import ENGINE_APIS, describe, detect_engine, propose, web3_rpc_call

    if add is None:
        raise click.UsageError("say --add or --remove")
    try:
        address = parse_address(address)
    except GenesisError as error:
        raise click.BadParameter(str(error), param_hint="ADDRESS") from None
    try:
        call = web3_rpc_call(url)
        api = detect_engine(call) if engine == "auto" else ENGINE_APIS[engine]
        vote = propose(call, api, address, add)
    except NodeError as error:
        raise click.ClickException(str(error)) from None
    click.echo(describe(vote), nl=False)


@chain.command("bundle")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A member's node.toml: its genesis, deployment, manifest, peers and its own enode.")
@click.option("--host", default=None, metavar="ADDR",
              help="With --config: the address the other households reach this node at (replaces chain.p2p_host).")
@click.option("--genesis", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The community's genesis.json (instead of the config's).")
@click.option("--deployment", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The deployment record (instead of the config's).")
@click.option("--manifest", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The compiled contracts, .build/__local__.json (instead of the config's).")
@click.option("--bootnode", "bootnodes", multiple=True, metavar="ENODE",
              callback=_checked_by("node.chain.network_files:parse_enode"),
              help="A validator's enode URL for new nodes to sync from (repeatable; after the config's).")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The bundle file to write.")
def bundle_command(config_path: Path | None, host: str | None, genesis: Path | None, deployment: Path | None,
                   manifest: Path | None, bootnodes: tuple[str, ...], out_file: Path) -> None:
    """Write the community's join bundle: what `gridcommons init --join` needs in one file.

    On a member's node, --config takes everything from its node.toml; the admin gives
    --genesis, --deployment, --manifest and --bootnode instead.
    """
    from node.chain.bundle import build_bundle, member_bootnodes, write_bundle

    try:
        if config_path is not None:
            from node import config as node_config

            config = node_config.load(config_path)
            bootnodes = (*member_bootnodes(config, host), *bootnodes)
            genesis = genesis or config.chain.genesis
            deployment = deployment or config.chain.deployment
            manifest = manifest or config.chain.manifest
        elif host is not None:
            raise click.UsageError("--host names the address of the node given with --config")
        missing = [option for option, value in (("--genesis", genesis), ("--deployment", deployment),
                                                ("--manifest", manifest)) if value is None]
        if missing:
            raise click.UsageError(f"give --config NODE_TOML, or {', '.join(missing)}")
        bundle = build_bundle(genesis, deployment, manifest, bootnodes)
        write_bundle(bundle, out_file)
    except NodeError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"wrote {out_file}: join bundle of chain {bundle.chain_id} (Community "
               f"{bundle.deployment.contracts.get('Community')}), {len(bundle.contracts['contractTypes'])} contract ABIs, "
               f"{len(bundle.bootnodes)} bootnodes:")
    for enode in bundle.bootnodes:
        click.echo(f"  {enode}")
