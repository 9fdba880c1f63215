"""Validator votes: ask the local chain client to vote a validator in or out.

A vote is only this node's: the change happens once a majority of the validators cast the
same vote. The logic works on any `RpcCall`, so it can be tested without a chain client.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from eth_utils import to_checksum_address

from node.errors import ChainError

RpcCall = Callable[[str, Sequence[object]], object]
# geth answers -32601 for a namespace missing from --http.api; Besu -32601 for a method it does
# not know and -32604 for one whose API group is not in rpc-http-api.
METHOD_UNAVAILABLE_CODES = (-32601, -32604)


class ValidatorVoteError(ChainError):
    """A validator vote could not be cast or the validator set could not be read."""


class MethodUnavailable(ValidatorVoteError):
    """The chain client does not offer a JSON-RPC method (its API is not enabled)."""


@dataclass(frozen=True)
class EngineApi:
    """The JSON-RPC methods through which one consensus engine lists and votes validators."""

    engine: str
    list_method: str
    list_params: tuple[object, ...]
    vote_method: str
    enable_hint: str  # how to switch the API on, for the error message


CLIQUE = EngineApi(
    "clique", "clique_getSigners", (), "clique_propose",
    "start geth with clique in --http.api (e.g. --http.api eth,net,web3,clique,txpool)",
)
QBFT = EngineApi(
    "qbft", "qbft_getValidatorsByBlockNumber", ("latest",), "qbft_proposeValidatorVote",
    'give Besu QBFT in rpc-http-api (e.g. rpc-http-api=["ETH","NET","WEB3","QBFT","TXPOOL"])',
)
ENGINE_APIS = {api.engine: api for api in (CLIQUE, QBFT)}


@dataclass(frozen=True)
class VoteCast:
    """A vote this node now casts, with the validator set it applies to."""

    engine: str
    address: str
    add: bool
    validators: tuple[str, ...]

    @property
    def votes_needed(self) -> int:
        """Validators that must cast this same vote for it to pass: more than half."""
        return len(self.validators) // 2 + 1


def validator_set(call: RpcCall, api: EngineApi) -> tuple[str, ...]:
    """The current validator set, checksummed."""
    try:
        result = call(api.list_method, list(api.list_params))
    except MethodUnavailable as error:
        raise MethodUnavailable(f"{error}: {api.enable_hint}") from None
    return tuple(to_checksum_address(address) for address in result)


def detect_engine(call: RpcCall) -> EngineApi:
    """Clique if the client answers clique_getSigners, else QBFT if it answers for QBFT."""
    for api in (CLIQUE, QBFT):
        try:
            call(api.list_method, list(api.list_params))
        except MethodUnavailable:
            continue
        return api
    raise MethodUnavailable(
        f"the chain client offers neither {CLIQUE.list_method} nor {QBFT.list_method}: "
        f"{CLIQUE.enable_hint}, or {QBFT.enable_hint}"
    )


def propose(call: RpcCall, api: EngineApi, address: str, add: bool) -> VoteCast:
    """Cast this node's vote to add or remove `address`; refuses a vote that changes nothing."""
    address = to_checksum_address(address)
    current = validator_set(call, api)
    if add and address in current:
        raise ValidatorVoteError(f"{address} is already a validator")
    if not add and address not in current:
        raise ValidatorVoteError(f"{address} is not a validator")
    try:
        call(api.vote_method, [address, add])
    except MethodUnavailable as error:
        raise MethodUnavailable(f"{error}: {api.enable_hint}") from None
    return VoteCast(api.engine, address, add, current)


def describe(vote: VoteCast) -> str:
    """What the operator should know after voting: the set, and who else has to vote."""
    verb = "add" if vote.add else "remove"
    listing = "".join(f"  {validator}\n" for validator in vote.validators)
    return (
        f"This node now votes to {verb} {vote.address} ({vote.engine}).\n"
        f"Current validators ({len(vote.validators)}):\n{listing}"
        f"The change takes effect once a majority, {vote.votes_needed} of the {len(vote.validators)} "
        f"validators, cast the same vote: run this command on the node of each of them.\n"
    )


def web3_rpc_call(url: str) -> RpcCall:
    """An `RpcCall` on the chain client at `url`; raises ChainUnreachable if nothing answers."""
    from web3.types import RPCEndpoint

    from node.chain.client import ChainUnreachable, connect

    provider = connect(url).provider

    def call(method: str, params: Sequence[object]) -> object:
        try:
            response = provider.make_request(RPCEndpoint(method), list(params))
        except OSError as error:  # requests' errors are OSErrors too
            raise ChainUnreachable(f"the chain client at {url} stopped answering: {error}") from error
        error = response.get("error")
        if error is None:
            return response.get("result")
        code, message = error.get("code"), error.get("message", "")
        if code in METHOD_UNAVAILABLE_CODES:
            raise MethodUnavailable(f"{url} does not offer {method} ({message})")
        raise ValidatorVoteError(f"{method} failed at {url}: {message} (code {code})")

    return call
