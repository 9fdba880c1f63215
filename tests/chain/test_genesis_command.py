"""`gridcommons chain genesis`: the files each household installs, and refusals of bad input."""

import json
import shlex
import tomllib

import pytest
from click.testing import CliRunner
from eth_utils import to_checksum_address

from node.cli import main

VALIDATORS = (
    "0xc7eeb9a4e00ce683cf93039b212648e01c6c6b78",
    "0x3923390ad55e90c237593b3b0e401f3b08a03185",
    "0x64a702e6263b7297a96638cac6ae65e6541f4169",
)
DEPLOYER = "0xaefdb9a738c9f433e5b6b212a6d62f6370c2f692"
ENODES = (
    "enode://" + "1a" * 64 + "@192.168.1.11:30303",
    "enode://" + "2b" * 64 + "@192.168.1.12:30303",
)


def run(*args):
    return CliRunner(mix_stderr=False).invoke(main, ["chain", "genesis", *args], catch_exceptions=False)


def network(out, engine="clique", *extra):
    validators = [arg for v in VALIDATORS for arg in ("--validator", v)]
    return run("--engine", engine, *validators, "--period", "5", "--chain-id", "424242",
               "--fund", f"{DEPLOYER}=5000000000000000000", "--out", str(out), *extra)


def exec_start(unit: str) -> list[str]:
    """ExecStart's arguments, with systemd's line continuations joined."""
    command = unit.split("ExecStart=", 1)[1].split("\nRestart=", 1)[0]
    return shlex.split(command.replace("\\\n", " "))


def test_clique_network_writes_genesis_and_one_directory_per_validator(tmp_path):
    out = tmp_path / "network"

    result = network(out)

    assert result.exit_code == 0, result.stderr
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == sorted(
        ["genesis.json", "README.md"]
        + [f"node-{n}/{name}" for n in (1, 2, 3)
           for name in ("genesis.json", "chain.env", "gridcommons-chain.service", "gridcommons-node.service")]
    )
    document = json.loads((out / "genesis.json").read_text())
    assert (document["config"]["chainId"], document["config"]["clique"]["period"]) == (424242, 5)
    assert document["alloc"] == {to_checksum_address(DEPLOYER): {"balance": hex(5 * 10**18)}}
    assert (out / "node-2" / "genesis.json").read_text() == (out / "genesis.json").read_text()


def test_each_clique_node_seals_with_its_own_validator_account(tmp_path):
    network(tmp_path)

    arguments = exec_start((tmp_path / "node-2" / "gridcommons-chain.service").read_text())

    options = dict(zip(arguments[1::], arguments[2::]))
    validator = to_checksum_address(VALIDATORS[1])
    assert arguments[0] == "/usr/local/bin/geth"
    assert {key: options[key] for key in ("--networkid", "--syncmode", "--miner.etherbase", "--unlock",
                                           "--http.addr", "--http.api", "--password")} == {
        "--networkid": "424242",
        "--syncmode": "full",
        "--miner.etherbase": validator,
        "--unlock": validator,
        "--http.addr": "127.0.0.1",
        "--http.api": "eth,net,web3,clique,txpool",
        "--password": "/etc/gridcommons/node-passphrase",
    }
    assert {"--mine", "--allow-insecure-unlock", "--http"} <= set(arguments)
    assert options["--bootnodes"] == "${GRIDCOMMONS_BOOTNODES}"


def test_chain_unit_runs_as_gridcommons_restarts_on_failure_and_reads_the_bootnodes(tmp_path):
    network(tmp_path)

    unit = (tmp_path / "node-1" / "gridcommons-chain.service").read_text()

    assert {"User=gridcommons", "Restart=on-failure", "EnvironmentFile=/etc/gridcommons/chain.env",
            "WantedBy=multi-user.target"} <= set(unit.splitlines())


def test_node_unit_runs_node_run_after_the_chain_unit(tmp_path):
    network(tmp_path)

    lines = set((tmp_path / "node-3" / "gridcommons-node.service").read_text().splitlines())

    assert {
        "After=gridcommons-chain.service network-online.target",
        "ExecStart=/opt/gridcommons/.venv/bin/gridcommons node run --config /etc/gridcommons/node.toml",
        "User=gridcommons",
        "Restart=on-failure",
    } <= lines


def test_without_bootnodes_the_env_file_holds_an_explained_empty_placeholder(tmp_path):
    result = network(tmp_path)

    env = (tmp_path / "node-1" / "chain.env").read_text()
    assert [line for line in env.splitlines() if not line.startswith("#")] == ["GRIDCOMMONS_BOOTNODES="]
    assert "PLACEHOLDER" in env and "admin.nodeInfo.enode" in env and "docs/poa-network.md" in env
    assert "Bootnodes are placeholders" in result.stdout


