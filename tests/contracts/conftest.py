"""Fixtures for contract tests: a deployed community on the real EVM (py-evm, or the project's anvil).

Ape snapshots the chain around each test, so module-scoped deployments are shared safely.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

INTERVAL = 900
GRACE = 60
PRICE_PER_KWH = 10**17  # 0.1 credit per kWh
STATIC, PRORATA, PRIORITY = 1, 0, 2
KEYS = {"PRORATA": PRORATA, "STATIC": STATIC, "PRIORITY": PRIORITY}


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
        community.addMember(account, b"\x11" * 32, producer, consumer, 0, 0, sender=admin)
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
