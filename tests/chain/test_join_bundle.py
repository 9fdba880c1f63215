"""The join bundle: one file from which a new household's node joins a running community."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
from bundlekit import BOOTNODES, CHAIN_ID, VALIDATOR, deployment_record, write_bundle_file, write_community_files
from click.testing import CliRunner

from node.chain import deployment
from node.chain.bundle import (
    BundleError,
    build_bundle,
    clique_genesis,
    read_bundle,
    unpack_bundle,
)
from node.chain.contracts import load_abis
from node.chain.devnet import MANIFEST
from node.chain.geth import enode_of, ensure_node_key, genesis_chain_id
from node.cli import main


def test_a_bundle_read_back_unpacks_into_the_files_a_node_reads(tmp_path):
    path = write_bundle_file(tmp_path / "bundle.json")
    community = tmp_path / "community"

    unpacked = unpack_bundle(read_bundle(path), tmp_path / "node")

    assert (unpacked.genesis, unpacked.deployment, unpacked.manifest) == (
        tmp_path / "node" / "genesis.json", tmp_path / "node" / "deployment.json", tmp_path / "node" / "contracts.json")
    assert json.loads(unpacked.genesis.read_text()) == json.loads((community / "genesis.json").read_text())
    assert genesis_chain_id(unpacked.genesis) == CHAIN_ID
    assert asdict(deployment.read(unpacked.deployment)) == deployment_record()
    assert load_abis(unpacked.manifest) == load_abis(community / "manifest.json")
    assert unpacked.bootnodes == BOOTNODES


def test_the_bundle_keeps_every_abi_of_the_compiled_contracts_but_not_their_bytecode(tmp_path):
    files = write_community_files(tmp_path)

    bundle = build_bundle(files.genesis, files.deployment, MANIFEST, BOOTNODES)
    unpacked = unpack_bundle(bundle, tmp_path / "node")

    assert load_abis(unpacked.manifest) == load_abis(MANIFEST)
    assert "runtimeBytecode" not in unpacked.manifest.read_text()
    assert unpacked.manifest.stat().st_size < MANIFEST.stat().st_size / 2


def test_the_bundle_names_each_validator_once_and_reads_the_clique_signers(tmp_path):
    files = write_community_files(tmp_path)

    bundle = build_bundle(files.genesis, files.deployment, files.manifest, [*BOOTNODES, BOOTNODES[0]])

    assert bundle.bootnodes == BOOTNODES
    assert clique_genesis(bundle.genesis, "g").signers == (VALIDATOR,)


def _without_clique(document):
    del document["genesis"]["config"]["clique"]


def _without_an_abi(document):
    del document["contracts"]["contractTypes"]["Community"]


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda d: d.pop("format"),
         '{path} is not a gridcommons join bundle (no "format": "gridcommons-join-bundle"): make one with '
         "`gridcommons chain bundle`, or download it from a member's DApp"),
        (lambda d: d.update(version=2),
         "{path} is a join bundle of format version 2; this gridcommons reads version 1: use the same gridcommons "
         "release as the node that made it"),
        (lambda d: d.pop("contracts"), "{path} lacks contracts: make the bundle again"),
        (lambda d: d["deployment"].update(chain_id=1337),
         "the deployment in {path} is for chain 1337 but the genesis in {path} makes chain 31415926: take both from "
         "the same community (its join bundle holds both)"),
        (lambda d: d["deployment"].update(colour="blue"),
         "the deployment in {path} is not a deployment record (Deployment.__init__() got an unexpected keyword "
         "argument 'colour')"),
        (lambda d: d["bootnodes"].append("enode://x@192.168.1.13:30303"),
         "the bootnodes in {path}: 'enode://x@192.168.1.13:30303' is not an enode URL (enode://<128 hex "
         "digits>@<host>:<port>); see docs/poa-network.md, \"Exchange enodes\", for how to read a node's enode"),
        (lambda d: d.update(bootnodes=[]),
         "the bootnodes in {path} are none: a new node would find no one to sync from; give a validator's enode"),
        (_without_an_abi,
         "the contracts in {path} have no ABI for Community: use the manifest the deployed contracts were "
         "compiled into"),
        (_without_clique,
         "the genesis in {path} has no Clique config (config.clique): a geth validator needs the community's "
         "Clique genesis, as `gridcommons chain genesis --engine clique` writes it"),
    ],
)
def test_an_unusable_bundle_is_refused_naming_what_is_wrong(tmp_path, edit, expected):
    path = write_bundle_file(tmp_path / "bundle.json")
    document = json.loads(path.read_text())
    edit(document)
    path.write_text(json.dumps(document))

    with pytest.raises(BundleError) as refused:
        read_bundle(path)

    assert str(refused.value) == expected.format(path=path)


def test_a_file_that_is_not_json_is_no_bundle(tmp_path):
    path = tmp_path / "bundle.json"
    path.write_text("genesis: yes\n")

    with pytest.raises(BundleError) as refused:
        read_bundle(path)

    assert str(refused.value).startswith(f"{path} is not a gridcommons join bundle (not JSON: ")


def test_a_bundle_is_never_made_from_a_deployment_of_another_chain(tmp_path):
    files = write_community_files(tmp_path, deployment_chain_id=1337)

    with pytest.raises(BundleError) as refused:
        build_bundle(files.genesis, files.deployment, files.manifest, BOOTNODES)

    assert str(refused.value) == (
        f"{files.deployment} is for chain 1337 but {files.genesis} makes chain 31415926: "
        "take both from the same community (its join bundle holds both)"
    )


def test_unpacking_keeps_identical_files_and_refuses_to_replace_different_ones(tmp_path):
    bundle = read_bundle(write_bundle_file(tmp_path / "bundle.json"))
    node = tmp_path / "node"
    node.mkdir()
    # The same genesis, written differently: geth's chain was made from this very file, so it stays.
    (node / "genesis.json").write_text(json.dumps(bundle.genesis, indent=4))
    kept = (node / "genesis.json").read_text()
    (node / "deployment.json").write_text(json.dumps(deployment_record(chain_id=1337)))

    with pytest.raises(BundleError) as refused:
        unpack_bundle(bundle, node)

    assert str(refused.value) == f"{node} already holds a different deployment.json: move it away, or replace it with --force"
    assert sorted(p.name for p in node.iterdir()) == ["deployment.json", "genesis.json"]  # nothing written

    unpack_bundle(bundle, node, force=True)

    assert (node / "genesis.json").read_text() == kept
    assert deployment.read(node / "deployment.json").chain_id == CHAIN_ID


# -- gridcommons chain bundle ---------------------------------------------------------------------


def bundle_command(*args):
    return CliRunner(mix_stderr=False).invoke(main, ["chain", "bundle", *args], catch_exceptions=False)


def member_node(tmp_path, p2p_host="192.168.1.20", client="geth"):
    """A member's node folder: node.toml naming the community's files, and geth's node key."""
    files = write_community_files(tmp_path / "community")
    geth = f'genesis = "{files.genesis}"\np2p_host = "{p2p_host}"\np2p_port = 30305\npeers = {json.dumps(list(BOOTNODES))}\n'
    (tmp_path / "node.toml").write_text(
        f'[node]\nname = "jansen"\ndata_dir = "data"\n[chain]\nclient = "{client}"\n'
        f'deployment = "{files.deployment}"\nmanifest = "{files.manifest}"\nkeystore = "node-key.json"\n'
        + (geth if client == "geth" else "")
    )
    return tmp_path / "node.toml", ensure_node_key(tmp_path / "data" / "chain" / "geth" / "nodekey")


