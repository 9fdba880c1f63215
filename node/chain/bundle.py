"""The join bundle: one file holding all a new household's node needs to join a running community.

It carries the community's genesis, the enodes of validators to sync from (bootnodes), the
deployment record and the contracts' ABIs. The admin makes it from the community's files, any
member's node from its own (`gridcommons chain bundle`, or the DApp's /node/join-bundle), and
`gridcommons init --join` unpacks it into the new node's folder. Nothing in it is secret.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from eth_utils import to_checksum_address

from node.chain.deployment import Deployment
from node.chain.deployment import read as read_deployment
from node.chain.genesis import GenesisError
from node.chain.network_files import parse_enode
from node.errors import ChainError

BUNDLE_FORMAT = "gridcommons-join-bundle"
BUNDLE_VERSION = 1
# What `unpack_bundle` writes into the node's folder.
GENESIS_NAME = "genesis.json"
DEPLOYMENT_NAME = "deployment.json"
CONTRACTS_NAME = "contracts.json"
# Addresses that mean "every interface" to a listener but reach no one in an enode.
_UNREACHABLE_HOSTS = ("", "0.0.0.0", "::")
_CLIQUE_VANITY, _CLIQUE_SEAL, _ADDRESS_BYTES = 32, 65, 20


class BundleError(ChainError):
    """A join bundle, or the community files it is made of, is unusable; says what is wrong."""


class NotAValidator(BundleError):
    """The node asked for a join bundle does not run a geth validator of the community's chain."""


class NoReachableAddress(BundleError):
    """The node's enode needs an address the other households reach it at, and none is known."""


@dataclass(frozen=True)
class CliqueGenesis:
    """What a node checks in a geth Clique genesis."""

    chain_id: int
    period: int
    signers: tuple[str, ...]  # the validators sealing from block 0


@dataclass(frozen=True)
class JoinBundle:
    """A checked bundle; its documents are never mutated."""

    genesis: Mapping[str, Any]
    bootnodes: tuple[str, ...]
    deployment: Deployment
    contracts: Mapping[str, Any]  # an Ape manifest reduced to the ABIs, which is all load_abis reads

    @property
    def chain_id(self) -> int:
        return self.deployment.chain_id

    def document(self) -> dict:
        return {
            "format": BUNDLE_FORMAT,
            "version": BUNDLE_VERSION,
            "genesis": self.genesis,
            "bootnodes": list(self.bootnodes),
            "deployment": asdict(self.deployment),
            "contracts": self.contracts,
        }


@dataclass(frozen=True)
class UnpackedBundle:
    """Where `unpack_bundle` put the bundle's files, and the peers it names."""

    genesis: Path
    deployment: Path
    manifest: Path
    bootnodes: tuple[str, ...]


# -- making one ---------------------------------------------------------------------------------


def build_bundle(genesis: Path, deployment: Path, manifest: Path, bootnodes: Iterable[str]) -> JoinBundle:
    """A bundle of the community's files, checked as `read_bundle` checks it."""
    from node.chain.contracts import load_abis

    try:
        genesis_document = json.loads(Path(genesis).read_text())
    except FileNotFoundError:
        raise BundleError(f"no genesis at {genesis}: give the community's genesis.json") from None
    except ValueError as error:
        raise BundleError(f"{genesis} is not a genesis file (not JSON: {error})") from None
    return _checked(
        genesis_document,
        list(bootnodes),
        read_deployment(Path(deployment)),
        {"contractTypes": {name: {"contractName": name, "abi": abi} for name, abi in load_abis(manifest).items()}},
        _Sources(genesis=str(genesis), deployment=str(deployment), contracts=str(manifest), bootnodes="the bootnodes"),
    )


def bundle_from_config(config, host: str | None = None) -> JoinBundle:
    """The bundle a member's node hands out: its community files, itself and its peers as bootnodes."""
    chain = config.chain
    return build_bundle(chain.genesis, chain.deployment, chain.manifest, member_bootnodes(config, host))


