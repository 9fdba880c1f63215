"""`gridcommons meter import`: P1 captures and CSV register exports into the store, on real SQLite files."""

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from node.cli import main
from node.import_progress import ImportProgress
from node.meter.decoder import MeterDecoder
from node.meter.dlms.ciphering import MeterKeys
from node.meter.dsmr.timestamps import METER_TIMEZONE
from node.meter.reading import Reading
from node.meter.simulator.household import PROFILES, Household
from node.meter.simulator.meter import Encryption, SimulatedMeter
from node.store import MeterStore, Sample, StoreSettings, sample_from_reading
from node.store.csv_registers import UnusableHeader
from node.store.history_import import import_history

NOW = datetime(2024, 6, 10, 12, 0, tzinfo=METER_TIMEZONE).timestamp()
YESTERDAY = datetime(2024, 6, 9, tzinfo=METER_TIMEZONE)  # inside the 7-day retention window: kept raw
LAST_MONTH = datetime(2024, 5, 1, tzinfo=METER_TIMEZONE)  # older: thinned to one reading a minute
HEADER = "timestamp;import_t1_kwh;import_t2_kwh;export_t1_kwh;export_t2_kwh;import_w;export_w;meter_id"
KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
GRIDCOMMONS = str(Path(sys.executable).with_name("gridcommons"))


def clock() -> float:
    return NOW


def telegrams(start: datetime, count: int, interval: int = 10, seed: int = 3, encryption=None):
    """What a simulated prosumer's meter sends, and the meter (for its registers afterwards)."""
    meter = SimulatedMeter(Household(PROFILES["prosumer"], seed), start, interval=interval, encryption=encryption)
    return [meter.step()[1] for _ in range(count)], meter


def decoded(data: bytes, keys=None) -> list[Sample]:
    """The samples the meter decoder alone makes of the same bytes."""
    decoder = MeterDecoder(keys=keys)
    return [sample_from_reading(event) for event in decoder.feed(data) + decoder.finish() if isinstance(event, Reading)]


def run_import(path, db, **options):
    problems = []
    with MeterStore(db, clock=clock) as store:
        report = import_history(path, store, clock, on_problem=problems.append, **options)
    return report, [(problem.where, problem.reason) for problem in problems]


def query(db, sql: str) -> list:
    connection = sqlite3.connect(db)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def readings(db) -> list:
    return query(db, "SELECT ts, meter, import_wh, export_wh, import_w, export_w, samples FROM readings ORDER BY ts")


def intervals(db) -> list:
    return query(db, "SELECT * FROM intervals ORDER BY start")


def csv_rows(start: datetime, count: int, step: int = 10, import_w: int = 720, first_wh: int = 1_000_000) -> list[str]:
    """Rows of a constant load, registers in kWh with a decimal comma, as a Dutch export writes them."""
    rows = []
    for index in range(count):
        wh = first_wh + index * step * import_w // 3600
        moment = (start + timedelta(seconds=index * step)).isoformat()
        rows.append(f"{moment};{wh // 1000},{wh % 1000:03d};0;0,500;0;{import_w};0;E0044007")
    return rows


