"""The consensus report of `node status` and the Node page: from a fake geth, Besu or anvil, and a real geth."""

import json
import socket
import time

import pytest
from eth_account import Account
from eth_utils import to_checksum_address
from fake_chain_client import PORTS, RpcError

from node.chain.client import ChainUnreachable
from node.chain.consensus import consensus_report
from node.chain.genesis import NetworkSpec, genesis
from node.chain.geth import EmbeddedGeth, GethSettings
from node.chain.validators import web3_rpc_call

THIS_NODE = "0x3923390ad55e90c237593b3b0e401f3b08a03185"
NEIGHBOURS = ["0x64a702e6263b7297a96638cac6ae65e6541f4169", "0xc7eeb9a4e00ce683cf93039b212648e01c6c6b78"]
NEWCOMER = "0xaefdb9a738c9f433e5b6b212a6d62f6370c2f692"
BASICS = {"eth_chainId": "0x67932", "eth_blockNumber": "0x20", "net_peerCount": "0x2", "eth_syncing": False}
GETH = {
    **BASICS,
    "clique_getSigners": [THIS_NODE, *NEIGHBOURS],
    "clique_getSigner": THIS_NODE,  # the fake answers the same for every block
    "clique_proposals": {NEWCOMER: True, NEIGHBOURS[1]: False},
    "clique_status": {"inturnPercent": 87.5, "numBlocks": 32, "sealerActivity": {THIS_NODE: 11, NEIGHBOURS[0]: 21}},
}
BESU = {**BASICS, "qbft_getValidatorsByBlockNumber": [THIS_NODE, *NEIGHBOURS], "qbft_getPendingVotes": {}}


def checksummed(*addresses):
    return [to_checksum_address(address) for address in addresses]


def report_from(chain, account=THIS_NODE, recent=3):
    return consensus_report(web3_rpc_call(chain.url), account, recent)


def test_a_clique_validator_reports_signers_sealers_votes_activity_peers_and_sync(fake_chain_client):
    geth = fake_chain_client(GETH)

    report = report_from(geth)

    me, neighbour, leaving = checksummed(THIS_NODE, *NEIGHBOURS)
    assert report == {
        "engine": "clique",
        "account": me,
        "head": 32,
        "peers": 2,
        "sync": False,
        "signers": [me, neighbour, leaving],
        "is_signer": True,
        "sealers": [(32, me), (31, me), (30, me)],
        "votes": [(to_checksum_address(NEWCOMER), True), (leaving, False)],
        "activity": {"blocks": 32, "inturn_percent": 87.5, "sealed": {me: 11, neighbour: 21}},
    }


def test_the_sealer_of_each_recent_block_is_asked_by_its_hex_number(fake_chain_client):
    geth = fake_chain_client(GETH)

    report_from(geth, recent=3)

    assert [params for method, params in geth.calls if method == "clique_getSigner"] == [["0x20"], ["0x1f"], ["0x1e"]]


def test_the_unsealed_genesis_block_is_never_asked_for_its_sealer(fake_chain_client):
    geth = fake_chain_client({**GETH, "eth_blockNumber": "0x2"})

    assert [block for block, _ in report_from(geth, recent=12)["sealers"]] == [2, 1]


def test_a_node_missing_from_the_signer_list_is_not_a_signer(fake_chain_client):
    geth = fake_chain_client(GETH)

    report = report_from(geth, account=NEWCOMER)

    assert (report["is_signer"], report["account"]) == (False, to_checksum_address(NEWCOMER))


def test_a_chain_without_a_consensus_api_like_anvil_reports_no_engine_and_still_head_and_sync(fake_chain_client):
    anvil = fake_chain_client({"eth_chainId": "0x7a69", "eth_blockNumber": "0x5", "eth_syncing": False})

    report = report_from(anvil)

    assert report == {
        "engine": None, "account": to_checksum_address(THIS_NODE), "head": 5, "peers": None, "sync": False,
        "signers": None, "is_signer": None, "sealers": None, "votes": None, "activity": None,
    }


