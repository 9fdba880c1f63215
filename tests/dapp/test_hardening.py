"""Issue 14: sessions ended on the server, no open redirect, no 500s on hostile input, plain HTTP only
when allowed (with a banner), a Host allow-list, the zero address refused, a throttle that never
locks the operator out."""

from __future__ import annotations

import logging
import sys
from dataclasses import replace

import pytest
from click.testing import CliRunner
from dappkit import ADDRESS, PASSWORD, csrf_token, queued

from dapp import create_app
from dapp.cli import PASSWORD_VARIABLE, dapp as dapp_cli
from dapp.passwords import LoginThrottle
from dapp.services import NodeServices

COOKIE = "gridcommons_session"
NEW_PASSWORD = "a brand new passphrase"


def errors_logged(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]


@pytest.fixture
def quiet_app(services):
    """The app as it runs: an unhandled exception becomes a logged 500, not a raised error."""
    return create_app({"TESTING": True, "PROPAGATE_EXCEPTIONS": False}, services=services)


@pytest.fixture
def node_recursion_limit():
    """Python's default, as the node runs: the test tools (py-evm) raise it to 100,000 on import, where
    20,000 levels of JSON parse without a RecursionError."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    yield
    sys.setrecursionlimit(old)


def replay(app, cookie: str):
    """A fresh browser that presents a captured session cookie."""
    other = app.test_client()
    other.set_cookie(COOKIE, cookie)
    return other


# -- 1. sessions end on the server ------------------------------------------------------------


def test_a_cookie_captured_before_logout_no_longer_works(app, client, auth):
    auth.login()
    captured = client.get_cookie(COOKIE).value
    assert replay(app, captured).get("/now/").status_code == 200

    auth.logout()

    assert replay(app, captured).get("/now/").status_code == 302
    assert replay(app, captured).get("/api/actions/1").status_code == 401


def test_logging_out_ends_only_that_session(app, client, auth):
    other = app.test_client()
    other.post("/auth/login", data={"password": PASSWORD, "csrf_token": csrf_token(other)})
    auth.login()

    auth.logout()

    assert other.get("/now/").status_code == 200


def test_a_new_password_ends_every_session(app, client, auth, tmp_path, monkeypatch):
    auth.login()
    captured = client.get_cookie(COOKIE).value
    second = app.test_client()
    second.post("/auth/login", data={"password": PASSWORD, "csrf_token": csrf_token(second)})
    monkeypatch.setenv(PASSWORD_VARIABLE, NEW_PASSWORD)

    result = CliRunner().invoke(dapp_cli, ["password", "--config", str(tmp_path / "node.toml")])

    assert result.exit_code == 0, result.output
    assert client.get("/now/").status_code == 302
    assert second.get("/now/").status_code == 302
    assert replay(app, captured).get("/now/").status_code == 302
    assert client.post("/auth/login", data={"password": NEW_PASSWORD, "csrf_token": csrf_token(client)}).status_code == 302
    assert client.get("/now/").status_code == 200


def test_a_session_ends_on_the_server_after_12_hours(client, auth, clock):
    auth.login()
    clock.now += 12 * 3600 - 1
    assert client.get("/now/").status_code == 200

    clock.now += 2

    assert client.get("/now/").status_code == 302


def test_a_forged_session_id_is_not_a_login(app):
    forged = app.session_interface.get_signing_serializer(app).dumps({"sid": "made-up"})

    assert replay(app, forged).get("/now/").status_code == 302


# -- 2. no open redirect after login ----------------------------------------------------------


@pytest.mark.parametrize("target", [
    "/%09/evil.example",
    "/%09%09/evil.example/x",
    "/%0d%0a/evil.example",
    "%2F%2Fevil.example",
    "//evil.example/x",
    "/%5Cevil.example",
    "%5C%5Cevil.example",
    "%20//evil.example",
    "%09//evil.example",
    "https://evil.example/",
    "https:evil.example",
    "javascript:alert(1)",
    "/%00/evil.example",
    "evil.example",
])
def test_login_never_redirects_to_another_site(client, target):
    response = client.post(f"/auth/login?next={target}", data={"password": PASSWORD, "csrf_token": csrf_token(client)})

    assert (response.status_code, response.headers["Location"]) == (302, "/now/")


def test_login_returns_to_a_path_on_this_site_with_its_query(client):
    response = client.post("/auth/login?next=/history/%3Fperiod%3Dweek", data={"password": PASSWORD,
                                                                                 "csrf_token": csrf_token(client)})

    assert response.headers["Location"] == "/history/?period=week"


def test_cr_lf_in_next_never_reaches_the_location_header(quiet_app, caplog):
    client = quiet_app.test_client()
    client.get("/auth/login?next=/market/%0d%0aSet-Cookie:%20stolen=1")

    response = client.post("/auth/login?next=/market/%0d%0aSet-Cookie:%20stolen=1",
                           data={"password": PASSWORD, "csrf_token": csrf_token(client)})

    assert response.status_code == 302
    assert "\r" not in response.headers["Location"] and "\n" not in response.headers["Location"]
    assert "stolen" not in response.headers.get("Set-Cookie", "")
    assert errors_logged(caplog) == []


# -- 3. no 500s -------------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["²", "٣", "１", "3²", "⁴⁵", "00000000001", "-1", "+1", " 1", "1e3"])
def test_an_interval_number_that_is_not_ascii_digits_is_a_400(quiet_app, caplog, number):
    client = quiet_app.test_client()
    client.post("/auth/login", data={"password": PASSWORD, "csrf_token": csrf_token(client)})

    response = client.get(f"/bill/interval/{number}")

    assert response.status_code == 400
    assert "interval must be a whole number from 0 to 4294967295" in response.get_data(as_text=True)
    assert errors_logged(caplog) == []


@pytest.mark.parametrize("action_id", ["9223372036854775808", "99999999999999999999999999999"])
def test_an_action_id_beyond_sqlites_integers_is_a_404(quiet_app, caplog, action_id):
    client = quiet_app.test_client()
    client.post("/auth/login", data={"password": PASSWORD, "csrf_token": csrf_token(client)})

    response = client.get(f"/api/actions/{action_id}")

    assert response.status_code == 404
    assert response.get_json() == {"error": "There is no such page on this node."}
    assert errors_logged(caplog) == []


@pytest.mark.parametrize("path", ["/market/certificates/9223372036854775808/list",
                                  "/consents/18446744073709551616/revoke",
                                  "/market/offers/99999999999999999999/accept"])
def test_every_id_in_a_path_is_bounded_like_sqlites_integers(quiet_app, caplog, path):
    client = quiet_app.test_client()
    client.post("/auth/login", data={"password": PASSWORD, "csrf_token": csrf_token(client)})

    response = client.post(path, data={"csrf_token": csrf_token(client, "/now/")})

    assert response.status_code == 404
    assert errors_logged(caplog) == []


@pytest.mark.parametrize("body", ["[" * 20_000 + "]" * 20_000, '{"":' * 12_000 + "1" + "}" * 12_000],
                         ids=["arrays", "objects"])
def test_json_nested_20000_deep_is_a_400_with_a_message(quiet_app, caplog, node_recursion_limit, body):
    response = quiet_app.test_client().post("/api/v1/readings", data=body, content_type="application/json")

    assert response.status_code == 400
    assert "send JSON" in response.get_json()["error"]
    assert errors_logged(caplog) == []


# -- 4. plain HTTP beyond loopback: only when allowed, and then with a banner ------------------


def lan_app(services, **dapp):
    config = replace(services.config, dapp=replace(services.config.dapp, **dapp))
    lan = NodeServices(config, ADDRESS, services.clock, wall=services.wall)
    return create_app({"TESTING": True}, services=lan)


@pytest.mark.parametrize("path", ["/auth/login", "/nothing-here"])
def test_plain_http_on_the_lan_shows_a_warning_on_every_page(services, path):
    app = lan_app(services, host="0.0.0.0", allow_plain_http=True)

    page = app.test_client().get(path).get_data(as_text=True)

    assert "Not encrypted:" in page and "tls_cert" in page


def test_every_page_of_a_logged_in_operator_carries_the_warning(services):
    client = lan_app(services, host="0.0.0.0", allow_plain_http=True).test_client()
    client.post("/auth/login", data={"password": PASSWORD, "csrf_token": csrf_token(client)})

    for path in ("/now/", "/market/", "/node/", "/alerts/"):
        assert "Not encrypted:" in client.get(path).get_data(as_text=True), path


def test_loopback_and_tls_show_no_warning(services, client, tmp_path):
    assert "Not encrypted:" not in client.get("/auth/login").get_data(as_text=True)
    tls = lan_app(services, host="0.0.0.0", tls_cert=tmp_path / "c.pem", tls_key=tmp_path / "k.pem")
    assert "Not encrypted:" not in tls.test_client().get("/auth/login").get_data(as_text=True)


# -- 5. the Host allow-list -------------------------------------------------------------------


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8080", "localhost.evil.example", "127.0.0.1.nip.io",
                                  "test-house.evil.example"])
def test_a_foreign_host_name_gets_a_400_and_no_page(client, host):
    response = client.get("/auth/login", headers={"Host": host})

    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "does not answer to the host name" in text and "allowed_hosts" in text
    assert "csrf" not in text.lower() and "password" not in text.lower()


def test_a_foreign_host_cannot_post_a_login_either(client):
    token = csrf_token(client)

    response = client.post("/auth/login", data={"password": PASSWORD, "csrf_token": token},
                           headers={"Host": "evil.example"})

    assert response.status_code == 400
    assert client.get("/now/").status_code == 302


def test_a_foreign_host_on_the_api_gets_json(client):
    response = client.post("/api/v1/readings", json={}, headers={"Host": "evil.example"})

    assert response.status_code == 400
    assert "does not answer to the host name" in response.get_json()["error"]


@pytest.mark.parametrize("base_url", ["http://localhost/", "http://localhost:8080/", "http://127.0.0.1:8080/",
                                      "http://[::1]:8080/", "http://test-house:8080/", "http://test-house.local/",
                                      "http://LOCALHOST./"])
def test_loopback_and_the_nodes_own_name_are_answered(app, base_url):
    assert app.test_client().get("/auth/login", base_url=base_url).status_code == 200


def test_configured_allowed_hosts_are_answered(services):
    app = lan_app(services, host="192.168.1.20", allow_plain_http=True, allowed_hosts=("pi.home.arpa",))
    client = app.test_client()

    assert client.get("/auth/login", base_url="http://pi.home.arpa:8080/").status_code == 200
    assert client.get("/auth/login", base_url="http://192.168.1.20:8080/").status_code == 200
    assert client.get("/auth/login", base_url="http://other.home.arpa:8080/").status_code == 400
    assert client.get("/auth/login", base_url="http://evil.example/").status_code == 400


def test_an_address_literal_is_answered_but_not_a_foreign_name(services):
    """A rebinding page's requests carry its own name; a browser sends an address only when asked for it."""
    client = lan_app(services, host="0.0.0.0", allow_plain_http=True).test_client()

    assert client.get("/auth/login", base_url="http://192.168.1.20:8080/").status_code == 200
    assert client.get("/auth/login", base_url="http://[fe80::1]:8080/").status_code == 200
    assert client.get("/auth/login", base_url="http://rebound.evil.example:8080/").status_code == 400
    assert client.get("/auth/login", base_url="http://192.168.1.20.evil.example:8080/").status_code == 400


