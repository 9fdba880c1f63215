"""What the demo tells its terminal while the community lives: settlements, credits moving,
certificates, peer deals step by step, and the households' relays switching."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from node.chain.contracts import CommunityContracts

CREDIT = 10**18
_DEAL_EVENTS = ("OfferPosted", "OfferAccepted", "DeliveryRecorded", "ExchangeCompleted", "ExchangeExpired",
                "OfferCancelled", "ExchangeCancelled")
_NOBODY = "0x" + "0" * 40


class CommunityNarrator:
    """Turns new chain events and relay switches into one line each; `poll()` returns the new lines."""

    def __init__(self, contracts: CommunityContracts, names: dict[str, str], relay_status: dict[str, Path],
                 from_block: int, timezone: ZoneInfo):
        self.contracts = contracts
        self.names = names  # account -> household
        self.relay_status = relay_status  # household -> its node's status.json
        self.next_block = from_block
        self.timezone = timezone
        community = contracts["Community"]
        self.interval_length = community.functions.intervalLength().call()
        self.member_names = {
            community.functions.memberIdOf(account).call(): name for account, name in names.items()
        }
        self._relays: dict[tuple[str, str], bool] = {}
        self._deals = DealTeller(names, self.interval_length, timezone)

    def poll(self) -> list[str]:
        return self._chain_lines() + self._relay_lines()

    def _chain_lines(self) -> list[str]:
        """The new events' lines in chain order (a deal's delivery is metered before its interval settles)."""
        head = self.contracts.w3.eth.block_number
        if head < self.next_block:
            return []
        span = {"from_block": self.next_block, "to_block": head}
        community, certificate = self.contracts["Community"], self.contracts["EnergyCertificate"]
        settled = community.events.IntervalSettled.get_logs(**span)
        members: dict[int, list] = {}
        for log in community.events.MemberSettled.get_logs(**span):
            members.setdefault(log.args.interval, []).append(log.args)
        lines = [(_place(log), self._settlement(log.args, members.get(log.args.interval, []))) for log in settled]
        for log in certificate.events.CertificateMinted.get_logs(**span):
            a = log.args
            lines.append((_place(log), f"{self._name(a.producer)} certified {a.wh / 1000:.1f} kWh of surplus as"
                                       f" certificate #{a.tokenId}"))
        for log in certificate.events.CertificateSold.get_logs(**span):
            a = log.args
            lines.append((_place(log), f"{self._name(a.buyer)} bought certificate #{a.tokenId} from"
                                       f" {self._name(a.seller)} for {a.price / CREDIT:.4f} credits"))
        if "EnergyExchange" in self.contracts:
            events = self.contracts["EnergyExchange"].events
            lines += [(_place(log), self._deals.line(log.event, log.args))
                      for name in _DEAL_EVENTS for log in getattr(events, name).get_logs(**span)]
        self.next_block = head + 1
        return [line for _, line in sorted(lines, key=lambda entry: entry[0])]

    def _settlement(self, interval, members: list) -> str:
        start = datetime.fromtimestamp(interval.interval * self.interval_length, self.timezone)
        end = datetime.fromtimestamp((interval.interval + 1) * self.interval_length, self.timezone)
        moved = ", ".join(
            f"{self.member_names.get(m.memberId, f'member {m.memberId}')} {m.tokenDelta / CREDIT:+.4f}"
            for m in sorted(members, key=lambda m: m.memberId) if m.tokenDelta
        )
        return (
            f"{start:%a %H:%M}–{end:%H:%M} settled: produced {interval.productionWh / 1000:.2f} kWh,"
            f" shared {interval.allocatedWh / 1000:.2f} kWh; credits {moved or 'unchanged'}"
        )

    def _relay_lines(self) -> list[str]:
        lines = []
        for household, path in self.relay_status.items():
            try:
                relays = json.loads(path.read_text()).get("relays", [])
            except (OSError, ValueError):
                continue  # not written yet, or being replaced
            for relay in relays:
                key = (household, relay["name"])
                if self._relays.get(key, False) != relay["on"]:
                    lines.append(f"{household}: relay {relay['name']} {'ON' if relay['on'] else 'OFF'} ({relay['reason']})")
                self._relays[key] = relay["on"]
        return lines

    def _name(self, account: str) -> str:
        return self.names.get(account, account)


class DealTeller:
    """One line per step of a peer deal, from the EnergyExchange event's name and arguments."""

    def __init__(self, names: dict[str, str], interval_length: int, timezone: ZoneInfo):
        self.names = names
        self.interval_length = interval_length
        self.timezone = timezone
        self._offered: dict[int, int] = {}  # offer id -> Wh, for offers posted while the demo listened

    def line(self, event: str, a) -> str:
        offer = f"offer #{a.offerId}"
        if event == "OfferPosted":
            self._offered[a.offerId] = a.wh
            return (f"{self._name(a.producer)} offers {a.wh} Wh for {self._span(a.firstInterval, a.lastInterval)}"
                    f" at {a.pricePerKWh / CREDIT:.3f} credits/kWh ({offer})")
        if event == "OfferAccepted":
            return (f"{self._name(a.consumer)} accepted {offer} from {self._name(a.producer)}:"
                    f" {a.cost / CREDIT:.4f} credits in escrow")
        if event == "DeliveryRecorded":
            return (f"{offer}: {self._name(a.producer)} delivered {a.wh} Wh to {self._name(a.consumer)} in interval"
                    f" {a.interval} ({self._span(a.interval, a.interval)}) for {a.tokens / CREDIT:.4f} credits")
        if event == "ExchangeCompleted":
            return (f"{offer} completed: {self._name(a.consumer)} received all {a.wh} Wh from {self._name(a.producer)}"
                    f" for {a.cost / CREDIT:.4f} credits")
        if event == "ExchangeExpired":
            if a.consumer == _NOBODY:
                return f"{offer} from {self._name(a.producer)} expired: nobody accepted it"
            of = f" of {self._offered[a.offerId]}" if a.offerId in self._offered else ""
            return (f"{offer} expired: {a.deliveredWh}{of} Wh delivered, {a.refunded / CREDIT:.4f} credits refunded"
                    f" to {self._name(a.consumer)}")
        if event == "OfferCancelled":
            return f"{self._name(a.producer)} withdrew {offer}"
        return (f"{offer} called off by {self._name(a.cancelledBy)}: {a.refunded / CREDIT:.4f} credits back to"
                f" {self._name(a.consumer)}")

    def _span(self, first: int, last: int) -> str:
        start = datetime.fromtimestamp(first * self.interval_length, self.timezone)
        end = datetime.fromtimestamp((last + 1) * self.interval_length, self.timezone)
        return f"{start:%a %H:%M}–{end:%H:%M}"

    def _name(self, account: str) -> str:
        return self.names.get(account, account)


def _place(log) -> tuple[int, int]:
    return log.blockNumber, log.logIndex
