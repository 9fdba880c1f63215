"""The community's join bundle, handed out by any member's node: GET /node/join-bundle."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, render_template, request

from dapp.auth import login_required
from node.errors import NodeError

bp = Blueprint("join", __name__, url_prefix="/node")

BUNDLE_FILENAME = "join-bundle.json"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


@bp.route("/join-bundle")
@login_required
def bundle():
    from node.chain.bundle import NoReachableAddress, NotAValidator, bundle_from_config, bundle_text

    config = current_app.extensions["gridcommons"].config
    try:
        made = bundle_from_config(config, config.chain.p2p_host or _address_reached_at())
    except NotAValidator as error:
        return _refused(404, "No join bundle here", str(error))
    except NoReachableAddress:
        return _refused(409, "No join bundle yet", (
            "This node's enode needs the address the other households reach it at: set chain.p2p_host in "
            "node.toml, or open this page at that address instead of this machine's loopback address."))
    except NodeError as error:
        return _refused(409, "No join bundle yet", str(error))
    return current_app.response_class(
        bundle_text(made), mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{BUNDLE_FILENAME}"'},
    )


def _address_reached_at() -> str | None:
    """The address the browser reached this node at: on a LAN, the Pi's, where its geth listens too."""
    host = urlsplit(f"//{request.host}").hostname
    return None if host in _LOOPBACK else host


def _refused(status: int, title: str, message: str):
    if request.accept_mimetypes.best == "application/json":
        return {"error": message}, status
    return render_template("error.html", status=status, title=title, message=message), status