def write_csv(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


# -- P1 captures -------------------------------------------------------------------------------


def test_a_simulated_p1_capture_stores_every_telegram_as_the_meter_decoder_reads_it(tmp_path):
    sent, meter = telegrams(YESTERDAY, 360)
    capture = tmp_path / "p1.txt"
    capture.write_bytes(b"".join(sent))

    report, problems = run_import(capture, tmp_path / "meter.db")

    with MeterStore(tmp_path / "meter.db", clock=clock) as store:
        stored = store.readings(YESTERDAY, YESTERDAY + timedelta(hours=2))
    assert (report.format, report.imported, report.duplicates, problems) == ("p1", 360, 0, [])
    assert stored == decoded(capture.read_bytes())
    assert stored[-1].import_wh == sum(mwh // 1000 for mwh in meter.registers.import_mwh)
    assert (report.first_ts, report.last_ts) == (stored[0].ts, stored[-1].ts)


def test_importing_the_same_capture_twice_adds_nothing_the_second_time(tmp_path):
    capture = tmp_path / "p1.txt"
    capture.write_bytes(b"".join(telegrams(LAST_MONTH, 720)[0] + telegrams(YESTERDAY, 720)[0]))
    db = tmp_path / "meter.db"

    first, _ = run_import(capture, db)
    after_first = (readings(db), intervals(db))
    second, _ = run_import(capture, db)

    assert (first.imported, first.duplicates) == (1440, 0)
    assert (second.imported, second.duplicates) == (0, 1440)
    assert (readings(db), intervals(db)) == after_first
    assert query(db, "SELECT sum(samples) FROM readings") == [(1440,)]


def test_a_rejected_telegram_is_reported_at_the_line_it_began_on_and_the_rest_are_imported(tmp_path):
    sent, _ = telegrams(YESTERDAY, 6)
    corrupted = sent[2].replace(b"1-0:1.8.1(", b"1-0:1.8.1(1", 1)[:-1] + b"\n"
    truncated = sent[4][: sent[4].index(b"!")]
    noise = b"line noise\r\n"
    parts = [sent[0], noise, sent[1], corrupted, sent[3], truncated, sent[5]]
    capture = tmp_path / "p1.txt"
    capture.write_bytes(b"".join(parts))
    line_of = [1 + sum(part.count(b"\n") for part in parts[:index]) for index in range(len(parts))]

    report, problems = run_import(capture, tmp_path / "meter.db")

    assert problems == [(f"line {line_of[3]}", "crc_mismatch"), (f"line {line_of[5]}", "partial_telegram")]
    assert (report.imported, dict(report.rejected), report.skipped_bytes) == (4, {"crc_mismatch": 1, "partial_telegram": 1}, 9)


def test_an_encrypted_dlms_capture_imports_with_the_key_and_is_refused_without_it(tmp_path):
    sent, meter = telegrams(YESTERDAY, 30, encryption=Encryption(KEY))
    capture = tmp_path / "dlms.bin"
    capture.write_bytes(b"".join(sent))

    without, problems = run_import(capture, tmp_path / "refused.db")
    with_key, _ = run_import(capture, tmp_path / "meter.db", keys=MeterKeys(KEY))

    assert (without.accepted, dict(without.rejected)) == (0, {"no_key": 30})
    assert problems[0][0].startswith("near byte ")
    assert with_key.imported == 30
    assert readings(tmp_path / "meter.db")[-1][2] == sum(meter.registers.import_mwh) // 1000


# -- CSV exports -------------------------------------------------------------------------------


def test_csv_rows_with_decimal_commas_become_samples_in_wh_and_w(tmp_path):
    export = write_csv(tmp_path / "export.csv", [
        "2024-06-09T10:00:00+02:00;1.234,567;2.000,001;0,5;10,25;350;0;E0044007",
        "2024-06-09T10:00:10+02:00;1.234,568;2.000,001;0,5;10,25;351,9;;E0044007",
    ])

    report, problems = run_import(export, tmp_path / "meter.db")

    with MeterStore(tmp_path / "meter.db", clock=clock) as store:
        stored = store.readings(YESTERDAY, YESTERDAY + timedelta(days=1))
    ts = int(datetime(2024, 6, 9, 8, 0, tzinfo=timezone.utc).timestamp())
    assert (report.format, report.imported, problems) == ("csv", 2, [])
    assert stored == [
        Sample(ts, "E0044007", 3_234_568, 10_750, 350, 0),
        Sample(ts + 10, "E0044007", 3_234_569, 10_750, 351, None),
    ]


def test_comma_separated_exports_take_quoted_decimal_commas_and_thousands_points(tmp_path):
    header = "Timestamp,import_kwh,export_kwh"
    export = write_csv(tmp_path / "export.csv", [
        '2024-06-09T10:00:00+02:00,"1.234,5",0.25',
        "2024-06-09T10:00:10+02:00,1234.6,\"1,250.5\"",
    ], header=header)

    run_import(export, tmp_path / "meter.db")

    assert [row[2:4] for row in readings(tmp_path / "meter.db")] == [(1_234_500, 250), (1_234_600, 1_250_500)]


def test_an_excel_export_with_a_byte_order_mark_and_tabs_imports_and_names_the_columns_it_ignored(tmp_path):
    export = tmp_path / "excel.csv"
    export.write_bytes("\ufeffTimestamp\tGas_m3\tImport_kWh\r\n2024-06-09T10:00:00+02:00\t12,5\t1,5\r\n".encode())

    report, problems = run_import(export, tmp_path / "meter.db")

    assert (report.format, report.imported, problems, report.ignored_columns) == ("csv", 1, [], ("gas_m3",))
    assert [row[2] for row in readings(tmp_path / "meter.db")] == [1500]


def test_bad_csv_rows_are_reported_by_line_and_skipped_and_the_good_ones_imported(tmp_path):
    good = csv_rows(YESTERDAY, 4)
    export = write_csv(tmp_path / "export.csv", [
        good[0],
        "yesterday noon;1,0;0;0;0;;;",                                  # line 3
        good[1],
        "2024-06-09T00:00:40+02:00;1,0;zero;0;0;;;",                    # line 5
        "2024-06-09T00:00:50+02:00;1,0",                                # line 6
        "",
        "2024-06-09T00:01:00+02:00;-1,0;0;0;0;;;",                      # line 8
        "2024-06-09T00:01:10+02:00;1,0;;0;0;;;",                        # line 9
        "2030-01-01T00:00:00+01:00;1,0;0;0;0;;;",                       # line 10
        "2024-03-31T02:30:00;1,0;0;0;0;;;",                             # line 11
        "2024-06-09T00:01:20+02:00;NaN;0;0;0;;;",                       # line 12
        "2024-06-09T00:01:30+02:00;;;;;100;0;E0044007",                 # line 13
        "1970-01-01T00:00:00+00:00;1,0;0;0;0;;;",                       # line 14
        "2024-06-09T00:01:40+02:00;1e12;0;0;0;;;",                      # line 15
        "2024-06-09T00:01:50+02:00;5000000000;0;0;0;;;",                # line 16: 5 TWh
        '2024-06-09T00:02:00+02:00;"' + "9" * 200_000 + ";0;0;0;;;",    # line 17: a quote left open
        good[2],
        good[3],
    ])

    report, problems = run_import(export, tmp_path / "meter.db")

    assert problems == [
        ("line 3", "bad_timestamp"),
        ("line 5", "bad_number"),
        ("line 6", "missing_field"),
        ("line 8", "implausible_value"),
        ("line 9", "missing_field"),
        ("line 10", "in_future"),
        ("line 11", "bad_timestamp"),
        ("line 12", "bad_number"),
        ("line 13", "no_energy"),
        ("line 14", "implausible_time"),
        ("line 15", "bad_number"),
        ("line 16", "implausible_value"),
        ("line 17", "unreadable_row"),
    ]
    assert (report.imported, sum(report.rejected.values())) == (4, 13)
    assert [row[0] for row in readings(tmp_path / "meter.db")] == [int(YESTERDAY.timestamp()) + step for step in (0, 10, 20, 30)]


def test_a_csv_without_a_timestamp_or_energy_column_is_refused_before_anything_is_stored(tmp_path):
    no_time = write_csv(tmp_path / "no_time.csv", ["2024-06-09;1"], header="time;import_kwh")
    no_energy = write_csv(tmp_path / "no_energy.csv", ["2024-06-09;1"], header="timestamp;gas_m3")

    with pytest.raises(UnusableHeader, match="no energy column"):
        run_import(no_energy, tmp_path / "meter.db")
    with pytest.raises(UnusableHeader, match="no 'timestamp' column"):
        run_import(no_time, tmp_path / "meter.db", file_format="csv")
    assert readings(tmp_path / "meter.db") == []


def test_local_times_without_an_offset_take_the_time_zone_and_the_autumn_hour_counts_twice(tmp_path):
    rows = [f"2023-10-29 {clock_time};{index},000;0;0;0;;;" for index, clock_time in
            enumerate(["01:50:00", "02:10:00", "02:50:00", "02:10:00", "02:50:00", "03:10:00"])]
    export = write_csv(tmp_path / "autumn.csv", rows)

    report, problems = run_import(export, tmp_path / "meter.db", local=ZoneInfo("Europe/Amsterdam"))

    utc = [datetime.fromtimestamp(row[0], timezone.utc).strftime("%H:%M") for row in readings(tmp_path / "meter.db")]
    assert (report.imported, problems, report.out_of_order) == (6, [], 0)
    assert utc == ["23:50", "00:10", "00:50", "01:10", "01:50", "02:10"]


def test_rows_out_of_time_order_are_stored_as_if_they_had_come_in_order(tmp_path):
    rows = csv_rows(YESTERDAY, 8640)
    in_order = write_csv(tmp_path / "in_order.csv", rows)
    newest_first = write_csv(tmp_path / "newest_first.csv", rows[::-1])

    run_import(in_order, tmp_path / "in_order.db")
    report, _ = run_import(newest_first, tmp_path / "newest_first.db")

    assert report.out_of_order == 8639
    assert readings(tmp_path / "newest_first.db") == readings(tmp_path / "in_order.db")
    assert intervals(tmp_path / "newest_first.db") == intervals(tmp_path / "in_order.db")


def test_a_register_that_goes_back_is_stored_and_noticed_and_its_interval_never_counts_it(tmp_path):
    old_meter = csv_rows(YESTERDAY, 60)
    new_meter = csv_rows(YESTERDAY + timedelta(minutes=10), 120, first_wh=0)
    export = write_csv(tmp_path / "swap.csv", old_meter + new_meter)

    report, problems = run_import(export, tmp_path / "meter.db")

    with MeterStore(tmp_path / "meter.db", clock=clock) as store:
        energy = store.interval_energy(YESTERDAY, YESTERDAY + timedelta(minutes=30))
    assert (report.imported, problems) == (180, [("line 62", "register_decrease")])
    assert [(e.import_wh, e.complete, e.issues) for e in energy] == [(178, False, ("register_reset",)), (178, True, ())]


def test_another_meter_id_is_stored_and_noticed_and_its_interval_marked_incomplete(tmp_path):
    new_meter = [row.replace("E0044007", "E0055001") for row in csv_rows(YESTERDAY + timedelta(minutes=10), 30, first_wh=0)]
    export = write_csv(tmp_path / "swap.csv", csv_rows(YESTERDAY, 60) + new_meter)

    report, problems = run_import(export, tmp_path / "meter.db")

    with MeterStore(tmp_path / "meter.db", clock=clock) as store:
        energy = store.interval_energy(YESTERDAY, YESTERDAY + timedelta(minutes=15))
    assert (report.imported, problems) == (90, [("line 62", "meter_changed")])
    assert [(e.import_wh, e.issues) for e in energy] == [((59 + 29) * 2, ("meter_changed",))]  # 2 Wh a step, none across


def test_samples_older_than_the_retention_window_are_thinned_exactly_as_the_store_thins_them(tmp_path):
    capture = tmp_path / "p1.txt"
    capture.write_bytes(b"".join(telegrams(LAST_MONTH, 1080, interval=7)[0]))
    with MeterStore(tmp_path / "store.db", StoreSettings(max_clock_skew=None, batch_size=10**6), clock=clock) as store:
        store.add_samples(decoded(capture.read_bytes()))

    report, _ = run_import(capture, tmp_path / "import.db")

    energy = "SELECT start, import_wh, export_wh FROM intervals ORDER BY start"
    assert report.imported == 1080
    assert readings(tmp_path / "import.db") == readings(tmp_path / "store.db")
    assert query(tmp_path / "import.db", energy) == query(tmp_path / "store.db", energy)


def test_a_past_day_imported_into_a_store_the_node_already_fills_gets_its_intervals_and_totals(tmp_path):
    db = tmp_path / "meter.db"
    today = datetime(2024, 6, 10, tzinfo=METER_TIMEZONE)
    with MeterStore(db, clock=clock) as node_store:
        node_store.add_samples(decoded(b"".join(telegrams(today + timedelta(hours=11), 360)[0])))
    capture = tmp_path / "p1.txt"
    capture.write_bytes(b"".join(telegrams(YESTERDAY - timedelta(seconds=30), 2882, interval=30)[0]))

    run_import(capture, db)

    with MeterStore(db, clock=clock) as store:
        day = store.aggregate("day", date(2024, 6, 9))
        stored = store.readings(YESTERDAY - timedelta(minutes=1), YESTERDAY + timedelta(days=1, minutes=1))
    opening = max(s.import_wh for s in stored if s.ts <= YESTERDAY.timestamp())
    closing = max(s.import_wh for s in stored if s.ts <= YESTERDAY.timestamp() + 86400)
    assert (day.complete_intervals, day.expected_intervals) == (96, 96)
    assert day.import_wh == closing - opening


# -- running node, killed import ---------------------------------------------------------------


def test_an_import_while_the_node_writes_loses_none_of_either(tmp_path):
    db = tmp_path / "meter.db"
    live = decoded(b"".join(telegrams(datetime(2024, 6, 10, 11, 0, tzinfo=METER_TIMEZONE), 300, interval=1, seed=9)[0]))
    export = write_csv(tmp_path / "export.csv", csv_rows(LAST_MONTH, 30_000))
    MeterStore(db, clock=clock).close()

    def node() -> None:
        with MeterStore(db, StoreSettings(batch_size=10), clock=clock) as store:
            for sample in live:
                store.add_sample(sample)
                time.sleep(0.001)

    writer = threading.Thread(target=node)
    writer.start()
    report, _ = run_import(export, db)
    writer.join()

    stored = query(db, "SELECT ts FROM readings WHERE ts >= {}".format(live[0].ts))
    assert [ts for (ts,) in stored] == [sample.ts for sample in live]
    assert (report.imported, query(db, f"SELECT sum(samples) FROM readings WHERE ts < {live[0].ts}")) == (30_000, [(30_000,)])


def test_an_import_killed_half_way_leaves_a_sound_store_and_a_second_run_adds_only_the_rest(tmp_path):
    rows = csv_rows(LAST_MONTH, 60_000)
    export = write_csv(tmp_path / "export.csv", rows)
    clean, _ = run_import(export, tmp_path / "clean.db")
    fifo = tmp_path / "arriving.csv"
    os.mkfifo(fifo)
    db = tmp_path / "meter.db"
    importer = subprocess.Popen([GRIDCOMMONS, "meter", "import", str(fifo), "--db", str(db)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(fifo, "w") as arriving:
        arriving.write("\n".join([HEADER, *rows[:30_000]]) + "\n")
        arriving.flush()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (db.exists() and query(db, "SELECT count(*) FROM readings")[0][0]):
            time.sleep(0.05)
        importer.send_signal(signal.SIGKILL)  # while it waits for the rest of the file
        importer.wait()

    committed = query(db, "SELECT sum(samples) FROM readings")[0][0]
    second, _ = run_import(export, db)

    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    assert 0 < committed < 60_000
    assert (second.imported, second.duplicates) == (60_000 - committed, committed)
    assert (readings(db), intervals(db)) == (readings(tmp_path / "clean.db"), intervals(tmp_path / "clean.db"))
    assert clean.imported == 60_000


def test_a_capture_cut_short_then_imported_whole_ends_as_one_whole_import(tmp_path):
    whole = b"".join(telegrams(YESTERDAY, 500)[0])
    cut = tmp_path / "cut.txt"
    cut.write_bytes(whole[: len(whole) // 2 + 100])  # the copy stopped inside a telegram
    capture = tmp_path / "p1.txt"
    capture.write_bytes(whole)

    first, problems = run_import(cut, tmp_path / "meter.db")
    second, _ = run_import(capture, tmp_path / "meter.db")
    run_import(capture, tmp_path / "clean.db")

    assert problems == [(problems[0][0], "partial_telegram")]
    assert first.imported + second.imported == 500
    assert (readings(tmp_path / "meter.db"), intervals(tmp_path / "meter.db")) == (
        readings(tmp_path / "clean.db"), intervals(tmp_path / "clean.db"))


# -- the command -------------------------------------------------------------------------------


def run(*args):
    return CliRunner(mix_stderr=False).invoke(main, list(args), catch_exceptions=False)


def test_the_command_imports_what_meter_simulate_recorded_and_a_second_run_skips_it_all(tmp_path):
    capture, db = tmp_path / "p1.txt", tmp_path / "meter.db"
    run("meter", "simulate", "--output", str(capture), "--speed", "0", "--interval", "10", "--count", "120",
        "--start", "2024-03-01T00:00:00")

    first = run("meter", "import", str(capture), "--db", str(db))
    second = run("meter", "import", str(capture), "--db", str(db))

    assert (first.exit_code, first.stderr) == (0, "")
    assert first.stdout.splitlines() == [
        f"{capture} (p1): imported 120, duplicates skipped 0, rejected 0",
        "time range 2024-03-01T00:00:10+01:00 to 2024-03-01T00:20:00+01:00",
    ]
    assert (second.exit_code, second.stdout.splitlines()[0]) == (0, f"{capture} (p1): imported 0, duplicates skipped 120, rejected 0")
    assert query(db, "SELECT sum(samples) FROM readings") == [(120,)]


def test_the_command_lists_bad_rows_on_stderr_and_counts_beyond_a_hundred(tmp_path):
    export = write_csv(tmp_path / "export.csv", csv_rows(YESTERDAY, 3) + ["not a time;1;0;0;0;;;"] * 150)

    result = run("meter", "import", str(export), "--db", str(tmp_path / "meter.db"))

    errors = result.stderr.splitlines()
    assert result.exit_code == 0
    assert errors[0] == f"{export} line 5: rejected (bad_timestamp): 'not a time' is not an ISO 8601 time like 2024-01-15T10:30:00+01:00"
    assert (len(errors), errors[-1]) == (101, f"{export}: 50 more problems not listed")
    assert result.stdout.splitlines()[0] == f"{export} (csv): imported 3, duplicates skipped 0, rejected 150 (bad_timestamp 150)"


def test_the_command_exits_1_when_nothing_could_be_imported_or_the_file_cannot_be_read(tmp_path):
    db = str(tmp_path / "meter.db")
    garbage = tmp_path / "garbage.txt"
    garbage.write_text("date,kwh\n2024-01-01,1\n")
    headless = write_csv(tmp_path / "headless.csv", ["x;1"], header="timestamp;gas_m3")

    nothing = run("meter", "import", str(garbage), "--db", db)
    missing = run("meter", "import", str(tmp_path / "missing.csv"), "--db", db)
    unusable = run("meter", "import", str(headless), "--db", db)

    assert (nothing.exit_code, nothing.stdout.splitlines()[1]) == (
        1, "nothing could be imported (a CSV export needs a header naming a timestamp column)")
    assert (missing.exit_code, missing.stderr) == (1, f"Error: cannot read {tmp_path / 'missing.csv'}: No such file or directory\n")
    assert unusable.exit_code == 1
    assert "no energy column" in unusable.stderr


def test_the_command_imports_into_the_store_and_time_zone_of_a_node_config(tmp_path):
    config = tmp_path / "node.toml"
    config.write_text(
        '[node]\nname = "Flat 3B"\ndata_dir = "data"\ntimezone = "Europe/London"\n'
        '[chain]\ndeployment = "d.json"\nmanifest = "m.json"\nkeystore = "k.json"\n'
    )
    export = write_csv(tmp_path / "export.csv", ["2024-01-15 10:30:00;1,0;0;0;0;;;"])

    result = run("meter", "import", str(export), "--config", str(config))

    assert result.exit_code == 0
    assert query(tmp_path / "data" / "meter.sqlite", "SELECT ts FROM readings") == [
        (int(datetime(2024, 1, 15, 10, 30, tzinfo=timezone.utc).timestamp()),)]


def test_the_command_wants_exactly_one_of_config_and_db(tmp_path):
    export = write_csv(tmp_path / "export.csv", csv_rows(YESTERDAY, 1))

    neither = run("meter", "import", str(export))
    both = run("meter", "import", str(export), "--db", str(tmp_path / "a.db"), "--config", str(tmp_path / "node.toml"))

    assert (neither.exit_code, both.exit_code) == (2, 2)
    assert "give exactly one of --config" in neither.stderr


# -- progress ----------------------------------------------------------------------------------


class ManualClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_on_a_terminal_rewrites_one_line_at_most_twice_a_second_and_ends_it():
    written, at = [], ManualClock()
    progress = ImportProgress("p1.txt", 4 * 2**20, tty=True, clock=at, write=written.append)

    for done in range(2**20, 4 * 2**20, 2**18):
        at.now += 0.25
        progress(done)
    progress.finish(4 * 2**20)

    assert written == [
        "\rimporting p1.txt: 31% (1.2 of 4.0 MiB) in 0 s",
        "\rimporting p1.txt: 43% (1.8 of 4.0 MiB) in 1 s",
        "\rimporting p1.txt: 56% (2.2 of 4.0 MiB) in 1 s",
        "\rimporting p1.txt: 68% (2.8 of 4.0 MiB) in 2 s",
        "\rimporting p1.txt: 81% (3.2 of 4.0 MiB) in 2 s",
        "\rimporting p1.txt: 93% (3.8 of 4.0 MiB) in 3 s",
        "\rimporting p1.txt: 100% (4.0 of 4.0 MiB) in 3 s",
        "\n",
    ]


def test_progress_elsewhere_is_a_line_every_ten_seconds_and_nothing_for_a_short_import():
    written, at = [], ManualClock()
    quick = ImportProgress("quick.csv", 1000, tty=False, clock=at, write=written.append)
    at.now += 9
    quick(500)
    quick.finish(1000)
    slow = ImportProgress("slow.csv", 1000, tty=False, clock=at, write=written.append)
    for done in range(100, 1001, 100):
        at.now += 4
        slow(done)
    slow.finish(1000)

    assert written == [
        "importing slow.csv: 30% (0.0 of 0.0 MiB) in 12 s\n",
        "importing slow.csv: 60% (0.0 of 0.0 MiB) in 24 s\n",
        "importing slow.csv: 90% (0.0 of 0.0 MiB) in 36 s\n",
    ]


def test_the_command_on_a_terminal_shows_how_far_it_read(tmp_path):
    capture = tmp_path / "p1.txt"
    capture.write_bytes(b"".join(telegrams(YESTERDAY, 50)[0]))
    master, slave = os.openpty()
    command = subprocess.run([GRIDCOMMONS, "meter", "import", str(capture), "--db", str(tmp_path / "meter.db")],
                             stdout=subprocess.PIPE, stderr=slave, timeout=60)
    os.close(slave)
    shown = os.read(master, 4096).decode()
    os.close(master)

    mib = f"{capture.stat().st_size / 2**20:.1f}"
    assert command.returncode == 0
    assert re.search(rf"\rimporting p1.txt: 100% \({mib} of {mib} MiB\) in \d+ s\r\n$", shown)
