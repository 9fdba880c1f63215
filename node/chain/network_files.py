"""Files each household installs on its Pi: chain client configuration and systemd units.

`network_files` is pure (a spec in, relative path -> text out); `write_network_files` puts them
on disk.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from node.chain.genesis import GenesisError, NetworkSpec, genesis

BOOTNODES_VARIABLE = "GRIDCOMMONS_BOOTNODES"
CHAIN_UNIT = "gridcommons-chain.service"
NODE_UNIT = "gridcommons-node.service"
GETH_HTTP_APIS = ("eth", "net", "web3", "clique", "txpool")
BESU_HTTP_APIS = ("ETH", "NET", "WEB3", "QBFT", "TXPOOL")
_ENODE = re.compile(r"enode://[0-9a-fA-F]{128}@[^:@/\s]+:\d{1,5}(\?discport=\d{1,5})?")
DOCS = "docs/poa-network.md"


@dataclass(frozen=True)
class NodeLayout:
    """Where things live on a household's Pi; the same on every node of the network."""

    config_dir: PurePosixPath = PurePosixPath("/etc/gridcommons")
    data_dir: PurePosixPath = PurePosixPath("/var/lib/gridcommons/chain")
    # Where `gridcommons init` writes the node account's keystore; geth signs blocks with it.
    keystore_dir: PurePosixPath = PurePosixPath("/var/lib/gridcommons/keystore")
    passphrase_file: PurePosixPath = PurePosixPath("/etc/gridcommons/node-passphrase")
    geth: PurePosixPath = PurePosixPath("/usr/local/bin/geth")
    besu: PurePosixPath = PurePosixPath("/opt/besu/bin/besu")
    gridcommons: PurePosixPath = PurePosixPath("/opt/gridcommons/.venv/bin/gridcommons")
    user: str = "gridcommons"
    rpc_port: int = 8545
    p2p_port: int = 30303

    @property
    def genesis_file(self) -> PurePosixPath:
        return self.config_dir / "genesis.json"

    @property
    def chain_env_file(self) -> PurePosixPath:
        return self.config_dir / "chain.env"

    @property
    def besu_config_file(self) -> PurePosixPath:
        return self.config_dir / "besu.toml"

    @property
    def node_config_file(self) -> PurePosixPath:
        return self.config_dir / "node.toml"


def parse_enode(text: str) -> str:
    """A bootnode given with `--bootnode`: enode://<128 hex digits>@<host>:<port>."""
    if not _ENODE.fullmatch(text):
        raise GenesisError(
            f"{text!r} is not an enode URL (enode://<128 hex digits>@<host>:<port>); "
            f"see {DOCS}, \"Exchange enodes\", for how to read a node's enode"
        )
    return text


def geth_arguments(spec: NetworkSpec, validator: str, layout: NodeLayout) -> tuple[str, ...]:
    """geth 1.13.15's command line for the validator sealing with `validator`'s account."""
    return (
        str(layout.geth),
        "--datadir", str(layout.data_dir),
        "--networkid", str(spec.chain_id),
        "--syncmode", "full",
        "--port", str(layout.p2p_port),
        # Given explicitly even when empty: without it geth dials mainnet's bootnodes.
        "--bootnodes", "${%s}" % BOOTNODES_VARIABLE,
        "--keystore", str(layout.keystore_dir),
        "--unlock", validator,
        "--password", str(layout.passphrase_file),
        # geth refuses --unlock whenever HTTP is on, even on 127.0.0.1 only.
        "--allow-insecure-unlock",
        "--mine",
        "--miner.etherbase", validator,
        "--http",
        "--http.addr", "127.0.0.1",
        "--http.port", str(layout.rpc_port),
        "--http.api", ",".join(GETH_HTTP_APIS),
    )


