"""`gridcommons forecast show` and `gridcommons forecast evaluate` on a node's own files."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from click.testing import CliRunner
from forecastkit import ZONE, write_chain, write_minutes

from node.cli import main
from node.store.calendar import local_midnight

MONDAY = date(2024, 6, 3)
QUARTER = 900


def run(*args):
    return CliRunner(mix_stderr=False).invoke(main, ["forecast", *args], catch_exceptions=False)


def node_toml(tmp_path):
    (tmp_path / "data").mkdir()
    path = tmp_path / "node.toml"
    path.write_text('[node]\nname = "test-house"\ndata_dir = "data"\ntimezone = "Europe/Amsterdam"\n'
                    '[chain]\ndeployment = "d.json"\nmanifest = "m.json"\nkeystore = "k.json"\n')
    return path


def local_hour(ts: int) -> int:
    return datetime.fromtimestamp(ts, ZONE).hour


def steady_household(tmp_path, days: int) -> None:
    """600 W before local noon, 1200 W after; 1800 W exported from 10:00 to 14:00."""
    first = local_midnight(MONDAY, ZONE)
    write_minutes(tmp_path / "data" / "meter.sqlite", first, first + days * 86400,
                  lambda ts: 600 if local_hour(ts) < 12 else 1200, lambda ts: 1800 if 10 <= local_hour(ts) < 14 else 0)


def test_show_prints_the_next_24_hours_with_their_band_and_the_community_advice(tmp_path):
    config = node_toml(tmp_path)
    steady_household(tmp_path, 10)
    # Two members: one uses 250 Wh a quarter hour all day, the other exports 500 Wh a quarter hour from 11:00 to 13:00.
    first = local_midnight(MONDAY, ZONE) // QUARTER
    intervals = range(first, first + 10 * 96)
    write_chain(tmp_path / "data" / "mirror.sqlite",
                {i: {1: (250, 0), 2: (0, 500 if 11 <= local_hour(i * QUARTER) < 13 else 0)} for i in intervals},
                settled=list(intervals))

    result = run("show", "--config", str(config), "--at", "2024-06-13T09:40")

    lines = result.stdout.splitlines()
    assert result.exit_code == 0
    assert lines[0] == ("Forecast for test-house, 24 h from Thu 2024-06-13 09:00 (Europe/Amsterdam), in Wh per hour, "
                        "likely range in brackets")
    assert lines[2].split() == ["09:00", "600", "(600–600)", "0", "(0–0)", "-1,000"]
    assert lines[3].split() == ["10:00", "600", "(600–600)", "1,800", "(1,800–1,800)", "-1,000"]
    assert lines[4].split() == ["11:00", "600", "(600–600)", "1,800", "(1,800–1,800)", "+1,000"]
    assert lines[5].split() == ["12:00", "1,200", "(1,200–1,200)", "1,800", "(1,800–1,800)", "+1,000"]
    assert lines[-1] == ("Run your dishwasher, washing machine or EV charger between 11:00 and 13:00, when the "
                         "community expects surplus.")


def test_show_with_a_few_days_of_history_says_it_falls_back(tmp_path):
    config = node_toml(tmp_path)
    steady_household(tmp_path, 3)

    result = run("show", "--config", str(config), "--at", "2024-06-06T09:00")

    assert result.stdout.splitlines()[2].split() == ["09:00", "600", "0"]
    assert ("Consumption: Only 3.0 days of measured history (7 needed for the full method): each hour is the average "
            "of that clock hour so far (recent days weigh more), weekdays and weekends alike, without a band."
            ) in result.stdout.splitlines()
    assert "Community: no event mirror yet (the node has not followed the chain)." in result.stdout.splitlines()


def test_evaluate_scores_the_model_and_both_baselines_on_the_last_days_with_data(tmp_path):
    config = node_toml(tmp_path)
    first = local_midnight(MONDAY, ZONE)
    odd = local_midnight(MONDAY + timedelta(days=8), ZONE)  # Tuesday of the second week uses 1200 W all day
    write_minutes(tmp_path / "data" / "meter.sqlite", first, first + 10 * 86400,
                  lambda ts: 1200 if odd <= ts < odd + 86400 else 600, lambda ts: 0)

    result = run("evaluate", "--config", str(config), "--days", "1")

    lines = result.stdout.splitlines()
    assert lines[0] == ("Backtest on test-house's store: 1 days, 2024-06-12 to 2024-06-12 (Europe/Amsterdam); each day "
                        "forecast at its midnight from the data before it.")
    assert lines[3].split() == ["same", "hour", "yesterday", "24", "600.0", "100.0", "100.0"]
    assert lines[4].split() == ["same", "hour", "last", "week", "24", "0.0", "0.0", "0.0"]
    assert lines[2].split()[:4] == ["consumption", "this", "model", "24"]
    assert lines[-1] == "MAPE counts hours with at least 50 Wh measured; WAPE is Σ|error| ÷ Σ measured."


def test_without_a_store_the_commands_say_so_and_create_nothing(tmp_path):
    config = node_toml(tmp_path)

    result = run("evaluate", "--config", str(config))

    assert (result.exit_code, result.stderr.strip()) == (
        1, f"Error: no meter store at {tmp_path / 'data' / 'meter.sqlite'}: run the node or import history first")
    assert list((tmp_path / "data").iterdir()) == []


def test_a_malformed_time_is_refused_with_an_example(tmp_path):
    config = node_toml(tmp_path)
    steady_household(tmp_path, 1)

    result = run("show", "--config", str(config), "--at", "tomorrow")

    assert result.exit_code == 2
    assert "Invalid value for --at: must be a local time like 2026-01-01T10:00, got 'tomorrow'" in result.stderr
