"""Genesis of the community's Proof-of-Authority chain: geth 1.13.15 Clique or Besu QBFT.

Pure functions: a `NetworkSpec` in, a genesis document (a dict ready for `json.dump`) out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import rlp
from eth_utils import is_checksum_address, is_hex_address, to_canonical_address, to_checksum_address

from node.errors import ChainError

Engine = Literal["clique", "qbft"]
ENGINES: tuple[Engine, ...] = ("clique", "qbft")

# Public networks: a community chain with one of these ids would accept transactions signed
# for them (and the other way round), so they are refused.
PUBLIC_CHAIN_IDS = {
    1: "Ethereum mainnet",
    3: "Ropsten",
    4: "Rinkeby",
    5: "Goerli",
    10: "OP Mainnet",
    42: "Kovan",
    56: "BNB Smart Chain",
    61: "Ethereum Classic",
    100: "Gnosis",
    137: "Polygon",
    8453: "Base",
    17000: "Holesky",
    42161: "Arbitrum One",
    560048: "Hoodi",
    11155111: "Sepolia",
}
# Wallets and JavaScript tooling hold chain ids as IEEE doubles.
MAX_CHAIN_ID = 2**53 - 1

VANITY = bytes(32)
CLIQUE_SEAL = bytes(65)  # the genesis block is not sealed: the seal's place stays zero
# Besu checks every BFT header for this mixHash ("Istanbul digest" in its sources).
BFT_MIX_HASH = "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"
ZERO_ADDRESS = "0x" + "00" * 20
ZERO_HASH = "0x" + "00" * 32

# Every fork before the merge, from block 0. No Shanghai or Cancun: geth 1.13.15 cannot seal
# them under Clique, and the contracts are compiled for paris. QBFT gets the same EVM so that
# the contracts and their gas figures are the same on both engines.
PRE_MERGE_FORKS = (
    "homesteadBlock",
    "eip150Block",
    "eip155Block",
    "eip158Block",
    "byzantiumBlock",
    "constantinopleBlock",
    "petersburgBlock",
    "istanbulBlock",
    "muirGlacierBlock",
    "berlinBlock",
    "londonBlock",
    "arrowGlacierBlock",
    "grayGlacierBlock",
)


class GenesisError(ChainError):
    """The network description cannot make a valid genesis (bad address, chain id, period…)."""


def parse_address(text: str) -> str:
    """An account address given by an operator, EIP-55 checksummed.

    All-lowercase and all-uppercase hex are accepted; mixed case must carry a valid checksum,
    since it is most likely a typo otherwise.
    """
    if not (text.startswith("0x") and is_hex_address(text)):
        raise GenesisError(f"{text!r} is not an address (0x and 40 hex digits)")
    digits = text[2:]
    mixed_case = digits != digits.lower() and digits != digits.upper()
    if mixed_case and not is_checksum_address(text):
        raise GenesisError(f"{text!r} has a wrong EIP-55 checksum (a typo?)")
    return to_checksum_address(text)


def parse_funding(text: str) -> tuple[str, int]:
    """`ADDRESS=WEI` from `--fund`: an address and a positive whole number of wei."""
    address, separator, amount = text.partition("=")
    if not separator:
        raise GenesisError(f"{text!r} is not ADDRESS=WEI")
    if not amount.strip().isdigit():
        raise GenesisError(f"{amount!r} is not a whole number of wei in {text!r}")
    wei = int(amount)
    if not 0 < wei < 2**256:
        raise GenesisError(f"{amount} wei in {text!r} must be positive and below 2**256")
    return parse_address(address.strip()), wei


def check_chain_id(chain_id: int) -> int:
    if chain_id in PUBLIC_CHAIN_IDS:
        raise GenesisError(
            f"chain id {chain_id} is {PUBLIC_CHAIN_IDS[chain_id]}'s: choose an unused id for the community"
        )
    if not 0 < chain_id <= MAX_CHAIN_ID:
        raise GenesisError(f"chain id {chain_id} must be between 1 and {MAX_CHAIN_ID}")
    return chain_id


def check_period(period: int) -> int:
    if period < 1:
        raise GenesisError(f"block period {period} s must be at least 1 s")
    return period


@dataclass(frozen=True)
class NetworkSpec:
    """What the households agreed on for their chain. Addresses are checksummed on creation."""

    engine: Engine
    validators: tuple[str, ...]  # in the operator's order, which numbers the nodes
    period: int  # seconds between blocks
    chain_id: int
    funds: tuple[tuple[str, int], ...] = ()  # (address, wei) allocated in the genesis block
    epoch: int = 30_000  # blocks between checkpoints that reset pending votes
    gas_limit: int = 30_000_000
    # Fixed, so that anyone who re-runs `chain genesis` with the same inputs gets the same
    # genesis hash and can check the file a neighbour handed over.
    timestamp: int = 0

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise GenesisError(f"unknown engine {self.engine!r}: choose one of {', '.join(ENGINES)}")
        if not self.validators:
            raise GenesisError("a network needs at least one validator")
        validators = tuple(parse_address(v) for v in self.validators)
        _refuse_duplicates(validators, "validator")
        funds = tuple((parse_address(address), wei) for address, wei in self.funds)
        _refuse_duplicates(tuple(address for address, _ in funds), "funded account")
        check_period(self.period)
        check_chain_id(self.chain_id)
        object.__setattr__(self, "validators", validators)
        object.__setattr__(self, "funds", funds)

    @property
    def sorted_validators(self) -> tuple[str, ...]:
        """Validators in ascending byte order, as Clique's signer list must be."""
        return tuple(sorted(self.validators, key=to_canonical_address))


