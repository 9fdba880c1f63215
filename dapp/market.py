"""The Market page. (Skeleton: being written.)"""

from flask import Blueprint, render_template

from dapp.auth import login_required

bp = Blueprint("market", __name__, url_prefix="/market")


@bp.route("/")
@login_required
def page():
    return render_template("market.html")
