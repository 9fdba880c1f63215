"""The node's connection to its chain client (anvil, geth Clique or Besu QBFT) over JSON-RPC."""

from __future__ import annotations

from web3 import HTTPProvider, Web3
from web3.middleware import ExtraDataToPOAMiddleware

from node.errors import ChainError


class ChainUnreachable(ChainError):
    """The chain client does not answer at its JSON-RPC address."""


def connect(url: str, timeout: float = 10.0) -> Web3:
    """A Web3 for the chain client at `url`, checked to answer.

    Clique and QBFT put signer lists and seals into `extraData`, longer than the 32 bytes
    web3's block formatter accepts; the PoA middleware lets those blocks through.
    """
    # web3 asks eth_chainId before every call and transaction; the answer never changes.
    provider = HTTPProvider(
        url, request_kwargs={"timeout": timeout}, cache_allowed_requests=True, cacheable_requests={"eth_chainId"}
    )
    w3 = Web3(provider)
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    try:
        w3.eth.chain_id
    except Exception as error:  # requests' and web3's errors alike mean "not there"
        raise ChainUnreachable(f"no chain client answers at {url}: {_reason(error)}") from error
    return w3


def _reason(error: Exception) -> str:
    import requests

    if isinstance(error, requests.ConnectionError):
        return "connection refused or host unreachable"
    if isinstance(error, requests.Timeout):
        return "no answer in time"
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:200]
