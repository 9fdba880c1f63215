"""The node's one transaction sender: it alone signs with the node key and owns the account's nonce.

Every part of the node that writes to the chain (interval submission, settlement, exchanges) goes
through one `TransactionSender`, so two parts never pick the same nonce.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Callable

import requests
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, TimeExhausted, Web3RPCError

from node.chain.client import ChainUnreachable
from node.chain.contracts import CommunityContracts, CustomError
from node.errors import ChainError

log = logging.getLogger(__name__)


class TransactionFailed(ChainError):
    """A transaction was refused or reverted; `error` names the contract's custom error if known."""

    def __init__(self, purpose: str, reason: str, error: CustomError | None = None):
        super().__init__(f"{purpose} failed: {error or reason}")
        self.purpose = purpose
        self.error = error


class TransactionPending(ChainError):
    """A transaction was broadcast but not mined in time; it may still be mined later."""


@dataclass(frozen=True)
class Sent:
    """A mined transaction."""

    tx_hash: str
    block_number: int
    gas_used: int


# Called with (tx hash, nonce) after signing and before broadcasting, so a crash between the two
# still leaves a record of what may be on its way.
BeforeBroadcast = Callable[[str, int], None]


class TransactionSender:
    """Signs, broadcasts and waits for the node's transactions, one at a time."""

    def __init__(
        self,
        w3: Web3,
        account: LocalAccount,
        contracts: CommunityContracts,
        receipt_timeout: float = 30.0,
        gas_margin: float = 1.3,
    ):
        self.w3 = w3
        self.account = account
        self.contracts = contracts
        self.receipt_timeout = receipt_timeout
        self.gas_margin = gas_margin
        self._lock = threading.Lock()
        self._nonce: int | None = None

    @property
    def address(self) -> str:
        return self.account.address

    def transact(self, call: ContractFunction, purpose: str, before_broadcast: BeforeBroadcast | None = None) -> Sent:
        """Send `call` and wait until it is mined; raises TransactionFailed with the decoded error."""
        with self._lock:
            try:
                return self._transact(call, purpose, before_broadcast)
            except (requests.ConnectionError, requests.Timeout) as error:
                self._nonce = None
                raise ChainUnreachable(f"{purpose}: the chain client stopped answering ({type(error).__name__})") from error

    def _transact(self, call: ContractFunction, purpose: str, before_broadcast: BeforeBroadcast | None) -> Sent:
        if self._nonce is None:
            self._nonce = self.w3.eth.get_transaction_count(self.account.address, "pending")
        try:
            gas = call.estimate_gas({"from": self.account.address})
        except ContractLogicError as error:
            raise TransactionFailed(purpose, str(error), self.contracts.decode_error(_revert_data(error))) from error
        tx = call.build_transaction(
            {
                "from": self.account.address,
                "nonce": self._nonce,
                "gas": int(gas * self.gas_margin),
                "gasPrice": self.w3.eth.gas_price,
                "chainId": self.w3.eth.chain_id,
            }
        )
        signed = self.account.sign_transaction(tx)
        tx_hash = "0x" + signed.hash.hex().removeprefix("0x")
        if before_broadcast:
            before_broadcast(tx_hash, self._nonce)
        try:
            self.w3.eth.send_raw_transaction(signed.raw_transaction)
        except Web3RPCError as error:
            self._nonce = None  # whatever the node thinks, ask the chain again next time
            raise TransactionFailed(purpose, _rpc_message(error)) from error
        self._nonce += 1
        log.info("%s: sent %s (nonce %d)", purpose, tx_hash, tx["nonce"])
        try:
            receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=self.receipt_timeout, poll_latency=0.1)
        except TimeExhausted as error:
            raise TransactionPending(f"{purpose}: {tx_hash} not mined after {self.receipt_timeout:.0f} s") from error
        if receipt["status"] != 1:
            # Mined but reverted: state moved between the estimate and the block (a race, e.g. two
            # nodes settling at once). Replaying the call on the block's state names the error.
            raise TransactionFailed(purpose, f"reverted in block {receipt['blockNumber']}", self._why_reverted(call, receipt))
        return Sent(tx_hash, receipt["blockNumber"], receipt["gasUsed"])

    def _why_reverted(self, call: ContractFunction, receipt) -> CustomError | None:
        try:
            call.call({"from": self.account.address}, block_identifier=receipt["blockNumber"])
        except ContractLogicError as error:
            return self.contracts.decode_error(_revert_data(error))
        except Exception:
            return None
        return None

    def receipt_status(self, tx_hash: str) -> bool | None:
        """True/False once a transaction is mined (success or revert), None if unknown or pending."""
        try:
            receipt = self.w3.eth.get_transaction_receipt(tx_hash)
        except Exception:
            return None
        return receipt["status"] == 1


def _revert_data(error: ContractLogicError) -> str | None:
    data = error.data
    if isinstance(data, dict):  # some clients nest it
        data = data.get("data")
    return data if isinstance(data, str) else None


def _rpc_message(error: Web3RPCError) -> str:
    message = error.rpc_response.get("error", {}).get("message") if error.rpc_response else None
    return message or str(error)
