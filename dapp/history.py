"""The History page. (Skeleton: being written.)"""

from flask import Blueprint, render_template

from dapp.auth import login_required

bp = Blueprint("history", __name__, url_prefix="/history")


@bp.route("/")
@login_required
def page():
    return render_template("history.html")
