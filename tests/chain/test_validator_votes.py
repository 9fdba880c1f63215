"""`gridcommons chain propose`: a validator's vote, sent to a fake geth or Besu over JSON-RPC."""

import pytest
from click.testing import CliRunner
from eth_utils import to_checksum_address
from fake_chain_client import RpcError

from node.cli import main

SIGNERS = [
    "0x3923390ad55e90c237593b3b0e401f3b08a03185",
    "0x64a702e6263b7297a96638cac6ae65e6541f4169",
    "0xc7eeb9a4e00ce683cf93039b212648e01c6c6b78",
]
NEWCOMER = "0xaefdb9a738c9f433e5b6b212a6d62f6370c2f692"
CHAIN_ID = {"eth_chainId": "0x67932"}
GETH = {**CHAIN_ID, "clique_getSigners": SIGNERS, "clique_propose": None}
BESU = {**CHAIN_ID, "qbft_getValidatorsByBlockNumber": SIGNERS, "qbft_proposeValidatorVote": True}


def propose(*args):
    return CliRunner(mix_stderr=False).invoke(main, ["chain", "propose", *args], catch_exceptions=False)


def consensus_calls(chain):
    return [call for call in chain.calls if call[0] != "eth_chainId"]


def test_add_on_geth_sends_clique_propose_with_the_address_and_true(fake_chain_client):
    geth = fake_chain_client(GETH)

    result = propose(NEWCOMER, "--add", "--rpc", geth.url)

    *reads, vote = consensus_calls(geth)
    assert result.exit_code == 0, result.stderr
    assert vote == ("clique_propose", [to_checksum_address(NEWCOMER), True])
    assert {method for method, _ in reads} == {"clique_getSigners"}


def test_remove_on_besu_sends_qbft_propose_validator_vote_with_false(fake_chain_client):
    besu = fake_chain_client(BESU)

    result = propose(SIGNERS[2], "--remove", "--rpc", besu.url)

    assert result.exit_code == 0, result.stderr
    assert consensus_calls(besu)[-2:] == [
        ("qbft_getValidatorsByBlockNumber", ["latest"]),
        ("qbft_proposeValidatorVote", [to_checksum_address(SIGNERS[2]), False]),
    ]


def test_auto_detects_qbft_after_clique_get_signers_is_not_found(fake_chain_client):
    besu = fake_chain_client(BESU)

    propose(NEWCOMER, "--add", "--rpc", besu.url)

    assert [method for method, _ in consensus_calls(besu)][:2] == ["clique_getSigners", "qbft_getValidatorsByBlockNumber"]


def test_an_explicit_engine_skips_detection(fake_chain_client):
    besu = fake_chain_client(BESU)

    propose(NEWCOMER, "--add", "--engine", "qbft", "--rpc", besu.url)

    assert [method for method, _ in consensus_calls(besu)] == ["qbft_getValidatorsByBlockNumber", "qbft_proposeValidatorVote"]


def test_output_lists_the_validators_and_the_majority_that_must_vote_alike(fake_chain_client):
    geth = fake_chain_client(GETH)

    result = propose(NEWCOMER, "--add", "--rpc", geth.url)

    assert result.stdout.splitlines() == [
        f"This node now votes to add {to_checksum_address(NEWCOMER)} (clique).",
        "Current validators (3):",
        *[f"  {to_checksum_address(signer)}" for signer in SIGNERS],
        "The change takes effect once a majority, 2 of the 3 validators, cast the same vote: "
        "run this command on the node of each of them.",
    ]


def test_clique_api_not_enabled_tells_which_http_api_to_enable(fake_chain_client):
    geth = fake_chain_client(CHAIN_ID)

    result = propose(NEWCOMER, "--add", "--engine", "clique", "--rpc", geth.url)

    assert (result.exit_code, result.stderr.strip()) == (
        1,
        f"Error: {geth.url} does not offer clique_getSigners (the method clique_getSigners does not "
        "exist/is not available): start geth with clique in --http.api (e.g. --http.api eth,net,web3,clique,txpool)",
    )


def test_besu_method_not_enabled_tells_which_rpc_http_api_to_enable(fake_chain_client):
    besu = fake_chain_client(
        {**CHAIN_ID, "qbft_getValidatorsByBlockNumber": RpcError(-32604, "Method not enabled")}
    )

    result = propose(NEWCOMER, "--add", "--engine", "qbft", "--rpc", besu.url)

    assert result.exit_code == 1
    assert result.stderr.strip().endswith('give Besu QBFT in rpc-http-api (e.g. rpc-http-api=["ETH","NET","WEB3","QBFT","TXPOOL"])')


def test_auto_with_neither_api_names_both_settings(fake_chain_client):
    chain = fake_chain_client(CHAIN_ID)

    result = propose(NEWCOMER, "--add", "--rpc", chain.url)

    assert result.exit_code == 1
    assert "offers neither clique_getSigners nor qbft_getValidatorsByBlockNumber" in result.stderr
    assert "--http.api" in result.stderr and "rpc-http-api" in result.stderr


def test_an_unreachable_chain_client_is_one_clear_line(free_port_url):
    result = propose(NEWCOMER, "--add", "--rpc", free_port_url)

    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: no chain client answers at {free_port_url}")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("address", "flag", "error"),
    [
        (SIGNERS[0], "--add", f"Error: {to_checksum_address(SIGNERS[0])} is already a validator"),
        (NEWCOMER, "--remove", f"Error: {to_checksum_address(NEWCOMER)} is not a validator"),
    ],
)
def test_a_vote_that_changes_nothing_is_refused_and_not_sent(fake_chain_client, address, flag, error):
    geth = fake_chain_client(GETH)

    result = propose(address, flag, "--rpc", geth.url)

    assert (result.exit_code, result.stderr.strip()) == (1, error)
    assert "clique_propose" not in [method for method, _ in geth.calls]


def test_a_vote_needs_add_or_remove():
    result = propose(NEWCOMER)

    assert (result.exit_code, result.stderr.splitlines()[-1]) == (2, "Error: say --add or --remove")


def test_a_malformed_address_is_refused_before_any_request():
    result = propose("0xnope", "--add", "--rpc", "http://127.0.0.1:18699")

    assert (result.exit_code, result.stderr.splitlines()[-1]) == (
        2, "Error: Invalid value for ADDRESS: '0xnope' is not an address (0x and 40 hex digits)"
    )
