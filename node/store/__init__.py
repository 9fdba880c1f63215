"""The node's local store of meter data (SQLite via sqlite-utils, WAL)."""

from node.store.samples import Sample, sample_from_reading
from node.store.store import Aggregate, Bucket, IntervalEnergy, MeterStore, StoreSettings

__all__ = ["Aggregate", "Bucket", "IntervalEnergy", "MeterStore", "Sample", "StoreSettings", "sample_from_reading"]
