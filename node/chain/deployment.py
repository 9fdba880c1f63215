"""Deployment records: where a community's contracts live on a chain (`deployments/<network>.json`).

Written by `ape run deploy`, read by the operator scripts, the demo and, later, every node.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from node.errors import NodeError

# Overridable so that tests and several local communities keep their records apart.
DEPLOYMENTS_DIR = Path(os.environ.get("GRIDCOMMONS_DEPLOYMENTS_DIR", "deployments"))
CONTRACTS = ("EnergyToken", "Community", "ConsentRegistry", "EnergyCertificate", "EnergyExchange")


class DeploymentError(NodeError):
    """A deployment record is missing, unreadable or belongs to another chain."""


@dataclass(frozen=True)
class Deployment:
    """The community's contracts on one chain."""

    network: str
    chain_id: int
    deploy_block: int
    deploy_block_hash: str
    deployer: str
    contracts: dict[str, str]
    parameters: dict[str, object] = field(default_factory=dict)

    def address(self, name: str) -> str:
        try:
            return self.contracts[name]
        except KeyError:
            raise DeploymentError(f"the {self.network} deployment has no {name} contract") from None


def record_path(network: str, directory: Path = DEPLOYMENTS_DIR) -> Path:
    """`deployments/<ecosystem>-<network>.json` for a network choice like `ethereum:local:foundry`."""
    parts = network.split(":")
    return directory / f"{'-'.join(parts[:2])}.json"


def load(network: str, directory: Path = DEPLOYMENTS_DIR) -> Deployment:
    path = record_path(network, directory)
    if not path.is_file():
        raise DeploymentError(f"no deployment found for {network} ({path}): run `ape run deploy --network {network}`")
    return read(path)


def read(path: Path) -> Deployment:
    """The deployment record at `path` (a node's config names it)."""
    if not path.is_file():
        raise DeploymentError(f"no deployment record at {path}: copy it from the deployer (`ape run deploy` writes it)")
    try:
        data = json.loads(path.read_text())
        return Deployment(**data)
    except (ValueError, TypeError) as error:
        raise DeploymentError(f"{path} is not a deployment record: {error}") from error


class CommunityInterval:
    """The community's settlement interval as its deployment record says (re-read when the file
    changes: a node may start before the admin has deployed)."""

    DEFAULT = 900

    def __init__(self, path: Path):
        self.path = path
        self._seen: tuple[float, int] | None = None

    def seconds(self) -> int:
        try:
            changed = self.path.stat().st_mtime
        except OSError:
            return self.DEFAULT
        if self._seen is None or self._seen[0] != changed:
            try:
                length = int(read(self.path).parameters.get("interval_length") or self.DEFAULT)
            except (DeploymentError, TypeError, ValueError):
                length = self.DEFAULT
            self._seen = (changed, length)
        return self._seen[1]


def save(deployment: Deployment, directory: Path = DEPLOYMENTS_DIR) -> Path:
    """Write the record atomically: a crash never leaves half a file."""
    path = record_path(deployment.network, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as handle:
        json.dump(asdict(deployment), handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.replace(handle.name, path)
    return path
