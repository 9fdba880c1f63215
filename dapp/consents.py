"""The Consents page. (Skeleton: being written.)"""

from flask import Blueprint, render_template

from dapp.auth import login_required

bp = Blueprint("consents", __name__, url_prefix="/consents")


@bp.route("/")
@login_required
def page():
    return render_template("consents.html")
