"""The `gridcommons` operator command.

Subcommands load their modules only when invoked, so `gridcommons --help` stays fast on a
Raspberry Pi: web3, Ape and pyserial are imported by the commands that need them.
"""

from __future__ import annotations

import importlib

import click

# name -> "module:attribute" of a click command or group.
SUBCOMMANDS = {
    "chain": "node.chain.cli:chain",
    "dapp": "dapp.cli:dapp",
    "forecast": "node.forecast.cli:forecast",
    "demo": "node.demo.cli:demo",
    "dso": "node.dso.cli:dso",
    "init": "node.runtime.cli:init",
    "meter": "node.meter.cli:meter",
    "node": "node.runtime.cli:node",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def __init__(self, *args, lazy_subcommands: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self._lazy = dict(lazy_subcommands)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self._lazy:
            module_name, attribute = self._lazy[name].split(":")
            return getattr(importlib.import_module(module_name), attribute)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, lazy_subcommands=SUBCOMMANDS)
@click.version_option(package_name="gridcommons")
def main() -> None:
    """Run and operate a gridcommons energy-community node."""


if __name__ == "__main__":
    main()
