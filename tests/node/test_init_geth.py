"""`gridcommons init` for a geth validator, from a join bundle or from the community's files, and
what `gridcommons node run --dry-run` then checks."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parents[1] / "chain"))

from bundlekit import BOOTNODES, CHAIN_ID, write_bundle_file, write_community_files  # noqa: E402

from node import config as node_config  # noqa: E402
from node.chain.geth import enode_of  # noqa: E402

PASSPHRASE = "correct horse battery staple"
ANOTHER_VALIDATOR = "enode://" + "3c" * 64 + "@192.168.1.13:30303"


@pytest.fixture
def passphrase_file(tmp_path):
    path = tmp_path / "passphrase"
    path.write_text(PASSPHRASE + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture
def fake_geth(tmp_path):
    """Answers `geth version` as geth 1.13.15 does: all a dry run asks of it."""
    path = tmp_path / "bin" / "geth"
    path.parent.mkdir()
    path.write_text("#!/bin/sh\necho Geth\necho 'Version: 1.13.15-stable'\n")
    path.chmod(0o755)
    return path


def gridcommons(*args, env=None):
    from node.cli import main

    return CliRunner(mix_stderr=False, env=env).invoke(main, list(args), catch_exceptions=False)


def init(tmp_path, passphrase_file, *args):
    return gridcommons("init", "--dir", str(tmp_path / "node"), "--name", "smit", "--passphrase-file",
                       str(passphrase_file), *args)


def dry_run(tmp_path, geth):
    return gridcommons("node", "run", "--dry-run", "--config", str(tmp_path / "node" / "node.toml"),
                       env={"GRIDCOMMONS_GETH": str(geth)})


@pytest.fixture
def joined(tmp_path, passphrase_file):
    """A new household's node made with `init --join`."""
    bundle = write_bundle_file(tmp_path / "bundle.json")
    result = init(tmp_path, passphrase_file, "--join", str(bundle), "--peer", ANOTHER_VALIDATOR,
                  "--p2p-host", "192.168.1.30")
    assert result.exit_code == 0, result.stderr
    return result


def test_init_with_a_join_bundle_writes_a_validator_config_the_node_accepts(tmp_path, joined):
    node = tmp_path / "node"
    config = node_config.load(node / "node.toml")

    assert (config.chain.client, config.chain.genesis, config.chain.deployment, config.chain.manifest) == (
        "geth", node / "genesis.json", node / "deployment.json", node / "contracts.json")
    assert (config.chain.peers, config.chain.p2p_host, config.chain.p2p_port) == (
        (*BOOTNODES, ANOTHER_VALIDATOR), "192.168.1.30", 30303)
    node_key = node / "data" / "chain" / "geth" / "nodekey"
    assert node_key.stat().st_mode & 0o777 == 0o600
    assert PASSPHRASE not in (node / "node.toml").read_text() + joined.stdout + joined.stderr
    lines = joined.stdout.splitlines()
    assert f"node enode {enode_of(bytes.fromhex(node_key.read_text()), '192.168.1.30', 30303)}" in lines
    address = next(line for line in lines if line.startswith("node account ")).split()[2]
    assert f"`ape run community add-member {address} --meter-id ... --grid-kw ... [--generation-kw ...]`" in joined.stdout
    assert "the validators vote it in" in joined.stdout


def test_dry_run_of_a_joined_node_checks_geth_genesis_peers_and_account(tmp_path, joined, fake_geth):
    result = dry_run(tmp_path, fake_geth)

    assert result.exit_code == 0, result.stderr
    node = tmp_path / "node"
    lines = [line.split(None, 1) for line in result.stdout.splitlines()[1:]]
    report = {line[0]: line[1] for line in lines if len(line) == 2}
    assert report["chain"] == "http://127.0.0.1:8545 (supervised geth validator)"
    assert report["geth"] == f"{fake_geth} (1.13.15)"
    assert report["genesis"] == f"{node / 'genesis.json'}: Clique, chain id {CHAIN_ID}, 1 s blocks, 1 signers at genesis"
    assert report["seals"].endswith("(not a signer yet: the validators vote it in once the admin has admitted it)")
    assert report["peers"] == "3"
    assert [line[0] for line in lines if len(line) == 1] == [*BOOTNODES, ANOTHER_VALIDATOR]


