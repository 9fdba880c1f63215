"""GET /node/join-bundle: a member's node hands out the community's join bundle to its operator."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from dappkit import PASSWORD, AuthActions, node_config_for

from dapp.cli import set_password
from node.chain.bundle import parse_bundle
from node.chain.geth import enode_of, ensure_node_key

sys.path.insert(0, str(Path(__file__).parents[1] / "chain"))

from bundlekit import BOOTNODES, CHAIN_ID, write_community_files  # noqa: E402

# The [chain] settings of the test node, by the parameter its tests give `node_config`.
CHAINS = {
    "validator": f'client = "geth"\ngenesis = "genesis.json"\np2p_host = "192.168.1.20"\npeers = {json.dumps(list(BOOTNODES))}\n',
    "validator on every interface": 'client = "geth"\ngenesis = "genesis.json"\n',
    "no validator": "",
}


@pytest.fixture
def node_config(tmp_path, request):
    """The community's files and a node using them: a geth validator unless the test says otherwise."""
    files = write_community_files(tmp_path)
    config = node_config_for(tmp_path, CHAINS[getattr(request, "param", "validator")])
    # node_config_for names deployment.json and manifest.json in the node's folder, where the files are.
    assert (config.chain.deployment, config.chain.manifest) == (files.deployment, files.manifest)
    set_password(config, PASSWORD)
    return config


def node_key(config) -> bytes:
    return ensure_node_key(config.chain_dir / "geth" / "nodekey")


def test_the_join_bundle_is_for_the_operator_only(client):
    response = client.get("/node/join-bundle")

    assert (response.status_code, response.headers["Location"]) == (302, "/auth/login?next=/node/join-bundle")


def test_a_validators_node_hands_out_the_bundle_with_its_own_enode_first(client, auth, node_config):
    own = enode_of(node_key(node_config), "192.168.1.20", 30303)
    auth.login()

    response = client.get("/node/join-bundle")

    assert response.status_code == 200
    assert (response.mimetype, response.headers["Content-Disposition"]) == (
        "application/json", 'attachment; filename="join-bundle.json"')
    bundle = parse_bundle(response.get_json(), "the download")
    assert (bundle.chain_id, bundle.bootnodes) == (CHAIN_ID, (own, *BOOTNODES))


@pytest.mark.parametrize("node_config", ["validator on every interface"], indirect=True)
def test_a_validator_on_every_interface_is_offered_at_the_address_its_dapp_was_reached_at(app, node_config):
    own = enode_of(node_key(node_config), "192.168.1.21", 30303)
    app.config["SERVER_NAME"] = "192.168.1.21:8080"  # every request of this client: the Pi's LAN address
    client = app.test_client()
    AuthActions(client).login()

    response = client.get("/node/join-bundle")

    assert parse_bundle(response.get_json(), "the download").bootnodes == (own,)


@pytest.mark.parametrize("node_config", ["validator on every interface"], indirect=True)
def test_a_validator_on_every_interface_reached_on_loopback_says_to_set_its_address(client, auth, node_config):
    node_key(node_config)
    auth.login()

    response = client.get("/node/join-bundle", headers={"Accept": "application/json"})

    assert (response.status_code, response.get_json()) == (409, {"error": (
        "This node's enode needs the address the other households reach it at: set chain.p2p_host in node.toml, "
        "or open this page at that address instead of this machine's loopback address.")})


@pytest.mark.parametrize("node_config", ["no validator"], indirect=True)
def test_a_node_without_a_validator_has_no_bundle_and_says_where_to_get_one(client, auth):
    auth.login()

    response = client.get("/node/join-bundle")

    assert response.status_code == 404
    assert ("make the join bundle on a member&#39;s geth node, or ask the community&#39;s admin for it"
            in response.get_data(as_text=True))


def test_a_validator_without_its_node_key_yet_says_what_makes_it(client, auth, node_config):
    auth.login()

    response = client.get("/node/join-bundle", headers={"Accept": "application/json"})

    assert (response.status_code, response.get_json()) == (409, {"error": (
        f"no node key at {node_config.chain_dir / 'geth' / 'nodekey'} yet: "
        "`gridcommons init` or the node's first start creates it")})


def test_a_validators_node_page_links_its_join_bundle(client, auth):
    auth.login()

    assert b'href="/node/join-bundle"' in client.get("/node/").data


@pytest.mark.parametrize("node_config", ["no validator"], indirect=True)
def test_a_node_without_a_validator_does_not_link_a_join_bundle(client, auth):
    auth.login()

    assert b"/node/join-bundle" not in client.get("/node/").data
