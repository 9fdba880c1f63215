"""Login and logout: one operator per node, a scrypt-hashed password, throttled attempts."""

from __future__ import annotations

import functools

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
            session.clear()
            session["operator"] = True
            session.permanent = True
            flash("Logged in.")
            return redirect(_safe_next(request.args.get("next")))
        throttle.failed(client)
        return render_template("auth/login.html", no_password=stored is None, error="Wrong password."), 401
    return render_template("auth/login.html", no_password=stored is None, error=None)


@bp.route("/logout", methods=["POST"])
def logout():
    session.clear()
    flash("Logged out.")
    return redirect(url_for("auth.login"))


@bp.before_app_request
def load_operator() -> None:
    g.operator = bool(session.get("operator"))


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
    """Only a path on this site: never an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("now.page")