def test_dry_run_refuses_a_deployment_made_on_another_chain_than_the_genesis(tmp_path, joined, fake_geth):
    node = tmp_path / "node"
    record = json.loads((node / "deployment.json").read_text())
    (node / "deployment.json").write_text(json.dumps({**record, "chain_id": 1337}))

    result = dry_run(tmp_path, fake_geth)

    assert (result.exit_code, result.stderr.strip()) == (1, (
        f"Error: deployment {node / 'deployment.json'} is for chain 1337 but genesis {node / 'genesis.json'} "
        "makes chain 31415926: take both from the same community (its join bundle holds both)"))


def test_dry_run_says_how_to_get_geth_when_there_is_none(tmp_path, joined):
    result = dry_run(tmp_path, Path("/nonexistent"))

    assert (result.exit_code, result.stderr.strip()) == (1, (
        "Error: geth 1.13.15 not found: run `make setup` (it builds it), install the release "
        "(docs/poa-network.md), or set GRIDCOMMONS_GETH to its path; a newer geth cannot seal Clique blocks"))


def test_a_founding_validator_is_set_up_from_the_community_files(tmp_path, passphrase_file):
    files = write_community_files(tmp_path / "community")

    result = init(tmp_path, passphrase_file, "--chain-client", "geth", "--genesis", str(files.genesis),
                  "--deployment", str(files.deployment), "--manifest", str(files.manifest),
                  "--peer", ANOTHER_VALIDATOR, "--p2p-port", "30304")

    assert result.exit_code == 0, result.stderr
    chain = node_config.load(tmp_path / "node" / "node.toml").chain
    assert (chain.client, chain.genesis, chain.peers, chain.p2p_host, chain.p2p_port) == (
        "geth", files.genesis, (ANOTHER_VALIDATOR,), "", 30304)
    # Listening on every interface, the node cannot know its address on the households' network.
    enode = next(line for line in result.stdout.splitlines() if line.startswith("node enode "))
    assert enode.endswith("@LAN-ADDRESS:30304")


def test_embedded_chain_still_sets_up_an_anvil_node(tmp_path, passphrase_file):
    result = init(tmp_path, passphrase_file, "--embedded-chain")

    assert result.exit_code == 0, result.stderr
    chain = node_config.load(tmp_path / "node" / "node.toml").chain
    assert (chain.client, chain.state_file) == ("anvil", tmp_path / "node" / "data" / "chain-state.json")
    assert "node enode" not in result.stdout


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--join", "bundle.json", "--genesis", "genesis.json"],
         "--join brings the community's genesis, deployment and manifest: leave out --genesis"),
        (["--join", "bundle.json", "--chain-client", "anvil"], "--join runs a geth validator, not --chain-client anvil"),
        (["--embedded-chain", "--chain-client", "geth"], "--embedded-chain is --chain-client anvil, not geth"),
        (["--chain-client", "geth"],
         "--chain-client geth needs the community's genesis: give --genesis FILE, or --join BUNDLE"),
        (["--peer", ANOTHER_VALIDATOR],
         "--genesis, --peer and --p2p-host are for a geth validator (--chain-client geth or --join)"),
    ],
)
def test_init_refuses_chain_options_that_do_not_go_together(tmp_path, passphrase_file, args, expected):
    result = init(tmp_path, passphrase_file, *args)

    assert (result.exit_code, result.stderr.strip().splitlines()[-1]) == (2, f"Error: {expected}")
    assert not (tmp_path / "node").exists()


def test_init_never_joins_over_another_communitys_genesis(tmp_path, passphrase_file):
    bundle = write_bundle_file(tmp_path / "bundle.json")
    (tmp_path / "node").mkdir()
    (tmp_path / "node" / "genesis.json").write_text('{"config": {"chainId": 42424242}}')

    result = init(tmp_path, passphrase_file, "--join", str(bundle))

    assert (result.exit_code, result.stderr.strip()) == (1, (
        f"Error: {tmp_path / 'node'} already holds a different genesis.json: move it away, or replace it with --force"))
    assert sorted(p.name for p in (tmp_path / "node").iterdir()) == ["genesis.json"]


def test_init_refuses_a_file_that_is_no_join_bundle_before_asking_for_anything(tmp_path, passphrase_file):
    (tmp_path / "bundle.json").write_text('{"genesis": {}}')

    result = init(tmp_path, passphrase_file, "--join", str(tmp_path / "bundle.json"))

    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {tmp_path / 'bundle.json'} is not a gridcommons join bundle")
    assert not (tmp_path / "node").exists()
