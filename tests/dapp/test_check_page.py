"""The Check page: the household's meter, the chain's settlement and the grid operator's figures per
quarter-hour of a month, with the reason for each one that differs, and the CSV of them all."""

from __future__ import annotations

import csv
import io
import sys
from datetime import datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "dso"))

from dappkit import AuthActions, PASSWORD  # noqa: E402
from dsokit import ACCOUNTS, POINTS, VIENNA, Community, write_meter  # noqa: E402

from dapp import create_app  # noqa: E402
from dapp.cli import set_password  # noqa: E402
from dapp.services import NodeServices  # noqa: E402
from node.dso.check import period_starts  # noqa: E402
from node.dso.importer import import_file  # noqa: E402
from node.dso.quantities import Figure, Quantity  # noqa: E402
from node.dso.store import DsoStore, dso_path  # noqa: E402
from node.runtime.live import LiveSamples  # noqa: E402

DAY = int(datetime(2024, 3, 12, tzinfo=VIENNA).timestamp())
STARTS = period_starts(DAY, DAY + 86400)


@pytest.fixture
def household(node_config, clock):
    """The DApp of member 1 of a three-member community whose 12 March 2024 is settled and metered."""
    set_password(node_config, PASSWORD)
    node_config.data_dir.mkdir(parents=True, exist_ok=True)
    community = Community(STARTS)
    write_meter(node_config.store_path, community, 1, STARTS)
    community.write_mirror(node_config.mirror_path)
    services = NodeServices(node_config, ACCOUNTS[1], clock, wall=clock, live=LiveSamples())
    yield community, services
    services.close()


@pytest.fixture
def check_client(household):
    client = create_app({"TESTING": True}, services=household[1]).test_client()
    AuthActions(client).login()
    return client


def imported(household, tmp_path, changed: int | None = None) -> None:
    community, services = household
    with DsoStore(dso_path(services.config)) as dso:
        import_file(community.write_austrian(tmp_path / "eeg.csv"), dso)
        if changed is not None:
            covered = dso.figures([POINTS[1]], changed, changed + 900)[changed][Quantity.COVERED].wh
            dso.write([Figure(POINTS[1], changed, Quantity.COVERED, covered + 150)])


def test_without_imported_figures_the_page_says_how_to_import_them(check_client):
    page = check_client.get("/check/?month=2024-03").get_data(as_text=True)

    assert "No grid operator figures are imported yet" in page
    assert "gridcommons dso import FILE" in page


def test_a_month_that_agrees_counts_every_settled_quarter_hour_as_agreeing(check_client, household, tmp_path):
    imported(household, tmp_path)

    page = check_client.get("/check/?month=2024-03").get_data(as_text=True)

    assert '<h2>Agree</h2><p class="figure">96</p>' in page
    assert "do not agree" not in page
    assert POINTS[1] in page


def test_a_changed_grid_operator_share_is_found_with_its_reason_and_flagged_on_the_bill(
    check_client, household, tmp_path
):
    imported(household, tmp_path, changed=STARTS[40])

    page = check_client.get("/check/?month=2024-03").get_data(as_text=True)
    bill = check_client.get("/bill/?month=2024-03").get_data(as_text=True)

    assert "<strong>1 of 2972 quarter-hours do not agree</strong>" in page
    assert "<td>key_differs</td><td class=\"num\">1</td>" in page
    assert "another allocation key or participation factor" in page
    assert "The grid operator's figures do not agree in 1 of" in bill
    assert 'href="/check/?month=2024-03"' in bill


def test_the_csv_export_has_every_quarter_hour_of_the_month_with_its_verdict(check_client, household, tmp_path):
    imported(household, tmp_path, changed=STARTS[40])

    response = check_client.get("/check/export.csv?month=2024-03")

    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert response.headers["Content-Disposition"] == 'attachment; filename="gridcommons-check-2024-03.csv"'
    assert len(rows) == 2972
    assert [(r["status"], r["reason"]) for r in rows if r["status"] == "differ"] == [("differ", "key_differs")]
    assert sum(r["status"] == "agree" for r in rows) == 95


def test_a_bad_month_is_refused_with_what_to_write(check_client):
    response = check_client.get("/check/?month=2024-13")

    assert response.status_code == 400
    assert "month must be 01 to 12" in response.get_data(as_text=True)


def test_figures_imported_after_a_visit_are_checked_on_the_next_one(check_client, household, tmp_path):
    imported(household, tmp_path)
    before = check_client.get("/check/?month=2024-03").get_data(as_text=True)
    community, services = household
    with DsoStore(dso_path(services.config)) as dso:
        covered = dso.figures([POINTS[1]], STARTS[3], STARTS[3] + 900)[STARTS[3]][Quantity.COVERED].wh
        dso.write([Figure(POINTS[1], STARTS[3], Quantity.COVERED, covered + 500)])

    after = check_client.get("/check/?month=2024-03").get_data(as_text=True)

    assert "do not agree" not in before
    assert "<strong>1 of 2972 quarter-hours do not agree</strong>" in after