def test_a_members_bundle_offers_its_own_enode_first_then_its_peers(tmp_path):
    config, node_key = member_node(tmp_path)

    result = bundle_command("--config", str(config), "--out", str(tmp_path / "out" / "bundle.json"))

    assert result.exit_code == 0, result.stderr
    own = enode_of(node_key, "192.168.1.20", 30305)
    assert read_bundle(tmp_path / "out" / "bundle.json").bootnodes == (own, *BOOTNODES)
    assert result.stdout.splitlines()[0] == (
        f"wrote {tmp_path / 'out' / 'bundle.json'}: join bundle of chain 31415926 (Community "
        f"{deployment_record()['contracts']['Community']}), 5 contract ABIs, 3 bootnodes:"
    )
    assert result.stdout.splitlines()[1] == f"  {own}"


def test_a_member_listening_on_every_interface_must_say_where_others_reach_it(tmp_path):
    config, node_key = member_node(tmp_path, p2p_host="")
    out = tmp_path / "bundle.json"

    refused = bundle_command("--config", str(config), "--out", str(out))
    given = bundle_command("--config", str(config), "--host", "192.168.1.21", "--out", str(out))

    assert (refused.exit_code, refused.stderr.strip()) == (1, (
        "Error: chain.p2p_host is blank (every interface), which is no address for other households to reach: "
        "give this machine's LAN address with --host ADDR (or set chain.p2p_host in node.toml)"))
    assert given.exit_code == 0, given.stderr
    assert read_bundle(out).bootnodes[0] == enode_of(node_key, "192.168.1.21", 30305)


def test_the_admin_makes_a_bundle_from_the_community_files_and_bootnodes(tmp_path):
    files = write_community_files(tmp_path)
    out = tmp_path / "bundle.json"

    result = bundle_command("--genesis", str(files.genesis), "--deployment", str(files.deployment),
                            "--manifest", str(files.manifest), "--bootnode", BOOTNODES[1], "--out", str(out))
    incomplete = bundle_command("--genesis", str(files.genesis), "--out", str(out))

    assert result.exit_code == 0, result.stderr
    assert read_bundle(out).bootnodes == (BOOTNODES[1],)
    assert (incomplete.exit_code, incomplete.stderr.strip().splitlines()[-1]) == (
        2, "Error: give --config NODE_TOML, or --deployment, --manifest")


def test_a_node_that_runs_no_validator_has_no_bundle_to_offer(tmp_path):
    config, _ = member_node(tmp_path, client="external")

    result = bundle_command("--config", str(config), "--out", str(tmp_path / "bundle.json"))

    assert (result.exit_code, result.stderr.strip()) == (1, (
        'Error: this node runs no validator (chain.client = "external"), so it has no enode to hand out: '
        "make the join bundle on a member's geth node, or ask the community's admin for it"))
    assert not (tmp_path / "bundle.json").exists()
