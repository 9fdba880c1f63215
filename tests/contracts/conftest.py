"""Fixtures for contract tests: a deployed community on the real EVM (py-evm, or the project's anvil).

Ape snapshots the chain around each test, so module-scoped deployments are shared safely.
"""

from __future__ import annotations

import ast
import re
from contextlib import contextmanager
from dataclasses import dataclass

import ape
import pytest

INTERVAL = 900
GRACE = 60
PRICE_PER_KWH = 10**17  # 0.1 credit per kWh
PRORATA, STATIC_ROUNDS, PRIORITY, STATIC_FIXED, SCHEDULED = range(5)  # ICommunity.AllocationKey
# Members' physical limits in W (grid connection, generation): 12.5 kWh and 7.5 kWh per quarter-hour.
LIMITS = (50_000, 30_000)


@pytest.fixture(scope="session")
def admin(accounts):
    return accounts[0]


@pytest.fixture(scope="session")
def outsider(accounts):
    return accounts[9]


@pytest.fixture(scope="session")
def member_accounts(accounts):
    """Node accounts for up to eight households."""
    return [accounts[i] for i in range(1, 9)]


@pytest.fixture(scope="module")
def token(project, admin):
    return admin.deploy(project.EnergyToken, "Test Energy Credit", "TEC", admin)


@pytest.fixture(scope="module")
def community(project, admin, token):
    return admin.deploy(project.Community, token, admin, INTERVAL, GRACE, PRICE_PER_KWH, PRORATA)


@dataclass(frozen=True, eq=False)
class Household:
    account: object
    member_id: int


@pytest.fixture(scope="module")
def households(community, token, admin, member_accounts):
    """Three households: one producer, two consumers, each with 100 credits prepaid."""
    roles = [(True, False), (False, True), (False, True)]
    result = []
    for account, (producer, consumer) in zip(member_accounts, roles):
        community.addMember(account, b"\x11" * 32, producer, consumer, 0, 0, *LIMITS, sender=admin)
        fund(token, community, admin, account, 100 * 10**18)
        result.append(Household(account, community.memberIdOf(account)))
    return result


def fund(token, community, admin, account, amount):
    """Issue credits to `account` and prepay them into its community balance."""
    token.issue(account, amount, b"\x00" * 32, sender=admin)
    token.approve(community, amount, sender=account)
    community.deposit(account, amount, sender=account)


class Clock:
    """Moves chain time to interval boundaries."""

    def __init__(self, chain, community):
        self.chain = chain
        self.community = community

    def now(self) -> int:
        return self.chain.pending_timestamp

    def current_interval(self) -> int:
        return self.now() // INTERVAL

    def warp_to(self, timestamp: int) -> None:
        if timestamp > self.now():
            self.chain.pending_timestamp = timestamp

    def end_interval(self, interval: int) -> None:
        """Warp to just after `interval` has ended (readings accepted, grace period running)."""
        self.warp_to((interval + 1) * INTERVAL)

    def pass_grace(self, interval: int) -> None:
        """Warp to when `interval` can be settled."""
        self.warp_to((interval + 1) * INTERVAL + GRACE)


@pytest.fixture
def clock(chain, community):
    return Clock(chain, community)


@pytest.fixture(scope="module")
def consent_registry(project, admin, community, token):
    return admin.deploy(project.ConsentRegistry, community, token)


@pytest.fixture(scope="module")
def certificates(project, admin, community, token):
    """An EnergyCertificate holding the Community's certifier role, as the deploy script wires it."""
    certificate = admin.deploy(project.EnergyCertificate, community, token, "Test Energy Certificate", "TEGC")
    community.grantRole(community.CERTIFIER_ROLE(), certificate, sender=admin)
    return certificate


@pytest.fixture(scope="module")
def exchange(project, admin, community, token):
    """An EnergyExchange holding the Community's exchange role, as the deploy script wires it."""
    deployed = admin.deploy(project.EnergyExchange, community, token)
    community.grantRole(community.EXCHANGE_ROLE(), deployed, sender=admin)
    return deployed


@contextmanager
def isolated(chain):
    """Run a block on a snapshot of the chain and restore it after, passing exceptions on.

    Ape's `chain.isolate()` swallows every exception raised inside it, assertions included, so a
    property test written with it could never fail.
    """
    snapshot = chain.snapshot()
    pending = chain.pending_timestamp
    try:
        yield
    finally:
        chain.restore(snapshot)
        # A fresh block after the restore: without one py-evm refused later transactions as over the
        # block gas limit. On py-evm, setting the time to P mines that block itself at P - 1
        # (eth-tester's time_travel), which must be later than the head: P >= head + 2. A failed
        # time travel is swallowed by Ape and leaves a block no later than its parent, and every
        # later transaction fails.
        head = chain.provider.get_block("latest")
        chain.pending_timestamp = max(pending, head.timestamp + 2)
        if chain.provider.get_block("latest").number == head.number:
            chain.mine()


@contextmanager
def reverts_with(error, **inputs):
    """Expects a revert with custom error `error` (e.g. `registry.ConsentRegistryNotSubject`) and the given
    inputs. Stricter than `ape.reverts`, which lets other reverts and misspelled inputs pass; also
    recognises an error that another contract (the token) raised and the caller bubbled up undecoded."""
    with ape.reverts() as info:
        yield info
    actual = _error_inputs(info.value, error.abi)
    assert actual is not None, f"expected {error.abi.selector}, got {info.value!r}"
    for name, expected in inputs.items():
        assert name in actual, f"{error.abi.name} has no input {name!r}"
        assert actual[name] == getattr(expected, "address", expected), f"{error.abi.name}.{name}: {actual[name]!r}"


def _error_inputs(exception, abi):
    """The inputs of `exception` if it is the custom error `abi`, else None."""
    from eth_abi import decode
    from eth_utils import keccak, to_checksum_address
    from hexbytes import HexBytes

    if getattr(exception, "abi", None) is not None:
        return dict(exception.inputs) if exception.abi.selector == abi.selector else None
    message = exception.revert_message
    if isinstance(message, str) and message.startswith("0x"):
        data = HexBytes(message)  # undecoded revert data (py-evm)
    elif isinstance(message, str) and message[:2] in ("b'", 'b"'):
        # py-evm data that Ape failed to decode (it does when the data holds a quote byte, 0x27).
        data = ast.literal_eval(message)
    elif match := re.fullmatch(r"custom error 0x([0-9a-f]{8}):\s?(.*)", message or "", re.S):
        # Anvil's eth_call: the selector, then the data as text, which is exact for bytes below 0x80.
        data = bytes.fromhex(match[1]) + match[2].encode("latin-1", errors="replace")
    elif isinstance(message, str):
        data = message.encode("latin-1", errors="replace")  # anvil shows data that is valid UTF-8 as text
    else:
        data = b""
    if data[:4] != keccak(text=abi.selector)[:4]:
        return None
    values = decode([ipt.canonical_type for ipt in abi.inputs], data[4:])
    return {
        ipt.name: to_checksum_address(value) if ipt.type == "address" else value
        for ipt, value in zip(abi.inputs, values)
    }

