"""The Now page. (Skeleton: being written.)"""

from flask import Blueprint, render_template

from dapp.auth import login_required

bp = Blueprint("now", __name__, url_prefix="/now")


@bp.route("/")
@login_required
def page():
    return render_template("now.html")
