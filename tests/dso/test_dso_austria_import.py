"""Austrian community exports (EDA data as portals write it) into the DSO store, on real files."""

from datetime import datetime

import pytest

from dsokit import AUSTRIAN_HEADER, VIENNA, run
from node.dso.errors import UnknownFormat, UnusableFile
from node.dso.importer import import_file
from node.dso.quantities import Quantity
from node.dso.store import DsoStore

POINT = "AT0030000000000000000000000123456"
OTHER = "AT0030000000000000000000000654321"


def at(text: str) -> int:
    """Unix time of a Vienna wall-clock time (first occurrence)."""
    return int(datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=VIENNA).timestamp())


def wh(figures, start: int, quantity: Quantity) -> int:
    return figures[start][quantity].wh


def test_wide_export_with_german_labels_bom_and_decimal_commas_is_stored_in_exact_wh(tmp_path):
    path = tmp_path / "eeg.csv"
    path.write_text("\ufeff" + AUSTRIAN_HEADER + "\n"
                    f"{POINT};01.03.2024 00:00;01.03.2024 00:15;0,125;0,050;0,049;\n"
                    f"{POINT};01.03.2024 00:15;01.03.2024 00:30;1.234,567;0,001;0,000;\n", encoding="utf-8")

    report, problems, figures = run(path, tmp_path / "dso.sqlite")

    assert problems == []
    assert (report.format, report.layout, report.rows, report.written.stored) == ("austria", "wide", 2, 6)
    assert wh(figures, at("2024-03-01 00:00"), Quantity.CONSUMPTION) == 125
    assert wh(figures, at("2024-03-01 00:00"), Quantity.COVERED) == 49
    assert wh(figures, at("2024-03-01 00:15"), Quantity.CONSUMPTION) == 1_234_567
    assert wh(figures, at("2024-03-01 00:15"), Quantity.SHARE) == 1
    assert report.ignored_columns == ("Ende",)


def test_comma_separated_export_with_codes_decimal_points_and_iso_times(tmp_path):
    path = tmp_path / "eeg.csv"
    path.write_text("MeteringPoint,From,G.01 [kWh],G.03 [kWh],P.01 [kWh]\n"
                    f"{OTHER},2024-03-01T00:00:00+01:00,0.200,0.150,0.010\n", encoding="utf-8")

    report, problems, figures = run(path, tmp_path / "dso.sqlite")

    assert problems == []
    start = at("2024-03-01 00:00")
    assert {q: f.wh for q, f in figures[start].items()} == {Quantity.CONSUMPTION: 200, Quantity.COVERED: 150,
                                                           Quantity.SURPLUS: 10}


