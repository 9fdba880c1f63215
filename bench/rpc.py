"""A small JSON-RPC client with batching, for benchmarks that send tens of thousands of transactions."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any, Sequence

from web3 import Web3

BUILD = Path(".build/__local__.json")


class RpcError(RuntimeError):
    """The chain answered a request with an error."""


class Rpc:
    def __init__(self, url: str):
        self.url = url
        self._id = 0

    def call(self, method: str, *params) -> Any:
        return self.batch([(method, list(params))])[0]

    def batch(self, requests: Sequence[tuple[str, list]]) -> list[Any]:
        payload = []
        for method, params in requests:
            self._id += 1
            payload.append({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params})
        request = urllib.request.Request(self.url, json.dumps(payload).encode(), {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=600) as response:
            answers = sorted(json.load(response), key=lambda a: a["id"])
        errors = [a["error"] for a in answers if "error" in a]
        if errors:
            raise RpcError(f"{len(errors)} of {len(answers)} requests failed, first: {errors[0]}")
        return [a["result"] for a in answers]


class Chain:
    """Anvil with impersonation: any address can send, so member accounts need no keys."""

    def __init__(self, url: str):
        self.rpc = Rpc(url)
        self.web3 = Web3()  # offline: only for ABI encoding
        self.artifacts = json.loads(BUILD.read_text())["contractTypes"]
        self.rpc.call("anvil_autoImpersonateAccount", True)
        # Mine explicitly: automine stalls when a batch delivers one sender's nonces out of order.
        self.rpc.call("evm_setAutomine", False)

    def contract(self, name: str, address: str | None = None):
        return self.web3.eth.contract(address=address, abi=self.artifacts[name]["abi"])

    def deploy(self, name: str, sender: str, *args) -> str:
        bytecode = self.artifacts[name]["deploymentBytecode"]["bytecode"]
        factory = self.web3.eth.contract(abi=self.artifacts[name]["abi"], bytecode=bytecode)
        data = factory.constructor(*args).data_in_transaction
        receipt = self.transact_all([(sender, None, data)], gas_limit=15_000_000)[0]
        return Web3.to_checksum_address(receipt["contractAddress"])

    def transact_all(
        self, calls: Sequence[tuple[str, str | None, str]], gas_limit: int = 1_000_000, chunk: int = 500
    ) -> list[dict]:
        """Send (sender, to, data) transactions in order and return their receipts. Anvil packs pending
        transactions into blocks by their gas limit, so keep `gas_limit` realistic."""
        receipts = []
        senders = sorted({s for s, _, _ in calls})
        counts = self.rpc.batch([("eth_getTransactionCount", [s, "pending"]) for s in senders])
        nonces = {s: int(c, 16) for s, c in zip(senders, counts)}
        for start in range(0, len(calls), chunk):
            requests = []
            for sender, to, data in calls[start:start + chunk]:
                tx = {"from": sender, "data": data, "gas": hex(gas_limit), "nonce": hex(nonces[sender])}
                if to:
                    tx["to"] = to
                nonces[sender] += 1
                requests.append(("eth_sendTransaction", [tx]))
            hashes = self.rpc.batch(requests)
            receipts += self._receipts(hashes)
        failed = [r for r in receipts if int(r["status"], 16) != 1]
        if failed:
            raise RpcError(f"{len(failed)} transactions reverted, first: {failed[0]['transactionHash']}")
        return receipts

    def _receipts(self, hashes: Sequence[str], timeout: float = 120.0) -> list[dict]:
        # anvil mines asynchronously after accepting a transaction: poll until every receipt exists.
        deadline = time.monotonic() + timeout
        while True:
            receipts = self.rpc.batch([("eth_getTransactionReceipt", [h]) for h in hashes])
            if all(receipts):
                return receipts
            self.rpc.call("evm_mine")
            if time.monotonic() > deadline:
                raise RpcError(f"{receipts.count(None)} transactions not mined within {timeout:.0f} s")

    def call_data(self, contract, fn: str, *args) -> str:
        return contract.encode_abi(fn, args=list(args))

    def view(self, contract, fn: str, *args) -> Any:
        """The decoded result of a view function, called on the chain's latest block."""
        data = self.call_data(contract, fn, *args)
        raw = self.rpc.call("eth_call", {"to": contract.address, "data": data}, "latest")
        outputs = [o["type"] for o in contract.get_function_by_name(fn).abi["outputs"]]
        values = self.web3.codec.decode(outputs, bytes.fromhex(raw[2:]))
        return values[0] if len(values) == 1 else values

    def fund(self, addresses: Sequence[str], wei: int = 10**20) -> None:
        self.rpc.batch([("anvil_setBalance", [a, hex(wei)]) for a in addresses])

    def warp_to(self, timestamp: int) -> None:
        self.rpc.call("evm_setNextBlockTimestamp", hex(timestamp))
        self.rpc.call("evm_mine")

    def timestamp(self) -> int:
        return int(self.rpc.call("eth_getBlockByNumber", "latest", False)["timestamp"], 16)


def gas(receipts: Sequence[dict]) -> int:
    return sum(int(r["gasUsed"], 16) for r in receipts)
