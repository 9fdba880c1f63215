"""The Node page: chain head, peers and sync, validators and votes, meter health, outbox, parts and disk use."""

from __future__ import annotations

import shutil

from flask import Blueprint, current_app, render_template

from dapp.auth import login_required

bp = Blueprint("health", __name__, url_prefix="/node")

DATA_FILES = ("meter.sqlite", "outbox.sqlite", "mirror.sqlite", "relays.sqlite", "actions.sqlite", "dapp.sqlite")


@bp.route("/")
@login_required
def page():
    from node.runtime.status import collect_status

    services = current_app.extensions["gridcommons"]
    config = services.config
    report = collect_status(config, services.wall(), account=services.address)
    if not report["chain"]["reachable"]:
        services.forget_chain()  # every page connects afresh once it answers again
    status = services.node_status() or {}
    report["parts"] = status.get("parts") or report.get("parts")  # inside the node: as of now
    report["account"] = status.get("account") or report.get("account")
    return render_template(
        "health.html",
        report=report,
        consensus=report["chain"].get("consensus"),
        meter=status.get("meter"),
        disk=_disk(config.data_dir),
        joinable=config.chain.client == "geth",
    )


def _disk(data_dir) -> dict:
    files = []
    for name in DATA_FILES:
        size = sum(p.stat().st_size for p in data_dir.glob(name + "*") if p.is_file())  # with -wal and -shm
        if size:
            files.append((name, size))
    usage = shutil.disk_usage(data_dir)
    return {"files": files, "total": sum(size for _, size in files), "free": usage.free, "capacity": usage.total}
