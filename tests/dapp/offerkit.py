"""Fabricated EnergyExchange events for DApp tests, with the contract's arithmetic, written into a
real MirrorDB; what market tests check (refusals); and a household's DApp on anvil."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

from dappkit import PASSWORD, AuthActions
from eth_utils import keccak
from ledgerkit import write_new_events

from dapp import create_app
from dapp.cli import set_password
from dapp.services import NodeServices
from node import config as config_module
from node.actions.queue import ActionQueue
from node.actions.runner import ActionRunner
from node.chain.contracts import CommunityContracts, load_abis
from node.chain.devnet import MANIFEST
from node.chain.sender import TransactionSender
from node.mirror.db import MirroredEvent, MirrorDB
from node.mirror.mirror import EventMirror
from node.submit.outbox import Outbox

ZERO = "0x0000000000000000000000000000000000000000"


class Exchange:
    """Members and an exchange's event log, one block per transaction, tracking each offer as the
    contract does so that DeliveryRecorded and ExchangeExpired carry exactly its figures."""

    def __init__(self, block_time: int = 1_767_000_000):
        self.events: list[MirroredEvent] = []
        self.block = 0
        self.block_time = block_time
        self.offers: dict[int, dict] = {}
        self.members = 0

    def _emit(self, contract: str, *events: tuple[str, dict]) -> None:
        self.block += 1
        block_hash = "0x" + keccak(self.block.to_bytes(8, "big")).hex()
        for log_index, (name, args) in enumerate(events):
            at = self.block_time + self.block
            self.events.append(MirroredEvent(self.block, log_index, block_hash, at, block_hash, contract, name, args))

    def member(self, account: str, producer: bool, consumer: bool = True) -> int:
        self.members += 1
        m = self.members
        self._emit("Community",
                   ("MemberAdded", {"memberId": m, "account": account,
                                    "meterIdHash": "0x" + keccak(text=account).hex()}),
                   ("MemberProfileChanged", {"memberId": m, "producer": producer, "consumer": consumer,
                                             "coefficientPpm": 0, "priority": 0}))
        return m

    def post(self, producer: str, wh: int, price_per_kwh: int, first: int, last: int) -> int:
        offer_id = len(self.offers) + 1
        self.offers[offer_id] = dict(producer=producer, consumer=ZERO, wh=wh, price=price_per_kwh, delivered=0)
        self._emit("EnergyExchange", ("OfferPosted", {"offerId": offer_id, "producer": producer, "wh": wh,
                                                      "pricePerKWh": price_per_kwh, "firstInterval": first,
                                                      "lastInterval": last}))
        return offer_id

    def cost(self, offer_id: int) -> int:
        o = self.offers[offer_id]
        return o["wh"] * o["price"] // 1000

    def accept(self, offer_id: int, consumer: str) -> int:
        o = self.offers[offer_id]
        o["consumer"] = consumer
        self._emit("EnergyExchange", ("OfferAccepted", {"offerId": offer_id, "producer": o["producer"],
                                                        "consumer": consumer, "cost": self.cost(offer_id)}))
        return self.cost(offer_id)

    def deliver(self, offer_id: int, interval: int, wh: int) -> int:
        """Meters `wh` for `interval`; pays ⌊cost · delivered / wh⌋ cumulatively; completes a full delivery."""
        o = self.offers[offer_id]
        cost, before = self.cost(offer_id), o["delivered"]
        o["delivered"] = before + wh
        tokens = cost * o["delivered"] // o["wh"] - cost * before // o["wh"]
        parties = {"producer": o["producer"], "consumer": o["consumer"]}
        events = [("DeliveryRecorded",
                   {"offerId": offer_id, **parties, "interval": interval, "wh": wh, "tokens": tokens})]
        if o["delivered"] == o["wh"]:
            events.append(("ExchangeCompleted", {"offerId": offer_id, **parties, "wh": o["wh"], "cost": cost}))
        self._emit("EnergyExchange", *events)
        return tokens

    def expire(self, offer_id: int) -> int:
        """Closes after the window: the consumer gets back what was not paid for."""
        o = self.offers[offer_id]
        cost = self.cost(offer_id) if o["consumer"] != ZERO else 0
        refunded = cost - cost * o["delivered"] // o["wh"]
        self._emit("EnergyExchange", ("ExchangeExpired", {"offerId": offer_id, "producer": o["producer"],
                                                          "consumer": o["consumer"], "deliveredWh": o["delivered"],
                                                          "refunded": refunded}))
        return refunded

    def cancel(self, offer_id: int, by: str) -> None:
        o = self.offers[offer_id]
        if o["consumer"] == ZERO:
            self._emit("EnergyExchange", ("OfferCancelled", {"offerId": offer_id, "producer": o["producer"]}))
        else:
            self._emit("EnergyExchange", ("ExchangeCancelled", {"offerId": offer_id, "producer": o["producer"],
                                                                "consumer": o["consumer"], "cancelledBy": by,
                                                                "refunded": self.cost(offer_id)}))

    def write(self, path: Path) -> None:
        """Append the events not written yet to the mirror at `path`."""
        write_new_events(path, self.events, self.block)


def know_interval_length(config, current: int, length: int = 900) -> None:
    """The node has met the chain: its outbox knows the community's interval length."""
    outbox = Outbox(config.outbox_path)
    try:
        outbox.start_at(current, length)
    finally:
        outbox.close()


def refused(response, status: int = 400) -> str:
    assert response.status_code == status
    return response.get_data(as_text=True)


class Household:
    """One household on a real chain: its DApp (test client, logged in), its event mirror and its
    node's action runner; node time follows the chain's."""

    def __init__(self, root: Path, name: str, account, rpc: str, deployment, w3, clock):
        root.mkdir()
        (root / "deployment.json").write_text(json.dumps(asdict(deployment)))
        (root / "node.toml").write_text(
            f'[node]\nname = "{name}"\ndata_dir = "data"\n'
            f'[chain]\nrpc = "{rpc}"\ndeployment = "deployment.json"\nmanifest = "{MANIFEST}"\nkeystore = "key.json"\n'
        )
        self.config = config_module.load(root / "node.toml")
        set_password(self.config, PASSWORD)
        self.account = account
        self.services = NodeServices(self.config, account.address, clock, wall=time.time)
        self.client = create_app({"TESTING": True}, services=self.services).test_client()
        self.auth = AuthActions(self.client)
        self.auth.login()
        contracts = CommunityContracts(w3, deployment, load_abis(MANIFEST))
        self.mirror_db = MirrorDB(self.config.mirror_path)
        self.mirror = EventMirror(w3, contracts, self.mirror_db)
        self.queue = ActionQueue(self.config.actions_path, time.time)
        self.runner = ActionRunner(self.queue, contracts, TransactionSender(w3, account, contracts), time.time)

    def page(self, path: str = "/market/") -> str:
        return self.client.get(path).get_data(as_text=True)

    def last_action(self):
        return self.queue.recent(1)[0]

    def close(self) -> None:
        self.queue.close()
        self.mirror_db.close()
        self.services.close()
