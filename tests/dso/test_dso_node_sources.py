"""The check over a node's own files (meter store, event mirror, DSO file) and the two commands."""

import csv
from datetime import date, datetime

from click.testing import CliRunner

from dsokit import ACCOUNTS, POINTS, VIENNA, Community, write_meter
from node.cli import main
from node.dso.check import period_starts
from node.dso.importer import import_file
from node.dso.quantities import Figure, Quantity
from node.dso.sources import check_period
from node.dso.store import DsoStore
from node.mirror.db import MirrorDB
from node.store import MeterStore

DAY = int(datetime(2024, 3, 12, tzinfo=VIENNA).timestamp())
STARTS = period_starts(DAY, DAY + 86400)


def files(tmp_path, community):
    write_meter(tmp_path / "meter.sqlite", community, 1, STARTS)
    community.write_mirror(tmp_path / "mirror.sqlite")
    community.write_austrian(tmp_path / "eeg.csv")
    return tmp_path / "meter.sqlite", tmp_path / "mirror.sqlite", tmp_path / "eeg.csv"


def test_a_node_whose_meter_chain_and_dso_file_agree_finds_its_point_by_its_meter_id(tmp_path):
    community = Community(STARTS)
    meter_path, mirror_path, csv_path = files(tmp_path, community)
    with DsoStore(tmp_path / "dso.sqlite") as dso:
        import_file(csv_path, dso)
        with MeterStore(meter_path) as store:
            mirror = MirrorDB(mirror_path)
            checked = check_period(store, mirror, dso, ACCOUNTS[1].upper().replace("0X", "0x"), DAY, DAY + 86400)
            mirror.close()

    assert (checked.member_id, checked.points) == (1, (POINTS[1],))
    assert (checked.summary.agreeing, checked.summary.disagreeing) == (96, 0)
    assert checked.rows[0].chain.allocated_wh == community.chain(1)[DAY].allocated_wh


def test_dso_import_prints_the_summary_and_refused_rows_and_dso_check_writes_the_rows(tmp_path):
    community = Community(STARTS)
    meter_path, mirror_path, csv_path = files(tmp_path, community)
    with csv_path.open("a") as out:
        out.write(f"{POINTS[1]};12.03.2024 25:00;;1;1;1;\n")
    runner = CliRunner()
    db = str(tmp_path / "dso.sqlite")

    first = runner.invoke(main, ["dso", "import", str(csv_path), "--db", db])
    again = runner.invoke(main, ["dso", "import", str(csv_path), "--db", db])
    checked = runner.invoke(main, ["dso", "check", "--month", "2024-03", "--store", str(meter_path), "--mirror",
                                   str(mirror_path), "--db", db, "--account", ACCOUNTS[1], "--point", POINTS[1],
                                   "--csv", str(tmp_path / "rows.csv")])

    assert first.exit_code == 0, first.output
    assert "line 290: refused (bad_time)" in first.output
    # 96 quarter-hours, three quantities of three points and the producer's surplus
    assert "rows read 289, values stored 960, unchanged 0, changed 0, rows refused 1 (bad_time 1)" in first.output
    assert "values stored 0, unchanged 960, changed 0" in again.output
    assert checked.exit_code == 0, checked.output
    assert "intervals 2,972: agreeing 96, disagreeing 0, without data 2,876" in checked.output
    with open(tmp_path / "rows.csv", newline="") as rows:
        table = list(csv.DictReader(rows))
    mine = [r for r in table if r["status"] == "agree"]
    assert (len(table), len(mine)) == (2972, 96)
    assert mine[0]["interval_start_local"] == "2024-03-12T00:00:00+01:00"
    assert int(mine[0]["dso_covered_wh"]) == int(mine[0]["chain_allocated_wh"])


def test_the_admin_checks_every_member_and_finds_the_one_whose_share_the_dso_computed_otherwise(tmp_path):
    community = Community(STARTS)
    community.write_mirror(tmp_path / "mirror.sqlite")
    db = str(tmp_path / "dso.sqlite")
    with DsoStore(db) as dso:
        import_file(community.write_austrian(tmp_path / "eeg.csv"), dso)
        covered = dso.figures([POINTS[2]], STARTS[7], STARTS[7] + 900)[STARTS[7]][Quantity.COVERED].wh
        dso.write([Figure(POINTS[2], STARTS[7], Quantity.COVERED, covered + 120)])

    result = CliRunner().invoke(main, ["dso", "check-members", "--month", "2024-03", "--mirror",
                                       str(tmp_path / "mirror.sqlite"), "--db", db])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "2024-03: 3 members with DSO figures"
    assert lines[2].split() == ["1", POINTS[1], "96", "0", "-"]
    assert lines[3].split() == ["2", POINTS[2], "95", "1", "key_differs", "1"]
    assert lines[4].split()[:4] == ["3", POINTS[3], "96", "0"]
