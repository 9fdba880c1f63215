"""The Community page. (Skeleton: being written.)"""

from flask import Blueprint, render_template

from dapp.auth import login_required

bp = Blueprint("community", __name__, url_prefix="/community")


@bp.route("/")
@login_required
def page():
    return render_template("community.html")
