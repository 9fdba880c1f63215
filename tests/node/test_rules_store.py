"""The trading rules file the DApp writes and the exchange agent reads: node.toml's rules until one is
saved, a bad file ignored with the reason logged once, and writes that replace the file whole."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, replace

import pytest

from node.config import ExchangeConfig
from node.exchange.rules_store import RULES_FILE, RulesStore, SavedRules

NODE_TOML = ExchangeConfig(auto_accept=True, max_wh=1500)


@pytest.fixture
def store(tmp_path):
    return RulesStore(tmp_path / RULES_FILE, NODE_TOML)


def test_without_a_saved_file_the_rules_are_node_tomls(store):
    assert store.current() == SavedRules(NODE_TOML)


def test_saved_rules_are_what_is_read_afterwards(store):
    saved = replace(NODE_TOML, auto_offer=True, offer_day="today", offer_price_per_kwh=8 * 10**16)

    store.write(saved, 1_767_225_600.0)

    assert store.current() == SavedRules(saved, saved=True, saved_at=1_767_225_600.0)
    assert RulesStore(store.path, ExchangeConfig()).read() == saved  # another process: the agent


def test_a_file_with_only_some_rules_takes_the_others_from_node_toml(store):
    store.path.write_text(json.dumps({"rules": {"cover_shortage": True}}))

    assert store.read() == replace(NODE_TOML, cover_shortage=True)


@pytest.mark.parametrize(
    "text, reason",
    [
        ("{not json", "is not readable JSON"),
        ('["rules"]', 'must hold {"rules": {...}}'),
        ('{"rules": {"max_wh": 0}}', "holds a bad value: rules.max_wh: must be a whole number >= 1, got 0"),
        ('{"rules": {"offer_day": "someday"}}',
         "holds a bad value: rules.offer_day: must be one of tomorrow, today, got 'someday'"),
        ('{"rules": {"sell_everything": true}}', "holds a bad value: rules.sell_everything: unknown setting"),
    ],
)
def test_a_bad_file_gives_node_tomls_rules_and_the_reason_is_logged_once(store, caplog, text, reason):
    store.path.write_text(text)

    with caplog.at_level(logging.WARNING, logger="node.exchange.rules_store"):
        found = [store.current() for _ in range(3)]  # three ticks of the agent

    assert [f.rules for f in found] == [NODE_TOML] * 3
    assert reason in found[0].problem
    assert len(caplog.records) == 1 and reason in caplog.records[0].getMessage()
    assert "following node.toml's [exchange] instead" in caplog.records[0].getMessage()


def test_a_file_changed_on_disk_is_read_again(store):
    store.write(replace(NODE_TOML, max_wh=100), 1.0)
    assert store.read().max_wh == 100

    store.write(replace(NODE_TOML, max_wh=200), 2.0)

    assert store.read().max_wh == 200


def test_a_write_that_fails_midway_leaves_the_old_rules_whole_and_no_stray_file(store, monkeypatch):
    store.write(replace(NODE_TOML, max_wh=100), 1.0)
    before = store.path.read_text()

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        store.write(replace(NODE_TOML, max_wh=999), 2.0)

    assert store.path.read_text() == before
    assert sorted(p.name for p in store.path.parent.iterdir()) == [RULES_FILE]


def test_the_file_holds_every_rule_and_when_it_was_saved(store):
    store.write(NODE_TOML, 5.0)

    assert json.loads(store.path.read_text()) == {"rules": asdict(NODE_TOML), "saved_at": 5.0}


def test_reset_forgets_the_saved_rules(store):
    store.write(replace(NODE_TOML, auto_offer=True), 1.0)

    store.reset()

    assert store.current() == SavedRules(NODE_TOML)
