"""`gridcommons dapp password` and `gridcommons dapp run`."""

from __future__ import annotations

import os
import time
from pathlib import Path

import click

from node.errors import NodeError

PASSWORD_VARIABLE = "GRIDCOMMONS_DAPP_PASSWORD"

_CONFIG_OPTION = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=Path("node.toml"),
    show_default=True, help="The node's TOML config.",
)


@click.group()
def dapp() -> None:
    """The household's web app."""


@dapp.command()
@_CONFIG_OPTION
def password(config_path: Path) -> None:
    """Set the operator's DApp password (asked twice; or from GRIDCOMMONS_DAPP_PASSWORD)."""
    from node import config as node_config

    try:
        config = node_config.load(config_path)
        set_password(config, new_password())
    except NodeError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"DApp password set for node {config.name}")


def new_password() -> str:
    return os.environ.get(PASSWORD_VARIABLE) or click.prompt(
        "password for the node's DApp", hide_input=True, confirmation_prompt=True
    )


def set_password(config, password: str) -> None:
    """Store the scrypt hash in the node's dapp.sqlite (the password itself is never written)."""
    store_password(config.dapp_path, password)


def store_password(dapp_path: Path, password: str) -> None:
    """Store the scrypt hash of `password` in the DApp file at `dapp_path`."""
    from dapp.db import DappDB
    from dapp.passwords import hash_password
    from node.sqlite import private_dir

    private_dir(dapp_path.parent)
    db = DappDB(dapp_path)
    try:
        db.set_password_hash(hash_password(password), time.time())
    finally:
        db.close()


@dapp.command()
@_CONFIG_OPTION
def run(config_path: Path) -> None:
    """Serve the DApp on its own, reading the node's files (the node usually serves it itself)."""
    from node import config as node_config
    from dapp import create_app
    from dapp.server import DappServer
    from dapp.services import NodeServices

    try:
        config = node_config.load(config_path)
    except NodeError as error:
        raise click.ClickException(str(error)) from None
    d = config.dapp
    server = DappServer(create_app(services=NodeServices.from_config(config)), d.host, d.port,
                        (str(d.tls_cert), str(d.tls_key)) if d.tls_cert else None)
    click.echo(f"DApp of node {config.name} at {server.url}; Ctrl-C stops it", err=True)
    try:
        server.serve()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
