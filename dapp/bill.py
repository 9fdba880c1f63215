"""The Settlements and bill page. (Skeleton: being written.)"""

from flask import Blueprint, render_template

from dapp.auth import login_required

bp = Blueprint("bill", __name__, url_prefix="/bill")


@bp.route("/")
@login_required
def page():
    return render_template("bill.html")