def chain_env(bootnodes: tuple[str, ...], layout: NodeLayout) -> str:
    """geth's environment file: the bootnodes, which are only known once every node has run."""
    if bootnodes:
        return (
            "# Enodes of the community's validators, comma-separated.\n"
            f"{BOOTNODES_VARIABLE}={','.join(bootnodes)}\n"
        )
    return (
        "# PLACEHOLDER: the enodes of the other validators are not known yet.\n"
        "# Start this node once, read its enode with\n"
        f"#   sudo -u {layout.user} {layout.geth} attach --exec admin.nodeInfo.enode {layout.data_dir}/geth.ipc\n"
        "# (replace 127.0.0.1 by the Pi's LAN address), collect every validator's enode, put them\n"
        f"# here comma-separated, then `sudo systemctl restart {CHAIN_UNIT}`.\n"
        f"# See {DOCS}, \"Exchange enodes\".\n"
        f"#   {BOOTNODES_VARIABLE}=enode://<128 hex digits>@192.168.1.11:30303,enode://...@192.168.1.12:30303\n"
        f"{BOOTNODES_VARIABLE}=\n"
    )


def besu_config(bootnodes: tuple[str, ...], layout: NodeLayout) -> str:
    """Besu's config.toml for a QBFT validator; its node key in data-path/key is the validator's."""
    if bootnodes:
        bootnode_lines = f"bootnodes={_toml(list(bootnodes))}\n"
    else:
        bootnode_lines = (
            "# PLACEHOLDER: the enodes of the other validators are not known yet. Start this node\n"
            f"# once and read its enode from its log (`journalctl -u {CHAIN_UNIT} | grep 'Enode URL'`,\n"
            "# replace 127.0.0.1 by the Pi's LAN address); collect every validator's enode and list\n"
            f"# them here, then `sudo systemctl restart {CHAIN_UNIT}`. See {DOCS}, \"Exchange enodes\".\n"
            '#   bootnodes=["enode://<128 hex digits>@192.168.1.11:30303", "enode://...@192.168.1.12:30303"]\n'
            "bootnodes=[]\n"
        )
    settings = {
        "data-path": str(layout.data_dir),
        "genesis-file": str(layout.genesis_file),
        "sync-mode": "FULL",
        "p2p-port": layout.p2p_port,
        "rpc-http-enabled": True,
        "rpc-http-host": "127.0.0.1",
        "rpc-http-port": layout.rpc_port,
        "rpc-http-api": list(BESU_HTTP_APIS),
        "host-allowlist": ["localhost", "127.0.0.1"],
    }
    lines = "".join(f"{key}={_toml(value)}\n" for key, value in settings.items())
    return "# Besu QBFT validator of a gridcommons community chain.\n" + lines + bootnode_lines


def _toml(value: object) -> str:
    # JSON's strings, numbers, booleans and arrays of them are valid TOML values.
    return json.dumps(value)


def chain_unit(spec: NetworkSpec, validator: str, layout: NodeLayout) -> str:
    """The systemd unit that runs this node's chain client."""
    if spec.engine == "clique":
        description = f"gridcommons chain: geth 1.13.15 Clique validator {validator}"
        environment = f"EnvironmentFile={layout.chain_env_file}\n"
        command = _unit_command_lines(geth_arguments(spec, validator, layout))
    else:
        description = f"gridcommons chain: Besu QBFT validator {validator}"
        environment = ""
        command = f"{layout.besu} --config-file={layout.besu_config_file}"
    return (
        "[Unit]\n"
        f"Description={description}\n"
        "After=network-online.target\n"
        "Wants=network-online.target\n"
        "\n"
        "[Service]\n"
        f"User={layout.user}\n"
        f"Group={layout.user}\n"
        f"{environment}"
        f"ExecStart={command}\n"
        "Restart=on-failure\n"
        "RestartSec=5\n"
        # Both clients flush state on SIGTERM; on an SD card that can take a while.
        "TimeoutStopSec=180\n"
        "NoNewPrivileges=true\n"
        "PrivateTmp=true\n"
        "ProtectSystem=full\n"
        "ProtectHome=true\n"
        "\n"
        "[Install]\n"
        "WantedBy=multi-user.target\n"
    )


def _unit_command_lines(arguments: tuple[str, ...]) -> str:
    """A command for ExecStart=, one option and its value per continued line."""
    lines: list[list[str]] = []
    for argument in arguments:
        if argument.startswith("--") or not lines:
            lines.append([argument])
        else:
            lines[-1].append(argument)
    return " \\\n    ".join(" ".join(line) for line in lines)


