"""The checked intervals as CSV, one row each: what `dso check --csv` writes and the DApp exports."""

from __future__ import annotations

import csv
from datetime import datetime, timezone

from node.dso.quantities import flag_names

CSV_COLUMNS = (
    "interval_start_utc", "interval_start_local", "status", "reason", "differences", "meter_import_wh",
    "meter_export_wh", "meter_complete", "chain_reported", "chain_import_wh", "chain_export_wh",
    "chain_allocated_wh", "chain_surplus_wh", "chain_token_delta", "dso_consumption_wh", "dso_share_wh",
    "dso_covered_wh", "dso_surplus_wh", "dso_export_wh", "dso_flags",
)


def write_csv(out, rows, zone) -> None:
    """The checked intervals as CSV, one row each (the columns of CSV_COLUMNS)."""
    def value(x):
        return "" if x is None else ("yes" if x is True else "no" if x is False else x)

    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        moment = datetime.fromtimestamp(row.start, timezone.utc)
        m, c, d = row.meter, row.chain, row.dso
        writer.writerow([value(x) for x in (
            moment.isoformat(), moment.astimezone(zone).isoformat(), row.status, row.reason,
            " ".join(diff.what for diff in row.differences) or None,
            m and m.import_wh, m and m.export_wh, None if m is None else m.complete,
            None if c is None else c.reported, c and c.import_wh, c and c.export_wh, c and c.allocated_wh,
            c and c.surplus_wh, c and c.token_delta,
            d and d.consumption, d and d.share, d and d.covered, d and d.surplus, d and d.export,
            None if d is None else " ".join(flag_names(d.flags)) or None,
        )])
