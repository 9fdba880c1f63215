"""The Node page: chain head and sync, validators, meter health, outbox, parts and disk use."""

from __future__ import annotations

import shutil

from flask import Blueprint, current_app, render_template

from dapp.auth import login_required
from node.chain.validators import MethodUnavailable, detect_engine, validator_set

bp = Blueprint("health", __name__, url_prefix="/node")

_ENGINES: dict = {}  # chain RPC URL -> its EngineApi, or None for a chain without one (anvil)
DATA_FILES = ("meter.sqlite", "outbox.sqlite", "mirror.sqlite", "relays.sqlite", "actions.sqlite", "dapp.sqlite")


@bp.route("/")
@login_required
def page():
    from node.runtime.status import collect_status

    services = current_app.extensions["gridcommons"]
    config = services.config
    report = collect_status(config, services.wall())
    status = services.node_status() or {}
    report["parts"] = status.get("parts") or report.get("parts")  # inside the node: as of now
    report["account"] = status.get("account") or report.get("account")
    return render_template(
        "health.html",
        report=report,
        chain=_chain_details(services),
        meter=status.get("meter"),
        disk=_disk(config.data_dir),
    )


def _chain_details(services) -> dict:
    """Sync state and validator set; a dev chain (anvil) has no consensus API to ask."""
    from node.errors import ChainError

    try:
        w3 = services.chain().w3
        syncing = w3.eth.syncing
    except (ChainError, OSError) as error:
        services.forget_chain()
        return {"reachable": False, "error": str(error)[:200]}

    def call(method, params):
        response = w3.provider.make_request(method, list(params))
        if "error" in response:
            raise MethodUnavailable(response["error"].get("message", method))
        return response["result"]

    rpc = services.config.chain.rpc
    try:
        if rpc not in _ENGINES:  # a chain never changes its consensus engine
            _ENGINES[rpc] = _engine(call)
        api = _ENGINES[rpc]
        validators = validator_set(call, api) if api else ()
    except (MethodUnavailable, OSError):
        api, validators = _ENGINES.get(rpc), ()
    engine = api.engine if api else None
    return {
        "reachable": True,
        "syncing": bool(syncing),
        "sync": dict(syncing) if syncing else None,
        "engine": engine,
        "validators": validators,
    }


def _engine(call):
    """The chain's Clique or QBFT API, or None for a chain that offers neither (anvil)."""
    try:
        return detect_engine(call)
    except MethodUnavailable:
        return None


def _disk(data_dir) -> dict:
    files = []
    for name in DATA_FILES:
        size = sum(p.stat().st_size for p in data_dir.glob(name + "*") if p.is_file())  # with -wal and -shm
        if size:
            files.append((name, size))
    usage = shutil.disk_usage(data_dir)
    return {"files": files, "total": sum(size for _, size in files), "free": usage.free, "capacity": usage.total}
