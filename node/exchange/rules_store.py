"""The household's trading rules as the DApp saved them: a small JSON file in the node's data folder,
over node.toml's [exchange].

The DApp writes the file (atomically: a reader sees the old rules or the new, never half a file);
the node's exchange agent reads it every tick. A file that is unreadable or holds a bad value is
not used: the node then follows node.toml's rules and logs why (once, not on every tick).

    {"rules": {"auto_accept": true, "max_wh": 1500, ...}, "saved_at": 1767225600.0}
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from node.config import ConfigError, ExchangeConfig, NodeConfig, exchange_rules

log = logging.getLogger(__name__)

RULES_FILE = "exchange_rules.json"


@dataclass(frozen=True)
class SavedRules:
    """The rules in force, and where they come from."""

    rules: ExchangeConfig
    saved: bool = False  # from the file the DApp wrote; else node.toml's
    saved_at: float | None = None  # unix seconds, as the DApp wrote it
    problem: str | None = None  # why a saved file was not used


class RulesStore:
    """Reads and writes `path`; `defaults` are node.toml's rules."""

    def __init__(self, path: Path, defaults: ExchangeConfig):
        self.path = Path(path)
        self.defaults = defaults
        self._seen: tuple | None = None  # the version of the file last read
        self._last: SavedRules | None = None  # and what it gave

    @classmethod
    def for_node(cls, config: NodeConfig) -> "RulesStore":
        return cls(config.data_dir / RULES_FILE, config.exchange)

    def read(self) -> ExchangeConfig:
        """The rules in force now."""
        return self.current().rules

    def current(self) -> SavedRules:
        """The rules in force now, with where they come from; the file is parsed again only when it changed."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            version, found = None, SavedRules(self.defaults)
        except OSError as error:
            version, found = ("unreadable",), self._refused(f"cannot be read ({error.strerror})")
        else:
            # A write renames a new file into place: a new inode, even within the same mtime tick.
            version = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            if version == self._seen and self._last is not None:
                return self._last
            found = self._parse()
        if found.problem and (self._last is None or self._last.problem != found.problem):
            log.warning("trading rules: %s; following node.toml's [exchange] instead", found.problem)
        self._seen, self._last = version, found
        return found

    def _parse(self) -> SavedRules:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, UnicodeDecodeError, ValueError) as error:
            return self._refused(f"is not readable JSON ({error})")
        if not isinstance(data, dict) or not isinstance(data.get("rules"), dict):
            return self._refused('must hold {"rules": {...}}')
        try:
            rules = exchange_rules(data["rules"], self.defaults, prefix="rules")
        except ConfigError as error:
            return self._refused(f"holds a bad value: {error}")
        saved_at = data.get("saved_at")
        if isinstance(saved_at, bool) or not isinstance(saved_at, (int, float)):
            saved_at = None
        return SavedRules(rules, saved=True, saved_at=saved_at)

    def _refused(self, why: str) -> SavedRules:
        return SavedRules(self.defaults, problem=f"{self.path} {why}")

    def write(self, rules: ExchangeConfig, saved_at: float) -> None:
        """Replace the saved rules in one step (a temporary file renamed over the old one)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"rules": asdict(rules), "saved_at": saved_at}, indent=2)
        with tempfile.NamedTemporaryFile("w", dir=self.path.parent, prefix=".exchange_rules.", suffix=".tmp",
                                         delete=False) as handle:
            try:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            except BaseException:
                os.unlink(handle.name)
                raise
        try:
            os.replace(handle.name, self.path)
        except BaseException:
            os.unlink(handle.name)  # the old rules stay in force, whole
            raise

    def reset(self) -> None:
        """Forget the saved rules: node.toml's apply again."""
        self.path.unlink(missing_ok=True)
