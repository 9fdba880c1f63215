"""The switch journal the DApp reads, and the log lines every event produces."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import pytest

from node.relay import BatteryRule, Relay, RelayJournal, RelaySettings, SwitchEvent, SwitchLog

START = datetime(2024, 6, 3, 8, 0, tzinfo=timezone.utc)  # where the clock fixture starts
MINUTE = 60.0


def event(relay: str, minutes: int, on: bool = True, switched: bool = True) -> SwitchEvent:
    return SwitchEvent(relay, START + timedelta(minutes=minutes), on, f"reason {minutes}", "rule", switched)


def test_switches_persist_across_reopening_with_their_reasons(tmp_path, factory, clock, signals):
    settings = RelaySettings("battery", 17, BatteryRule(), min_on_s=0, min_off_s=0)
    with RelayJournal(tmp_path / "relays.db") as journal:
        relay = Relay(settings, factory, monotonic=clock.monotonic, wall_clock=clock.now, log=SwitchLog(journal=journal))
        for soc in (50, 19, 81):
            clock.advance(MINUTE)
            relay.update(signals(battery_soc_pct=soc))
        clock.advance(MINUTE)
        relay.close()

    with RelayJournal(tmp_path / "relays.db") as reopened:
        recent = reopened.recent("battery", limit=3)

    assert recent == [
        SwitchEvent("battery", START + timedelta(minutes=4), False, "stopped: fail-safe off", "fail-safe", False),
        SwitchEvent("battery", START + timedelta(minutes=3), False, "battery at 81%, above 80%: own battery", "rule"),
        SwitchEvent("battery", START + timedelta(minutes=2), True, "battery at 19%, below 20%: community source", "rule"),
    ]


def test_recent_filters_by_relay_and_by_real_switches(tmp_path):
    with RelayJournal(tmp_path / "relays.db") as journal:
        for record in (event("battery", 1), event("boiler", 2), event("battery", 3, switched=False), event("battery", 4, on=False)):
            journal.record(record)

        assert [e.at.minute for e in journal.recent()] == [4, 3, 2, 1]
        assert [e.at.minute for e in journal.recent("battery")] == [4, 3, 1]
        assert [e.at.minute for e in journal.recent("battery", switches_only=True)] == [4, 1]
        assert [e.at.minute for e in journal.recent(limit=1)] == [4]


def test_the_journal_keeps_only_the_latest_events_of_each_relay(tmp_path):
    with RelayJournal(tmp_path / "relays.db", keep=3) as journal:
        for minute in range(10):
            journal.record(event("battery", minute))
        journal.record(event("boiler", 99))

        assert [e.at.minute for e in journal.recent("battery", limit=100)] == [9, 8, 7]
        assert [e.at.minute for e in journal.recent("boiler")] == [39]  # 99 minutes after 08:00


def test_times_keep_their_utc_offset(tmp_path):
    amsterdam_summer = timezone(timedelta(hours=2))
    moment = START.astimezone(amsterdam_summer)
    with RelayJournal(tmp_path / "relays.db") as journal:
        journal.record(SwitchEvent("battery", moment, True, "test", "manual"))
        stored = journal.recent()[0].at

    assert (stored, stored.utcoffset()) == (moment, timedelta(hours=2))


def test_the_journal_file_is_in_wal_mode(tmp_path):
    import sqlite3

    RelayJournal(tmp_path / "relays.db").close()

    assert sqlite3.connect(tmp_path / "relays.db").execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_every_event_becomes_a_log_line(caplog):
    with caplog.at_level(logging.INFO, logger="node.relay"):
        SwitchLog().record(SwitchEvent("battery", START, True, "battery at 19%, below 20%: community source", "rule"))

    assert caplog.messages == ["relay battery switched on (rule): battery at 19%, below 20%: community source"]


def test_a_journal_that_cannot_be_written_is_reported_and_skipped(tmp_path, caplog):
    journal = RelayJournal(tmp_path / "relays.db")
    journal.close()  # as unwritable as a full disk, for the log

    SwitchLog(journal=journal).record(event("battery", 1))

    assert "could not record relay battery switched on" in caplog.text


def test_a_journal_must_keep_something(tmp_path):
    with pytest.raises(ValueError):
        RelayJournal(tmp_path / "relays.db", keep=0)
