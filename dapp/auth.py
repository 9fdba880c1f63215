"""Login and logout: one operator per node, a scrypt-hashed password, throttled attempts.

A session is a random id kept in the DApp's own file (dapp.sqlite) and named in the signed cookie;
every request checks it there, so logging out, or a new password, ends it on the server: a cookie
captured before no longer works.
"""

from __future__ import annotations

import functools
import secrets
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for

from dapp.passwords import password_matches

bp = Blueprint("auth", __name__, url_prefix="/auth")


def services():
    return current_app.extensions["gridcommons"]


@bp.route("/login", methods=["GET", "POST"])
def login():
    throttle = current_app.extensions["gridcommons.throttle"]
    client = request.remote_addr or "unknown"
    with services().dapp_db() as db:
        stored = db.password_hash()
    if request.method == "POST":
        wait = throttle.retry_after(client)
        if wait:
            return render_template("auth/login.html", no_password=stored is None,
                                   error=f"Too many failed attempts. Try again in {wait} s."), 429, {"Retry-After": str(wait)}
        if password_matches(stored, request.form.get("password", "")):
            throttle.succeeded(client)
            session_id = secrets.token_urlsafe(32)
            with services().dapp_db() as db:
                db.start_session(session_id, services().wall(), current_app.permanent_session_lifetime.total_seconds())
            session.clear()
            session["sid"] = session_id
            session.permanent = True
            flash("Logged in.")
            return redirect(_safe_next(request.args.get("next")))
        throttle.failed(client)
        return render_template("auth/login.html", no_password=stored is None, error="Wrong password."), 401
    return render_template("auth/login.html", no_password=stored is None, error=None)


@bp.route("/logout", methods=["POST"])
def logout():
    if session.get("sid"):
        with services().dapp_db() as db:
            db.end_session(session["sid"])
    session.clear()
    flash("Logged out.")
    return redirect(url_for("auth.login"))


@bp.before_app_request
def load_operator() -> None:
    """The operator is logged in while the cookie's session id is still in the DApp's file."""
    session_id = session.get("sid")
    g.operator = False
    if isinstance(session_id, str) and session_id:
        with services().dapp_db() as db:
            g.operator = db.session_valid(session_id, services().wall())
    if not g.operator and session.get("sid") is not None:
        session.pop("sid")  # ended (logout, new password, expiry): the cookie is cleared too


def login_required(view):
    """Private pages: the login page first, then back here."""

    @functools.wraps(view)
    def wrapped(**kwargs):
        if not g.operator:
            if request.accept_mimetypes.best == "application/json" or request.path.startswith("/api/"):
                return {"error": "log in first"}, 401
            return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))
        return view(**kwargs)

    return wrapped


def _safe_next(target: str | None) -> str:
    """Only a path on this site, never an open redirect: read as a browser reads it (tabs, CR and LF
    dropped, backslashes as slashes), it must have no scheme and no host; else the start page."""
    return safe_path(target) or url_for("now.page")


def safe_path(target: str | None) -> str | None:
    """`target` as a same-site path ("/market/?x=1"), or None."""
    if not target:
        return None
    cleaned = target.replace("\t", "").replace("\r", "").replace("\n", "").replace("\\", "/")
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in cleaned) or len(cleaned) > 2000:
        return None
    if not cleaned.startswith("/") or cleaned.startswith("//"):
        return None
    try:
        parts = urlsplit(cleaned)
    except ValueError:
        return None
    if parts.scheme or parts.netloc:
        return None
    return cleaned
