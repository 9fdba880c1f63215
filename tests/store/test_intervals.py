"""Interval energy from register differences: completeness, gaps, resets and swaps."""

from node.store.intervals import RegisterPoint, interval_rows

MINUTE, QUARTER = 60, 900


def points(start, count, step=10, import_wh=5000, per_step=2, meter="A", export_wh=100, export_step=0):
    return [
        RegisterPoint(start + i * step, meter, import_wh + i * per_step, export_wh + i * export_step)
        for i in range(count)
    ]


def rows(data, first=0, end=3 * QUARTER, max_gap=MINUTE, max_power_w=100_000):
    return interval_rows(data, first, end, QUARTER, max_gap, max_power_w)


def test_steady_readings_give_complete_intervals_of_register_differences():
    result = rows(points(0, 3 * 90 + 1, export_step=1))

    assert [(r.import_wh, r.export_wh, r.complete) for r in result] == [(180, 90, True)] * 3


def test_intervals_add_up_to_the_register_difference_over_the_whole_span():
    data = points(3, 270, step=10, per_step=3)  # readings off the boundaries, at ...3 s

    result = rows(data, first=QUARTER, end=3 * QUARTER)

    opening = [p for p in data if p.ts <= QUARTER][-1]
    closing = [p for p in data if p.ts <= 3 * QUARTER][-1]
    assert sum(r.import_wh for r in result) == closing.import_wh - opening.import_wh
    assert all(r.complete for r in result)


def test_gap_inside_an_interval_marks_it_incomplete_but_keeps_what_the_registers_say():
    data = [p for p in points(0, 91) if not 300 < p.ts < 500]

    [result] = rows(data, end=QUARTER)

    assert (result.import_wh, result.complete, result.issues) == (180, False, ("gap",))


def test_missing_opening_reading_counts_only_from_the_first_reading_inside():
    data = points(300, 61)  # the meter came on five minutes into the interval

    [result] = rows(data, end=QUARTER)

    assert (result.import_wh, result.complete, result.issues) == (120, False, ("late_start",))


def test_missing_closing_reading_marks_the_interval_incomplete():
    data = points(0, 61)  # the meter went quiet after ten minutes

    first, second = rows(data, end=2 * QUARTER)

    assert (first.import_wh, first.issues) == (120, ("early_end",))
    assert (second.import_wh, second.export_wh, second.issues) == (None, None, ("no_data",))


def test_register_reset_is_left_out_never_negative():
    before = points(0, 45, import_wh=90_000)
    after = points(450, 46, import_wh=0)  # registers start again from zero

    [result] = rows(before + after, end=QUARTER)

    assert result.import_wh == 44 * 2 + 45 * 2
    assert result.issues == ("register_reset",)


def test_meter_swap_is_detected_even_when_the_new_meter_counts_higher():
    before = points(0, 45, import_wh=1_000, meter="A")
    after = points(450, 46, import_wh=9_000_000, meter="B")

    [result] = rows(before + after, end=QUARTER)

    assert result.import_wh == 44 * 2 + 45 * 2
    assert result.issues == ("meter_changed",)


def test_jump_no_household_could_draw_is_left_out():
    data = points(0, 91)
    jumped = data[:50] + [RegisterPoint(p.ts, p.meter, p.import_wh + 5_000_000, p.export_wh) for p in data[50:]]

    [result] = rows(jumped, end=QUARTER, max_power_w=50_000)

    assert (result.import_wh, result.issues) == (180 - 2, ("implausible_jump",))


def test_reading_exactly_on_a_boundary_closes_one_interval_and_opens_the_next():
    data = [RegisterPoint(0, "A", 0, 0), RegisterPoint(QUARTER, "A", 100, 0), RegisterPoint(2 * QUARTER, "A", 250, 0)]

    result = interval_rows(data, 0, 2 * QUARTER, QUARTER, max_gap=QUARTER, max_power_w=100_000)

    assert [r.import_wh for r in result] == [100, 150]


def test_missing_export_register_gives_none_for_export_only():
    data = [RegisterPoint(t, "A", t // 10, None) for t in range(0, QUARTER + 1, 10)]

    [result] = rows(data, end=QUARTER)

    assert (result.import_wh, result.export_wh, result.complete) == (90, None, True)
