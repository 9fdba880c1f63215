"""The node account keystore and its passphrase, from a 0600 file or the environment."""

import json
import os
import stat

import pytest
from eth_account import Account

from node.chain.keystore import (
    PASSPHRASE_VARIABLE,
    KeystoreError,
    create_keystore,
    load_node_account,
    read_secret_file,
)

PASSPHRASE = "correct horse battery staple"


@pytest.fixture(scope="module")
def keystore(tmp_path_factory):
    """One keystore for the module (scrypt makes each new one take a second), and its address."""
    path = tmp_path_factory.mktemp("keys") / "node-key.json"
    return path, create_keystore(path, PASSPHRASE)


def secret_file(path, text, mode=0o600):
    path.write_text(text)
    path.chmod(mode)
    return path


def test_keystore_opens_with_its_passphrase_from_a_0600_file(keystore, tmp_path):
    path, address = keystore
    passphrase_file = secret_file(tmp_path / "passphrase", PASSPHRASE + "\n")

    account = load_node_account(path, passphrase_file, env={})

    assert account.address == address


def test_keystore_opens_with_its_passphrase_from_the_environment(keystore):
    path, address = keystore

    assert load_node_account(path, env={PASSPHRASE_VARIABLE: PASSPHRASE}).address == address


def test_keystore_is_readable_by_its_owner_only_and_in_the_v3_format_geth_reads(keystore):
    path, address = keystore

    document = json.loads(path.read_text())

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (document["version"], document["address"].lower()) == (3, address[2:].lower())
    assert Account.from_key(Account.decrypt(document, PASSPHRASE)).address == address


def test_keystore_leaves_no_temporary_file_behind(keystore):
    path, _ = keystore

    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_an_existing_keystore_is_never_overwritten(keystore):
    path, _ = keystore
    before = path.read_bytes()

    with pytest.raises(KeystoreError, match=f"{path} exists: refusing to overwrite a keystore"):
        create_keystore(path, "another passphrase")

    assert path.read_bytes() == before


def test_a_group_readable_passphrase_file_is_refused_with_its_path_and_the_fix(keystore, tmp_path):
    path, _ = keystore
    passphrase_file = secret_file(tmp_path / "passphrase", PASSPHRASE, mode=0o644)

    with pytest.raises(KeystoreError) as refused:
        load_node_account(path, passphrase_file, env={})

    assert str(refused.value) == (
        f"passphrase file {passphrase_file} is accessible to group or others (mode 0644): "
        f"run chmod 600 {passphrase_file}"
    )


def test_the_file_wins_over_the_environment_when_both_are_given(keystore, tmp_path):
    path, address = keystore
    passphrase_file = secret_file(tmp_path / "passphrase", PASSPHRASE)

    account = load_node_account(path, passphrase_file, env={PASSPHRASE_VARIABLE: "not it"})

    assert account.address == address


def test_a_wrong_passphrase_is_reported_without_the_passphrase(keystore):
    path, _ = keystore
    wrong = "Tr0ub4dor&3-guessed"

    with pytest.raises(KeystoreError) as refused:
        load_node_account(path, env={PASSPHRASE_VARIABLE: wrong})

    assert str(refused.value) == f"wrong passphrase for keystore {path}"
    assert (refused.value.__cause__, refused.value.__suppress_context__) == (None, True)


def test_no_passphrase_at_all_says_where_one_may_come_from(keystore):
    path, _ = keystore

    with pytest.raises(KeystoreError, match=f"give a passphrase file \\(mode 0600\\) or set {PASSPHRASE_VARIABLE}"):
        load_node_account(path, env={})


def test_a_missing_passphrase_file_is_named(keystore, tmp_path):
    path, _ = keystore

    with pytest.raises(KeystoreError, match=f"passphrase file {tmp_path / 'absent'} does not exist"):
        load_node_account(path, tmp_path / "absent", env={})


def test_a_missing_keystore_is_named(tmp_path):
    with pytest.raises(KeystoreError, match=f"no keystore at {tmp_path / 'node-key.json'}"):
        load_node_account(tmp_path / "node-key.json", env={PASSPHRASE_VARIABLE: PASSPHRASE})


@pytest.mark.parametrize(("passphrase", "message"), [("", "empty"), ("two\nlines", "single line")])
def test_create_refuses_passphrases_geth_could_not_share(tmp_path, passphrase, message):
    with pytest.raises(KeystoreError, match=message):
        create_keystore(tmp_path / "node-key.json", passphrase)

    assert not (tmp_path / "node-key.json").exists()


def test_a_fifo_in_place_of_a_secret_file_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "passphrase"
    os.mkfifo(fifo, 0o600)

    with pytest.raises(KeystoreError, match=f"secret file {fifo} is not a regular file"):
        read_secret_file(fifo)
