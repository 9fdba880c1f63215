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
