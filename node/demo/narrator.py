"""What the demo tells its terminal while the community lives: settlements, credits moving,
certificates, and the prosumer's relays switching."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from node.chain.contracts import CommunityContracts

CREDIT = 10**18


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

    def poll(self) -> list[str]:
        return self._chain_lines() + self._relay_lines()

    def _chain_lines(self) -> list[str]:
        head = self.contracts.w3.eth.block_number
        if head < self.next_block:
            return []
        span = {"from_block": self.next_block, "to_block": head}
        community, certificate = self.contracts["Community"], self.contracts["EnergyCertificate"]
        settled = {log.args.interval: log.args for log in community.events.IntervalSettled.get_logs(**span)}
        members: dict[int, list] = {}
        for log in community.events.MemberSettled.get_logs(**span):
            members.setdefault(log.args.interval, []).append(log.args)
        lines = [self._settlement(settled[interval], members.get(interval, [])) for interval in sorted(settled)]
        for log in certificate.events.CertificateMinted.get_logs(**span):
            a = log.args
            lines.append(f"{self._name(a.producer)} certified {a.wh / 1000:.1f} kWh of surplus as certificate #{a.tokenId}")
        for log in certificate.events.CertificateSold.get_logs(**span):
            a = log.args
            lines.append(f"{self._name(a.buyer)} bought certificate #{a.tokenId} from {self._name(a.seller)}"
                         f" for {a.price / CREDIT:.4f} credits")
        self.next_block = head + 1
        return lines

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
