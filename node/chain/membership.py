"""The validator set follows the community's membership: every active member's node account seals.

Each validator node compares the Community contract's members with the chain's signers and casts
its own Clique votes: to add an active member that is not a signer, and to drop a signer whose
membership was removed. A majority of signers voting alike makes the change, so no operator ever
edits a chain file. geth forgets its votes when it restarts, so they are cast again every round.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from eth_utils import to_checksum_address

from node.chain.community import CommunityView, Member
from node.chain.validators import CLIQUE, RpcCall, validator_set

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VotePlan:
    """The votes this node should have cast, and its cast votes that no longer serve."""

    add: tuple[str, ...]
    remove: tuple[str, ...]
    withdraw: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not (self.add or self.remove or self.withdraw)


def plan_votes(signers: Iterable[str], members: Iterable[Member], cast: Mapping[str, bool]) -> VotePlan:
    """What the community rule asks of this validator, given the chain's signers and its cast votes.

    A signer that was never a member (a founder's bootstrap validator, say) is left alone: only a
    removed membership takes a signer out. The last signers are never voted out, so that a
    community that removes every member does not stop its own chain.
    """
    signers = {to_checksum_address(s) for s in signers}
    active = {to_checksum_address(m.account) for m in members if m.active}
    removed = {to_checksum_address(m.account) for m in members if not m.active} - active
    add = active - signers
    remove = signers & removed
    if remove == signers:
        remove = set()
    wanted = {**{a: True for a in add}, **{a: False for a in remove}}
    cast = {to_checksum_address(a): bool(v) for a, v in cast.items()}
    missing_add = tuple(sorted(a for a in add if cast.get(a) is not True))
    missing_remove = tuple(sorted(a for a in remove if cast.get(a) is not False))
    withdraw = tuple(sorted(a for a, authorize in cast.items() if wanted.get(a) is not authorize))
    return VotePlan(missing_add, missing_remove, withdraw)


def community_members(community: CommunityView) -> list[Member]:
    return [community.member(member_id) for member_id in range(1, community.member_count() + 1)]


class MembershipVoter:
    """One validator's part in keeping the signer set equal to the active members (Clique)."""

    def __init__(self, call: RpcCall, community: CommunityView, account: str):
        self.call = call
        self.community = community
        self.account = to_checksum_address(account)
        self.last_plan: VotePlan | None = None

    def step(self) -> VotePlan | None:
        """Cast what is missing and withdraw what no longer serves; None while this node is no signer."""
        signers = validator_set(self.call, CLIQUE)
        if self.account not in signers:
            return None  # an outsider's votes are never sealed into a block
        cast = self.call("clique_proposals", []) or {}
        plan = plan_votes(signers, community_members(self.community), cast)
        for address in plan.withdraw:
            self.call("clique_discard", [address])
            log.info("validators: withdrew the vote on %s (no longer needed)", address)
        for address in plan.add:
            self.call("clique_propose", [address, True])
            log.info("validators: voting to add %s, an active member that is not yet a signer", address)
        for address in plan.remove:
            self.call("clique_propose", [address, False])
            log.info("validators: voting to remove %s, a signer whose membership was removed", address)
        self.last_plan = plan
        return plan
