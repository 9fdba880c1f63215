"""The community's contracts as the node sees them: addresses from the deployment record, ABIs from
the compiled manifest, and readable names for the custom errors they revert with.

The node talks to the chain with plain web3 (no Ape at run time), so a Raspberry Pi needs only the
deployment record and the manifest that `ape compile` wrote (`.build/__local__.json`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from eth_abi import decode as abi_decode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address
from web3 import Web3
from web3.contract import Contract

from node.chain.deployment import Deployment
from node.errors import ChainError


class ContractsUnavailable(ChainError):
    """The contract manifest or deployment record does not describe the deployed contracts."""


@dataclass(frozen=True)
class CustomError:
    """A decoded Solidity custom error, e.g. CommunityReadingExists(interval=5, account=0x..)."""

    name: str
    arguments: Mapping[str, object]

    def __str__(self) -> str:
        inner = ", ".join(f"{key}={value}" for key, value in self.arguments.items())
        return f"{self.name}({inner})"


def load_abis(manifest: Path) -> dict[str, list]:
    """Contract name -> ABI, from an Ape manifest (`ape compile` writes `.build/__local__.json`)."""
    try:
        data = json.loads(Path(manifest).read_text())
        return {name: entry["abi"] for name, entry in data["contractTypes"].items()}
    except FileNotFoundError:
        raise ContractsUnavailable(f"no contract manifest at {manifest}: run `ape compile` in the project") from None
    except (ValueError, KeyError, TypeError) as error:
        raise ContractsUnavailable(f"{manifest} is not an Ape contract manifest: {error}") from error


class CommunityContracts:
    """web3 contract objects for every contract of one deployment."""

    def __init__(self, w3: Web3, deployment: Deployment, abis: Mapping[str, list]):
        self.w3 = w3
        self.deployment = deployment
        missing = [name for name in deployment.contracts if name not in abis]
        if missing:
            raise ContractsUnavailable(f"the contract manifest has no ABI for {', '.join(missing)}")
        self.by_name: Mapping[str, Contract] = MappingProxyType(
            {
                name: w3.eth.contract(address=to_checksum_address(address), abi=abis[name])
                for name, address in deployment.contracts.items()
            }
        )
        self._errors = _error_table(abis[name] for name in deployment.contracts)

    def __getitem__(self, name: str) -> Contract:
        try:
            return self.by_name[name]
        except KeyError:
            raise ContractsUnavailable(f"the deployment has no {name} contract") from None

    def __contains__(self, name: str) -> bool:
        return name in self.by_name

    def decode_error(self, data: str | bytes | None) -> CustomError | None:
        """The custom error behind revert data, or None if it is not one of ours."""
        raw = bytes.fromhex(data[2:] if data.startswith("0x") else data) if isinstance(data, str) else data
        if not raw or len(raw) < 4:
            return None
        entry = self._errors.get(raw[:4])
        if entry is None:
            return None
        name, names, types = entry
        try:
            values = abi_decode(types, raw[4:])
        except Exception:
            return CustomError(name, {})
        return CustomError(name, dict(zip(names, values)))


def _error_table(abis) -> dict[bytes, tuple[str, list[str], list[str]]]:
    table = {}
    for abi in abis:
        for entry in abi:
            if entry.get("type") != "error":
                continue
            types = [canonical_type(i) for i in entry["inputs"]]
            selector = function_signature_to_4byte_selector(f"{entry['name']}({','.join(types)})")
            table[selector] = (entry["name"], [i["name"] for i in entry["inputs"]], types)
    return table


def canonical_type(item: dict) -> str:
    """The ABI type as it appears in a signature: tuples spelled out as (a,b)."""
    kind = item["type"]
    if kind.startswith("tuple"):
        return "(" + ",".join(canonical_type(c) for c in item["components"]) + ")" + kind[len("tuple"):]
    return kind