def test_bootnodes_given_are_written_into_every_nodes_env_file(tmp_path):
    network(tmp_path, "clique", "--bootnode", ENODES[0], "--bootnode", ENODES[1])

    env_files = {(tmp_path / f"node-{n}" / "chain.env").read_text() for n in (1, 2, 3)}

    assert [[line for line in env.splitlines() if not line.startswith("#")] for env in env_files] == [
        [f"GRIDCOMMONS_BOOTNODES={ENODES[0]},{ENODES[1]}"]
    ]


def test_qbft_network_writes_besu_configuration_with_the_qbft_api_on_localhost(tmp_path):
    result = network(tmp_path, "qbft", "--bootnode", ENODES[0])

    assert result.exit_code == 0, result.stderr
    config = tomllib.loads((tmp_path / "node-1" / "besu.toml").read_text())
    assert config == {
        "data-path": "/var/lib/gridcommons/chain",
        "genesis-file": "/etc/gridcommons/genesis.json",
        "sync-mode": "FULL",
        "p2p-port": 30303,
        "rpc-http-enabled": True,
        "rpc-http-host": "127.0.0.1",
        "rpc-http-port": 8545,
        "rpc-http-api": ["ETH", "NET", "WEB3", "QBFT", "TXPOOL"],
        "host-allowlist": ["localhost", "127.0.0.1"],
        "bootnodes": [ENODES[0]],
    }
    unit = (tmp_path / "node-1" / "gridcommons-chain.service").read_text()
    assert exec_start(unit) == ["/opt/besu/bin/besu", "--config-file=/etc/gridcommons/besu.toml"]
    assert "qbft" in json.loads((tmp_path / "genesis.json").read_text())["config"]


def test_qbft_placeholder_leaves_a_valid_config_with_no_bootnodes(tmp_path):
    network(tmp_path, "qbft")

    text = (tmp_path / "node-2" / "besu.toml").read_text()

    assert (tomllib.loads(text)["bootnodes"], "PLACEHOLDER" in text) == ([], True)


@pytest.mark.parametrize(
    ("args", "exit_code", "error"),
    [
        (["--validator", "0x1234"], 2, "Error: Invalid value for '--validator': '0x1234' is not an address"),
        (["--validator", VALIDATORS[0], "--validator", VALIDATORS[0]], 1,
         f"Error: validator {to_checksum_address(VALIDATORS[0])} is given twice"),
        (["--chain-id", "1"], 2, "Error: Invalid value for '--chain-id': chain id 1 is Ethereum mainnet's"),
        (["--chain-id", "11155111"], 2, "Error: Invalid value for '--chain-id': chain id 11155111 is Sepolia's"),
        (["--period", "0"], 2, "Error: Invalid value for '--period': block period 0 s must be at least 1 s"),
        (["--fund", "lots"], 2, "Error: Invalid value for '--fund': 'lots' is not ADDRESS=WEI"),
        (["--bootnode", "enode://short@1.2.3.4:30303"], 2,
         "Error: Invalid value for '--bootnode': 'enode://short@1.2.3.4:30303' is not an enode URL"),
    ],
)
def test_bad_input_is_refused_with_one_line_and_writes_nothing(tmp_path, args, exit_code, error):
    defaults = {"--validator": VALIDATORS[0], "--period": "5", "--chain-id": "424242"}
    base = [arg for key, value in defaults.items() if key not in args for arg in (key, value)]

    result = run("--engine", "clique", *base, *args, "--out", str(tmp_path / "out"))

    error_lines = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert (result.exit_code, len(error_lines)) == (exit_code, 1)
    assert error_lines[0].startswith(error)
    assert not (tmp_path / "out").exists()


def test_no_validator_is_refused(tmp_path):
    result = run("--engine", "clique", "--period", "5", "--chain-id", "424242", "--out", str(tmp_path / "out"))

    assert (result.exit_code, result.stderr.splitlines()[-1]) == (2, "Error: give at least one --validator")


def test_a_non_empty_out_directory_is_refused_unless_forced(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")

    refused = network(tmp_path)
    forced = network(tmp_path, "clique", "--force")

    assert (refused.exit_code, refused.stderr.strip()) == (
        1, f"Error: {tmp_path} is not empty: choose a new directory, or overwrite with --force"
    )
    assert forced.exit_code == 0
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert "also holds files this network did not write" in forced.stderr
