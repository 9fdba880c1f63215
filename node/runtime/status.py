"""`gridcommons node status`: what the node's files and its chain client say right now."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from node.config import NodeConfig


def collect_status(config: NodeConfig, now: float, account: str | None = None) -> dict:
    """Read-only: the status file the running node writes, the outbox, the store and the chain.

    `account` is the node account when the caller knows it; else the status file's or the keystore's.
    """
    written = json.loads(config.status_path.read_text()) if config.status_path.is_file() else None
    account = account or (written or {}).get("account") or _keystore_address(config)
    report: dict = {"node": config.name, "running": None, "chain": _chain(config, account)}
    if written is not None:
        report["parts"] = written.get("parts", {})
        report["account"] = written.get("account")
        report["running"] = now - written.get("written_at", 0) < 10
        report["meter_counts"] = written.get("meter")
    report["last_reading"] = _last_reading(config)
    report["outbox"] = _outbox(config)
    # The further communities' outboxes ([[participation]]), by name.
    report["participation_outboxes"] = {p.name: _outbox_at(config.participation_outbox_path(p.name))
                                        for p in config.participations}
    report["relays"] = _relays(config)
    return report


def _keystore_address(config: NodeConfig) -> str | None:
    """The node account's address, which the keystore file holds unencrypted."""
    try:
        return "0x" + json.loads(config.chain.keystore.read_text())["address"].removeprefix("0x")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _chain(config: NodeConfig, account: str | None) -> dict:
    from node.chain.client import ChainUnreachable, connect
    from node.chain.consensus import consensus_report
    from node.chain.validators import web3_rpc_call

    try:
        head = connect(config.chain.rpc, timeout=2).eth.get_block("latest")
        consensus = consensus_report(web3_rpc_call(config.chain.rpc), account)
    except (ChainUnreachable, OSError) as error:
        return {"rpc": config.chain.rpc, "reachable": False, "error": str(error)[:160]}
    peers = "unknown" if consensus["peers"] is None else consensus["peers"]  # the dev chain has no peers to count
    return {"rpc": config.chain.rpc, "reachable": True, "head": head["number"], "head_time": head["timestamp"],
            "peers": peers, "consensus": consensus}


def _last_reading(config: NodeConfig) -> dict | None:
    if not config.store_path.is_file():
        return None
    from node.store.store import MeterStore

    with MeterStore(config.store_path) as store:
        latest = store.latest()
    if latest is None:
        return None
    return {"at": latest.ts, "import_w": latest.import_w, "export_w": latest.export_w, "meter": latest.meter_id}


def _outbox(config: NodeConfig) -> dict | None:
    return _outbox_at(config.outbox_path)


def _outbox_at(path) -> dict | None:
    if not path.is_file():
        return None
    from node.submit.outbox import MISSED, ON_CHAIN, Outbox

    outbox = Outbox(path)
    try:
        head = outbox.head()
        return {
            "depth": outbox.depth(),
            "on_chain": outbox.count(ON_CHAIN),
            "missed": outbox.count(MISSED),
            "waiting": {"interval": head.interval, "note": head.note} if head else None,
        }
    finally:
        outbox.close()


def _relays(config: NodeConfig) -> list[dict]:
    if not config.relay_journal_path.is_file():
        return []
    from node.relay.log import RelayJournal

    journal = RelayJournal(config.relay_journal_path)
    try:
        out = []
        for name in config.relays:
            recent = journal.recent(name, 1, switches_only=True)
            last = recent[0] if recent else None
            out.append({"relay": name, "on": last.on if last else None, "reason": last.reason if last else None,
                        "since": last.at.isoformat() if last else None})
        return out
    finally:
        journal.close()


def format_status(report: dict, zone: str = "Europe/Amsterdam") -> str:
    tz = ZoneInfo(zone)

    def when(ts) -> str:
        return datetime.fromtimestamp(ts, timezone.utc).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z") if ts else "-"

    lines = [f"node {report['node']}: " + {True: "running", False: "not running (status file is stale)", None: "never ran"}[report["running"]]]
    if report.get("account"):
        lines.append(f"  account      {report['account']}")
    chain = report["chain"]
    if chain["reachable"]:
        lines.append(f"  chain        head {chain['head']} at {when(chain['head_time'])}, {chain['peers']} peers ({chain['rpc']})")
        lines += _consensus_lines(chain["consensus"])
    else:
        lines.append(f"  chain        unreachable at {chain['rpc']}: {chain['error']}")
    reading = report["last_reading"]
    lines.append(
        f"  last reading {when(reading['at'])}: import {reading['import_w']} W, export {reading['export_w']} W"
        if reading else "  last reading none yet"
    )
    outbox = report["outbox"]
    if outbox:
        lines.append(f"  outbox       {_outbox_line(outbox)}")
    for name, outbox in (report.get("participation_outboxes") or {}).items():
        lines.append(f"  outbox {name}: {_outbox_line(outbox) if outbox else 'none yet'}")
    for part, state in (report.get("parts") or {}).items():
        trouble = f", last error: {state['last_error']}" if state.get("last_error") else ""
        lines.append(f"  part {part:<8} {'up' if state['running'] else 'down'}, {state['restarts']} restarts{trouble}")
    for relay in report["relays"]:
        state = {True: "ON", False: "off", None: "unknown"}[relay["on"]]
        lines.append(f"  relay {relay['relay']:<7} {state} since {relay['since'] or '-'}: {relay['reason'] or ''}")
    return "\n".join(lines)


def _outbox_line(outbox: dict) -> str:
    waiting = f"; waiting on interval {outbox['waiting']['interval']}: {outbox['waiting']['note'] or 'queued'}" if outbox["waiting"] else ""
    return f"{outbox['depth']} waiting, {outbox['on_chain']} on chain, {outbox['missed']} missed{waiting}"


def _consensus_lines(consensus: dict) -> list[str]:
    """The validators, this node's place among them, its votes and the sync state."""
    if consensus["engine"] is None:
        lines = ["  validators   none: this chain has no Clique or QBFT API (a development chain such as anvil)"]
    else:
        lines = [f"  validators   {_validators(consensus)}"]
    if consensus["is_signer"] is False:
        lines.append("  this node is not (yet) a signer: the validators vote it in once the community admits it")
    if consensus["votes"]:
        votes = ", ".join(f"{'adding' if add else 'removing'} {address}" for address, add in consensus["votes"])
        lines.append(f"  votes        {votes}")
    sync = consensus["sync"]
    if sync is not None:
        lines.append(f"  sync         syncing block {sync['current']} of {sync['highest']}" if sync else "  sync         synced")
    return lines


def _validators(consensus: dict) -> str:
    """E.g. "3 signers; this node is a signer; last 12 blocks sealed: 4 by 0xAbCd…1234 (this node), 4 by …"."""
    if consensus["signers"] is None:
        return f"unknown: the chain client does not list its {consensus['engine']} signers"
    parts = [_count(len(consensus["signers"]), "signer")]
    if consensus["is_signer"]:
        parts.append("this node is a signer")
    if consensus["sealers"]:
        seals = Counter(signer for _, signer in consensus["sealers"])  # the last block's sealer first
        named = ", ".join(f"{count} by {_short(signer)}{' (this node)' if signer == consensus['account'] else ''}"
                          for signer, count in seals.items())
        parts.append(f"last {_count(len(consensus['sealers']), 'block')} sealed: {named}")
    return "; ".join(parts)


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}{'' if number == 1 else 's'}"


def _short(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}"
