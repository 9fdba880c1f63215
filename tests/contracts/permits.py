"""EIP-2612 permits signed the way a wallet would, with the test account's key."""

from __future__ import annotations

from eth_account import Account
from eth_account.messages import encode_typed_data


def sign_permit(token, owner, spender, value: int, deadline: int, chain_id: int):
    """(v, r, s) of a permit letting `spender` pull `value` of `owner`'s tokens until `deadline`."""
    name, version, _chain_id, contract = token.eip712Domain()[1:5]
    message = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Permit": [
                {"name": "owner", "type": "address"},
                {"name": "spender", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "Permit",
        "domain": {"name": name, "version": version, "chainId": chain_id, "verifyingContract": contract},
        "message": {
            "owner": owner.address,
            "spender": str(spender.address),
            "value": value,
            "nonce": token.nonces(owner),
            "deadline": deadline,
        },
    }
    signed = Account.sign_message(encode_typed_data(full_message=message), owner.private_key)
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")