def node_unit(layout: NodeLayout) -> str:
    """The systemd unit that runs the gridcommons node next to its chain client."""
    return (
        "[Unit]\n"
        "Description=gridcommons node: meter reader, settlement and household DApp\n"
        f"After={CHAIN_UNIT} network-online.target\n"
        # Wants, not Requires: the meter keeps reading into the local store while the chain
        # client restarts.
        f"Wants={CHAIN_UNIT} network-online.target\n"
        "\n"
        "[Service]\n"
        f"User={layout.user}\n"
        f"Group={layout.user}\n"
        f"ExecStart={layout.gridcommons} node run --config {layout.node_config_file}\n"
        "Restart=on-failure\n"
        "RestartSec=5\n"
        "NoNewPrivileges=true\n"
        "PrivateTmp=true\n"
        "ProtectHome=true\n"
        "\n"
        "[Install]\n"
        "WantedBy=multi-user.target\n"
    )


def node_directory(index: int) -> str:
    return f"node-{index}"


def network_files(
    spec: NetworkSpec, bootnodes: tuple[str, ...] = (), layout: NodeLayout = NodeLayout()
) -> dict[str, str]:
    """Every file of the network: `genesis.json`, `README.md`, and one `node-N/` per validator.

    Nodes are numbered in the order the validators were given. Each node directory holds all
    that Pi needs, so it can be copied over on its own.
    """
    genesis_text = json.dumps(genesis(spec), indent=2) + "\n"
    files = {"genesis.json": genesis_text, "README.md": network_readme(spec, bootnodes, layout)}
    for index, validator in enumerate(spec.validators, start=1):
        directory = node_directory(index)
        files[f"{directory}/genesis.json"] = genesis_text
        files[f"{directory}/{CHAIN_UNIT}"] = chain_unit(spec, validator, layout)
        files[f"{directory}/{NODE_UNIT}"] = node_unit(layout)
        if spec.engine == "clique":
            files[f"{directory}/chain.env"] = chain_env(bootnodes, layout)
        else:
            files[f"{directory}/besu.toml"] = besu_config(bootnodes, layout)
    return files


def network_readme(spec: NetworkSpec, bootnodes: tuple[str, ...], layout: NodeLayout) -> str:
    client = "geth 1.13.15 (Clique)" if spec.engine == "clique" else "Besu (QBFT)"
    client_config = "chain.env" if spec.engine == "clique" else "besu.toml"
    rows = "".join(
        f"| {node_directory(index)} | {validator} |\n" for index, validator in enumerate(spec.validators, start=1)
    )
    if bootnodes:
        bootnode_note = f"Bootnodes are filled in ({len(bootnodes)} enodes).\n"
    else:
        bootnode_note = (
            f"Bootnodes are NOT filled in yet: each `{client_config}` holds a placeholder. Start every node\n"
            f"once, collect the enodes, and fill them in (see {DOCS}, \"Exchange enodes\").\n"
        )
    return (
        f"# gridcommons PoA network: chain id {spec.chain_id}, {client}, {spec.period} s blocks\n"
        "\n"
        "| node | validator |\n"
        "| --- | --- |\n"
        f"{rows}"
        "\n"
        f"Copy `node-N/` to the Pi of validator N, then on that Pi:\n"
        "\n"
        "```sh\n"
        f"sudo install -m 0644 genesis.json {client_config} {layout.config_dir}/\n"
        f"sudo install -m 0644 {CHAIN_UNIT} {NODE_UNIT} /etc/systemd/system/\n"
        "```\n"
        "\n"
        f"{bootnode_note}"
        f"\nThe full procedure is in {DOCS}.\n"
    )


def write_network_files(out_dir: Path, files: Mapping[str, str], force: bool = False) -> tuple[Path, ...]:
    """Write `files` under `out_dir`, which must be new or empty unless `force`."""
    if out_dir.exists() and not out_dir.is_dir():
        raise GenesisError(f"{out_dir} exists and is not a directory")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise GenesisError(f"{out_dir} is not empty: choose a new directory, or overwrite with --force")
    written = []
    for relative, text in files.items():
        path = out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return tuple(written)


def foreign_files(out_dir: Path, files: Mapping[str, str]) -> tuple[Path, ...]:
    """Files under `out_dir` that `files` does not account for, such as an earlier network's
    node directories left behind by --force."""
    ours = {out_dir / relative for relative in files}
    return tuple(sorted(path for path in out_dir.rglob("*") if path.is_file() and path not in ours))
