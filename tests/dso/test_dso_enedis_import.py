"""Enedis load curves (average W per step, timestamped at the step's end) into Wh per quarter-hour."""

from datetime import datetime

from dsokit import PARIS, run
from node.dso.quantities import DERIVED, INCOMPLETE, Quantity

PRM = "19125759625988"
HEADER = ("Identifiant PRM;Date de début;Date de fin;Grandeur physique;Grandeur métier;Etape métier;Unité;"
          "Horodate;Valeur;Nature;Pas;Indice de vraisemblance;Etat complémentaire")


def row(end: str, watts, step: str, kind: str = "CONS", prm: str = PRM) -> str:
    return f"{prm};2024-03-01 00:00:00;2024-04-01 00:00:00;PA;{kind};BRUT;W;{end};{watts};R;{step};0;0"


def at(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


def write(tmp_path, *rows: str, header: str = HEADER):
    path = tmp_path / "enedis.csv"
    path.write_text("\ufeff" + "\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def quarter(figures, start: str, quantity=Quantity.CONSUMPTION) -> tuple[int, int]:
    figure = figures[at(start)][quantity]
    return figure.wh, figure.flags


def test_a_thirty_minute_step_is_split_evenly_and_marked_derived(tmp_path):
    path = write(tmp_path, row("2024-03-01T00:30:00+01:00", 693, "PT30M"))

    report, problems, figures = run(path, tmp_path / "dso.sqlite")

    assert (report.format, problems) == ("enedis", [])
    # 693 W for 30 min is 346.5 Wh: 173.25 Wh in each quarter-hour, rounded once at the end.
    assert quarter(figures, "2024-03-01T00:00:00+01:00") == (173, DERIVED)
    assert quarter(figures, "2024-03-01T00:15:00+01:00") == (173, DERIVED)


def test_an_hourly_step_gives_four_quarter_hours(tmp_path):
    path = write(tmp_path, row("2024-03-01T01:00:00+01:00", 1000, "PT60M"))

    _, _, figures = run(path, tmp_path / "dso.sqlite")

    assert [figures[at("2024-03-01T00:00:00+01:00") + 900 * k][Quantity.CONSUMPTION].wh for k in range(4)] == [250] * 4


def test_finer_steps_add_up_exactly_and_a_missing_part_marks_the_quarter_hour_incomplete(tmp_path):
    five = [row(f"2024-03-01T00:{m:02d}:00+01:00", 120 * (m // 5), "PT5M") for m in (5, 10, 15, 20, 30)]
    ten = [row(f"2024-03-01T01:{m:02d}:00+01:00", 600, "PT10M") for m in (10, 20, 30)]
    path = write(tmp_path, *five, *ten)

    _, problems, figures = run(path, tmp_path / "dso.sqlite")

    assert problems == []
    # 120, 240 and 360 W for five minutes each: 10 + 20 + 30 Wh.
    assert quarter(figures, "2024-03-01T00:00:00+01:00") == (60, 0)
    # 00:20-00:25 is missing from the file.
    assert quarter(figures, "2024-03-01T00:15:00+01:00") == (40 + 60, INCOMPLETE)
    # Ten-minute steps straddle the quarter-hours: 01:00-01:15 holds one and a half of them.
    assert quarter(figures, "2024-03-01T01:00:00+01:00") == (150, 0)
    assert quarter(figures, "2024-03-01T01:15:00+01:00") == (150, 0)


def test_mixed_steps_unsorted_rows_and_both_directions_in_one_file(tmp_path):
    path = write(
        tmp_path,
        row("2024-03-01T01:00:00+01:00", 400, "PT30M", "PROD"),
        row("2024-03-01T00:30:00+01:00", 800, "PT30M"),
        row("2024-03-01T00:45:00+01:00", 1200, "PT15M"),
        row("2024-03-01T00:30:00+01:00", 200, "PT30M", "PROD"),
        row("2024-03-01T01:00:00+01:00", 400, "PT15M"),
    )

    report, problems, figures = run(path, tmp_path / "dso.sqlite")

    assert problems == []
    assert report.rows == 5
    assert quarter(figures, "2024-03-01T00:15:00+01:00") == (200, DERIVED)
    assert quarter(figures, "2024-03-01T00:30:00+01:00") == (300, 0)
    assert quarter(figures, "2024-03-01T00:45:00+01:00") == (100, 0)
    assert quarter(figures, "2024-03-01T00:00:00+01:00", Quantity.EXPORT) == (50, DERIVED)
    assert quarter(figures, "2024-03-01T00:45:00+01:00", Quantity.EXPORT) == (100, DERIVED)


def test_the_paris_clock_change_in_autumn_keeps_both_hours_with_offsets_and_without(tmp_path):
    with_offset = [row(end, 400, "PT30M") for end in (
        "2024-10-27T02:30:00+02:00", "2024-10-27T02:00:00+01:00", "2024-10-27T03:00:00+01:00",
        "2024-10-27T02:30:00+01:00")]
    path = write(tmp_path, *with_offset)
    naive = tmp_path / "naive.csv"
    naive.write_text("\n".join([HEADER, *(row(end, 400, "PT30M") for end in (
        "2024-10-27 02:30:00", "2024-10-27 02:00:00", "2024-10-27 02:30:00", "2024-10-27 02:00:00")),
        row("2024-10-27 03:00:00", 400, "PT30M")]) + "\n")

    _, problems, figures = run(path, tmp_path / "dso.sqlite")
    _, naive_problems, naive_figures = run(naive, tmp_path / "naive.sqlite")

    first = at("2024-10-27T02:00:00+02:00")
    assert problems == naive_problems == []
    assert sorted(figures) == [first + 900 * k for k in range(8)]  # 02:00 CEST to 03:00 CET: two hours
    # The wall-clock 02:00 end came first in the naive file, so it is the summer one (01:30-02:00 CEST).
    assert sorted(naive_figures) == [first - 1800 + 900 * k for k in range(10)]


def test_the_paris_clock_change_in_spring_has_no_two_oclock(tmp_path):
    path = write(tmp_path, row("2024-03-31 02:30:00", 400, "PT30M"), row("2024-03-31T03:30:00+02:00", 400, "PT30M"))

    _, problems, figures = run(path, tmp_path / "dso.sqlite")

    assert problems == [("line 2", "bad_time")]
    assert sorted(figures) == [at("2024-03-31T03:00:00+02:00"), at("2024-03-31T03:15:00+02:00")]


def test_bad_rows_are_refused_by_line_and_the_rest_is_imported(tmp_path):
    path = write(
        tmp_path,
        row("2024-03-01T00:30:00+01:00", 400, "PT30M"),
        row("2024-03-01T01:00:00+01:00", "beaucoup", "PT30M"),
        row("2024-03-01T01:30:00+01:00", 400, "PT20M"),
        row("2024-03-01T02:00:00+01:00", 400, "PT30M", "AUTRE"),
        row("2024-03-01T02:30:00+01:00", 400, "PT30M", prm="123"),
        row("hier", 400, "PT30M"),
        row("2024-03-01T00:20:00+01:00", 400, "PT10M"),
        row("2024-03-01T03:00:00+01:00", 400, ""),
        row("2024-03-01T03:30:00+01:00", 500, "PT30M"),
    )

    report, problems, figures = run(path, tmp_path / "dso.sqlite")

    assert problems == [("line 3", "bad_number"), ("line 4", "unknown_step"), ("line 5", "unknown_type"),
                        ("line 6", "bad_prm"), ("line 7", "bad_time"), ("line 9", "missing_field"),
                        ("line 8", "overlapping_step")]
    assert sorted(figures) == [at("2024-03-01T00:00:00+01:00"), at("2024-03-01T00:15:00+01:00"),
                               at("2024-03-01T03:00:00+01:00"), at("2024-03-01T03:15:00+01:00")]
    assert report.rows == 9


def test_importing_the_same_load_curve_twice_adds_nothing(tmp_path):
    path = write(tmp_path, row("2024-03-01T00:30:00+01:00", 400, "PT30M"), row("2024-03-01T00:40:00+01:00", 600, "PT10M"))
    db = tmp_path / "dso.sqlite"

    first, _, _ = run(path, db)
    again, _, _ = run(path, db)

    assert (first.written.stored, first.written.unchanged) == (3, 0)
    assert (again.written.stored, again.written.unchanged, again.written.changed) == (0, 3, 0)


def test_sections_with_the_prm_and_type_above_horodate_and_valeur_rows(tmp_path):
    path = tmp_path / "mes-donnees.csv"
    path.write_text(
        "Identifiant PRM;Type de donnees;Date de debut;Date de fin;Grandeur physique;Grandeur metier;Etape metier;Unite;Pas\n"
        f"{PRM};Courbe de charge;01/03/2024;02/03/2024;Energie active;Consommation;Comptage Brut;W;PT30M\n"
        "Horodate;Valeur\n"
        "2024-03-01T00:30:00+01:00;500\n"
        "\n"
        "Identifiant PRM;Type de donnees;Date de debut;Date de fin;Grandeur physique;Grandeur metier;Etape metier;Unite;Pas\n"
        f"{PRM};Courbe de charge;01/03/2024;02/03/2024;Energie active;Production;Comptage Brut;kW;PT60M\n"
        "Horodate;Valeur\n"
        "2024-03-01T01:00:00+01:00;0,4\n", encoding="cp1252")

    _, problems, figures = run(path, tmp_path / "dso.sqlite")

    assert problems == []
    assert quarter(figures, "2024-03-01T00:15:00+01:00") == (125, DERIVED)
    assert quarter(figures, "2024-03-01T00:45:00+01:00", Quantity.EXPORT) == (100, DERIVED)
