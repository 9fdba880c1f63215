"""A running community's files for join-bundle tests: a Clique genesis, a deployment record and ABIs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from node.chain.bundle import build_bundle, write_bundle
from node.chain.deployment import CONTRACTS
from node.chain.genesis import NetworkSpec, genesis

VALIDATOR = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"  # anvil's dev account 1
CHAIN_ID = 31415926
BOOTNODES = (
    "enode://" + "1a" * 64 + "@192.168.1.11:30303",
    "enode://" + "2b" * 64 + "@192.168.1.12:30303",
)


@dataclass(frozen=True)
class CommunityFiles:
    genesis: Path
    deployment: Path
    manifest: Path


def deployment_record(chain_id: int = CHAIN_ID) -> dict:
    return {
        "network": "ethereum:community",
        "chain_id": chain_id,
        "deploy_block": 3,
        "deploy_block_hash": "0x" + "ab" * 32,
        "deployer": VALIDATOR,
        "contracts": {name: "0x" + f"{index:040x}" for index, name in enumerate(CONTRACTS, start=1)},
        "parameters": {"interval_length": 900},
    }


def manifest_document() -> dict:
    """Ape's manifest shape with one small ABI per contract: all load_abis reads."""
    event = {"type": "event", "name": "Ping", "anonymous": False, "inputs": []}
    return {"contractTypes": {name: {"contractName": name, "abi": [event], "runtimeBytecode": {"bytecode": "0x00"}}
                              for name in CONTRACTS}}


def write_community_files(directory: Path, deployment_chain_id: int = CHAIN_ID) -> CommunityFiles:
    """The admin's files; a deployment on another chain than the genesis where asked for."""
    directory.mkdir(parents=True, exist_ok=True)
    files = CommunityFiles(directory / "genesis.json", directory / "deployment.json", directory / "manifest.json")
    files.genesis.write_text(json.dumps(genesis(NetworkSpec("clique", (VALIDATOR,), 1, CHAIN_ID)), indent=2))
    files.deployment.write_text(json.dumps(deployment_record(deployment_chain_id)))
    files.manifest.write_text(json.dumps(manifest_document()))
    return files


def write_bundle_file(path: Path, bootnodes=BOOTNODES) -> Path:
    """A join bundle as the admin hands it out."""
    files = write_community_files(path.parent / "community")
    return write_bundle(build_bundle(files.genesis, files.deployment, files.manifest, bootnodes), path)