def test_long_export_one_quantity_per_row_with_obis_style_codes_and_wh_units(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("Zählpunkt;Zeitstempel;Messgröße;Wert;Einheit\n"
                    f"{POINT};01.03.2024 00:00;1-1:1.9.0 G.01;0,300;kWh\n"
                    f"{POINT};01.03.2024 00:00;1-1:2.9.0 G.03;120;Wh\n"
                    f"{POINT};01.03.2024 00:00;Anteil gemeinschaftliche Erzeugung;0,150;kWh\n"
                    f"{POINT};01.03.2024 00:00;X.99;1;kWh\n", encoding="cp1252")

    report, problems, figures = run(path, tmp_path / "dso.sqlite")

    assert report.layout == "long"
    assert problems == [("line 5", "unknown_quantity")]
    start = at("2024-03-01 00:00")
    assert {q: f.wh for q, f in figures[start].items()} == {Quantity.CONSUMPTION: 300, Quantity.COVERED: 120,
                                                           Quantity.SHARE: 150}


def test_bad_rows_are_refused_by_line_and_the_rest_is_imported(tmp_path):
    path = tmp_path / "eeg.csv"
    path.write_text(AUSTRIAN_HEADER + "\n"
                    f"{POINT};01.03.2024 00:00;;0,1;0,1;0,1;\n"
                    "\n"
                    f"AT12;01.03.2024 00:15;;0,1;0,1;0,1;\n"
                    f"{POINT};01.03.2024 00:20;;0,1;0,1;0,1;\n"
                    f"{POINT};31.02.2024 00:30;;0,1;0,1;0,1;\n"
                    f"{POINT};01.03.2024 00:45;;zwei;0,1;0,1;\n"
                    f"{POINT};01.03.2024 01:00;;-0,1;0,1;0,1;\n"
                    f"{POINT};01.03.2024 01:15;;;;;\n"
                    f"{POINT};\n"
                    f"{POINT};01.03.2024 01:30;;0,2;0,2;0,2;\n", encoding="utf-8")

    report, problems, figures = run(path, tmp_path / "dso.sqlite")

    assert problems == [("line 4", "bad_metering_point"), ("line 5", "bad_time"), ("line 6", "bad_time"),
                        ("line 7", "bad_number"), ("line 8", "implausible_value"), ("line 9", "no_value"),
                        ("line 10", "missing_field")]
    assert sorted(figures) == [at("2024-03-01 00:00"), at("2024-03-01 01:30")]
    assert report.rows == 9  # the blank line is no row


def test_importing_the_same_file_twice_adds_nothing_and_a_corrected_value_counts_as_changed(tmp_path):
    rows = [f"{POINT};01.03.2024 00:00;;0,100;0,050;0,050;", f"{POINT};01.03.2024 00:15;;0,200;0,050;0,050;"]
    path = tmp_path / "eeg.csv"
    path.write_text("\n".join([AUSTRIAN_HEADER, *rows]) + "\n")
    db = tmp_path / "dso.sqlite"

    first, _, _ = run(path, db)
    again, _, _ = run(path, db)
    path.write_text("\n".join([AUSTRIAN_HEADER, rows[0], rows[1].replace("0,200", "0,210")]) + "\n")
    corrected, _, figures = run(path, db)

    assert (first.written.stored, first.written.unchanged, first.written.changed) == (6, 0, 0)
    assert (again.written.stored, again.written.unchanged, again.written.changed) == (0, 6, 0)
    assert (corrected.written.stored, corrected.written.unchanged, corrected.written.changed) == (0, 5, 1)
    assert wh(figures, at("2024-03-01 00:15"), Quantity.CONSUMPTION) == 210
    with DsoStore(db) as store:
        assert store.count() == 6


def test_spring_forward_day_has_no_two_oclock_hour_and_refuses_it(tmp_path):
    times = ["31.03.2024 01:45", "31.03.2024 02:00", "31.03.2024 03:00"]
    path = tmp_path / "eeg.csv"
    path.write_text(AUSTRIAN_HEADER + "\n" + "".join(f"{POINT};{t};;0,1;0,1;0,1;\n" for t in times))

    report, problems, figures = run(path, tmp_path / "dso.sqlite")

    assert problems == [("line 3", "bad_time")]
    assert sorted(figures) == [at("2024-03-31 01:45"), at("2024-03-31 01:45") + 900]


def test_fall_back_day_keeps_both_two_oclock_hours_for_each_metering_point(tmp_path):
    wall = ["02:00", "02:15", "02:30", "02:45"] * 2 + ["03:00"]
    lines = [AUSTRIAN_HEADER]
    for point in (POINT, OTHER):
        lines += [f"{point};27.10.2024 {t};;0,{index:03d};0,0;0,0;" for index, t in enumerate(wall, start=1)]
    path = tmp_path / "eeg.csv"
    path.write_text("\n".join(lines) + "\n")

    report, problems, _ = run(path, tmp_path / "dso.sqlite")
    with DsoStore(tmp_path / "dso.sqlite") as store:
        mine = store.figures([POINT], 0, 2**40)

    first_two = int(datetime(2024, 10, 27, 2, 0, tzinfo=VIENNA).timestamp())  # 02:00 CEST
    assert problems == []
    assert sorted(mine) == [first_two + 900 * k for k in range(9)]
    assert [mine[first_two + 900 * k][Quantity.SHARE].wh for k in range(9)] == [0] * 9
    assert [mine[first_two + 900 * k][Quantity.COVERED].wh for k in range(9)] == [0] * 9


def test_a_household_file_without_metering_point_column_needs_the_point_given(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("Datum;G.01;G.02;G.03\n01.03.2024 00:00;0,1;0,05;0,05\n")

    with pytest.raises(UnusableFile, match="--point"):
        run(path, tmp_path / "dso.sqlite")
    report, _, figures = run(path, tmp_path / "dso.sqlite", point=POINT)

    assert report.points == {POINT}
    assert wh(figures, at("2024-03-01 00:00"), Quantity.CONSUMPTION) == 100


def test_a_file_of_neither_format_a_broken_workbook_and_an_old_excel_file_are_refused_whole(tmp_path):
    (tmp_path / "other.csv").write_text("a;b;c\n1;2;3\n")
    (tmp_path / "eeg.xlsx").write_bytes(b"PK\x03\x04")
    (tmp_path / "eeg.xls").write_bytes(b"\xd0\xcf\x11\xe0")

    with pytest.raises(UnknownFormat):
        run(tmp_path / "other.csv", tmp_path / "dso.sqlite")
    with pytest.raises(UnusableFile, match="eeg.xlsx is not a readable .xlsx workbook"):
        run(tmp_path / "eeg.xlsx", tmp_path / "dso.sqlite")
    with pytest.raises(UnknownFormat, match="save it as .xlsx or CSV"):
        run(tmp_path / "eeg.xls", tmp_path / "dso.sqlite")


def test_a_workbook_is_read_from_its_sheet_of_figures_as_the_same_export_as_csv(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "Info"
    book.active.append(["Energiegemeinschaft", "EEG Sonnenhang"])
    sheet = book.create_sheet("Energiedaten")
    sheet.append(AUSTRIAN_HEADER.split(";"))
    # Excel keeps times as dates and kWh as floats; the second value row has a bad time as text.
    sheet.append([POINT, datetime(2024, 3, 1, 0, 0), datetime(2024, 3, 1, 0, 15), 0.125, 0.05, 0.049, None])
    sheet.append([POINT, "31.02.2024 00:15", None, 1.0, 0.001, 0.0, None])
    sheet.append([POINT, datetime(2024, 3, 1, 0, 30), datetime(2024, 3, 1, 0, 45), 1234.567, 0.2, 0.1, None])
    book.save(tmp_path / "eeg.xlsx")

    report, problems, figures = run(tmp_path / "eeg.xlsx", tmp_path / "dso.sqlite")

    assert problems == [("line 3", "bad_time")]
    assert wh(figures, at("2024-03-01 00:00"), Quantity.CONSUMPTION) == 125
    assert wh(figures, at("2024-03-01 00:00"), Quantity.SHARE) == 50
    assert wh(figures, at("2024-03-01 00:30"), Quantity.CONSUMPTION) == 1_234_567
    assert wh(figures, at("2024-03-01 00:30"), Quantity.COVERED) == 100
    assert report.points == {POINT}