"""Energy certificates as the event mirror tells them: who owns each now, its listing, its retirement."""

from __future__ import annotations

from dataclasses import dataclass, replace

from node.mirror.db import MirrorDB

CONTRACT = "EnergyCertificate"
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


@dataclass(frozen=True)
class Certificate:
    """One certificate folded from its events. `price` is set while listed; `retired_by` once retired."""

    token_id: int
    producer: str
    wh: int
    settled_interval: int
    issued_at: int  # the minting block's time
    owner: str | None  # None once burnt (retired)
    price: int | None = None
    retired_by: str | None = None
    beneficiary: str | None = None
    claim: str | None = None
    listed_once: bool = False  # an owner who withdrew a listing keeps it off the market

    @property
    def retired(self) -> bool:
        return self.retired_by is not None


def certificates(mirror: MirrorDB) -> dict[int, Certificate]:
    """Every certificate by id, from the contract's events in chain order (ERC-721 Transfer gives the owner)."""
    out: dict[int, Certificate] = {}
    for event in mirror.events(contract=CONTRACT):
        a = event.args
        token_id = a.get("tokenId")
        if event.event == "CertificateMinted":
            out[token_id] = Certificate(token_id, a["producer"], a["wh"], a["settledInterval"], event.block_time,
                                        a["producer"])
            continue
        found = out.get(token_id)
        if found is None:
            continue
        if event.event == "Transfer":
            out[token_id] = replace(found, owner=None if a["to"] == ZERO_ADDRESS else a["to"])
        elif event.event == "CertificateListed":
            out[token_id] = replace(found, price=a["price"], listed_once=True)
        elif event.event in ("CertificateUnlisted", "CertificateSold"):
            out[token_id] = replace(found, price=None)
        elif event.event == "CertificateRetired":
            out[token_id] = replace(found, retired_by=a["retiredBy"], beneficiary=a["beneficiary"], claim=a["claim"],
                                    price=None)
    return out


def held_by(all_certificates: dict[int, Certificate], account: str) -> list[Certificate]:
    """What `account` owns now and what it retired, newest first."""
    return sorted(
        (c for c in all_certificates.values() if c.owner == account or c.retired_by == account),
        key=lambda c: -c.token_id,
    )


def listings(all_certificates: dict[int, Certificate], account: str) -> list[Certificate]:
    """Other members' certificates for sale, cheapest first."""
    return sorted(
        (c for c in all_certificates.values() if c.price is not None and c.owner not in (None, account)),
        key=lambda c: (c.price, c.token_id),
    )
