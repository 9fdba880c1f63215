"""node.chain.client.connect reads PoA blocks, whose extraData is longer than 32 bytes."""

import pytest
from web3 import HTTPProvider, Web3

from node.chain.client import ChainUnreachable, connect

VANITY = bytes(32)
SIGNER = bytes.fromhex("64a702e6263b7297a96638cac6ae65e6541f4169")
SEAL = bytes(range(65))
CLIQUE_EXTRA_DATA = VANITY + SIGNER + SEAL  # a checkpoint block with one signer: 117 bytes
SEALED_EXTRA_DATA = VANITY + SEAL  # an ordinary Clique block: 97 bytes


def clique_block(extra_data: bytes) -> dict:
    """Block 5 of a Clique chain as geth 1.13 returns it from eth_getBlockByNumber."""
    return {
        "number": "0x5",
        "hash": "0x" + "ab" * 32,
        "parentHash": "0x" + "cd" * 32,
        "nonce": "0x0000000000000000",
        "sha3Uncles": "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347",
        "logsBloom": "0x" + "00" * 256,
        "transactionsRoot": "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421",
        "stateRoot": "0x" + "11" * 32,
        "receiptsRoot": "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421",
        "miner": "0x0000000000000000000000000000000000000000",
        "difficulty": "0x2",
        "totalDifficulty": "0xb",
        "extraData": "0x" + extra_data.hex(),
        "size": "0x261",
        "gasLimit": "0x1c9c380",
        "gasUsed": "0x0",
        "timestamp": "0x6650a1c0",
        "baseFeePerGas": "0x7",
        "mixHash": "0x" + "00" * 32,
        "transactions": [],
        "uncles": [],
    }


def test_connect_reads_a_clique_block_with_97_bytes_of_extra_data(fake_chain_client):
    chain = fake_chain_client({"eth_chainId": "0x1092", "eth_getBlockByNumber": clique_block(SEALED_EXTRA_DATA)})

    block = connect(chain.url).eth.get_block("latest")

    assert (block["number"], bytes(block["proofOfAuthorityData"])) == (5, SEALED_EXTRA_DATA)
    assert len(SEALED_EXTRA_DATA) == 97


def test_connect_reads_a_clique_checkpoint_block_carrying_its_signers(fake_chain_client):
    chain = fake_chain_client({"eth_chainId": "0x1092", "eth_getBlockByNumber": clique_block(CLIQUE_EXTRA_DATA)})

    block = connect(chain.url).eth.get_block(0)

    assert bytes(block["proofOfAuthorityData"]) == CLIQUE_EXTRA_DATA


def test_without_the_poa_middleware_web3_refuses_such_a_block(fake_chain_client):
    # Shows that the fake serves what makes the middleware necessary.
    chain = fake_chain_client({"eth_chainId": "0x1092", "eth_getBlockByNumber": clique_block(SEALED_EXTRA_DATA)})
    plain = Web3(HTTPProvider(chain.url))

    with pytest.raises(Exception, match="extraData"):
        plain.eth.get_block("latest")


def test_connect_names_the_url_when_nothing_answers(free_port_url):
    with pytest.raises(ChainUnreachable, match=f"no chain client answers at {free_port_url}"):
        connect(free_port_url, timeout=2)
