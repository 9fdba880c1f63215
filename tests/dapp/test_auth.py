"""Login, sessions, CSRF and the headers every page carries."""

from __future__ import annotations

import stat

import pytest
from dappkit import PASSWORD, csrf_token

from dapp import MENU, create_app
from dapp.services import NodeServices

PRIVATE_PAGES = ["/now/", "/history/", "/forecast/", "/community/", "/bill/", "/check/", "/market/", "/trading/", "/consents/", "/relays/", "/node/",
                 "/alerts/"]


@pytest.mark.parametrize("path", PRIVATE_PAGES)
def test_private_page_sends_a_visitor_to_the_login_page(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")


def test_menu_lists_every_private_page(app):
    with app.test_request_context():
        from flask import url_for

        assert [url_for(endpoint) for endpoint, _ in MENU] == PRIVATE_PAGES


@pytest.mark.parametrize("path", PRIVATE_PAGES)
def test_logged_in_operator_sees_every_page(client, auth, path):
    auth.login()

    response = client.get(path)

    assert response.status_code == 200
    assert "Log out" in response.get_data(as_text=True)


def test_api_answers_json_401_without_login(client):
    response = client.get("/api/actions/1")

    assert response.status_code == 401
    assert response.get_json() == {"error": "log in first"}


def test_right_password_logs_in_and_returns_to_the_page_asked_for(client, auth):
    client.get("/market/")

    response = client.post("/auth/login?next=/market/", data={"password": PASSWORD, "csrf_token": csrf_token(client)})

    assert response.status_code == 302
    assert response.headers["Location"] == "/market/"


def test_login_never_redirects_to_another_site(client):
    response = client.post("/auth/login?next=//evil.example/x", data={"password": PASSWORD, "csrf_token": csrf_token(client)})

    assert response.headers["Location"] == "/now/"


def test_wrong_password_is_refused_with_401(client, auth):
    response = auth.login("not the password")

    assert response.status_code == 401
    assert "Wrong password." in response.get_data(as_text=True)
    assert client.get("/now/").status_code == 302


def test_failed_logins_make_the_next_attempt_wait_longer_but_the_right_password_then_logs_in(client, auth, clock):
    assert auth.login("guess").status_code == 401
    clock.now += 1
    assert auth.login("guess again").status_code == 401

    response = auth.login()

    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) == 2
    assert "Too many failed attempts" in response.get_data(as_text=True)
    clock.now += 2
    assert auth.login().status_code == 302


def test_login_without_csrf_token_is_refused(client):
    response = client.post("/auth/login", data={"password": PASSWORD})

    assert response.status_code == 400
    assert "Reload the page and try again" in response.get_data(as_text=True)
    assert client.get("/now/").status_code == 302


def test_post_with_another_sessions_csrf_token_is_refused(app, client, auth):
    other = app.test_client()
    stolen = csrf_token(other)
    auth.login()

    response = client.post("/auth/logout", data={"csrf_token": stolen})

    assert response.status_code == 400


def test_logout_ends_the_session(client, auth):
    auth.login()

    auth.logout()

    assert client.get("/now/").status_code == 302


def test_node_without_password_says_how_to_set_one(services, tmp_path, clock):
    services.config.dapp_path.unlink()
    app = create_app({"TESTING": True}, services=services)

    page = app.test_client().get("/auth/login").get_data(as_text=True)

    assert "gridcommons dapp password" in page


def test_session_cookie_is_httponly_strict_and_secure_on_loopback(client, auth):
    response = auth.login()

    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Secure" in cookie


def test_session_key_is_kept_private_in_the_data_folder(app, services):
    key_file = services.config.data_dir / "dapp-session.key"

    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_session_survives_an_app_restart(services, client, auth):
    auth.login()
    cookie = client.get_cookie("gridcommons_session")
    restarted = create_app({"TESTING": True}, services=services).test_client()

    restarted.set_cookie("gridcommons_session", cookie.value)

    assert restarted.get("/now/").status_code == 200


def test_pages_forbid_framing_and_foreign_scripts(client):
    response = client.get("/auth/login")

    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


def test_oversized_request_is_refused_with_413(client):
    response = client.post("/auth/login", data={"password": "x" * 70_000})

    assert response.status_code == 413


def test_unknown_api_path_answers_json_404(client):
    response = client.get("/api/nothing")

    assert response.status_code == 404
    assert response.get_json() == {"error": "There is no such page on this node."}


def test_chart_library_is_served_by_the_node(client):
    response = client.get("/vendor/chart.js")

    assert response.status_code == 200
    assert b"Chart" in response.data[:2000]


def test_too_short_password_is_refused(node_config):
    from dapp.cli import set_password
    from dapp.errors import BadRequest

    with pytest.raises(BadRequest, match="at least 10 characters"):
        set_password(node_config, "short")
