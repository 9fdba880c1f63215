"""The household's validator: a geth 1.13.15 Clique process that the node starts, watches and stops.

The node prepares geth's data directory itself: the chain from the community's genesis on first
start, a copy of the node keystore in geth's own keystore folder, the node's peer-to-peer key (so
its enode is known before geth ever runs) and a config file naming the other validators as static
peers. The keystore passphrase reaches geth through a pipe, never through a file on disk.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from eth_keys import keys
from eth_utils import to_checksum_address

from node.chain.client_process import rpc_answers, stop_gracefully, wait_until_answering
from node.child_process import die_with_parent
from node.errors import ChainError, ToolchainMissing

GETH_VERSION = "1.13.15"
GETH_HTTP_APIS = ("eth", "net", "web3", "clique", "txpool")
# On a Pi beside the node: without these geth held 320-357 MiB for its first minutes (make bench).
CACHE_MIB = 64
GO_MEMORY_LIMIT = "150MiB"
_SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def reported_version(binary: Path) -> str | None:
    """The version `geth version` prints (e.g. "1.13.15-stable"), or None if it does not run."""
    try:
        out = subprocess.run([str(binary), "version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in out.splitlines():
        if line.startswith("Version: "):
            return line.split(": ", 1)[1].strip()
    return None


def find_geth(candidates: list[Path] | None = None) -> Path:
    """geth 1.13.15: GRIDCOMMONS_GETH, else the one `make setup` put beside this Python, else PATH."""
    if override := os.environ.get("GRIDCOMMONS_GETH"):
        candidates = [Path(override)]
    elif candidates is None:
        root = Path(__file__).resolve().parents[2]
        candidates = [Path(sys.executable).with_name("geth"), root / ".venv" / "bin" / "geth"]
        candidates += [Path(p) for p in [shutil.which("geth")] if p]
    seen = []
    for candidate in candidates:
        if not candidate.is_file():
            continue
        version = reported_version(candidate)
        if version is not None and version.split("-")[0] == GETH_VERSION:
            return candidate
        seen.append(f"{candidate} reports {version or 'nothing'}")
    found = f" ({'; '.join(seen)})" if seen else ""
    raise ToolchainMissing(
        f"geth {GETH_VERSION} not found{found}: run `make setup` (it builds it), install the release "
        f"(docs/poa-network.md), or set GRIDCOMMONS_GETH to its path; a newer geth cannot seal Clique blocks"
    )


def new_node_key() -> bytes:
    """A random secp256k1 private key for geth's peer-to-peer identity."""
    while True:
        key = os.urandom(32)
        if 0 < int.from_bytes(key, "big") < _SECP256K1_ORDER:
            return key


def enode_of(node_key: bytes, host: str, port: int) -> str:
    """The enode URL that geth with this peer-to-peer key announces at host:port."""
    public = keys.PrivateKey(node_key).public_key.to_bytes().hex()
    return f"enode://{public}@{host}:{port}"


def ensure_node_key(path: Path) -> bytes:
    """geth's `nodekey` file (hex, mode 0600), created once: the node's identity among its peers."""
    if path.is_file():
        return bytes.fromhex(path.read_text().strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    key = new_node_key()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key.hex())
    return key


@dataclass(frozen=True)
class GethSettings:
    """How to run this household's validator."""

    datadir: Path
    genesis: Path
    keystore: Path  # the node account's keystore file; geth seals with the same account
    account: str
    http_host: str = "127.0.0.1"
    http_port: int = 8545
    p2p_host: str = ""  # "" listens on every interface (the LAN); tests use 127.0.0.1
    p2p_port: int = 30303
    peers: tuple[str, ...] = field(default=())  # the other validators' enodes

    @property
    def node_key_file(self) -> Path:
        return self.datadir / "geth" / "nodekey"

    @property
    def keystore_dir(self) -> Path:
        return self.datadir / "keystore"

    @property
    def config_file(self) -> Path:
        return self.datadir / "gridcommons-geth.toml"

    @property
    def genesis_marker(self) -> Path:
        return self.datadir / "genesis.sha256"


def genesis_chain_id(genesis: Path) -> int:
    try:
        return int(json.loads(genesis.read_text())["config"]["chainId"])
    except FileNotFoundError:
        raise ChainError(f"no genesis at {genesis}: copy the community's genesis.json (or its join bundle) here") from None
    except (ValueError, KeyError, TypeError) as error:
        raise ChainError(f"{genesis} is not a genesis file ({type(error).__name__}: {error})") from None


