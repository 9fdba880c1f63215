"""What DApp tests share besides fixtures: the test node's constants, its config, logged-in actions and
what they queued."""

from __future__ import annotations

import re
from pathlib import Path

from node import config as config_module
from node.actions.queue import ActionQueue

PASSWORD = "correct horse battery"
ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"  # anvil's dev account 1
NOW = 1_767_225_600.0  # 2026-01-01 00:00 UTC


class Clock:
    """Node time the test moves by hand."""

    def __init__(self, now: float = NOW):
        self.now = now

    def __call__(self) -> float:
        return self.now


def node_config_for(tmp_path: Path, extra: str = ""):
    text = f"""
[node]
name = "test-house"
data_dir = "data"
timezone = "Europe/Amsterdam"
[chain]
rpc = "http://127.0.0.1:1"
deployment = "deployment.json"
manifest = "manifest.json"
keystore = "node-key.json"
{extra}
"""
    path = tmp_path / "node.toml"
    path.write_text(text)
    return config_module.load(path)


def csrf_token(client, path: str = "/auth/login") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, password: str = PASSWORD):
        return self.client.post("/auth/login", data={"password": password, "csrf_token": csrf_token(self.client)})

    def logout(self):
        return self.client.post("/auth/logout", data={"csrf_token": csrf_token(self.client, "/now/")})

    def post(self, path: str, data: dict | None = None, **kwargs):
        """A logged-in form POST with the page's CSRF token."""
        return self.client.post(path, data={**(data or {}), "csrf_token": csrf_token(self.client, "/now/")}, **kwargs)


def queued(config) -> list[tuple[str, dict]]:
    """The node's last 20 actions, oldest first: (kind, parameters)."""
    queue = ActionQueue(config.actions_path, lambda: 0.0)
    try:
        return [(a.kind, a.params) for a in reversed(queue.recent(20))]
    finally:
        queue.close()
