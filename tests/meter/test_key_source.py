"""Meter keys come from 0600 files or the environment, and their text is never repeated."""

import pytest

from node.meter.errors import MeterSetupError
from node.meter.key_source import AUTH_KEY_ENV, KEY_ENV, load_meter_keys

KEY_HEX, AUTH_HEX = "000102030405060708090a0b0c0d0e0f", "101112131415161718191a1b1c1d1e1f"  # test-only


def secret_file(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text + "\n")
    path.chmod(0o600)
    return path


def test_both_keys_come_from_their_files(tmp_path):
    keys = load_meter_keys(secret_file(tmp_path, "meter.key", KEY_HEX), secret_file(tmp_path, "meter-auth.key", AUTH_HEX), {})

    assert (keys.encryption_key.hex(), keys.authentication_key.hex()) == (KEY_HEX, AUTH_HEX)


def test_keys_come_from_the_environment_when_no_file_is_set():
    keys = load_meter_keys(None, None, {KEY_ENV: KEY_HEX, AUTH_KEY_ENV: AUTH_HEX})

    assert (keys.encryption_key.hex(), keys.authentication_key.hex()) == (KEY_HEX, AUTH_HEX)


def test_no_key_anywhere_means_a_plain_meter():
    assert load_meter_keys(None, None, {}) is None


def test_an_authentication_key_alone_is_refused():
    with pytest.raises(MeterSetupError, match="needs the encryption key too") as raised:
        load_meter_keys(None, None, {AUTH_KEY_ENV: AUTH_HEX})

    assert raised.value.setting == "key_file"


def test_a_wrong_authentication_key_file_is_named_without_its_text(tmp_path):
    path = secret_file(tmp_path, "meter-auth.key", "SECRETISH-not-hex")

    with pytest.raises(MeterSetupError) as raised:
        load_meter_keys(secret_file(tmp_path, "meter.key", KEY_HEX), path, {})

    assert (raised.value.setting, str(raised.value)) == (
        "auth_key_file", f"{path} does not hold a meter key: it must be 32 hex digits")
    assert "SECRETISH" not in str(raised.value)


def test_a_short_key_in_the_environment_is_refused_without_its_text():
    with pytest.raises(MeterSetupError) as raised:
        load_meter_keys(None, None, {KEY_ENV: "00112233"})

    assert str(raised.value) == f"the environment variable {KEY_ENV} does not hold a meter key: it must be 32 hex digits, not 8"
