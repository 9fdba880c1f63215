"""The Alerts page, its JSON and the banner on every page, over a real meter store with an anomaly.

The test node's chain (http://127.0.0.1:1) never answers, so "Chain unreachable" is always among
the alerts, and comes first: it is critical.
"""

from __future__ import annotations

import logging
from datetime import datetime

import pytest
from dappkit import AuthActions
from energykit import ZONE, local, write_meter

from dapp import create_app
from node.store.samples import Sample
from node.store.store import MeterStore, StoreSettings

NORMAL_BASELOAD_W = {0: 120, 1: 130, 2: 140, 3: 150, 4: 160, 5: 170, 6: 180}  # by weekday: usually 120–180 W


def heater_on_since_tuesday(ts: int) -> int:
    """A household at its usual baseload, until a heater stays on from Tuesday 6 January, 00:00."""
    moment = datetime.fromtimestamp(ts, ZONE)
    if moment.hour >= 6:
        return 600
    return 410 if ts >= local(2026, 1, 6) else NORMAL_BASELOAD_W[moment.weekday()]


@pytest.fixture
def raised_baseload(node_config, clock):
    """Four ordinary weeks, then two nights at 410 W; node time just after the last reading."""
    write_meter(node_config, clock, local(2025, 12, 9), local(2026, 1, 7, 9), heater_on_since_tuesday, lambda ts: 0)
    clock.now = local(2026, 1, 7, 9, 2)


def test_alerts_page_says_what_was_seen_the_usual_range_since_when_and_what_to_do(client, auth, raised_baseload):
    auth.login()

    page = " ".join(client.get("/alerts/").get_data(as_text=True).split())

    assert ('<h2>Baseload up</h2> <dl> <dt>Seen</dt><dd>night-time baseload 410 W</dd> '
            '<dt>Expected</dt><dd>120–180 W</dd> <dt>Since</dt><dd>Tue 06 Jan 00:00 CET</dd>') in page
    assert "switch circuits off one at a time" in page
    assert page.index("Chain unreachable") < page.index("Baseload up")
    assert '<a href="/alerts/troubleshooting#chain-unreachable">Troubleshooting: Chain unreachable</a>' in page


def test_alerts_json_gives_the_same_alerts_with_their_figures(client, auth, raised_baseload):
    auth.login()

    answer = client.get("/alerts/api/alerts").get_json()

    assert [alert["kind"] for alert in answer["alerts"]] == ["chain_unreachable", "baseload_up"]
    baseload = answer["alerts"][1]
    assert (baseload["seen"], baseload["expected"], baseload["since"]) == (
        "night-time baseload 410 W", "120–180 W", local(2026, 1, 6))
    assert answer["not_judged"] == []
    assert answer["evaluated_at"] == local(2026, 1, 7, 9, 2)


def test_banner_on_another_page_shows_the_most_severe_alert_and_counts_the_rest(client, auth, raised_baseload):
    auth.login()

    page = " ".join(client.get("/history/").get_data(as_text=True).split())

    assert '<aside class="alert-banner alert-critical" role="status"> <a href="/alerts/"><strong>Chain unreachable</strong>' in page
    assert "· 1 more alert</a>" in page
    assert "/static/alerts.css" in page


def test_silent_meter_appears_once_no_reading_came_for_more_than_five_minutes(client, auth, services, clock):
    with MeterStore(services.config.store_path, StoreSettings(max_clock_skew=None), clock=clock) as store:
        store.add_sample(Sample(int(clock.now) - 360, "E0001", 1000, 0, 300, 0))
    auth.login()

    page = " ".join(client.get("/alerts/").get_data(as_text=True).split())

    assert "<h2>Silent meter</h2> <dl> <dt>Seen</dt><dd>no reading stored for 6 min</dd>" in page
    assert '<a href="/alerts/troubleshooting#no-telegrams">Troubleshooting: No telegrams</a>' in page


def test_without_history_the_page_says_what_it_cannot_judge_yet(client, auth):
    auth.login()

    page = client.get("/alerts/").get_data(as_text=True)

    assert "<li>Meter: no reading stored yet.</li>" in page
    assert "<li>Baseload: the store has no complete night since yesterday.</li>" in page


def test_alerts_are_evaluated_again_only_after_five_seconds_of_wall_time(client, auth, services, clock):
    auth.login()
    assert "Meter: no reading stored yet." in client.get("/alerts/").get_data(as_text=True)
    with MeterStore(services.config.store_path, StoreSettings(max_clock_skew=None), clock=clock) as store:
        store.add_sample(Sample(int(clock.now), "E0001", 1000, 0, 300, 0))

    kept = client.get("/alerts/").get_data(as_text=True)
    clock.now += 5
    fresh = client.get("/alerts/").get_data(as_text=True)

    assert "Meter: no reading stored yet." in kept
    assert "Meter: no reading stored yet." not in fresh


def test_a_failing_evaluation_leaves_the_banner_out_logs_why_and_the_page_still_renders(client, auth, services, caplog):
    services.config.data_dir.mkdir(parents=True, exist_ok=True)
    services.config.outbox_path.write_bytes(b"this is not an SQLite file" * 100)
    auth.login()

    with caplog.at_level(logging.ERROR, logger="dapp.alerts"):
        history = client.get("/history/")
        alerts = client.get("/alerts/").get_data(as_text=True)

    assert history.status_code == 200
    assert "alert-banner" not in history.get_data(as_text=True)
    assert "The alerts could not be evaluated just now" in alerts
    assert "alerts could not be evaluated" in caplog.text


@pytest.mark.parametrize("path", ["/alerts/", "/alerts/troubleshooting"])
def test_alert_pages_send_a_visitor_to_the_login_page(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")


def test_alerts_json_answers_401_without_login(client):
    response = client.get("/alerts/api/alerts", headers={"Accept": "application/json"})

    assert response.status_code == 401


def test_a_visitor_sees_no_banner(client):
    page = client.get("/auth/login").get_data(as_text=True)

    assert "alert-banner" not in page


def test_troubleshooting_shows_the_readme_section_with_anchors_and_escapes_its_html(services, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# Project\n\n## Troubleshooting\n\nFirst look at the Node page.\n\n### No telegrams\n\n"
                      "```sh\n# not a heading\nls /dev/ttyUSB*\n```\n\n### Chain unreachable\n\n"
                      "Start it. <script>alert(1)</script>\n\n## Licence\n\nAGPL.\n")
    client = create_app({"TESTING": True, "README_PATH": str(readme)}, services=services).test_client()
    AuthActions(client).login()
    page = client.get("/alerts/troubleshooting").get_data(as_text=True)

    assert '<h3 id="no-telegrams">No telegrams</h3>' in page
    assert '<h3 id="chain-unreachable">Chain unreachable</h3>' in page
    assert "# not a heading" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "AGPL" not in page


def test_troubleshooting_without_the_readme_says_where_it_is(client, auth, app, tmp_path):
    app.config["README_PATH"] = str(tmp_path / "missing.md")
    auth.login()

    page = client.get("/alerts/troubleshooting").get_data(as_text=True)

    assert "This node has no README with a Troubleshooting section" in page
