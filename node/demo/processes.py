"""The demo's node processes: `gridcommons node run`, one per household, each logging to its folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from node.child_process import die_with_parent


class NodeProcess:
    """One household's `gridcommons node run`, restarted by the demo if it dies."""

    def __init__(self, name: str, config: Path, env: dict[str, str]):
        self.name = name
        self.config = config
        self.env = env
        self.log_path = config.parent / "node.log"
        self.restarts = 0
        self._process: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "node.cli", "node", "run", "--config", str(self.config)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                preexec_fn=die_with_parent,
            )

    @property
    def exit_code(self) -> int | None:
        """None while it runs (or before it started)."""
        return None if self._process is None else self._process.poll()

    def terminate(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()

    def wait(self, timeout: float) -> None:
        """Wait for a stopping node; kill it if it takes longer than `timeout`."""
        if self._process is None:
            return
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
