"""The node's data is for its own user only: every file 0600 (with SQLite's -wal and -shm), the data
folder 0700, whatever the umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from node.sqlite import open_database, private_dir, private_file


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o022, 0o002, 0o000], ids=["umask022", "umask002", "umask000"])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def opened_modes(path: Path) -> dict[str, int]:
    """The database and the WAL files SQLite made beside it, while a connection holds them open."""
    return {p.name.removeprefix(path.name) or "db": mode(p) for p in path.parent.glob(path.name + "*")}


def test_a_new_database_and_its_wal_and_shm_files_are_0600(tmp_path, umask):
    path = tmp_path / "new.sqlite"

    db = open_database(path, "CREATE TABLE IF NOT EXISTS t (a INTEGER)")
    db.execute("INSERT INTO t VALUES (1)")
    try:
        assert opened_modes(path) == {"db": 0o600, "-wal": 0o600, "-shm": 0o600}
    finally:
        db.close()


def test_an_existing_database_readable_by_others_is_narrowed_to_0600(tmp_path):
    path = tmp_path / "old.sqlite"
    open_database(path, "CREATE TABLE IF NOT EXISTS t (a INTEGER)").close()
    path.chmod(0o644)

    db = open_database(path, "")
    try:
        assert opened_modes(path) == {"db": 0o600, "-wal": 0o600, "-shm": 0o600}
    finally:
        db.close()


def test_private_file_and_dir_ignore_the_umask(tmp_path, umask):
    folder = private_dir(tmp_path / "a" / "data")
    file = private_file(folder / "x")

    assert (mode(folder), mode(file)) == (0o700, 0o600)


def test_an_existing_open_data_folder_is_narrowed_to_0700(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)

    private_dir(folder)

    assert mode(folder) == 0o700


def test_every_node_database_is_created_0600(tmp_path, umask):
    from dapp.db import DappDB
    from node.actions.queue import ActionQueue
    from node.mirror.db import MirrorDB
    from node.relay import RelayJournal
    from node.store.store import MeterStore, StoreSettings
    from node.submit.outbox import Outbox

    opened = {
        "meter.sqlite": lambda p: MeterStore(p, StoreSettings(), clock=lambda: 0.0),
        "outbox.sqlite": Outbox,
        "mirror.sqlite": MirrorDB,
        "actions.sqlite": lambda p: ActionQueue(p, lambda: 0.0),
        "relays.sqlite": RelayJournal,
        "dapp.sqlite": DappDB,
    }
    for name, open_it in opened.items():
        path = tmp_path / name
        handle = open_it(path)
        try:
            assert opened_modes(path) == {"db": 0o600, "-wal": 0o600, "-shm": 0o600}, name
        finally:
            handle.close()


def test_the_node_makes_its_data_folder_0700_and_status_json_0600(tmp_path, umask):
    from node.chain.deployment import Deployment
    from node.chain.devnet import dev_account
    from node.runtime.devnode import DEV_ENV, write_dev_node
    from node.runtime.node import NodeRuntime

    deployment = Deployment("local", 31337, 0, "0x" + "0" * 64, "0x" + "0" * 40, {})
    config = write_dev_node(tmp_path / "home", "home", dev_account(1), deployment, "http://127.0.0.1:1",
                            'source = "simulator"\nprofile = "consumer"\nseed = 1')

    runtime = NodeRuntime(config, env=DEV_ENV)
    runtime.write_status()

    assert mode(config.data_dir) == 0o700
    assert mode(config.status_path) == 0o600
    assert mode(config.outbox_path) == 0o600


def test_the_dapp_password_command_and_the_session_key_keep_the_data_folder_private(tmp_path, umask):
    from dapp import _session_key
    from dapp.cli import store_password

    data = tmp_path / "data"
    store_password(data / "dapp.sqlite", "correct horse battery")
    _session_key(data)

    assert mode(data) == 0o700
    assert (mode(data / "dapp.sqlite"), mode(data / "dapp-session.key")) == (0o600, 0o600)
