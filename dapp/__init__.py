"""The household's DApp: a Flask app over the node's local store, event mirror and chain client.

`create_app(test_config=None, services=None)` builds it. Inside `gridcommons node run` the node
passes its services (live meter samples, the node key); on its own the app reads the node's files
named by the config at GRIDCOMMONS_NODE_CONFIG (default ./node.toml).
"""

from __future__ import annotations

import importlib
import ipaddress
import os
import secrets
import socket
from datetime import timedelta
from pathlib import Path

from flask import Flask, render_template, request
from flask.json.provider import DefaultJSONProvider
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.routing import IntegerConverter

from dapp.errors import DappError

# One blueprint per page or API, in menu order: module dapp.<name> defines `bp`.
FEATURES = ("now", "history", "forecast", "community", "bill", "check", "market", "offers", "trading", "consents", "relays",
            "health", "alerts", "transactions", "data_api", "vendor", "join")
MENU = (
    ("now.page", "Now"),
    ("history.page", "History"),
    ("forecast.page", "Forecast"),
    ("community.page", "Community"),
    ("bill.page", "Settlements"),
    ("check.page", "Check"),
    ("market.page", "Market"),
    ("trading.page", "Trading"),
    ("consents.page", "Consents"),
    ("relays.page", "Relays"),
    ("health.page", "Node"),
    ("alerts.page", "Alerts"),
)

csrf = CSRFProtect()


def create_app(test_config: dict | None = None, services=None) -> Flask:
    from dapp import auth, units
    from dapp.passwords import LoginThrottle

    app = Flask(__name__)
    app.json = _JSONProvider(app)
    app.url_map.converters["int"] = _RowId  # before any blueprint: every <int:...> is bounded
    if services is None:
        from node import config as node_config
        from dapp.services import NodeServices

        path = (test_config or {}).get("NODE_CONFIG") or os.environ.get("GRIDCOMMONS_NODE_CONFIG", "node.toml")
        services = NodeServices.from_config(node_config.load(path))
    dapp = services.config.dapp
    app.config.from_mapping(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=dapp.secure_cookies,
        SESSION_COOKIE_NAME="gridcommons_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=None,  # valid for the session's life
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    if test_config:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _session_key(services.config.data_dir)

    app.extensions["gridcommons"] = services
    app.extensions["gridcommons.throttle"] = LoginThrottle(services.wall)
    _host_allow_list(app, services.config)  # first of the hooks: a foreign Host gets nothing else
    csrf.init_app(app)
    units.register(app)
    app.register_blueprint(auth.bp)
    for name in FEATURES:
        module = importlib.import_module(f"dapp.{name}")
        app.register_blueprint(module.bp)
        if getattr(module, "CSRF_EXEMPT", False):  # signed machine-to-machine requests, no session
            csrf.exempt(module.bp)

    @app.context_processor
    def page_context():
        return {"node_name": services.config.name, "time_zone": services.config.timezone,
                "node_now": services.clock(), "menu": MENU, "plain_http_lan": dapp.plain_http}

    app.add_url_rule("/", endpoint="index", view_func=lambda: app.redirect(app.url_for("now.page")))
    _error_pages(app)
    _security_headers(app)
    return app


def _session_key(data_dir: Path) -> bytes:
    """A random key kept in the data folder (0600), so sessions outlive a restart; never logged."""
    from node.sqlite import private_dir

    private_dir(data_dir)
    path = data_dir / "dapp-session.key"
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        key = secrets.token_bytes(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.fchmod(fd, 0o600)  # whatever the umask
        with os.fdopen(fd, "w") as handle:
            handle.write(key.hex())
        return key


class _RowId(IntegerConverter):
    """`<int:...>` up to SQLite's largest integer: a larger id is no row (404), not an OverflowError."""

    def __init__(self, map, fixed_digits=0, min=None, max=2**63 - 1, signed=False):  # noqa: A002 (werkzeug's names)
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class _JSONProvider(DefaultJSONProvider):
    """A body nested too deep for the parser is malformed JSON (a 400), not a RecursionError (a 500)."""

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deep") from None


def allowed_hosts(config) -> frozenset[str]:
    """The Host names this DApp answers to: the configured host, localhost, the loopback addresses,
    the node's name (and name.local), this machine's host name, and `[dapp] allowed_hosts`.

    DNS rebinding reaches the DApp under a foreign *name*; a browser sends an IP address literal as
    Host only when it was asked for that very address, so address literals are answered too (the
    other members' nodes call the data API by address).
    """
    d = config.dapp
    names = {"localhost", "127.0.0.1", "::1", d.host, config.name, f"{config.name}.local", *d.allowed_hosts}
    hostname = socket.gethostname()
    if hostname:
        names |= {hostname, hostname.split(".")[0] + ".local"}
    return frozenset(_normal_host(name) for name in names if name)


def _normal_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if host.startswith("[") and "]" in host:
        return host[1:host.index("]")]
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _host_allow_list(app: Flask, config) -> None:
    names = allowed_hosts(config)

    @app.before_request
    def check_host():
        host = _normal_host(request.host or "")
        if host in names or _is_address(host):
            return None
        message = (f"This node does not answer to the host name {host[:80]!r}. Open it by its address or a name "
                   "listed in [dapp] allowed_hosts in node.toml.")
        if _wants_json():
            return {"error": message}, 400
        return message + "\n", 400, {"Content-Type": "text/plain; charset=utf-8"}  # no page, no form token


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _error_pages(app: Flask) -> None:
    def page(status: int, title: str, message: str):
        if _wants_json():
            return {"error": message}, status
        return render_template("error.html", status=status, title=title, message=message), status

    @app.errorhandler(CSRFError)
    def csrf_refused(error):
        return page(400, "Form expired", f"The form was refused ({error.description}). Reload the page and try again.")

    @app.errorhandler(DappError)
    def refused(error):
        return page(400, "Cannot do that", str(error))

    @app.errorhandler(400)
    def bad_request(error):
        return page(400, "Bad request", getattr(error, "description", "the request is malformed"))

    @app.errorhandler(404)
    def not_found(error):
        return page(404, "Not found", "There is no such page on this node.")

    @app.errorhandler(405)
    def wrong_method(error):
        return page(405, "Not allowed", f"{request.method} is not allowed here.")

    @app.errorhandler(413)
    def too_large(error):
        return page(413, "Too large", "The request is larger than this node accepts (64 KiB).")


def _security_headers(app: Flask) -> None:
    @app.after_request
    def headers(response):
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if request.endpoint and not request.endpoint.startswith(("vendor.", "static")):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
