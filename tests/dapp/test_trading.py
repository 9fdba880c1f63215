"""The Trading page: the household views and changes its trading rules, saved in the node's rules file
that the exchange agent reads; logged in only, with the form's CSRF token, bad values refused with
what to write instead."""

from __future__ import annotations

import html
from dataclasses import replace

import pytest
from dappkit import PASSWORD, csrf_token, node_config_for

from dapp.cli import set_password
from node.config import ExchangeConfig
from node.exchange.rules_store import RulesStore

NODE_TOML = """
[exchange]
auto_accept = true
battery_below_pct = 25
max_wh = 1500
"""
FORM = {
    "auto_offer": "on", "offer_day": "today", "offer_hours": "2", "offer_max_wh": "900",
    "offer_price_per_kwh": "0.08", "auto_accept": "on", "battery_below_pct": "15", "cover_shortage": "on",
    "max_price_per_kwh": "0.1", "max_wh": "600",
}
SAVED = ExchangeConfig(auto_accept=True, battery_below_pct=15.0, cover_shortage=True, max_wh=600,
                       max_price_per_kwh=10**17, auto_offer=True, offer_day="today", offer_hours=2, offer_max_wh=900,
                       offer_price_per_kwh=8 * 10**16)


@pytest.fixture
def node_config(tmp_path):
    config = node_config_for(tmp_path, NODE_TOML)
    set_password(config, PASSWORD)
    return config


def agent_rules(config) -> ExchangeConfig:
    """What the node's exchange agent reads on its next tick."""
    return RulesStore.for_node(config).read()


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_the_trading_page_needs_a_login(client):
    response = client.get("/trading/")

    assert (response.status_code, response.headers["Location"]) == (302, "/auth/login?next=/trading/")


def test_saving_needs_a_login(client, node_config):
    response = client.post("/trading/", data={**FORM, "csrf_token": csrf_token(client)})

    assert (response.status_code, response.headers["Location"]) == (302, "/auth/login?next=/trading/")
    assert not (node_config.data_dir / "exchange_rules.json").exists()


def test_the_page_shows_node_tomls_rules_until_some_are_saved(client, auth):
    auth.login()

    text = page_text(client.get("/trading/"))

    assert "These are node.toml's <code>[exchange]</code> rules" in text
    assert 'name="max_wh" type="number" min="1" step="1" value="1500"' in text
    assert 'name="battery_below_pct" inputmode="decimal" value="25"' in text
    assert 'name="max_price_per_kwh" inputmode="decimal" value="0.2"' in text
    assert '<a href="/trading/" aria-current="page">Trading</a>' in text


def test_saved_rules_are_what_the_agent_reads_next(client, auth, node_config, clock):
    auth.login()

    response = auth.post("/trading/", FORM)

    assert (response.status_code, response.headers["Location"]) == (302, "/trading/")
    assert agent_rules(node_config) == SAVED
    text = page_text(client.get("/trading/"))
    assert "Trading rules saved" in text and "Saved on this page at 2026-01-01 01:00 CET" in text
    assert 'name="offer_price_per_kwh" inputmode="decimal" value="0.08"' in text


def test_an_unticked_box_switches_its_rule_off(auth, node_config):
    auth.login()

    auth.post("/trading/", {k: v for k, v in FORM.items() if k not in ("auto_accept", "cover_shortage")})

    assert agent_rules(node_config) == replace(SAVED, auto_accept=False, cover_shortage=False)


def test_saving_without_the_forms_csrf_token_is_refused(client, auth, node_config):
    auth.login()

    response = client.post("/trading/", data=FORM)

    assert response.status_code == 400
    assert agent_rules(node_config) == node_config.exchange


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("offer_hours", "0", "The hours to offer must be a whole number above 0."),
        ("offer_hours", "30", "The hours to offer must be a whole number of hours from 1 to 24, got 30."),
        ("offer_max_wh", "1.5", "The most energy offered a day (Wh) must be a whole number above 0."),
        ("max_wh", "", "The most energy bought and not yet delivered (Wh) must be a whole number above 0."),
        ("battery_below_pct", "120", "The battery threshold must be a percentage from 0 to 100, e.g. 20."),
        ("offer_price_per_kwh", "0,08", "Write the offer price in credits per kWh with a dot for decimals, e.g. 0.08."),
        ("max_price_per_kwh", "-1", "Write the highest price in credits per kWh with a dot for decimals, e.g. 0.08."),
        ("offer_day", "someday", "Choose the day to offer for: tomorrow or the rest of today."),
    ],
)
def test_a_bad_value_is_refused_with_what_to_write_and_nothing_is_saved(client, auth, node_config, field, value,
                                                                          message):
    auth.login()

    response = auth.post("/trading/", {**FORM, field: value})

    assert response.status_code == 400
    assert message in page_text(response)
    assert f'name="{field}"' in page_text(response)  # the form again, to correct the value
    assert agent_rules(node_config) == node_config.exchange


def test_a_bad_saved_file_is_shown_and_the_node_tomls_rules_apply(client, auth, node_config):
    node_config.data_dir.mkdir(parents=True, exist_ok=True)
    (node_config.data_dir / "exchange_rules.json").write_text('{"rules": {"max_wh": -5}}')
    auth.login()

    text = page_text(client.get("/trading/"))

    assert "The saved rules were not used" in text and "rules.max_wh: must be a whole number >= 1, got -5" in text
    assert 'name="max_wh" type="number" min="1" step="1" value="1500"' in text


def test_back_to_node_toml_forgets_the_saved_rules(auth, node_config):
    auth.login()
    auth.post("/trading/", FORM)

    response = auth.post("/trading/reset")

    assert response.status_code == 302
    assert agent_rules(node_config) == node_config.exchange
