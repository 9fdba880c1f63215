"""The event mirror against the project's anvil: bounded ranges, a persisted cursor, reorgs."""

from __future__ import annotations

import pytest
from node.chain.devnet import MANIFEST, dev_account

from node.chain.contracts import CommunityContracts, load_abis
from node.mirror.db import MirrorDB
from node.mirror.mirror import EventMirror, MirrorSettings


@pytest.fixture
def contracts(w3, community):
    return CommunityContracts(w3, community.deployment, load_abis(MANIFEST))


def mirror_of(w3, contracts, path, **settings):
    return EventMirror(w3, contracts, MirrorDB(path), MirrorSettings(**settings))


def test_every_event_since_deployment_is_mirrored_with_decoded_arguments(w3, community, contracts, tmp_path):
    member = dev_account(3).address
    community.admit(member, producer=True, consumer=False)
    mirror = mirror_of(w3, contracts, tmp_path / "mirror.sqlite", max_range=2)

    added = mirror.poll()

    admitted = mirror.db.events("MemberAdded")
    assert (added, len(admitted)) == (mirror.db.count(), 1)
    assert (admitted[0].contract, admitted[0].args["account"]) == ("Community", member)
    assert [e.event for e in mirror.db.events("Deposited")] == ["Deposited"]


def test_the_cursor_persists_so_a_restart_adds_nothing_twice(w3, community, contracts, tmp_path):
    community.admit(dev_account(3).address, producer=True, consumer=False)
    first = mirror_of(w3, contracts, tmp_path / "mirror.sqlite")
    first.poll()
    count = first.db.count()
    first.db.close()

    again = mirror_of(w3, contracts, tmp_path / "mirror.sqlite")
    assert again.poll() == 0
    community.admit(dev_account(4).address, producer=False, consumer=True)
    again.poll()

    assert [e.args["account"] for e in again.db.events("MemberAdded")] == [dev_account(3).address, dev_account(4).address]
    assert again.db.count() > count


def test_a_reorganised_block_is_forgotten_and_its_replacement_mirrored(w3, community, contracts, tmp_path):
    mirror = mirror_of(w3, contracts, tmp_path / "mirror.sqlite")
    mirror.poll()
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]
    community.admit(dev_account(5).address, producer=True, consumer=False)
    mirror.poll()
    assert [e.args["account"] for e in mirror.db.events("MemberAdded")] == [dev_account(5).address]

    # The blocks holding that admission are replaced by others (a Clique reorg), one block longer.
    w3.provider.make_request("evm_revert", [snapshot])
    community.admit(dev_account(6).address, producer=False, consumer=True)
    w3.provider.make_request("evm_mine", [])
    mirror.poll()

    assert [e.args["account"] for e in mirror.db.events("MemberAdded")] == [dev_account(6).address]
    assert mirror.db.meta("reorgs") == 1
