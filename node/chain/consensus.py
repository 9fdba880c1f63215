"""The chain's consensus as this node sees it: signers, who sealed the last blocks, votes, peers, sync.

Each piece is asked for on its own and is None where the client does not answer it (anvil has no
consensus API, Besu no `clique_getSigner`), so one missing method never hides the rest.
"""

from __future__ import annotations

from collections.abc import Callable

from eth_utils import to_checksum_address

from node.chain.client import ChainUnreachable
from node.chain.validators import CLIQUE, EngineApi, RpcCall, detect_engine, validator_set
from node.errors import ChainError

# The votes this node casts: the same {address: add} answer from geth's and Besu's methods.
PENDING_VOTES_METHODS = {"clique": "clique_proposals", "qbft": "qbft_getPendingVotes"}


def consensus_report(call: RpcCall, account: str | None, recent: int = 12) -> dict:
    """What the Node page and `node status` show; raises only ChainUnreachable."""
    api = _ask(lambda: detect_engine(call))
    account = _ask(lambda: to_checksum_address(account)) if account else None
    head = _ask(lambda: int(call("eth_blockNumber", []), 16))
    signers = _ask(lambda: list(validator_set(call, api))) if api else None
    is_clique = api is CLIQUE
    return {
        "engine": api.engine if api else None,
        "account": account,
        "head": head,
        "peers": _ask(lambda: int(call("net_peerCount", []), 16)),
        "sync": _ask(lambda: sync_state(call("eth_syncing", []))),
        "signers": signers,
        "is_signer": account in signers if account and signers is not None else None,
        "sealers": _ask(lambda: last_sealers(call, head, recent)) if is_clique and head is not None else None,
        "votes": _ask(lambda: pending_votes(call, api)) if api else None,
        "activity": _ask(lambda: sealing_activity(call("clique_status", []))) if is_clique else None,
    }


def _ask(read: Callable[[], object]) -> object | None:
    """`read()`, or None if the client does not offer or cannot answer it; an unreachable client still raises."""
    try:
        return read()
    except ChainUnreachable:
        raise
    except (ChainError, ValueError, TypeError, KeyError, AttributeError):
        return None


def sync_state(syncing: object) -> dict | bool:
    """False when in sync, else how far the node has got: {"current": block, "highest": block}."""
    if syncing is False:
        return False
    return {"current": int(syncing["currentBlock"], 16), "highest": int(syncing["highestBlock"], 16)}


def last_sealers(call: RpcCall, head: int, recent: int) -> list[tuple[int, str]]:
    """(block number, signer) for the last `recent` blocks, newest first; the genesis block has no seal."""
    return [
        (number, to_checksum_address(call("clique_getSigner", [hex(number)])))
        for number in range(head, max(head - recent, 0), -1)
    ]


def pending_votes(call: RpcCall, api: EngineApi) -> list[tuple[str, bool]]:
    """(address, add) for each vote this node casts, by address."""
    votes = call(PENDING_VOTES_METHODS[api.engine], [])
    return sorted((to_checksum_address(address), bool(add)) for address, add in votes.items())


def sealing_activity(status: dict) -> dict:
    """geth's `clique_status`: blocks looked at, the share sealed in turn and each signer's count."""
    return {
        "blocks": status["numBlocks"],
        "inturn_percent": status["inturnPercent"],
        "sealed": {to_checksum_address(address): count for address, count in status["sealerActivity"].items()},
    }
