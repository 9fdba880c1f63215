"""Today's energy for the Now page: grid import and export so far, and how much local production covered.

Self-sufficiency, as the node can measure it:

    self-sufficiency = (from peer deals + community allocation) ÷ grid import, over today's settled intervals

The meter sits at the grid connection, so it sees only net flows: electricity the household's own
panels produce and use at once never passes it, and the node has no production sensor. What the
node does know is each settled interval's import as the chain settled it (ReadingSubmitted.importWh),
how much of it peer deals delivered (DeliveryRecorded.wh, metered first) and how much of the rest the
community's production covered (MemberSettled.allocatedWh). Both are local production: their sum
over import is the share of the household's grid import that came from neighbours.

With behind-the-meter self-consumption S and local energy L, the true figure would be (S + L) / (S + import).
L never exceeds the import it covers, so that is never less than L / import: the figure shown is a
lower bound, exact for a household without panels. Only settled intervals count (numerator and
denominator alike), so the last half hour, not settled yet, does not dilute it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo

from dapp.member_flows import Flows
from node.store import calendar
from node.store.store import MeterStore

DEFINITION = ("Self-sufficiency: the share of today's grid import (settled intervals) that the community's "
              "production covered, through the community key or your peer deals; your own panels' direct use is "
              "not metered, so the true share is at least this.")


@dataclass(frozen=True)
class Today:
    """Wh from local midnight to now, in the node's time zone."""

    day: date
    import_wh: int
    export_wh: int
    elapsed_intervals: int  # started so far today, the running one included
    complete_intervals: int  # ... of which fully measured
    settled_intervals: int
    allocated_wh: int  # community production allocated to this member by the key (deals excluded)
    settled_import_wh: int  # grid import in the settled intervals
    sold_wh: int  # own export the community took
    from_deals_wh: int = 0  # delivered to this member under its peer deals, in the settled intervals
    to_deals_wh: int = 0  # own export delivered under its peer deals, in the settled intervals

    @property
    def local_wh(self) -> int:
        """Import covered by local production: peer deals and the community key."""
        return self.from_deals_wh + self.allocated_wh

    @property
    def self_sufficiency(self) -> float | None:
        """local ÷ import over settled intervals (see the module's docstring); None without import."""
        return self.local_wh / self.settled_import_wh if self.settled_import_wh else None


def local_day(moment: float, zone: tzinfo) -> date:
    return datetime.fromtimestamp(moment, zone).date()


def today(store: MeterStore, flows: Flows, now: float, zone: tzinfo) -> Today:
    """Today's figures at node time `now`; the running interval counts with what was measured so far."""
    day = local_day(now, zone)
    length = store.settings.interval
    begin = calendar.local_midnight(day, zone)
    running_end = (int(now) // length + 1) * length
    intervals = store.interval_energy(_utc(begin), _utc(running_end))
    first, stop = begin // length, calendar.local_midnight(day + timedelta(days=1), zone) // length
    settled = [i for i in range(first, stop) if i in flows.allocated]
    return Today(
        day=day,
        import_wh=sum(e.import_wh or 0 for e in intervals),
        export_wh=sum(e.export_wh or 0 for e in intervals),
        elapsed_intervals=len(intervals),
        complete_intervals=sum(e.complete for e in intervals),
        settled_intervals=len(settled),
        allocated_wh=sum(flows.allocated[i] for i in settled),
        settled_import_wh=sum(flows.settled_import[i] for i in settled),
        sold_wh=flows.total(flows.sold, first, stop),
        from_deals_wh=sum(flows.dealt_import.get(i, 0) for i in settled),
        to_deals_wh=sum(flows.dealt_export.get(i, 0) for i in settled),
    )


def _utc(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)