def member_bootnodes(config, host: str | None = None) -> tuple[str, ...]:
    """This geth validator's own enode first (it is up: it is answering), then its peers."""
    chain = config.chain
    if chain.client != "geth":
        raise NotAValidator(
            f'this node runs no validator (chain.client = "{chain.client}"), so it has no enode to hand out: '
            "make the join bundle on a member's geth node, or ask the community's admin for it"
        )
    host = host or chain.p2p_host
    if host in _UNREACHABLE_HOSTS:
        raise NoReachableAddress(
            f"chain.p2p_host is {host or 'blank'} (every interface), which is no address for other households "
            "to reach: give this machine's LAN address with --host ADDR (or set chain.p2p_host in node.toml)"
        )
    own = own_enode(config, host)
    if own is None:
        raise BundleError(
            f"no node key at {node_key_file(config)} yet: `gridcommons init` or the node's first start creates it"
        )
    return _distinct_nodes([own, *chain.peers])


def own_enode(config, host: str) -> str | None:
    """This geth validator's enode at `host`, or None before its node key exists."""
    from node.chain.geth import enode_of, ensure_node_key

    key_file = node_key_file(config)
    if not key_file.is_file():
        return None  # never made here: the key is the node's identity, made by init or geth's first start
    return enode_of(ensure_node_key(key_file), host, config.chain.p2p_port)


def node_key_file(config) -> Path:
    """geth's peer-to-peer key of this node, where the runtime's GethSettings keeps it."""
    from node.chain.geth import GethSettings

    chain = config.chain
    return GethSettings(datadir=config.chain_dir, genesis=chain.genesis, keystore=chain.keystore, account="").node_key_file


def write_bundle(bundle: JoinBundle, path: Path) -> Path:
    """Write the bundle as one JSON file, atomically: a reader never sees half a bundle."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomically(path, bundle_text(bundle))
    return path


def bundle_text(bundle: JoinBundle) -> str:
    return _json_text(bundle.document())


# -- reading one --------------------------------------------------------------------------------


def read_bundle(path: Path) -> JoinBundle:
    """The bundle at `path`, checked completely; BundleError names what is wrong."""
    try:
        document = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise BundleError(f"no join bundle at {path}") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise BundleError(f"{path} is not a gridcommons join bundle (not JSON: {error})") from None
    return parse_bundle(document, str(path))


def parse_bundle(document: Any, source: str) -> JoinBundle:
    """A bundle from its parsed JSON; `source` names it in errors."""
    if not isinstance(document, dict) or document.get("format") != BUNDLE_FORMAT:
        raise BundleError(
            f'{source} is not a gridcommons join bundle (no "format": "{BUNDLE_FORMAT}"): '
            "make one with `gridcommons chain bundle`, or download it from a member's DApp"
        )
    version = document.get("version")
    if version != BUNDLE_VERSION:
        raise BundleError(
            f"{source} is a join bundle of format version {version!r}; this gridcommons reads version "
            f"{BUNDLE_VERSION}: use the same gridcommons release as the node that made it"
        )
    missing = [key for key in ("genesis", "bootnodes", "deployment", "contracts") if key not in document]
    if missing:
        raise BundleError(f"{source} lacks {', '.join(missing)}: make the bundle again")
    try:
        record = Deployment(**document["deployment"])
    except TypeError as error:
        raise BundleError(f"the deployment in {source} is not a deployment record ({error})") from None
    sources = _Sources(*(f"the {part} in {source}" for part in ("genesis", "deployment", "contracts", "bootnodes")))
    return _checked(document["genesis"], document["bootnodes"], record, document["contracts"], sources)


@dataclass(frozen=True)
class _Sources:
    """How errors name each part: the input files when building, the bundle's parts when reading."""

    genesis: str
    deployment: str
    contracts: str
    bootnodes: str


def _checked(genesis: Any, bootnodes: Any, record: Deployment, contracts: Any, sources: _Sources) -> JoinBundle:
    chain_id = clique_genesis(genesis, sources.genesis).chain_id
    check_same_chain(chain_id, record, sources.genesis, sources.deployment)
    _check_abis(contracts, record, sources.contracts)
    return JoinBundle(genesis, _checked_bootnodes(bootnodes, sources.bootnodes), record, contracts)


def clique_genesis(document: Any, source: str) -> CliqueGenesis:
    """The chain id, block period and initial signers of a geth Clique genesis document."""
    config = document.get("config") if isinstance(document, dict) else None
    chain_id = config.get("chainId") if isinstance(config, dict) else None
    if isinstance(chain_id, bool) or not isinstance(chain_id, int) or chain_id <= 0:
        raise BundleError(f"{source} is not a genesis (no positive config.chainId)")
    clique = config.get("clique")
    if not isinstance(clique, dict) or not isinstance(clique.get("period"), int):
        raise BundleError(
            f"{source} has no Clique config (config.clique): a geth validator needs the community's Clique "
            "genesis, as `gridcommons chain genesis --engine clique` writes it"
        )
    return CliqueGenesis(chain_id, clique["period"], _clique_signers(document.get("extraData"), source))


