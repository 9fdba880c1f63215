"""Read-only view of the Community contract, in the node's terms."""

from __future__ import annotations

from dataclasses import dataclass

from web3.contract import Contract

from node.errors import ChainError


@dataclass(frozen=True)
class Ledger:
    """A member's escrowed balance, unminted surplus and latest reading."""

    balance: int
    surplus_wh: int
    reading_interval: int
    import_wh: int
    export_wh: int


@dataclass(frozen=True)
class Member:
    member_id: int
    account: str
    producer: bool
    consumer: bool
    active: bool
    import_limit_w: int = 0  # its grid connection's capacity: no interval's import beyond it
    export_limit_w: int = 0  # its generation capacity (0: it cannot export)

    def limits_wh(self, interval_length: int) -> tuple[int, int]:
        """The most Wh of import and of export the contract accepts in one interval (rounded up)."""
        return (-(-self.import_limit_w * interval_length // 3600), -(-self.export_limit_w * interval_length // 3600))


class CommunityView:
    """The Community contract's views the node needs; constants are read once."""

    def __init__(self, contract: Contract):
        self.contract = contract
        if not contract.w3.eth.get_code(contract.address):
            raise ChainError(
                f"no Community contract answers at {contract.address}: this node's chain is still syncing, "
                "or the deployment record is another chain's"
            )
        self.interval_length: int = contract.functions.intervalLength().call()
        self.first_interval: int = contract.functions.firstInterval().call()

    def grace_period(self) -> int:
        return self.contract.functions.parameters().call()[1]

    def member_id(self, account: str) -> int:
        """The member id of `account`, or 0 if it is not a member."""
        return self.contract.functions.memberIdOf(account).call()

    def member_count(self) -> int:
        return self.contract.functions.memberCount().call()

    def member(self, member_id: int) -> Member:
        account, _meter, producer, consumer, active, _coefficient, _priority, import_w, export_w = (
            self.contract.functions.memberProfile(member_id).call()
        )
        return Member(member_id, account, producer, consumer, active, import_w, export_w)

    def ledger(self, member_id: int) -> Ledger:
        return Ledger(*self.contract.functions.memberLedger(member_id).call())

    def is_settled(self, interval: int) -> bool:
        return self.contract.functions.isSettled(interval).call()

    def last_settled_interval(self) -> int:
        return self.contract.functions.lastSettledInterval().call()

    def everyone_reported(self, interval: int) -> bool:
        """Whether every active member has a reading for `interval` or a later one."""
        for member_id in range(1, self.member_count() + 1):
            if self.member(member_id).active and self.ledger(member_id).reading_interval < interval:
                return False
        return True

    def interval_end(self, interval: int) -> int:
        return (interval + 1) * self.interval_length
