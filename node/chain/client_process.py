"""What the node's own chain clients (anvil, geth) share: a JSON-RPC that answers, a start that waits
for it, and a stop that lets the client write its state."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request

from node.errors import ChainError


def rpc_answers(url: str) -> bool:
    """Whether a chain client answers eth_chainId at `url` within a second."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=1) as response:
            return "result" in json.load(response)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_until_answering(process: subprocess.Popen, url: str, timeout: float, name: str, log_hint: str) -> None:
    """Return once the client started as `process` answers at `url`; stop it and raise if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ChainError(f"{name} exited with code {process.returncode} while starting{log_hint}")
        if rpc_answers(url):
            return
        time.sleep(0.1)
    stop_gracefully(process)
    raise ChainError(f"{name} did not answer on {url} within {timeout:.0f} s{log_hint}")


def stop_gracefully(process: subprocess.Popen | None, timeout: float = 10.0) -> None:
    """SIGTERM, so that the client writes its state to disk; SIGKILL only if it hangs."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