def test_a_besu_validator_reports_signers_and_votes_but_no_sealers(fake_chain_client):
    besu = fake_chain_client(BESU)

    report = report_from(besu)

    assert (report["engine"], report["signers"], report["is_signer"], report["votes"], report["sealers"]) == (
        "qbft", checksummed(THIS_NODE, *NEIGHBOURS), True, [], None
    )


def test_a_syncing_node_reports_how_far_it_has_got(fake_chain_client):
    geth = fake_chain_client({**GETH, "eth_syncing": {"currentBlock": "0x64", "highestBlock": "0x3e8", "startingBlock": "0x0"}})

    assert report_from(geth)["sync"] == {"current": 100, "highest": 1000}


def test_a_failing_method_empties_only_its_own_piece(fake_chain_client):
    geth = fake_chain_client({**GETH, "clique_status": RpcError(-32000, "unknown block"), "clique_getSigner": "not an address"})

    report = report_from(geth)

    assert (report["activity"], report["sealers"], report["is_signer"], report["peers"]) == (None, None, True, 2)


def test_without_a_known_account_whether_this_node_signs_is_unknown(fake_chain_client):
    geth = fake_chain_client(GETH)

    report = report_from(geth, account=None)

    assert (report["is_signer"], report["account"], report["signers"]) == (None, None, checksummed(THIS_NODE, *NEIGHBOURS))


def test_a_client_that_stops_answering_raises_chain_unreachable():
    def gone(method, params):
        raise ChainUnreachable("the chain client at http://127.0.0.1:18699 stopped answering")

    with pytest.raises(ChainUnreachable):
        consensus_report(gone, THIS_NODE)


# -- a real geth Clique validator ------------------------------------------------------------------


def free_ports(count: int) -> list[int]:
    """Ports of the tests' range that nothing listens on, from the top (the fakes take the lowest)."""
    found = []
    for port in reversed(PORTS):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        found.append(port)
        if len(found) == count:
            return found
    raise RuntimeError(f"fewer than {count} free ports in {PORTS.start}-{PORTS.stop - 1}")


@pytest.fixture
def lone_validator(tmp_path):
    """A single-validator geth Clique chain sealing a block a second, and its signer's address."""
    signer = Account.create()
    keystore = tmp_path / "node-key.json"
    keystore.write_text(json.dumps(Account.encrypt(signer.key, "lone validator passphrase")))
    genesis_file = tmp_path / "genesis.json"
    genesis_file.write_text(json.dumps(genesis(NetworkSpec("clique", (signer.address,), period=1, chain_id=4_242_421))))
    http_port, p2p_port = free_ports(2)
    settings = GethSettings(
        tmp_path / "chain", genesis_file, keystore, signer.address,
        http_port=http_port, p2p_host="127.0.0.1", p2p_port=p2p_port,
    )
    geth = EmbeddedGeth(settings, "lone validator passphrase", log_file=tmp_path / "geth.log")
    try:
        geth.start()
        yield geth, signer.address
    finally:
        geth.stop()


def wait_for_block(call, number: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while int(call("eth_blockNumber", []), 16) < number:
        assert time.monotonic() < deadline, f"no block {number} within {timeout:.0f} s"
        time.sleep(0.2)


def test_a_real_lone_geth_validator_reports_itself_as_the_signer_that_sealed_the_last_blocks(lone_validator):
    geth, signer = lone_validator
    call = web3_rpc_call(geth.url)
    wait_for_block(call, 3)

    report = consensus_report(call, signer.lower(), recent=3)

    assert (report["engine"], report["signers"], report["is_signer"]) == ("clique", [signer], True)
    assert [sealer for _, sealer in report["sealers"]] == [signer] * 3
    assert [block for block, _ in report["sealers"]] == list(range(report["head"], report["head"] - 3, -1))
    assert (report["peers"], report["sync"], report["votes"]) == (0, False, [])
    assert (list(report["activity"]["sealed"]), report["activity"]["inturn_percent"]) == ([signer], 100)
