"""Genesis documents for geth 1.13.15 Clique and Besu QBFT, decoded by independent code."""

import pytest
import rlp
from eth.consensus.clique._utils import get_signers_at_checkpoint, validate_header_integrity
from eth.rlp.headers import BlockHeader
from eth_utils import decode_hex, to_canonical_address, to_checksum_address

from node.chain.genesis import (
    GenesisError,
    NetworkSpec,
    genesis,
    parse_address,
    parse_funding,
    qbft_extra_data,
)

# Deliberately out of ascending order, lowercase as an operator might paste them.
VALIDATORS = (
    "0xc7eeb9a4e00ce683cf93039b212648e01c6c6b78",
    "0x3923390ad55e90c237593b3b0e401f3b08a03185",
    "0x64a702e6263b7297a96638cac6ae65e6541f4169",
)
ASCENDING = tuple(sorted(VALIDATORS))
DEPLOYER = "0xaefdb9a738c9f433e5b6b212a6d62f6370c2f692"
ETHER = 10**18


def spec(engine="clique", **changes) -> NetworkSpec:
    values = dict(engine=engine, validators=VALIDATORS, period=5, chain_id=424242,
                  funds=((DEPLOYER, 100 * ETHER), (VALIDATORS[0], ETHER)))
    return NetworkSpec(**{**values, **changes})


def header_of(document: dict) -> BlockHeader:
    """The genesis block's header, as py-evm builds it from the genesis fields."""
    return BlockHeader(
        difficulty=int(document["difficulty"], 16),
        block_number=0,
        gas_limit=int(document["gasLimit"], 16),
        timestamp=int(document["timestamp"], 16),
        coinbase=to_canonical_address(document["coinbase"]),
        extra_data=decode_hex(document["extraData"]),
        mix_hash=decode_hex(document["mixHash"]),
        nonce=int(document["nonce"], 16).to_bytes(8, "big"),
    )


def test_clique_signers_read_by_py_evm_are_the_validators_in_ascending_order():
    header = header_of(genesis(spec("clique")))

    assert get_signers_at_checkpoint(header) == tuple(to_canonical_address(v) for v in ASCENDING)


def test_clique_genesis_header_passes_py_evm_checkpoint_checks():
    header = header_of(genesis(spec("clique")))

    validate_header_integrity(header, epoch_length=30_000)  # raises on a malformed checkpoint
    assert (len(header.extra_data), header.extra_data[:32], header.extra_data[-65:]) == (
        32 + 3 * 20 + 65, bytes(32), bytes(65),
    )


def test_clique_config_has_the_pre_merge_forks_and_no_shanghai_or_cancun():
    config = genesis(spec("clique", period=7))["config"]

    assert (config["chainId"], config["clique"]) == (424242, {"period": 7, "epoch": 30_000})
    assert (config["londonBlock"], config["arrowGlacierBlock"], config["grayGlacierBlock"]) == (0, 0, 0)
    assert {"shanghaiTime", "cancunTime", "terminalTotalDifficulty", "terminalTotalDifficultyPassed"} & set(config) == set()


def test_qbft_extra_data_decodes_to_vanity_validators_no_vote_round_zero_no_seals():
    document = genesis(spec("qbft"))

    vanity, validators, vote, round_number, seals = rlp.decode(decode_hex(document["extraData"]))

    assert (vanity, validators, vote, round_number, seals) == (
        bytes(32), [to_canonical_address(v) for v in ASCENDING], [], b"", [],
    )
    assert rlp.sedes.big_endian_int.deserialize(round_number) == 0