# -- 7. never credits to the zero address -----------------------------------------------------


@pytest.mark.parametrize("step", ["/market/send", "/market/send/confirm"])
@pytest.mark.parametrize("field", ["to", "member"])
def test_sending_to_the_zero_address_is_refused(auth, node_config, step, field):
    auth.login()

    response = auth.post(step, {field: "0x" + "0" * 40, "amount": "1"})

    assert response.status_code == 400
    assert "That is the zero address" in response.get_data(as_text=True)
    assert queued(node_config) == []


# -- 8. the login throttle: growing delays, never a lock-out ----------------------------------


class Wall:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_throttle_delays_double_from_1_s_to_at_most_60_s():
    wall = Wall()
    throttle = LoginThrottle(wall)
    waits = []
    for _ in range(9):
        throttle.failed("192.168.1.50")
        waits.append(throttle.retry_after("192.168.1.50"))
        wall.now += waits[-1]

    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_throttle_counts_only_the_client_that_guessed():
    wall = Wall()
    throttle = LoginThrottle(wall)
    for _ in range(20):
        throttle.failed("192.168.1.66")
        wall.now += 60

    assert throttle.retry_after("192.168.1.66") == 0  # each wait was served: the next guess is looked at
    throttle.failed("192.168.1.66")
    assert throttle.retry_after("192.168.1.66") == 60  # capped, never a lock-out
    assert throttle.retry_after("127.0.0.1") == 0