def _clique_signers(extra_data: Any, source: str) -> tuple[str, ...]:
    try:
        raw = bytes.fromhex(extra_data.removeprefix("0x"))
    except (AttributeError, ValueError):
        raw = b""
    signers = raw[_CLIQUE_VANITY:-_CLIQUE_SEAL]
    if len(raw) < _CLIQUE_VANITY + _CLIQUE_SEAL + _ADDRESS_BYTES or len(signers) % _ADDRESS_BYTES:
        raise BundleError(f"{source} has no Clique extraData (32-byte vanity, the signers, 65-byte seal)")
    return tuple(
        to_checksum_address(signers[start:start + _ADDRESS_BYTES]) for start in range(0, len(signers), _ADDRESS_BYTES)
    )


def check_same_chain(genesis_chain_id: int, record: Deployment, genesis_source: str, deployment_source: str) -> None:
    """Refuse a deployment record made on another chain than the genesis: they are two communities."""
    if record.chain_id != genesis_chain_id:
        raise BundleError(
            f"{deployment_source} is for chain {record.chain_id} but {genesis_source} makes chain "
            f"{genesis_chain_id}: take both from the same community (its join bundle holds both)"
        )


def _check_abis(contracts: Any, record: Deployment, source: str) -> None:
    types = contracts.get("contractTypes") if isinstance(contracts, dict) else None
    if not isinstance(types, dict):
        raise BundleError(f"{source} are not a contract manifest (no contractTypes)")
    missing = [
        name for name in record.contracts
        if not isinstance(types.get(name), dict) or not isinstance(types[name].get("abi"), list)
    ]
    if missing:
        raise BundleError(
            f"{source} have no ABI for {', '.join(missing)}: use the manifest the deployed contracts were compiled into"
        )


def _checked_bootnodes(bootnodes: Any, source: str) -> tuple[str, ...]:
    if not isinstance(bootnodes, list) or not all(isinstance(each, str) for each in bootnodes):
        raise BundleError(f"{source} are not a list of enode URLs")
    if not bootnodes:
        raise BundleError(f"{source} are none: a new node would find no one to sync from; give a validator's enode")
    for enode in bootnodes:
        try:
            parse_enode(enode)
        except GenesisError as error:
            raise BundleError(f"{source}: {error}") from None
    return _distinct_nodes(bootnodes)


def _distinct_nodes(enodes: Iterable[str]) -> tuple[str, ...]:
    """Each node once (by its public key), first address first."""
    seen: dict[str, str] = {}
    for enode in enodes:
        seen.setdefault(enode.split("@", 1)[0].lower(), enode)
    return tuple(seen.values())


# -- unpacking one ------------------------------------------------------------------------------


def unpack_bundle(bundle: JoinBundle, directory: Path, force: bool = False) -> UnpackedBundle:
    """Write the bundle's genesis, deployment and contracts into `directory`; a different file only with `force`."""
    unpacked = UnpackedBundle(
        directory / GENESIS_NAME, directory / DEPLOYMENT_NAME, directory / CONTRACTS_NAME, bundle.bootnodes
    )
    documents = {
        unpacked.genesis: bundle.genesis,
        unpacked.deployment: asdict(bundle.deployment),
        unpacked.manifest: bundle.contracts,
    }
    # Checked all before the first is written. A file of the same content stays as it is, byte for
    # byte: geth remembers the digest of the genesis file it made its chain from.
    differing = [path for path, document in documents.items() if path.exists() and _json_of(path) != document]
    if differing and not force:
        raise BundleError(
            f"{directory} already holds a different {', '.join(path.name for path in differing)}: "
            "move it away, or replace it with --force"
        )
    directory.mkdir(parents=True, exist_ok=True)
    for path, document in documents.items():
        if not path.exists() or path in differing:
            _write_atomically(path, _json_text(document))
    return unpacked


def _json_of(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return None  # unreadable: different from anything a bundle holds


def _json_text(document: Any) -> str:
    return json.dumps(document, indent=1) + "\n"


def _write_atomically(path: Path, text: str) -> None:
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False) as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(handle.name, 0o644)  # nothing secret, and meant to be handed out
    os.replace(handle.name, path)

