"""The node account: an encrypted keystore file and the passphrase that opens it.

The keystore is the Web3 Secret Storage (V3) JSON that geth reads too, so geth can seal Clique
blocks with the same account. The passphrase comes from a file only its owner can read, or
from the environment; it is never taken from the node's configuration, printed or logged.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from node.errors import NodeError

PASSPHRASE_VARIABLE = "GRIDCOMMONS_NODE_PASSPHRASE"


class KeystoreError(NodeError):
    """The node keystore or its passphrase is missing, unsafe, malformed or wrong."""


def create_keystore(path: Path, passphrase: str) -> str:
    """Create a new node account in a keystore at `path` (mode 0600); return its address.

    Never overwrites: an existing keystore may hold the only copy of a funded validator key.
    """
    path = Path(path)
    _check_new_passphrase(passphrase)
    if path.exists():
        raise KeystoreError(f"{path} exists: refusing to overwrite a keystore")
    account = Account.create()
    keystore = Account.encrypt(account.key, passphrase)
    _write_new_private_file(path, json.dumps(keystore) + "\n")
    return account.address


def _check_new_passphrase(passphrase: str) -> None:
    if not passphrase:
        raise KeystoreError("the keystore passphrase is empty")
    # geth reads the first line of its --password file, which the node shares.
    if "\n" in passphrase or "\r" in passphrase:
        raise KeystoreError("the keystore passphrase must be a single line")


def _write_new_private_file(path: Path, text: str) -> None:
    """Write a complete file or none at all, readable by its owner only, never replacing one."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # mkstemp creates the file with mode 0600; the leading dot hides it from geth's keystore scan.
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            # Unlike a rename, a link fails if the name was taken meanwhile.
            os.link(temporary, path)
        except FileExistsError:
            raise KeystoreError(f"{path} exists: refusing to overwrite a keystore") from None
        _fsync_directory(path.parent)
    finally:
        os.unlink(temporary)


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def load_node_account(
    path: Path, passphrase_file: Path | None = None, env: Mapping[str, str] = os.environ
) -> LocalAccount:
    """The node account from its keystore, opened with the passphrase file or the environment."""
    path = Path(path)
    keystore = _read_keystore(path)
    passphrase = read_passphrase(path, passphrase_file, env)
    try:
        key = Account.decrypt(keystore, passphrase)
    except ValueError as error:
        if "MAC mismatch" in str(error):
            raise KeystoreError(f"wrong passphrase for keystore {path}") from None
        raise KeystoreError(f"{path} is not a usable keystore: {error}") from None
    except (KeyError, TypeError):
        raise KeystoreError(f"{path} is not a keystore (fields are missing)") from None
    return Account.from_key(key)


def read_passphrase(keystore: Path, passphrase_file: Path | None, env: Mapping[str, str]) -> str:
    """The passphrase from `passphrase_file` if given, else from GRIDCOMMONS_NODE_PASSPHRASE."""
    if passphrase_file is not None:
        return _passphrase_from_file(Path(passphrase_file))
    passphrase = env.get(PASSPHRASE_VARIABLE)
    if passphrase is None:
        raise KeystoreError(
            f"no passphrase for keystore {keystore}: give a passphrase file (mode 0600) "
            f"or set {PASSPHRASE_VARIABLE}"
        )
    if not passphrase:
        raise KeystoreError(f"{PASSPHRASE_VARIABLE} is set but empty")
    return passphrase


def _passphrase_from_file(path: Path) -> str:
    # The first line, as geth reads its --password file: both can share one file.
    passphrase = read_secret_file(path, "passphrase file").split("\n", 1)[0].rstrip("\r")
    if not passphrase:
        raise KeystoreError(f"passphrase file {path} is empty")
    return passphrase


def read_secret_file(path: Path, what: str = "secret file") -> str:
    """The text of a file holding a secret, refused unless only its owner can read or write it."""
    try:
        # Non-blocking, so that a FIFO in the file's place is refused instead of waited on.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise KeystoreError(f"{what} {path} does not exist") from None
    except OSError as error:
        raise KeystoreError(f"cannot open {what} {path}: {error.strerror}") from None
    # Checked on the open file, so that the file read is the file checked.
    with os.fdopen(descriptor, "r", encoding="utf-8") as handle:
        status = os.fstat(handle.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise KeystoreError(f"{what} {path} is not a regular file")
        if status.st_mode & 0o077:
            raise KeystoreError(
                f"{what} {path} is accessible to group or others "
                f"(mode {stat.S_IMODE(status.st_mode):04o}): run chmod 600 {path}"
            )
        try:
            return handle.read()
        except (OSError, UnicodeDecodeError) as error:
            raise KeystoreError(f"cannot read {what} {path}: {type(error).__name__}") from None


def _read_keystore(path: Path) -> dict:
    try:
        keystore = json.loads(path.read_text())
    except FileNotFoundError:
        raise KeystoreError(f"no keystore at {path}: `gridcommons init` creates it") from None
    except (OSError, ValueError) as error:
        raise KeystoreError(f"cannot read keystore {path}: {error}") from None
    if not isinstance(keystore, dict):
        raise KeystoreError(f"{path} is not a keystore")
    return keystore
