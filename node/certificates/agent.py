"""The producer's side of the certificate market: certify settled surplus once enough has built up, and
offer each new certificate to the neighbours at the configured price."""

from __future__ import annotations

import logging

from web3.contract import Contract

from node.certificates.book import certificates
from node.chain.community import CommunityView
from node.chain.sender import Sent, TransactionFailed, TransactionPending, TransactionSender
from node.config import CertificatesConfig
from node.mirror.db import MirrorDB

log = logging.getLogger(__name__)


class SurplusCertifier:
    """Runs in the node's chain-writing part, with its one sender. Asks the chain once per settled interval."""

    def __init__(self, certificate: Contract, community: CommunityView, sender: TransactionSender, mirror: MirrorDB,
                 settings: CertificatesConfig):
        self.certificate = certificate
        self.community = community
        self.sender = sender
        self.mirror = mirror
        self.settings = settings
        self.account = sender.address
        self.member_id = community.member_id(self.account)
        self._seen_settled: int | None = None
        self._list_once_mirrored: int | None = 0  # a block: at start, list what a crash left unlisted

    def tick(self) -> None:
        settled = self.community.last_settled_interval()
        if settled != self._seen_settled:
            self._seen_settled = settled
            self._mint_surplus()
        if self._list_once_mirrored is not None and self.settings.list_price_per_kwh:
            cursor = self.mirror.cursor
            if cursor is not None and cursor >= self._list_once_mirrored:
                self._list_new()
                self._list_once_mirrored = None

    def _mint_surplus(self) -> None:
        surplus_wh = self.community.ledger(self.member_id).surplus_wh
        if surplus_wh < self.settings.min_wh:
            return
        sent = self._try(self.certificate.functions.mint(surplus_wh), f"certifying {surplus_wh} Wh of surplus")
        if sent is not None:
            log.info("minted a certificate for %d Wh of surplus", surplus_wh)
            self._list_once_mirrored = sent.block_number

    def _list_new(self) -> None:
        """List my certificates that were never listed (an owner's withdrawn listing stays withdrawn)."""
        for cert in certificates(self.mirror).values():
            if cert.producer == self.account and cert.owner == self.account and not cert.listed_once:
                price = cert.wh * self.settings.list_price_per_kwh // 1000
                if price > 0:
                    self._try(self.certificate.functions.list(cert.token_id, price), f"listing certificate {cert.token_id}")

    def _try(self, call, purpose: str) -> Sent | None:
        try:
            return self.sender.transact(call, purpose)
        except (TransactionFailed, TransactionPending) as failure:
            log.warning("%s", failure)
            return None
