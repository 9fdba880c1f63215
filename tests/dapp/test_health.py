"""The Node page: what the node's files and chain client say, including when the chain is down."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest
from dappkit import ADDRESS

from node.store.samples import Sample
from node.store.store import MeterStore

sys.path.insert(0, str(Path(__file__).parents[1] / "chain"))
from fake_chain_client import FakeChainClient  # noqa: E402

NEIGHBOURS = ["0x64A702E6263b7297a96638cAc6aE65e6541F4169", "0xC7EeB9a4e00Ce683cf93039b212648E01C6c6B78"]
NEWCOMER = "0xAefDb9A738c9f433E5b6b212a6d62f6370C2F692"


def test_node_page_says_the_chain_is_unreachable_and_still_shows_the_meter(client, auth, services, clock):
    with MeterStore(services.config.store_path, clock=clock) as store:
        store.add_sample(Sample(int(clock.now) - 5, "E0099", 1000, 20, 350, 0))

    auth.login()
    page = client.get("/node/").get_data(as_text=True)

    assert "The chain client does not answer at http://127.0.0.1:1." in page
    assert "00:59:55 CET" in page  # the last telegram, in the node's time zone
    assert "meter.sqlite" in page


def test_node_page_lists_the_parts_the_running_node_reported(client, auth, services, clock):
    services.config.status_path.write_text(json.dumps({
        "written_at": clock.now, "account": services.address,
        "parts": {"meter": {"running": True, "restarts": 0, "last_error": None},
                  "chain": {"running": False, "restarts": 3, "last_error": "ChainUnreachable: no chain client"}},
        "meter": {"readings": 12, "rejections": {"crc_mismatch": 2}, "events": {"disconnected": 1}},
    }))

    auth.login()
    page = client.get("/node/").get_data(as_text=True)

    assert "<td>chain</td><td>down</td><td class=\"num\">3</td><td>ChainUnreachable: no chain client</td>" in page
    assert "12 readings this run · 2 CRC rejects · 2 rejected in all · 1 reconnects" in " ".join(page.split())


def test_node_page_before_the_node_ever_ran_says_how_to_start_it(client, auth):
    auth.login()

    page = client.get("/node/").get_data(as_text=True)

    assert "No telegram yet" in page
    assert "gridcommons node run" in page


def geth_answers(clock, signers, sealer=NEIGHBOURS[0], proposals=None, syncing=False) -> dict:
    """What a Clique validator's geth answers at block 32, sealed a minute before the test's now."""
    block = {"number": "0x20", "hash": "0x" + "ab" * 32, "timestamp": hex(int(clock.now) - 60), "extraData": "0x" + "00" * 97,
             "transactions": [], "uncles": []}
    return {
        "eth_chainId": "0x67932", "eth_getBlockByNumber": block, "eth_blockNumber": "0x20", "net_peerCount": "0x2",
        "eth_syncing": syncing, "clique_getSigners": signers, "clique_getSigner": sealer,
        "clique_proposals": proposals or {}, "clique_status": {"inturnPercent": 100, "numBlocks": 32, "sealerActivity": {sealer: 32}},
    }


@pytest.fixture
def geth(services, monkeypatch):
    """Starts a fake geth from its answers and points the test node's chain.rpc at it."""
    started = []

    def start(answers: dict) -> FakeChainClient:
        started.append(FakeChainClient(answers))
        chain = dataclasses.replace(services.config.chain, rpc=started[-1].url)
        monkeypatch.setattr(services, "config", dataclasses.replace(services.config, chain=chain))
        return started[-1]

    yield start
    for client in started:
        client.close()


def node_page(client, auth) -> str:
    auth.login()
    return " ".join(client.get("/node/").get_data(as_text=True).split())


def test_node_page_of_a_signer_lists_the_signers_marks_this_node_and_shows_peers(client, auth, clock, geth):
    geth(geth_answers(clock, [ADDRESS, *NEIGHBOURS]))

    page = node_page(client, auth)

    assert "block 32" in page and "in sync · 2 peers" in page
    assert "This node is a signer" in page and "not yet a signer" not in page
    assert f"<td><code>{ADDRESS}</code> (this node)</td>" in page
    assert all(f"<td><code>{neighbour}</code></td>" in page for neighbour in NEIGHBOURS)


def test_node_page_of_a_node_not_yet_a_signer_says_so(client, auth, clock, geth):
    geth(geth_answers(clock, NEIGHBOURS))

    page = node_page(client, auth)

    assert "This node is not yet a signer." in page
    assert "(this node)" not in page


def test_node_page_shows_who_sealed_each_of_the_last_blocks(client, auth, clock, geth):
    geth(geth_answers(clock, [ADDRESS, *NEIGHBOURS], sealer=ADDRESS))

    page = node_page(client, auth)

    assert f'<tr><td class="num">32</td><td><code>{ADDRESS}</code> (this node)</td></tr>' in page
    assert '<td class="num">21</td>' in page  # 12 blocks back: 32 to 21
    assert '<td class="num">20</td>' not in page


def test_node_page_shows_the_votes_this_node_casts(client, auth, clock, geth):
    geth(geth_answers(clock, [ADDRESS, *NEIGHBOURS], proposals={NEWCOMER.lower(): True, NEIGHBOURS[1]: False}))

    page = node_page(client, auth)

    assert f"<li>Adding <code>{NEWCOMER}</code></li>" in page
    assert f"<li>Removing <code>{NEIGHBOURS[1]}</code></li>" in page


def test_node_page_of_a_syncing_node_says_how_far_it_has_got(client, auth, clock, geth):
    geth(geth_answers(clock, [ADDRESS], syncing={"currentBlock": "0x14", "highestBlock": "0x20"}))

    page = node_page(client, auth)

    assert "Syncing: block 20 of 32" in page


def test_node_page_of_a_chain_without_consensus_api_says_so_calmly(client, auth, clock, geth):
    answers = geth_answers(clock, [])
    geth({method: answers[method] for method in ("eth_chainId", "eth_getBlockByNumber", "eth_blockNumber", "eth_syncing")})

    page = node_page(client, auth)

    assert "This chain has no Clique or QBFT API" in page
    assert "unknown peers" in page and "signer" not in page