def _refuse_duplicates(addresses: tuple[str, ...], what: str) -> None:
    seen: set[str] = set()
    for address in addresses:
        if address in seen:
            raise GenesisError(f"{what} {address} is given twice")
        seen.add(address)


def clique_extra_data(signers: tuple[str, ...]) -> bytes:
    """Clique's checkpoint `extraData`: 32-byte vanity, signers in ascending order, empty seal."""
    ordered = sorted(to_canonical_address(signer) for signer in signers)
    return VANITY + b"".join(ordered) + CLIQUE_SEAL


def qbft_extra_data(validators: tuple[str, ...]) -> bytes:
    """Besu's QBFT genesis `extraData`: RLP([vanity, [validators], no vote, round 0, no seals]).

    Validators stay in the given order. An absent vote is an empty list and the round a
    scalar (0 encodes as the empty string), as in Besu's QbftExtraDataCodec.
    """
    no_vote: list = []
    no_seals: list = []
    return rlp.encode([VANITY, [to_canonical_address(v) for v in validators], no_vote, 0, no_seals])


def qbft_request_timeout(period: int) -> int:
    """Seconds before a QBFT round changes: well above the block period, as Besu advises."""
    return max(4, 2 * period)


def genesis(spec: NetworkSpec) -> dict:
    """The genesis document for the spec's engine: geth's for Clique, Besu's for QBFT."""
    forks = {fork: 0 for fork in PRE_MERGE_FORKS}
    if spec.engine == "clique":
        engine_config = {"clique": {"period": spec.period, "epoch": spec.epoch}}
        extra_data, mix_hash = clique_extra_data(spec.validators), ZERO_HASH
    else:
        engine_config = {
            "qbft": {
                "blockperiodseconds": spec.period,
                "epochlength": spec.epoch,
                "requesttimeoutseconds": qbft_request_timeout(spec.period),
            }
        }
        extra_data, mix_hash = qbft_extra_data(spec.sorted_validators), BFT_MIX_HASH
    return {
        "config": {"chainId": spec.chain_id, **forks, **engine_config},
        "nonce": "0x0",
        "timestamp": hex(spec.timestamp),
        "extraData": "0x" + extra_data.hex(),
        "gasLimit": hex(spec.gas_limit),
        "difficulty": "0x1",
        "mixHash": mix_hash,
        "coinbase": ZERO_ADDRESS,
        "alloc": {address: {"balance": hex(wei)} for address, wei in spec.funds},
    }
