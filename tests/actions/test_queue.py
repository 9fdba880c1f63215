"""The action queue between the DApp and the node's parts."""

from __future__ import annotations

from node.actions.queue import CONFIRMED, FAILED, PENDING, QUEUED, ActionQueue
from node.actions.runner import ActionRunner


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_requested_action_waits_queued_with_its_params(tmp_path):
    queue = ActionQueue(tmp_path / "actions.sqlite", Clock())

    action = queue.get(queue.request("send_tokens", {"to": "0xabc", "amount": "5"}, "send 5 to 0xabc"))

    assert (action.kind, action.params, action.state, action.requested_at) == (
        "send_tokens", {"to": "0xabc", "amount": "5"}, QUEUED, 1000.0)
    assert not action.done


def test_action_goes_pending_then_confirmed_with_its_block(tmp_path):
    clock = Clock()
    queue = ActionQueue(tmp_path / "actions.sqlite", clock)
    action_id = queue.request("revoke_consent", {"grant_id": 3}, "revoke")

    queue.mark_pending(action_id, "0xfeed")
    pending = queue.get(action_id)
    clock.now = 1005.0
    queue.confirm(action_id, 42)

    done = queue.get(action_id)
    assert (pending.state, pending.tx_hash) == (PENDING, "0xfeed")
    assert (done.state, done.block_number, done.done_at, done.done) == (CONFIRMED, 42, 1005.0, True)


def test_finished_action_keeps_its_outcome(tmp_path):
    queue = ActionQueue(tmp_path / "actions.sqlite", Clock())
    action_id = queue.request("send_tokens", {}, "send")
    queue.fail(action_id, "EnergyTokenInsufficientBalance")

    queue.confirm(action_id, 7)

    assert (queue.get(action_id).state, queue.get(action_id).error) == (FAILED, "EnergyTokenInsufficientBalance")


def test_open_actions_are_those_of_the_asked_kinds_oldest_first(tmp_path):
    queue = ActionQueue(tmp_path / "actions.sqlite", Clock())
    first = queue.request("send_tokens", {}, "a")
    queue.request("relay_override", {}, "b")
    third = queue.request("buy_certificate", {}, "c")
    done = queue.request("send_tokens", {}, "d")
    queue.confirm(done)

    open_ids = [a.id for a in queue.open_actions(["send_tokens", "buy_certificate"])]

    assert open_ids == [first, third]


def test_requests_survive_a_restart(tmp_path):
    path = tmp_path / "actions.sqlite"
    queue = ActionQueue(path, Clock())
    action_id = queue.request("mint_certificate", {"wh": 500}, "mint 500 Wh")
    queue.close()

    reopened = ActionQueue(path, Clock())

    assert reopened.get(action_id).params == {"wh": 500}


def test_recent_lists_newest_first_and_filters_kinds(tmp_path):
    queue = ActionQueue(tmp_path / "actions.sqlite", Clock())
    ids = [queue.request(kind, {}, kind) for kind in ("send_tokens", "relay_override", "send_tokens")]

    assert [a.id for a in queue.recent(10)] == ids[::-1]
    assert [a.id for a in queue.recent(10, ["send_tokens"])] == [ids[2], ids[0]]


class _RefusingSender:
    address = "0x70997970C51812dc3A04C010aD2bE8Cde92CB5a8"

    def transact(self, *args, **kwargs):
        raise AssertionError("a malformed request must not reach the chain")


def test_malformed_request_fails_alone_and_the_runner_goes_on(tmp_path):
    queue = ActionQueue(tmp_path / "actions.sqlite", Clock())
    broken = queue.request("send_tokens", {"amount": "5"}, "no recipient")
    unknown_kind_is_ignored = queue.request("relay_override", {"relay": "x"}, "for the relay part")
    runner = ActionRunner(queue, contracts={}, sender=_RefusingSender(), wall=Clock())

    runner.tick()

    assert queue.get(broken).state == FAILED
    assert "incomplete or malformed" in queue.get(broken).error
    assert queue.get(unknown_kind_is_ignored).state == QUEUED
