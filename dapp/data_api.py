"""The consent-gated data API between members' nodes. (Skeleton: being written.)"""

from flask import Blueprint

bp = Blueprint("data_api", __name__, url_prefix="/api/v1")
CSRF_EXEMPT = True
