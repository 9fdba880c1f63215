"""Today's energy for the Now page: grid import and export so far, and how much the community covered.

Self-sufficiency, as the node can measure it:

    self-sufficiency = community allocation ÷ grid import, over today's settled intervals

The meter sits at the grid connection, so it sees only net flows: electricity the household's own
panels produce and use at once never passes it, and the node has no production sensor. What the
node does know is each settled interval's import as the chain settled it (ReadingSubmitted.importWh)
and how much of it the community's production covered (MemberSettled.allocatedWh). Their ratio is
the share of the household's grid import that came from local production.

With behind-the-meter self-consumption S, the true figure would be (S + allocated) / (S + import).
Allocation never exceeds the import it covers, so that is never less than allocated / import: the
figure shown is a lower bound, exact for a household without panels. Only settled intervals count
(numerator and denominator alike), so the last half hour, not settled yet, does not dilute it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo

from dapp.member_flows import Flows
from node.store import calendar
from node.store.store import MeterStore

DEFINITION = ("Self-sufficiency: the share of today's grid import (settled intervals) that the community's "
              "production covered; your own panels' direct use is not metered, so the true share is at least this.")


@dataclass(frozen=True)
class Today:
    """Wh from local midnight to now, in the node's time zone."""

    day: date
    import_wh: int
    export_wh: int
    elapsed_intervals: int  # started so far today, the running one included
    complete_intervals: int  # ... of which fully measured
    settled_intervals: int
    allocated_wh: int  # community production allocated to this member
    settled_import_wh: int  # grid import in the settled intervals
    sold_wh: int  # own export the community took

    @property
    def self_sufficiency(self) -> float | None:
        """allocated ÷ import over settled intervals (see the module's docstring); None without import."""
        return self.allocated_wh / self.settled_import_wh if self.settled_import_wh else None


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
    )


def _utc(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)
