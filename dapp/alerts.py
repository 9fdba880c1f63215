"""The Alerts page, its JSON, the banner on every page and the README's troubleshooting section.

The checks are node.alerts' pure functions; this reads what they judge (the store, outbox, mirror,
status and chain) at most once every `CACHE_SECONDS` of wall time, so the banner costs a page
nothing most of the time. A failing evaluation never breaks a page: the banner is left out and the
error logged.
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path
from typing import Callable

from flask import Blueprint, current_app, g, has_request_context, render_template, request
from markupsafe import Markup

from dapp.auth import login_required
from node.alerts.alert import Verdict
from node.alerts.assess import AlertSettings, assess
from node.alerts.sources import chain_seen, hourly_use, node_snapshot, outbox_seen

bp = Blueprint("alerts", __name__, url_prefix="/alerts")
log = logging.getLogger(__name__)

CACHE_SECONDS = 5.0
SETTINGS = AlertSettings()
README = Path(__file__).resolve().parents[1] / "README.md"
HELP_TOPICS = {"no-telegrams": "No telegrams", "chain-unreachable": "Chain unreachable"}


@bp.route("/")
@login_required
def page():
    verdict, evaluated_at = _verdict_or_none()
    return render_template("alerts.html", verdict=verdict, evaluated_at=evaluated_at, help_topics=HELP_TOPICS,
                           settings=SETTINGS)


@bp.route("/api/alerts")
@login_required
def api_alerts():
    verdict, evaluated_at = _cache().get(_evaluate)
    return {**verdict.as_json(), "evaluated_at": evaluated_at}


@bp.route("/troubleshooting")
@login_required
def troubleshooting():
    path = Path(current_app.config.get("README_PATH", README))
    return render_template("troubleshooting.html", section=readme_section(path, "Troubleshooting"), readme=path)


@bp.app_context_processor
def banner() -> dict:
    """The current alerts for the banner on every page but the Alerts page itself (logged in only)."""
    if not has_request_context() or not g.get("operator") or request.blueprint == bp.name:
        return {}
    verdict, _ = _verdict_or_none()
    return {"alert_banner": verdict.alerts} if verdict else {}


class VerdictCache:
    """The last verdict and the node time it was made, kept for `seconds` of wall time."""

    def __init__(self, wall: Callable[[], float], seconds: float = CACHE_SECONDS):
        self.wall = wall
        self.seconds = seconds
        self._lock = threading.Lock()  # one request evaluates; the others wait for its answer
        self._kept: tuple[float, tuple[Verdict, float]] | None = None

    def get(self, evaluate: Callable[[], tuple[Verdict, float]]) -> tuple[Verdict, float]:
        with self._lock:
            now = self.wall()
            if self._kept is None or not 0 <= now - self._kept[0] < self.seconds:
                self._kept = (now, evaluate())
            return self._kept[1]


def _cache() -> VerdictCache:
    services = current_app.extensions["gridcommons"]
    return current_app.extensions.setdefault("gridcommons.alerts", VerdictCache(services.wall))


def _verdict_or_none() -> tuple[Verdict | None, float | None]:
    try:
        return _cache().get(_evaluate)
    except Exception:  # an alert banner must never take a page down with it
        log.exception("alerts could not be evaluated")
        return None, None


def _evaluate() -> tuple[Verdict, float]:
    """Every check on what the node's files and chain client say now. Files that do not exist yet stay
    uncreated: a DApp that only looks never makes a node's files."""
    from node.store.store import StoreSettings

    services = current_app.extensions["gridcommons"]
    config = services.config
    now = services.clock()
    hours, last_reading, interval, outbox, mirror_block = [], None, StoreSettings().interval, None, None
    if config.store_path.is_file():
        with services.store() as store:
            latest = store.latest()
            last_reading = latest.ts if latest else None
            hours = hourly_use(store, now, SETTINGS.days_of_history)
            interval = store.settings.interval
    if config.outbox_path.is_file():
        with services.outbox() as box:
            outbox = outbox_seen(box)
            interval = box.interval_length or interval
    if config.mirror_path.is_file():
        with services.mirror() as mirror:
            mirror_block = mirror.cursor
    snapshot = node_snapshot(now=now, wall_now=services.wall(), interval=interval, last_reading=last_reading,
                             status=services.node_status(), chain=chain_seen(config.chain.rpc, mirror_block),
                             outbox=outbox, time_factor=config.clock.time_factor)
    return assess(hours, snapshot, services.timezone, SETTINGS), now


def readme_section(path: Path, title: str) -> Markup | None:
    """The README's section `title` as HTML, headings with GitHub's anchors (None if it has no such section).

    Raw HTML in the README is escaped, never passed through."""
    from markdown_it import MarkdownIt

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    headings = list(_headings(lines))
    start = next(((i, level) for i, level in headings if lines[i].lstrip("#").strip() == title), None)
    if start is None:
        return None
    end = next((i for i, level in headings if i > start[0] and level <= start[1]), len(lines))
    markdown = MarkdownIt("commonmark", {"html": False})
    tokens = markdown.parse("\n".join(lines[start[0] + 1:end]))
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            token.attrSet("id", _anchor(tokens[index + 1].content))
    return Markup(markdown.renderer.render(tokens, markdown.options, {}))


def _headings(lines: list[str]):
    """(line index, level) of each Markdown heading, not counting `#` lines inside code blocks."""
    fenced = False
    for index, line in enumerate(lines):
        if line.startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced and (found := re.match(r"(#{1,6})\s", line)):
            yield index, len(found.group(1))


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: 'No telegrams' -> 'no-telegrams'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
