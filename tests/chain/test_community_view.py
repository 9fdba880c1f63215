"""The Community view on a chain that does not (yet) hold the contract: a node still syncing."""

from __future__ import annotations

import pytest

from node.chain.client import connect
from node.chain.community import CommunityView
from node.chain.contracts import load_abis
from node.chain.devnet import MANIFEST
from node.errors import ChainError

ADDRESS = "0x" + "12" * 20


def test_a_chain_without_the_community_contract_says_it_may_still_be_syncing(fake_chain_client):
    chain = fake_chain_client({"eth_chainId": "0x40b9b1", "eth_call": "0x", "eth_getCode": "0x", "eth_blockNumber": "0x5"})
    contract = connect(chain.url).eth.contract(address=ADDRESS, abi=load_abis(MANIFEST)["Community"])

    with pytest.raises(ChainError) as refused:
        CommunityView(contract)

    assert str(refused.value) == (
        f"no Community contract answers at {ADDRESS}: this node's chain is still syncing, "
        "or the deployment record is another chain's"
    )
