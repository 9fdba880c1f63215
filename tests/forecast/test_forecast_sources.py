"""What forecasts learn from: the household's store in whole measured hours, the community's settled readings."""

from __future__ import annotations

from datetime import datetime

from forecastkit import ZONE, write_chain, write_minutes

from node.forecast.sources import community_hours, household_hours
from node.mirror.db import MirrorDB
from node.store.store import MeterStore

TEN = int(datetime(2024, 6, 3, 10, tzinfo=ZONE).timestamp())
HOUR, QUARTER = 3600, 900


def test_household_hours_are_the_imported_and_exported_wh_of_each_fully_measured_hour(tmp_path):
    path = tmp_path / "meter.sqlite"
    # 600 W in the first hour, 1200 W in the second; the panels export 300 W in the second.
    write_minutes(path, TEN, TEN + 3 * HOUR, lambda ts: 600 if ts < TEN + HOUR else 1200,
                  lambda ts: 300 if TEN + HOUR <= ts < TEN + 2 * HOUR else 0,
                  skip=range(TEN + 2 * HOUR + 600, TEN + 2 * HOUR + 900))  # five minutes lost in the third hour

    with MeterStore(path, local=ZONE) as store:
        hours = household_hours(store, TEN, TEN + 3 * HOUR, ZONE)

    assert hours.consumption == {TEN: 600, TEN + HOUR: 1200}
    assert hours.production == {TEN: 0, TEN + HOUR: 300}


def test_community_hours_sum_every_members_reading_of_settled_intervals_only(tmp_path):
    first = TEN // QUARTER
    readings = {first + q: {1: (100, 0), 2: (50, 400)} for q in range(8)}
    del readings[first + 2][2]  # member 2 sent no reading: the settlement counted it as zero
    write_chain(tmp_path / "mirror.sqlite", readings, settled=[first + q for q in range(7)])  # the last is not settled

    mirror = MirrorDB(tmp_path / "mirror.sqlite")
    hours = community_hours(mirror, TEN, TEN + 2 * HOUR, QUARTER, ZONE)
    mirror.close()

    assert hours.consumption == {TEN: 4 * 150 - 50}
    assert hours.production == {TEN: 3 * 400}
