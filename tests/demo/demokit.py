"""What the headless demo tests share: the demo as a child process, waiting for a condition, and the
line the demo prints once it runs."""

from __future__ import annotations

import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).parents[2]
STARTED = "The community is running"


@contextmanager
def running_demo(output: Path, *args: str):
    """`gridcommons demo ARGS…` with its output into `output`, once it says the community runs; killed
    on the way out if it still runs."""
    demo = subprocess.Popen(
        [sys.executable, "-m", "node.cli", "demo", *args],
        cwd=ROOT, stdout=open(output, "w"), stderr=subprocess.STDOUT,
    )
    try:
        assert eventually(lambda: STARTED in output.read_text() or demo.poll() is not None, 150), output.read_text()
        assert demo.poll() is None, output.read_text()
        yield demo
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()


def eventually(condition, timeout: float, every: float = 1.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return bool(condition())
