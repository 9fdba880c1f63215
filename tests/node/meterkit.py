"""Writing a household's meter readings straight into its store (test support)."""

from __future__ import annotations

from node.store.samples import Sample
from node.store.store import MeterStore


class SteadyMeter:
    """A meter whose household draws or feeds in constant power; cumulative registers in Wh."""

    def __init__(self, store: MeterStore, meter_id: str = "E0001"):
        self.store = store
        self.meter_id = meter_id
        self.import_mwh = 10_000_000
        self.export_mwh = 5_000_000
        self.ts: int | None = None

    def run(self, until: float, import_w: float = 0.0, export_w: float = 0.0, step: int = 10) -> None:
        """Readings every `step` seconds up to `until` (inclusive), then written to the store."""
        if self.ts is None:
            self.ts = int(until) - int(until) % step
            self._emit(0, 0)
        while self.ts + step <= until:
            self.ts += step
            self.import_mwh += import_w * step * 1000 / 3600
            self.export_mwh += export_w * step * 1000 / 3600
            self._emit(import_w, export_w)
        self.store.flush()

    def skip_to(self, moment: float) -> None:
        """The meter was unplugged until `moment`."""
        self.ts = int(moment)

    def _emit(self, import_w: float, export_w: float) -> None:
        self.store.add_sample(
            Sample(self.ts, self.meter_id, int(self.import_mwh + 1e-6) // 1000, int(self.export_mwh + 1e-6) // 1000, int(import_w), int(export_w))
        )
