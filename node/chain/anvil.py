"""The embedded development chain: an anvil process that the node starts and stops itself."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from node.chain.client_process import rpc_answers, stop_gracefully, wait_until_answering
from node.child_process import die_with_parent
from node.errors import ChainError, ToolchainMissing

# Ape's local network and its signer expect this chain id.
DEV_CHAIN_ID = 1337
_NPM_PLATFORM = {"x86_64": "linux-amd64", "amd64": "linux-amd64", "aarch64": "linux-arm64", "arm64": "linux-arm64"}


def find_anvil(search_roots: list[Path] | None = None) -> Path:
    """Locate the anvil binary that `npm ci` installed, or one on PATH."""
    if override := os.environ.get("GRIDCOMMONS_ANVIL"):
        return Path(override)
    suffix = _NPM_PLATFORM.get(platform.machine().lower())
    roots = search_roots or [Path.cwd(), Path(__file__).resolve().parents[2]]
    if suffix:
        for root in roots:
            candidate = root / "node_modules" / "@foundry-rs" / f"anvil-{suffix}" / "bin" / "anvil"
            if candidate.is_file():
                return candidate
    if on_path := shutil.which("anvil"):
        return Path(on_path)
    raise ToolchainMissing(
        "anvil not found: run `make setup` (npm ci installs it), or set GRIDCOMMONS_ANVIL to its path"
    )


@dataclass(frozen=True)
class AnvilSettings:
    """How to run the embedded chain."""

    port: int = 8545
    host: str = "127.0.0.1"
    chain_id: int = DEV_CHAIN_ID
    block_time: float | None = None  # None: mine a block per transaction
    state_file: Path | None = None  # persists the chain across restarts when set
    state_interval: int | None = None  # also write the state every this many seconds (survives a kill)
    accounts: int = 20
    gas_limit: int = 30_000_000


class EmbeddedAnvil:
    """A supervised anvil process; use as a context manager."""

    def __init__(self, settings: AnvilSettings, binary: Path | None = None, log_file: Path | None = None):
        self.settings = settings
        self.binary = binary or find_anvil()
        self.log_file = log_file
        self._process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}"

    def command(self) -> list[str]:
        s = self.settings
        cmd = [
            str(self.binary),
            "--host", s.host,
            "--port", str(s.port),
            "--chain-id", str(s.chain_id),
            "--accounts", str(s.accounts),
            "--gas-limit", str(s.gas_limit),
            # Paris, like the community's geth 1.13 Clique network.
            "--hardfork", "paris",
        ]
        if s.block_time is not None:
            cmd += ["--block-time", str(s.block_time)]
        if s.state_file is not None:
            cmd += ["--state", str(s.state_file)]
            if s.state_interval is not None:
                cmd += ["--state-interval", str(s.state_interval)]
        return cmd

    def start(self, timeout: float = 20.0) -> None:
        if rpc_answers(self.url):
            raise ChainError(f"something already answers on {self.url}; stop it or choose another port")
        log = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
        self._process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
        wait_until_answering(self._process, self.url, timeout, "anvil", "")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop anvil gracefully, so that it writes its state file."""
        stop_gracefully(self._process, timeout)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> EmbeddedAnvil:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