def test_qbft_extra_data_matches_the_example_in_besus_documentation():
    # Besu's "Configure QBFT consensus" page, block header validator selection, four validators.
    documented = (
        "0xf87aa00000000000000000000000000000000000000000000000000000000000000000f8549464a702e6263b7297a9"
        "6638cac6ae65e6541f4169943923390ad55e90c237593b3b0e401f3b08a0318594aefdb9a738c9f433e5b6b212a6d6"
        "2f6370c2f69294c7eeb9a4e00ce683cf93039b212648e01c6c6b78c080c0"
    )
    validators = (VALIDATORS[2], VALIDATORS[1], DEPLOYER, VALIDATORS[0])

    assert "0x" + qbft_extra_data(validators).hex() == documented


def test_qbft_config_has_block_period_epoch_and_a_longer_request_timeout():
    document = genesis(spec("qbft", period=3))

    assert document["config"]["qbft"] == {"blockperiodseconds": 3, "epochlength": 30_000, "requesttimeoutseconds": 6}
    assert document["mixHash"] == "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"
    assert "clique" not in document["config"]


@pytest.mark.parametrize("engine", ["clique", "qbft"])
def test_alloc_gives_each_funded_account_its_balance_under_its_checksummed_address(engine):
    alloc = genesis(spec(engine))["alloc"]

    assert {address: int(account["balance"], 16) for address, account in alloc.items()} == {
        to_checksum_address(DEPLOYER): 100 * ETHER,
        to_checksum_address(VALIDATORS[0]): ETHER,
    }


def test_spec_checksums_validators_and_keeps_the_operators_order():
    assert spec().validators == tuple(to_checksum_address(v) for v in VALIDATORS)


def test_same_inputs_give_the_same_genesis_so_neighbours_can_compare_files():
    assert genesis(spec()) == genesis(spec())


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"validators": ()}, "at least one validator"),
        ({"validators": (VALIDATORS[0], VALIDATORS[0].upper().replace("0X", "0x"))}, "given twice"),
        ({"period": 0}, "at least 1 s"),
        ({"chain_id": 1}, "chain id 1 is Ethereum mainnet's"),
        ({"chain_id": 5}, "Goerli"),
        ({"chain_id": 17000}, "Holesky"),
        ({"chain_id": 11155111}, "Sepolia"),
        ({"chain_id": 0}, "between 1 and"),
        ({"funds": ((DEPLOYER, 1), (DEPLOYER, 2))}, "funded account .* given twice"),
        ({"engine": "ethash"}, "unknown engine"),
    ],
)
def test_spec_refuses_what_cannot_make_a_safe_network(changes, message):
    with pytest.raises(GenesisError, match=message):
        spec(**changes)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0x123", "not an address"),
        ("64a702e6263b7297a96638cac6ae65e6541f4169", "not an address"),
        ("0x64A702E6263b7297a96638cAc6aE65e6541F416A", "wrong EIP-55 checksum"),
        ("0x64A702E6263b7297a96638cAc6aE65e6541f4169", "wrong EIP-55 checksum"),
    ],
)
def test_parse_address_refuses_malformed_and_miscapitalised_addresses(text, message):
    with pytest.raises(GenesisError, match=message):
        parse_address(text)


def test_parse_address_accepts_all_lowercase_and_checksummed_forms():
    checksummed = to_checksum_address(VALIDATORS[2])

    assert (parse_address(VALIDATORS[2]), parse_address(checksummed)) == (checksummed, checksummed)


def test_parse_funding_reads_address_and_wei():
    assert parse_funding(f"{DEPLOYER}=1000000000000000000") == (to_checksum_address(DEPLOYER), ETHER)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (DEPLOYER, "not ADDRESS=WEI"),
        (f"{DEPLOYER}=1e18", "not a whole number of wei"),
        (f"{DEPLOYER}=-5", "not a whole number of wei"),
        (f"{DEPLOYER}=0", "must be positive"),
        (f"{DEPLOYER}={2**256}", "below 2\\*\\*256"),
        ("0xnothex=5", "not an address"),
    ],
)
def test_parse_funding_refuses_bad_input(text, message):
    with pytest.raises(GenesisError, match=message):
        parse_funding(text)
