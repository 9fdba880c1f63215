"""`gridcommons demo run`, `gridcommons demo network` and `gridcommons demo reset` (behind `make demo`,
`make demo-network` and their `-reset` targets)."""

from __future__ import annotations

import shutil
import signal
import threading
from pathlib import Path

import click

from node.errors import NodeError


def _root_option(default: Path):
    return click.option("--dir", "root", type=click.Path(file_okay=False, path_type=Path), default=default,
                        show_default=True, help="Where the demo keeps its chain and node folders.")


_ROOT_OPTION = _root_option(Path(".demo"))
_FOR_OPTION = click.option("--for", "seconds", type=float, default=None, help="Stop by itself after this many seconds.")


@click.group()
def demo() -> None:
    """A community of five households on this machine, in accelerated time."""


@demo.command()
@_ROOT_OPTION
@click.option("--fresh", is_flag=True, help="Forget the previous demo and start a new community.")
@click.option("--chain-port", type=int, default=8545, show_default=True)
@click.option("--first-dapp-port", type=int, default=8081, show_default=True,
              help="The five DApps listen on this port and the four after it.")
@click.option("--time-factor", type=float, default=60.0, show_default=True,
              help="Simulated time runs this many times faster (for a new demo).")
@_FOR_OPTION
def run(root: Path, fresh: bool, chain_port: int, first_dapp_port: int, time_factor: float, seconds: float | None) -> None:
    """Start (or resume) the demo community and run it until Ctrl-C."""
    from node.demo.run import Demo, DemoSettings

    if fresh:
        _forget(root)
    settings = DemoSettings(root=root, chain_port=chain_port, first_dapp_port=first_dapp_port, time_factor=time_factor)
    stopped = _stopped_by_signals()
    _live(Demo(settings, say=click.echo), stopped, seconds, root, "make demo")


@demo.command()
@_root_option(Path(".demo-network"))
@click.option("--fresh", is_flag=True, help="Forget the previous demo network and start a new community.")
@click.option("--chain-port", type=int, default=8641, show_default=True,
              help="The five validators' JSON-RPC listen on this port and the four after it.")
@click.option("--first-p2p-port", type=int, default=30341, show_default=True,
              help="The five validators' peer-to-peer ports: this one and the four after it.")
@click.option("--first-dapp-port", type=int, default=8091, show_default=True,
              help="The five DApps listen on this port and the four after it.")
@_FOR_OPTION
def network(root: Path, fresh: bool, chain_port: int, first_p2p_port: int, first_dapp_port: int,
            seconds: float | None) -> None:
    """The demo community on five geth validators in real time (60 s intervals), until Ctrl-C."""
    from node.demo.network import NetworkDemo, NetworkDemoSettings

    if fresh:
        _forget(root)
    settings = NetworkDemoSettings(root=root, chain_port=chain_port, first_p2p_port=first_p2p_port,
                                   first_dapp_port=first_dapp_port)
    stopped = _stopped_by_signals()
    _live(NetworkDemo(settings, say=click.echo, interrupted=stopped), stopped, seconds, root, "make demo-network")


def _stopped_by_signals() -> threading.Event:
    """Set by Ctrl-C or SIGTERM."""
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    return stopped


def _live(running, stopped: threading.Event, seconds: float | None, root: Path, make_target: str) -> None:
    """Start the demo, narrate until `stopped` (or `seconds` have passed), then stop everything it started."""
    try:
        running.start()
        if running.first_view_s is not None:
            click.echo(f"first DApp page answered {running.first_view_s:.1f} s after the demo started")
        if not stopped.is_set():
            if seconds is not None:
                timer = threading.Timer(seconds, stopped.set)
                timer.daemon = True  # a Ctrl-C before it fires must not keep the demo waiting for it
                timer.start()
            running.watch(stopped)
    except NodeError as error:
        raise click.ClickException(str(error)) from None
    finally:
        click.echo("stopping the community ...")
        running.stop()
    click.echo(f"stopped; the state is in {root}/ (`{make_target}` resumes, `{make_target}-reset` starts afresh)")


@demo.command()
@_ROOT_OPTION
def reset(root: Path) -> None:
    """Forget the demo community (chain, node folders, logins)."""
    _forget(root)
    click.echo(f"removed {root}/")


def _forget(root: Path) -> None:
    if (root / "demo.json").is_file() or root.exists():
        shutil.rmtree(root)
