"""The signed data request one member's node sends another: EIP-712 typed data, built, signed and checked.

The recipient's node signs with its node key; the subject's node recovers the signer and compares it
with the request's `recipient`, whose consent the ConsentRegistry then confirms. The domain binds a
signature to one community's registry on one chain, so it cannot be replayed elsewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_keys.exceptions import BadSignature
from eth_utils import to_checksum_address

from dapp.errors import BadRequest, NotAvailable

DOMAIN_NAME = "gridcommons data"
DOMAIN_VERSION = "1"
MESSAGE_TYPES = {
    "DataRequest": [
        {"name": "subject", "type": "address"},
        {"name": "recipient", "type": "address"},
        {"name": "scope", "type": "uint32"},
        {"name": "fromTime", "type": "uint64"},
        {"name": "toTime", "type": "uint64"},
        {"name": "nonce", "type": "bytes32"},
        {"name": "expiry", "type": "uint64"},
    ]
}

# The ConsentRegistry's scope bits (SCOPE_* constants), in the contract's order.
SCOPE_ENERGY_15MIN, SCOPE_POWER_1S, SCOPE_VOLTAGES, SCOPE_GAS = 1, 2, 4, 8
SCOPES = {
    SCOPE_ENERGY_15MIN: "energy per 15 min",
    SCOPE_POWER_1S: "power per second",
    SCOPE_VOLTAGES: "voltages",
    SCOPE_GAS: "gas",
}
MAX_RANGE = 31 * 86400  # seconds of data one request may ask for

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_NONCE = re.compile(r"0x[0-9a-fA-F]{64}")
_SIGNATURE = re.compile(r"0x[0-9a-fA-F]{130}")
_UINT32 = 2**32 - 1
_LAST_TIME = 253_402_300_799  # 9999-12-31 23:59:59 UTC: later times fit uint64 but no calendar (nor SQLite)


def scope_names(scope: int) -> list[str]:
    return [name for bit, name in SCOPES.items() if scope & bit]


@dataclass(frozen=True)
class Domain:
    """Which community's registry, on which chain, a signature is for."""

    chain_id: int
    registry: str

    @classmethod
    def from_deployment(cls, path: Path) -> "Domain":
        """From the node's deployment record; NotAvailable if it has none or no ConsentRegistry."""
        from node.chain import deployment

        try:
            record = deployment.read(path)
            return cls(record.chain_id, to_checksum_address(record.address("ConsentRegistry")))
        except deployment.DeploymentError as error:
            raise NotAvailable(str(error)) from error

    def as_eip712(self) -> dict:
        return {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": self.chain_id,
                "verifyingContract": self.registry}


@dataclass(frozen=True)
class DataRequest:
    """`recipient` asks for `subject`'s data in `scope` from `from_time` to `to_time` (unix seconds)."""

    subject: str
    recipient: str
    scope: int
    from_time: int
    to_time: int
    nonce: str  # 0x and 64 hex digits, fresh for every request
    expiry: int  # unix seconds after which the subject's node refuses it

    def message(self) -> dict:
        """The request as signed and as sent in JSON."""
        return {"subject": self.subject, "recipient": self.recipient, "scope": self.scope,
                "fromTime": self.from_time, "toTime": self.to_time, "nonce": self.nonce, "expiry": self.expiry}

    @classmethod
    def from_message(cls, data: object) -> "DataRequest":
        """Parse the JSON form strictly; BadRequest names the field that is wrong."""
        if not isinstance(data, dict):
            raise BadRequest("`request` must be an object with the DataRequest fields")
        expected = {field["name"] for field in MESSAGE_TYPES["DataRequest"]}
        if set(data) != expected:
            raise BadRequest(f"`request` must have exactly the fields {', '.join(sorted(expected))}")
        return cls(
            subject=_address(data, "subject"),
            recipient=_address(data, "recipient"),
            scope=_uint(data, "scope", _UINT32),
            from_time=_uint(data, "fromTime", _LAST_TIME),
            to_time=_uint(data, "toTime", _LAST_TIME),
            nonce=_nonce(data),
            expiry=_uint(data, "expiry", _LAST_TIME),
        )


def claimed_recipient(data: object) -> str | None:
    """The recipient a request names, if readable: who to write in the access log when parsing fails."""
    value = data.get("recipient") if isinstance(data, dict) else None
    return to_checksum_address(value) if isinstance(value, str) and _ADDRESS.fullmatch(value) else None


def signable(request: DataRequest, domain: Domain) -> SignableMessage:
    return encode_typed_data(domain.as_eip712(), MESSAGE_TYPES, request.message())


def sign(request: DataRequest, domain: Domain, signer) -> str:
    """The signature (0x hex) of the node key `signer` (an eth_account LocalAccount)."""
    return "0x" + signer.sign_message(signable(request, domain)).signature.hex().removeprefix("0x")


def recover(request: DataRequest, domain: Domain, signature: str) -> str | None:
    """The address that signed, or None if no key did; BadRequest if `signature` is not 65 bytes of hex."""
    if not isinstance(signature, str) or not _SIGNATURE.fullmatch(signature):
        raise BadRequest("`signature` must be 0x and 130 hex digits (65 bytes)")
    try:
        return Account.recover_message(signable(request, domain), signature=signature)
    except (BadSignature, ValueError):  # v, r or s out of range
        return None


def signed_by_recipient(request: DataRequest, domain: Domain, signature: str) -> bool:
    return recover(request, domain, signature) == request.recipient


def _address(data: dict, name: str) -> str:
    value = data[name]
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
        raise BadRequest(f"`{name}` must be an address: 0x and 40 hex digits")
    return to_checksum_address(value)


def _uint(data: dict, name: str, maximum: int) -> int:
    value = data[name]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise BadRequest(f"`{name}` must be a whole number from 0 to {maximum}")
    return value


def _nonce(data: dict) -> str:
    value = data["nonce"]
    if not isinstance(value, str) or not _NONCE.fullmatch(value):
        raise BadRequest("`nonce` must be 0x and 64 hex digits (32 bytes)")
    return value.lower()
