"""`gridcommons demo run` and `gridcommons demo reset` (behind `make demo` and `make demo-reset`)."""

from __future__ import annotations

import shutil
import signal
import threading
from pathlib import Path

import click

from node.errors import NodeError

_ROOT_OPTION = click.option("--dir", "root", type=click.Path(file_okay=False, path_type=Path), default=Path(".demo"),
                            show_default=True, help="Where the demo keeps its chain and node folders.")


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
@click.option("--for", "seconds", type=float, default=None, help="Stop by itself after this many seconds.")
def run(root: Path, fresh: bool, chain_port: int, first_dapp_port: int, time_factor: float, seconds: float | None) -> None:
    """Start (or resume) the demo community and run it until Ctrl-C."""
    from node.demo.run import Demo, DemoSettings

    if fresh:
        _forget(root)
    settings = DemoSettings(root=root, chain_port=chain_port, first_dapp_port=first_dapp_port, time_factor=time_factor)
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    running = Demo(settings, say=click.echo)
    try:
        running.start()
        if running.first_view_s is not None:
            click.echo(f"first DApp page answered {running.first_view_s:.1f} s after the demo started")
        if not stopped.is_set():
            if seconds is not None:
                threading.Timer(seconds, stopped.set).start()
            running.watch(stopped)
    except NodeError as error:
        raise click.ClickException(str(error)) from None
    finally:
        click.echo("stopping the community ...")
        running.stop()
    click.echo(f"stopped; the state is in {root}/ (`make demo` resumes, `make demo-reset` starts afresh)")


@demo.command()
@_ROOT_OPTION
def reset(root: Path) -> None:
    """Forget the demo community (chain, node folders, logins)."""
    _forget(root)
    click.echo(f"removed {root}/")


def _forget(root: Path) -> None:
    if (root / "demo.json").is_file() or root.exists():
        shutil.rmtree(root)
