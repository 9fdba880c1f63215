"""The Relays page. (Skeleton: being written.)"""

from flask import Blueprint, render_template

from dapp.auth import login_required

bp = Blueprint("relays", __name__, url_prefix="/relays")


@bp.route("/")
@login_required
def page():
    return render_template("relays.html")
