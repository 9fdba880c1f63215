"""Where a node's meter keys come from: a file only the node user can read, or the environment.

Never from node.toml itself: a config file gets copied, shown and pasted into bug reports. The
key text is never repeated in an error, since the text of a wrong key may be a right one's typo.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from node.meter.dlms.ciphering import MeterKeys
from node.meter.errors import MeterSetupError

KEY_ENV = "GRIDCOMMONS_METER_KEY"
AUTH_KEY_ENV = "GRIDCOMMONS_METER_AUTH_KEY"


def load_meter_keys(
    key_file: Path | None,
    auth_key_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> MeterKeys | None:
    """The encryption key (and authentication key, for security control 0x30) of the meter.

    Each comes from its file when one is set, else from its environment variable; None when
    there is no encryption key at all (a plain DSMR meter). Raises MeterSetupError naming the
    setting (`key_file`, `auth_key_file`) and the file or variable, never the text.
    """
    environ = os.environ if environ is None else environ
    key, key_from = _secret(key_file, KEY_ENV, "key_file", environ)
    auth_key, auth_from = _secret(auth_key_file, AUTH_KEY_ENV, "auth_key_file", environ)
    if key is None:
        if auth_key is not None:
            raise MeterSetupError(
                f"an authentication key ({auth_from}) needs the encryption key too: set key_file or {KEY_ENV}",
                "key_file",
            )
        return None
    return MeterKeys(_key_bytes(key, key_from, "key_file"),
                     None if auth_key is None else _key_bytes(auth_key, auth_from, "auth_key_file"))


def _key_bytes(text: str, where: str, setting: str) -> bytes:
    try:
        key = bytes.fromhex(text.replace(" ", ""))
    except ValueError:
        raise MeterSetupError(f"{where} does not hold a meter key: it must be 32 hex digits", setting) from None
    if len(key) != 16:
        raise MeterSetupError(
            f"{where} does not hold a meter key: it must be 32 hex digits, not {2 * len(key)}", setting
        )
    return key


def _secret(path: Path | None, variable: str, setting: str, environ: Mapping[str, str]) -> tuple[str | None, str]:
    if path is not None:
        from node.chain.keystore import read_secret_file

        return read_secret_file(path, f"meter {setting.replace('_', ' ')}").strip(), str(path)
    value = environ.get(variable, "").strip()
    return (value or None), f"the environment variable {variable}"