def test_throttle_forgets_a_client_after_an_hour_of_quiet():
    wall = Wall()
    throttle = LoginThrottle(wall)
    for _ in range(10):
        throttle.failed("a")
    wall.now += 3600

    throttle.failed("a")

    assert throttle.retry_after("a") == 1


def test_a_neighbours_guesses_never_lock_the_operator_out(app, client, auth, clock):
    throttle, start = app.extensions["gridcommons.throttle"], clock.now
    for _ in range(30):  # a LAN neighbour guessing as fast as the throttle lets them
        clock.now += throttle.retry_after("127.0.0.1")
        assert auth.login("guess").status_code == 401
    assert clock.now - start < 30 * 60  # 30 guesses in under 30 minutes, the waits growing to 60 s

    assert auth.login().status_code == 429  # within the wait: refused, and not counted
    clock.now += 60

    assert auth.login().status_code == 302  # a minute later, not five


def test_a_wait_is_not_made_longer_by_attempts_during_it(client, auth, clock):
    assert auth.login("guess").status_code == 401
    for _ in range(5):
        response = auth.login("another guess")
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "1"
    clock.now += 1

    assert auth.login().status_code == 302


def test_the_operator_on_another_address_is_not_slowed_by_a_neighbour(app, auth, clock):
    for _ in range(6):
        clock.now += 60
        auth.login("guess")
    operator = app.test_client()

    response = operator.post("/auth/login", data={"password": PASSWORD, "csrf_token": csrf_token(operator)},
                             environ_base={"REMOTE_ADDR": "192.168.1.10"})

    assert response.status_code == 302