class EmbeddedGeth:
    """A supervised geth validator process."""

    def __init__(self, settings: GethSettings, passphrase: str, binary: Path | None = None,
                 log_file: Path | None = None):
        self.settings = settings
        self._passphrase = passphrase
        self.binary = binary or find_geth()
        self.log_file = log_file
        self.chain_id = genesis_chain_id(settings.genesis)
        self._process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.settings.http_host}:{self.settings.http_port}"

    @property
    def enode(self) -> str:
        """This node's enode, with the address it listens on (the LAN address replaces a blank one)."""
        s = self.settings
        return enode_of(ensure_node_key(s.node_key_file), s.p2p_host or "127.0.0.1", s.p2p_port)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self.running else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def exit_code(self) -> int | None:
        return None if self._process is None else self._process.poll()

    # -- the data directory ---------------------------------------------------------------

    def prepare(self) -> None:
        """Initialise the data directory from the genesis once; refresh the keystore copy and peers."""
        s = self.settings
        s.datadir.mkdir(parents=True, exist_ok=True, mode=0o700)
        digest = hashlib.sha256(s.genesis.read_bytes()).hexdigest()
        if s.genesis_marker.is_file():
            if s.genesis_marker.read_text().strip() != digest:
                raise ChainError(
                    f"{s.datadir} holds a chain made from another genesis than {s.genesis}: "
                    "move that folder away to start afresh from this genesis, or give the genesis it was made from"
                )
        else:
            self._init_chain()
            s.genesis_marker.write_text(digest + "\n")
        ensure_node_key(s.node_key_file)
        self._copy_keystore()
        s.config_file.write_text(self._config_text())

    def _init_chain(self) -> None:
        s = self.settings
        done = subprocess.run(
            [str(self.binary), "init", "--datadir", str(s.datadir), str(s.genesis)],
            capture_output=True, text=True, timeout=120,
        )
        if done.returncode != 0:
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise ChainError(f"geth could not initialise {s.datadir} from {s.genesis}: {last[0][:300]}")

    def _copy_keystore(self) -> None:
        """geth reads every file of its keystore folder and skips symlinks: one copy, alone."""
        s = self.settings
        s.keystore_dir.mkdir(exist_ok=True, mode=0o700)
        target = s.keystore_dir / "node-key.json"
        for other in s.keystore_dir.iterdir():
            if other != target:
                other.unlink()
        temporary = s.keystore_dir / ".node-key.json.tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(s.keystore.read_bytes())
        os.replace(temporary, target)

    def _config_text(self) -> str:
        s = self.settings
        peers = [enode for enode in s.peers if enode.split("@")[0] != self.enode.split("@")[0]]
        return (
            "# Written by the gridcommons node at every start; edit node.toml's [chain] peers instead.\n"
            "[Node.P2P]\n"
            f"StaticNodes = {json.dumps(peers)}\n"
            f"TrustedNodes = {json.dumps(peers)}\n"
            f"ListenAddr = {json.dumps(f'{s.p2p_host}:{s.p2p_port}')}\n"
        )

    # -- the process ----------------------------------------------------------------------

    def command(self, password_path: str) -> list[str]:
        s = self.settings
        account = to_checksum_address(s.account)
        return [
            str(self.binary),
            "--config", str(s.config_file),
            "--datadir", str(s.datadir),
            "--networkid", str(self.chain_id),
            "--syncmode", "full",
            # Peers come from the static list only: no discovery, no mainnet bootnodes.
            "--nodiscover",
            "--nat", "none",
            "--port", str(s.p2p_port),
            "--unlock", account,
            "--password", password_path,
            # geth refuses --unlock while HTTP is on, even on loopback only.
            "--allow-insecure-unlock",
            "--mine",
            "--miner.etherbase", account,
            "--http",
            "--http.addr", s.http_host,
            "--http.port", str(s.http_port),
            "--http.api", ",".join(GETH_HTTP_APIS),
            # The engine API serves beacon clients, which a Clique chain has none of.
            "--authrpc.port", "0",
            "--ipcdisable",
            # A community chain's state is small; geth's default caches are sized for mainnet.
            "--cache", str(CACHE_MIB),
        ]

    def start(self, timeout: float = 60.0) -> None:
        if self.running:
            return
        if rpc_answers(self.url):
            raise ChainError(f"something already answers on {self.url}; stop it or choose another [chain] rpc port")
        self.prepare()
        read_end, write_end = os.pipe()
        log = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
        try:
            self._process = subprocess.Popen(
                self.command(f"/dev/fd/{read_end}"), stdout=log, stderr=subprocess.STDOUT,
                pass_fds=(read_end,), preexec_fn=die_with_parent, env={**os.environ, "GOMEMLIMIT": GO_MEMORY_LIMIT},
            )
        finally:
            os.close(read_end)
            if log is not subprocess.DEVNULL:
                log.close()
        with os.fdopen(write_end, "w") as pipe:  # a passphrase is far below a pipe's buffer
            pipe.write(self._passphrase + "\n")
        wait_until_answering(self._process, self.url, timeout, "geth", f"; see {self.log_file or 'its log'}")

    def stop(self, timeout: float = 30.0) -> None:
        stop_gracefully(self._process, timeout)
