"""A community on a development chain, deployed with plain web3 from the compiled manifest.

For the node's tests and benchmarks, which run without Ape: the deployer's path stays
`ape run deploy`. The admin is the dev chain's unlocked account 0.
"""

from __future__ import annotations

import json
from pathlib import Path

from eth_account import Account
from eth_utils import keccak
from web3 import Web3
from web3.middleware import SignAndSendRawMiddlewareBuilder

from node.chain.contracts import load_abis
from node.chain.deployment import Deployment

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / ".build" / "__local__.json"
MNEMONIC = "test test test test test test test test test test test junk"  # anvil's public dev mnemonic
INTERVAL = 900
GRACE = 60
PRICE_PER_KWH = 10**17
PREPAID = 100 * 10**18

Account.enable_unaudited_hdwallet_features()


# Dev households' physical limits in W: a 3 x 63 A connection and 30 kW of generation, above what
# any simulated household draws or produces (the contract refuses readings beyond them).
DEV_LIMITS_W = (43_470, 30_000)


def dev_account(index: int):
    """The anvil dev account `index` as a local signer."""
    return Account.from_mnemonic(MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


class LocalCommunity:
    """Deploys and administers a community. The admin is anvil's unlocked account 0, or an `admin`
    account that signs here (a geth network unlocks no one's key for others)."""

    def __init__(self, w3: Web3, network: str = "ethereum:local:foundry", admin=None,
                 interval: int = INTERVAL, grace: int = GRACE):
        self.w3 = w3
        self.abis = load_abis(MANIFEST)
        if admin is not None:
            w3.middleware_onion.inject(SignAndSendRawMiddlewareBuilder.build(admin), layer=0)
        self.admin = admin.address if admin is not None else w3.eth.accounts[0]
        first_block = w3.eth.block_number + 1
        token = self._deploy("EnergyToken", "Test Energy Credit", "TEC", self.admin)
        community = self._deploy("Community", token.address, self.admin, interval, grace, PRICE_PER_KWH, 0)
        # Every contract of `ape run deploy`, wired the same way (scripts/_ledger.py deploy_all).
        self.contracts = {
            "EnergyToken": token,
            "Community": community,
            "ConsentRegistry": self._deploy("ConsentRegistry", community.address, token.address),
            "EnergyCertificate": self._deploy("EnergyCertificate", community.address, token.address,
                                              "Test Energy Credit Certificate", "CERT"),
            "EnergyExchange": self._deploy("EnergyExchange", community.address, token.address),
        }
        self.send(community.functions.grantRole(community.functions.CERTIFIER_ROLE().call(),
                                                self.contracts["EnergyCertificate"].address))
        self.send(community.functions.grantRole(community.functions.EXCHANGE_ROLE().call(),
                                                self.contracts["EnergyExchange"].address))
        block = w3.eth.get_block(first_block)
        self.deployment = Deployment(
            network=network,
            chain_id=w3.eth.chain_id,
            deploy_block=first_block,
            deploy_block_hash=block["hash"].hex(),
            deployer=self.admin,
            contracts={name: c.address for name, c in self.contracts.items()},
            parameters={"interval_length": interval, "grace_period": grace, "price_per_kwh": PRICE_PER_KWH},
        )

    def _deploy(self, name: str, *args):
        bytecode = json.loads(MANIFEST.read_text())["contractTypes"][name]["deploymentBytecode"]["bytecode"]
        factory = self.w3.eth.contract(abi=self.abis[name], bytecode=bytecode)
        receipt = self.w3.eth.wait_for_transaction_receipt(factory.constructor(*args).transact({"from": self.admin}))
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=self.abis[name])

    def admit(self, account: str, producer: bool, consumer: bool, prepaid: int = PREPAID,
              limits_w: tuple[int, int] = DEV_LIMITS_W) -> None:
        """Make `account` a member with `prepaid` credits in escrow (and some ETH for gas); `limits_w`
        are its grid connection and generation capacity."""
        token, community = self.contracts["EnergyToken"], self.contracts["Community"]
        self.send(community.functions.addMember(account, keccak(text=account), producer, consumer, 0, 0, *limits_w))
        self.w3.eth.send_transaction({"from": self.admin, "to": account, "value": 10**18})
        if prepaid:
            self.send(token.functions.issue(self.admin, prepaid, b"\x00" * 32))
            self.send(token.functions.approve(community.address, prepaid))
            self.send(community.functions.deposit(account, prepaid))

    def send(self, call) -> None:
        """Send an admin transaction and wait for it; raise if it reverted."""
        receipt = self.w3.eth.wait_for_transaction_receipt(call.transact({"from": self.admin}))
        if receipt["status"] != 1:
            raise RuntimeError(f"admin transaction reverted: {call.fn_name}")
