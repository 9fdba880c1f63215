"""The SQLite store: batching, interval energy, retention, aggregates and meter swaps, on real files."""

import sqlite3
from datetime import date, timedelta

from node.meter.decoder import MeterDecoder
from node.meter.dsmr.timestamps import METER_TIMEZONE
from node.meter.simulator.household import PROFILES, Household
from node.meter.simulator.meter import SimulatedMeter
from node.store.intervals import RegisterPoint, interval_rows

DAY = 86400


def count_rows(path, table="readings") -> int:
    """Rows as another process would see them."""
    connection = sqlite3.connect(path)
    try:
        return connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        connection.close()


def feed(store, clock, samples):
    for sample in samples:
        clock.now = sample.ts
        store.add_sample(sample)


def test_readings_are_written_in_batches_not_one_by_one(open_store, clock, steady, start, tmp_path):
    store = open_store(batch_size=100, flush_every=3600)
    samples = steady(int(start.timestamp()), 100, step=1)

    feed(store, clock, samples[:99])
    before = count_rows(tmp_path / "meter.db")
    feed(store, clock, samples[99:])
    after = count_rows(tmp_path / "meter.db")

    assert (before, after) == (0, 100)


def test_a_quiet_meter_still_gets_its_batch_written_after_flush_every_seconds(open_store, clock, steady, start, tmp_path):
    store = open_store(batch_size=1000, flush_every=10)
    samples = steady(int(start.timestamp()), 12, step=1)

    feed(store, clock, samples)

    assert count_rows(tmp_path / "meter.db") == 11  # the eleventh reading was 10 s after the last flush


def test_simulated_day_gives_interval_energy_equal_to_the_meters_registers(open_store, clock, start):
    store = open_store()
    meter = SimulatedMeter(Household(PROFILES["prosumer"], 21), start, interval=10)
    decoder = MeterDecoder()
    readings = []
    for _ in range(8640):
        moment, telegram = meter.step()
        clock.now = moment.timestamp()
        for reading in decoder.feed(telegram):
            store.add(reading)
            readings.append(reading)

    intervals = store.interval_energy(start, start + timedelta(days=1))

    def wh(reading, codes):
        return int(sum(reading.values[code].value for code in codes) * 1000)

    imports, exports = ("1-0:1.8.1", "1-0:1.8.2"), ("1-0:2.8.1", "1-0:2.8.2")
    assert len(intervals) == 96
    assert sum(i.import_wh for i in intervals) == wh(readings[-1], imports) - wh(readings[0], imports)
    assert sum(i.export_wh for i in intervals) == wh(readings[-1], exports) - wh(readings[0], exports)
    assert [i.complete for i in intervals] == [False] + [True] * 95
    assert intervals[0].issues == ("late_start",)  # the first reading came 10 s after midnight
    assert min(min(i.import_wh, i.export_wh) for i in intervals) >= 0


def test_interval_energy_reports_per_interval_import_export_and_completeness(open_store, clock, steady, start):
    store = open_store()
    t0 = int(start.timestamp())
    feed(store, clock, steady(t0, 2 * 90 + 1, import_w=1200, export_w=400))

    first, second, running = store.interval_energy(start, start + timedelta(minutes=45))

    assert (first.start, first.end) == (start, start + timedelta(minutes=15))
    assert (first.import_wh, first.export_wh, first.complete) == (300, 100, True)
    assert (second.import_wh, second.export_wh, second.complete) == (300, 100, True)
    assert (running.import_wh, running.complete, running.issues) == (None, False, ("early_end",))


def test_interval_still_running_is_worked_out_live_and_incomplete(open_store, clock, steady, start):
    store = open_store()
    feed(store, clock, steady(int(start.timestamp()), 46, import_w=3600))  # 7.5 minutes

    [running] = store.interval_energy(start, start + timedelta(minutes=15))

    assert (running.import_wh, running.complete, running.issues) == (450, False, ("early_end",))


