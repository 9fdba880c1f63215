"""Front-end libraries installed from npm (`make setup`) and served by the node itself: no CDN, since
a node's browser may be offline."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, send_from_directory

bp = Blueprint("vendor", __name__, url_prefix="/vendor")

NODE_MODULES = Path(__file__).resolve().parents[1] / "node_modules"
# URL name -> file inside node_modules
LIBRARIES = {"chart.js": "chart.js/dist/chart.umd.min.js"}


@bp.route("/<name>")
def library(name: str):
    if name not in LIBRARIES:
        abort(404)
    path = NODE_MODULES / LIBRARIES[name]
    if not path.is_file():
        abort(404, description=f"{LIBRARIES[name]} is not installed: run `make setup`")
    return send_from_directory(path.parent, path.name, mimetype="text/javascript", max_age=86400)
