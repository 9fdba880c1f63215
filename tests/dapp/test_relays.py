"""The Relays page: live state or the journal's last word, last switches, and manual overrides
carried out by the node's relay part on gpiozero's mock pins."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from dappkit import ADDRESS, PASSWORD, AuthActions, csrf_token, node_config_for
from gpiozero.pins.mock import MockFactory

from dapp import create_app
from dapp.cli import set_password
from dapp.services import NodeServices
from node.actions.queue import ActionQueue
from node.mirror.db import MirrorDB
from node.relay import RelayBank, RelayJournal, SwitchEvent, SwitchLog
from node.runtime.relays import RelayController
from node.store.store import MeterStore

PIN = 17
RELAYS = f"""
[relays.boiler]
pin = {PIN}
rule = "surplus"
on_above_w = 2500
off_below_w = 200
min_on_s = 0
min_off_s = 0

[relays.pump]
pin = 24
rule = "manual"
fail_safe = "on"
"""


@pytest.fixture
def node_config(tmp_path):
    config = node_config_for(tmp_path, RELAYS)
    set_password(config, PASSWORD)
    return config


def utc(unix: float) -> datetime:
    return datetime.fromtimestamp(unix, timezone.utc)


def write_status(config, written_at: float, relays: list[dict]) -> None:
    config.data_dir.mkdir(parents=True, exist_ok=True)
    config.status_path.write_text(json.dumps({"written_at": written_at, "relays": relays}, default=str))


def boiler_status(now: float, **changes) -> dict:
    return {"name": "boiler", "on": True, "source": "rule", "reason": "community surplus 2600 W, above 2500 W",
            "since": utc(now - 60), "override": None, "pending": None, "pending_in_s": None, **changes}


def overrides(config) -> list:
    queue = ActionQueue(config.actions_path, lambda: 0.0)
    try:
        return [(a.kind, a.params, a.state) for a in queue.recent(10, ["relay_override"])]
    finally:
        queue.close()


# -- the page ---------------------------------------------------------------------------------


def test_relays_page_needs_a_login(client):
    response = client.get("/relays/")

    assert (response.status_code, response.headers["Location"]) == (302, "/auth/login?next=/relays/")


def test_without_relays_the_page_explains_the_config_table(tmp_path, clock):
    (tmp_path / "bare").mkdir()
    config = node_config_for(tmp_path / "bare")
    set_password(config, PASSWORD)
    services = NodeServices(config, ADDRESS, clock, wall=clock)
    client = create_app({"TESTING": True}, services=services).test_client()
    AuthActions(client).login()

    page = client.get("/relays/").get_data(as_text=True)

    assert "No relays are configured on this node." in page
    assert "[relays.boiler]" in page and "docs/relays.md" in page
    services.close()


def test_page_shows_each_relays_live_state_rule_and_override(client, auth, node_config, clock):
    until = clock.now + 900
    write_status(node_config, clock.now - 2, [
        boiler_status(clock.now),
        {"name": "pump", "on": False, "source": "manual", "reason": "manual override by DApp operator: off",
         "since": utc(clock.now - 30), "override": {"on": False, "by": "DApp operator", "until": utc(until), "force": False},
         "pending": True, "pending_in_s": 42.4},
    ])
    auth.login()

    page = client.get("/relays/").get_data(as_text=True)

    assert "The node is not running" not in page
    assert "community surplus 2600 W, above 2500 W" in page
    assert "surplus: on above 2500 W community surplus, off below 200 W" in page
    assert "manual: rests on, switched only by hand" in page
    assert "Manual override by DApp operator: off" in page
    assert "until 01:15" in page  # node time zone Europe/Amsterdam: 00:00 UTC + 15 min = 01:15 CET
    assert "Switching on in 42 s" in page


def test_stale_status_says_the_node_is_not_running_and_shows_the_journals_last_state(client, auth, node_config, clock):
    write_status(node_config, clock.now - 11, [boiler_status(clock.now)])
    with RelayJournal(node_config.relay_journal_path) as journal:
        journal.record(SwitchEvent("boiler", utc(clock.now - 600), True, "community surplus 3000 W, above 2500 W", "rule"))
        journal.record(SwitchEvent("boiler", utc(clock.now - 300), False, "stopped: fail-safe off", "fail-safe"))
        journal.record(SwitchEvent("boiler", utc(clock.now - 200), False, "no community surplus figure", "rule", False))
    auth.login()

    page = client.get("/relays/").get_data(as_text=True)

    assert "The node is not running" in page
    boiler = page.split('id="relay-boiler"')[1].split('id="relay-pump"')[0]
    assert "(last known)" in boiler and "no community surplus figure" in boiler  # the newest entry gives the state
    switches = boiler.split("Last switches")[1]
    assert switches.index("stopped: fail-safe off") < switches.index("community surplus 3000 W")
    assert "no community surplus figure" not in switches  # a note, not a switch
    pump = page.split('id="relay-pump"')[1]
    assert "No state known yet" in pump


@pytest.mark.parametrize("text", [None, "{not json", '{"written_at": "soon", "relays": []}', "[1, 2]"])
def test_missing_or_garbled_status_counts_as_not_running(client, auth, node_config, text):
    if text is not None:
        node_config.data_dir.mkdir(parents=True, exist_ok=True)
        node_config.status_path.write_text(text)
    auth.login()

    response = client.get("/relays/")

    assert response.status_code == 200
    assert "The node is not running" in response.get_data(as_text=True)


# -- the override form ------------------------------------------------------------------------


def test_override_on_for_an_hour_queues_it_until_node_time_plus_an_hour(client, auth, node_config, clock):
    auth.login()

    response = auth.post("/relays/boiler/override", {"mode": "on", "duration": "1h"})

    assert (response.status_code, response.headers["Location"]) == (302, "/relays/")
    expected = {"relay": "boiler", "on": True, "until": int(clock.now) + 3600, "by": "DApp operator", "force": False}
    assert overrides(node_config) == [("relay_override", expected, "queued")]
    assert "relay boiler on for 1 h" in client.get("/relays/").get_data(as_text=True)


def test_override_until_cleared_has_no_end_and_back_to_rule_clears(auth, node_config):
    auth.login()

    auth.post("/relays/pump/override", {"mode": "off", "duration": "cleared"})
    auth.post("/relays/pump/override", {"mode": "rule"})

    assert [params for _, params, _ in overrides(node_config)] == [
        {"relay": "pump", "on": None, "until": None, "by": "DApp operator", "force": False},
        {"relay": "pump", "on": False, "until": None, "by": "DApp operator", "force": False},
    ]


def test_override_of_an_unknown_relay_is_not_found(auth, node_config):
    auth.login()

    response = auth.post("/relays/attic/override", {"mode": "on", "duration": "1h"})

    assert response.status_code == 404
    assert overrides(node_config) == []


@pytest.mark.parametrize("form, message", [
    ({"mode": "on", "duration": "2h"}, "Choose how long the override lasts: 15 min, 1 h, 4 h, until cleared."),
    ({"mode": "on"}, "Choose how long the override lasts"),
    ({"mode": "maybe", "duration": "1h"}, "Choose on, off or back to the rule."),
])
def test_override_with_a_bad_choice_is_refused_with_what_to_change(auth, node_config, form, message):
    auth.login()

    response = auth.post("/relays/boiler/override", form)

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert overrides(node_config) == []


def test_override_without_the_csrf_token_is_refused(client, auth, node_config):
    auth.login()

    response = client.post("/relays/boiler/override", data={"mode": "on", "duration": "1h"})

    assert response.status_code == 400
    assert overrides(node_config) == []


def test_override_needs_a_login(client, node_config):
    token = csrf_token(client)  # a visitor's valid form token: the login is what is missing

    response = client.post("/relays/boiler/override", data={"mode": "on", "duration": "1h", "csrf_token": token})

    assert (response.status_code, response.headers["Location"]) == (302, "/auth/login?next=/relays/boiler/override")
    assert overrides(node_config) == []


# -- end to end: the DApp's request, the node's relay part, a mock pin ------------------------


@pytest.fixture
def relay_part(node_config, clock):
    """The node's relay part as `node run` builds it, on mock pins and the test's clock."""
    pins = MockFactory()
    journal = RelayJournal(node_config.relay_journal_path)
    bank = RelayBank.open(node_config.relays.values(), pins, monotonic=clock, wall_clock=lambda: utc(clock()),
                          log=SwitchLog(journal=journal))
    controller = RelayController(bank, MeterStore(node_config.store_path, clock=clock), MirrorDB(node_config.mirror_path),
                                 clock, actions=ActionQueue(node_config.actions_path, clock))
    yield controller, pins, journal
    controller.close()
    journal.close()
    pins.reset()


def test_an_override_from_the_page_switches_the_pin_and_is_confirmed_with_its_reason(auth, node_config, clock, relay_part):
    controller, pins, journal = relay_part
    controller.step()
    assert pins.pin(PIN).state == 0  # no surplus figure: the boiler rests off
    auth.login()

    auth.post("/relays/boiler/override", {"mode": "on", "duration": "15m"})
    controller.step()

    assert pins.pin(PIN).state == 1
    assert [state for _, _, state in overrides(node_config)] == ["confirmed"]
    last = journal.recent("boiler", 1, switches_only=True)[0]
    assert (last.on, last.source, last.reason) == (True, "manual", "manual override by DApp operator: on until 2026-01-01T00:15+00:00")
    page = auth.client.get("/relays/").get_data(as_text=True)
    assert 'data-state="confirmed"' in page


def test_an_override_for_a_relay_the_node_does_not_have_fails_with_a_message(node_config, clock, relay_part):
    controller, pins, _ = relay_part
    queue = ActionQueue(node_config.actions_path, clock)
    action_id = queue.request("relay_override", {"relay": "attic", "on": True, "until": None, "by": "DApp operator",
                                                 "force": False}, "relay attic on")

    controller.step()

    failed = queue.get(action_id)
    queue.close()
    assert (failed.state, failed.error) == ("failed", "no relay named 'attic'; configured: boiler, pump")
