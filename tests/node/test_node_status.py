"""`gridcommons node status`: the lines on the chain's consensus, from a report as collect_status makes it."""

import json
import sys
from pathlib import Path

from node import config as node_config
from node.runtime.status import collect_status, format_status

sys.path.insert(0, str(Path(__file__).parents[1] / "chain"))
from fake_chain_client import FakeChainClient  # noqa: E402

THIS_NODE = "0x3923390AD55E90C237593B3B0E401f3b08a03185"
NEIGHBOUR = "0x64A702E6263b7297a96638cAc6aE65e6541F4169"
NEWCOMER = "0xAefDb9A738c9f433E5b6b212a6d62f6370C2F692"


def consensus(**changes) -> dict:
    """A three-signer Clique chain in sync, whose last three blocks this node and a neighbour sealed."""
    return {
        "engine": "clique", "account": THIS_NODE, "head": 32, "peers": 2, "sync": False,
        "signers": [THIS_NODE, NEIGHBOUR, NEWCOMER], "is_signer": True,
        "sealers": [(32, THIS_NODE), (31, NEIGHBOUR), (30, THIS_NODE)], "votes": [],
        "activity": None, **changes,
    }


def chain_lines(consensus_report: dict) -> list[str]:
    report = {
        "node": "home", "running": None, "last_reading": None, "outbox": None, "relays": [],
        "chain": {"rpc": "http://127.0.0.1:8545", "reachable": True, "head": 32, "head_time": None,
                  "peers": 2, "consensus": consensus_report},
    }
    return format_status(report).splitlines()[1:-1]


def test_a_signer_sees_the_signer_count_and_who_sealed_the_last_blocks_itself_first():
    assert chain_lines(consensus()) == [
        "  chain        head 32 at -, 2 peers (http://127.0.0.1:8545)",
        "  validators   3 signers; this node is a signer; last 3 blocks sealed: 2 by 0x3923…3185 (this node), 1 by 0x64A7…4169",
        "  sync         synced",
    ]


def test_a_node_not_yet_a_signer_is_told_how_it_becomes_one():
    lines = chain_lines(consensus(signers=[NEIGHBOUR], is_signer=False, sealers=[(32, NEIGHBOUR)]))

    assert lines[1:3] == [
        "  validators   1 signer; last 1 block sealed: 1 by 0x64A7…4169",
        "  this node is not (yet) a signer: the validators vote it in once the community admits it",
    ]


def test_the_votes_this_node_casts_are_listed_with_their_direction():
    lines = chain_lines(consensus(votes=[(NEWCOMER, True), (NEIGHBOUR, False)]))

    assert f"  votes        adding {NEWCOMER}, removing {NEIGHBOUR}" in lines


def test_a_syncing_node_says_how_far_it_has_got():
    assert chain_lines(consensus(sync={"current": 20, "highest": 32}))[-1] == "  sync         syncing block 20 of 32"


def test_a_chain_without_a_consensus_api_says_it_has_no_validators():
    lines = chain_lines(consensus(engine=None, signers=None, is_signer=None, sealers=None, votes=None))

    assert lines[1:] == [
        "  validators   none: this chain has no Clique or QBFT API (a development chain such as anvil)",
        "  sync         synced",
    ]


def test_signers_the_client_does_not_list_are_unknown_not_absent():
    lines = chain_lines(consensus(signers=None, is_signer=None, sealers=None))

    assert lines[1] == "  validators   unknown: the chain client does not list its clique signers"


def test_before_the_node_ever_ran_the_keystore_tells_whether_it_is_a_signer(tmp_path):
    block = {"number": "0x20", "hash": "0x" + "ab" * 32, "timestamp": "0x6650a1c0", "extraData": "0x" + "00" * 97}
    geth = FakeChainClient({"eth_chainId": "0x67932", "eth_getBlockByNumber": block, "eth_blockNumber": "0x20",
                            "clique_getSigners": [NEIGHBOUR], "clique_getSigner": NEIGHBOUR})
    (tmp_path / "node-key.json").write_text(json.dumps({"address": THIS_NODE[2:].lower(), "crypto": {}}))
    (tmp_path / "node.toml").write_text(
        f'[node]\nname = "home"\ndata_dir = "data"\n[chain]\nrpc = "{geth.url}"\ndeployment = "deployment.json"\n'
        'manifest = "manifest.json"\nkeystore = "node-key.json"\n'
    )
    try:
        report = collect_status(node_config.load(tmp_path / "node.toml"), now=0)
    finally:
        geth.close()

    assert (report["chain"]["consensus"]["account"], report["chain"]["consensus"]["is_signer"]) == (THIS_NODE, False)