def test_meter_swap_gives_no_negative_or_huge_interval(open_store, clock, steady, start):
    store = open_store()
    t0 = int(start.timestamp())
    feed(store, clock, steady(t0, 45, meter="OLD", import_wh=7_654_321))
    feed(store, clock, steady(t0 + 450, 46, meter="NEW", import_wh=0))
    feed(store, clock, steady(t0 + 900, 91, meter="NEW", import_wh=75))

    swap, after = store.interval_energy(start, start + timedelta(minutes=30))

    # What each meter counted on its own side of the swap; the unknown step between them is left out.
    assert (swap.import_wh, swap.complete, swap.issues) == (44 * 10 * 600 // 3600 + 450 * 600 // 3600, False, ("meter_changed",))
    assert (after.import_wh, after.complete) == (150, True)


def test_readings_older_than_retention_are_thinned_to_one_a_minute_keeping_interval_energy(open_store, clock, steady, start):
    store = open_store(retention=DAY)
    t0 = int(start.timestamp())
    feed(store, clock, steady(t0, 3 * 8640 + 1, import_w=900, export_w=300))
    recorded = store.interval_energy(start, start + timedelta(days=1))

    clock.now = t0 + 3 * DAY + 1
    store.maintain()

    old = store.readings(start, start + timedelta(days=1))
    recent = store.readings(start + timedelta(days=2, hours=1), start + timedelta(days=2, hours=2))
    assert len(old) == 1440
    assert all(sample.ts % 60 == 0 for sample in old)  # the last reading of each minute, here on :00
    assert len(recent) == 360
    points = [RegisterPoint(s.ts, s.meter_id, s.import_wh, s.export_wh) for s in store.readings(start - timedelta(hours=1), start + timedelta(days=1, minutes=1))]
    recomputed = interval_rows(points, t0, t0 + DAY, 900, max_gap=60, max_power_w=100_000)
    assert [(r.import_wh, r.export_wh) for r in recomputed][1:] == [(i.import_wh, i.export_wh) for i in recorded][1:]


def test_aggregates_sum_intervals_by_local_day_week_month_and_year(open_store, clock, steady, start):
    store = open_store(retention=DAY)
    t0 = int(start.timestamp())
    feed(store, clock, steady(t0, 2 * 8640 + 1, import_w=1000, export_w=250))
    store.flush()

    day = store.aggregate("day", date(2024, 6, 3))
    week = store.aggregate("week", date(2024, 6, 5))
    month = store.aggregate("month", date(2024, 6, 30))
    year = store.aggregate("year", date(2024, 1, 1))

    assert (day.import_wh, day.export_wh, day.complete_intervals, day.expected_intervals) == (24_000, 6_000, 96, 96)
    assert [b.import_wh for b in day.buckets] == [1000] * 24
    assert (week.first_day, week.import_wh, week.complete_intervals, week.expected_intervals) == (date(2024, 6, 3), 48_000, 192, 672)
    assert [b.import_wh for b in week.buckets] == [24_000, 24_000, 0, 0, 0, 0, 0]
    assert (month.import_wh, month.expected_intervals, len(month.buckets)) == (48_000, 30 * 96, 30)
    assert (year.import_wh, year.expected_intervals, len(year.buckets)) == (48_000, 366 * 96, 12)
    assert [b.import_wh for b in year.buckets][5] == 48_000
    assert not week.complete and day.complete


def test_dst_days_expect_92_and_100_intervals(open_store):
    store = open_store()

    spring = store.aggregate("day", date(2024, 3, 31))
    autumn = store.aggregate("day", date(2024, 10, 27))

    assert (spring.expected_intervals, len(spring.buckets)) == (92, 23)
    assert (autumn.expected_intervals, len(autumn.buckets)) == (100, 25)


def test_store_reopened_goes_on_where_it_stopped(open_store, clock, steady, start):
    t0 = int(start.timestamp())
    samples = steady(t0, 181, import_w=2000)
    first = open_store()
    feed(first, clock, samples[:100])
    first.close()

    second = open_store()
    feed(second, clock, samples[100:])

    assert [i.import_wh for i in second.interval_energy(start, start + timedelta(minutes=30))] == [500, 500]
    assert second.latest() == samples[-1]


def test_reading_with_an_implausible_clock_is_refused_and_counted(open_store, clock, steady, start):
    store = open_store()
    [sample] = steady(int(start.timestamp()) + 5 * DAY, 1)

    accepted = store.add_sample(sample)

    assert accepted is False
    assert store.refused == {"meter clock too far from the host clock": 1}


def test_reading_without_time_or_registers_is_refused_and_counted(open_store):
    from node.meter.reading import Reading

    store = open_store()

    accepted = store.add(Reading("E1", None, {}))

    assert accepted is False
    assert store.refused == {"the reading has no valid timestamp and no receive time was given": 1}


def test_times_are_stored_as_utc_and_returned_as_aware_datetimes(open_store, clock, steady, start):
    store = open_store()
    feed(store, clock, steady(int(start.timestamp()), 91))

    [interval] = store.interval_energy(start, start + timedelta(minutes=15))

    assert interval.start == start
    assert interval.start.astimezone(METER_TIMEZONE).hour == 0
