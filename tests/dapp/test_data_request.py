"""The EIP-712 data request: what the recipient's node signs is what the subject's node recovers."""

from __future__ import annotations

import dataclasses

import pytest

from dapp.data_request import SCOPE_ENERGY_15MIN, DataRequest, Domain, recover, sign, signed_by_recipient
from dapp.errors import BadRequest
from node.chain.devnet import dev_account

SUBJECT, RECIPIENT, OTHER = dev_account(1), dev_account(2), dev_account(3)
DOMAIN = Domain(1337, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
REQUEST = DataRequest(
    subject=SUBJECT.address,
    recipient=RECIPIENT.address,
    scope=SCOPE_ENERGY_15MIN,
    from_time=1_767_225_600,
    to_time=1_767_312_000,
    nonce="0x" + "ab" * 32,
    expiry=1_767_312_060,
)


def test_signature_recovers_to_the_signing_recipient():
    signature = sign(REQUEST, DOMAIN, RECIPIENT)

    assert recover(REQUEST, DOMAIN, signature) == RECIPIENT.address
    assert signed_by_recipient(REQUEST, DOMAIN, signature)


@pytest.mark.parametrize("field, value", [
    ("subject", OTHER.address), ("scope", 3), ("from_time", 1_767_225_601), ("to_time", 1_767_312_001),
    ("nonce", "0x" + "cd" * 32), ("expiry", 1_767_312_061),
])
def test_a_tampered_field_no_longer_recovers_to_the_recipient(field, value):
    signature = sign(REQUEST, DOMAIN, RECIPIENT)
    tampered = dataclasses.replace(REQUEST, **{field: value})

    assert recover(tampered, DOMAIN, signature) != RECIPIENT.address
    assert not signed_by_recipient(tampered, DOMAIN, signature)


def test_a_signature_for_another_registry_or_chain_does_not_recover_to_the_recipient():
    signature = sign(REQUEST, DOMAIN, RECIPIENT)

    assert not signed_by_recipient(REQUEST, Domain(1338, DOMAIN.registry), signature)
    assert not signed_by_recipient(REQUEST, Domain(1337, OTHER.address), signature)


def test_a_request_signed_by_someone_else_is_not_the_recipients():
    assert recover(REQUEST, DOMAIN, sign(REQUEST, DOMAIN, OTHER)) == OTHER.address
    assert not signed_by_recipient(REQUEST, DOMAIN, sign(REQUEST, DOMAIN, OTHER))


def test_the_json_form_parses_back_to_the_same_request():
    assert DataRequest.from_message(REQUEST.message()) == REQUEST


@pytest.mark.parametrize("change, message", [
    ({"subject": "0x123"}, "`subject` must be an address"),
    ({"scope": -1}, "`scope` must be a whole number from 0 to 4294967295"),
    ({"scope": True}, "`scope` must be a whole number"),
    ({"fromTime": "1767225600"}, "`fromTime` must be a whole number"),
    ({"expiry": 2**64 - 1}, "`expiry` must be a whole number from 0 to 253402300799"),
    ({"nonce": "0x1234"}, "`nonce` must be 0x and 64 hex digits"),
    ({"extra": 1}, "`request` must have exactly the fields"),
])
def test_a_malformed_field_is_named_in_the_refusal(change, message):
    with pytest.raises(BadRequest, match=message.replace("(", r"\(")):
        DataRequest.from_message({**REQUEST.message(), **change})


def test_a_signature_that_is_not_65_bytes_of_hex_is_refused():
    with pytest.raises(BadRequest, match="`signature` must be 0x and 130 hex digits"):
        recover(REQUEST, DOMAIN, "0x1234")


def test_a_signature_with_out_of_range_values_recovers_to_nobody():
    assert recover(REQUEST, DOMAIN, "0x" + "ff" * 65) is None
