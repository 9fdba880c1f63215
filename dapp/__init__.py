"""The household's DApp: a Flask app over the node's local store, event mirror and chain client.

`create_app(test_config=None, services=None)` builds it. Inside `gridcommons node run` the node
passes its services (live meter samples, the node key); on its own the app reads the node's files
named by the config at GRIDCOMMONS_NODE_CONFIG (default ./node.toml).
"""

from __future__ import annotations

import importlib
import os
import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect

from dapp.errors import DappError

# One blueprint per page or API, in menu order: module dapp.<name> defines `bp`.
FEATURES = ("now", "history", "forecast", "community", "bill", "market", "offers", "trading", "consents", "relays",
            "health", "alerts", "transactions", "data_api", "vendor", "join")
MENU = (
    ("now.page", "Now"),
    ("history.page", "History"),
    ("forecast.page", "Forecast"),
    ("community.page", "Community"),
    ("bill.page", "Settlements"),
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
                "node_now": services.clock(), "menu": MENU}

    app.add_url_rule("/", endpoint="index", view_func=lambda: app.redirect(app.url_for("now.page")))
    _error_pages(app)
    _security_headers(app)
    return app


def _session_key(data_dir: Path) -> bytes:
    """A random key kept in the data folder (0600), so sessions outlive a restart; never logged."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "dapp-session.key"
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        key = secrets.token_bytes(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key.hex())
        return key


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
