"""The Community page: pseudonyms only, community totals per interval, k-anonymous comparisons."""

from __future__ import annotations

import json
import re
import statistics
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from dappkit import ADDRESS, NOW  # noqa: E402
from ledgerkit import Ledger  # noqa: E402

from dapp.ledger_view import K_ANONYMITY  # noqa: E402
from dapp.pseudonyms import pseudonym  # noqa: E402
from dapp.units import energy  # noqa: E402
from node.allocation import AllocationKey  # noqa: E402

OTHERS = ["0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
          "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"]
NOON = int(NOW) // 900 + 11 * 4  # 2026-01-01 12:00 in Amsterdam


def community(services, others: int, imports=(300, 100, 200, 500)) -> Ledger:
    """This node (a consumer) and `others` more members, the first a producer; two settled intervals."""
    made = Ledger(start_time=int(NOW) - 3600)
    made.add_member(ADDRESS, producer=False, consumer=True)
    for n, account in enumerate(OTHERS[:others]):
        made.add_member(account, producer=n == 0, consumer=n != 0)
    for offset in range(2):
        readings = {1: (imports[0] + offset, 0)}
        readings.update({m: (imports[m - 1], 900 if m == 2 else 0) for m in range(2, others + 2)})
        made.interval(NOON + offset, readings)
    made.set_key(AllocationKey.STATIC_ROUNDS)
    made.write(services.config.mirror_path)
    return made


def chart(page: str) -> dict:
    return json.loads(re.search(r"data-chart='([^']*)'", page).group(1).replace("&#34;", '"'))


def test_the_community_page_sends_a_visitor_to_the_login_first(client):
    response = client.get("/community/")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_members_appear_by_pseudonym_with_roles_and_never_by_address(client, auth, services):
    community(services, others=2)
    auth.login()

    page = client.get("/community/?date=2026-01-01").get_data(as_text=True)

    assert f"{pseudonym(ADDRESS)} <strong>(you)</strong>" in page
    assert pseudonym(OTHERS[0]) in page and pseudonym(OTHERS[1]) in page
    assert re.findall(r"<td>(producer|consumer|prosumer)</td>", page) == ["consumer", "producer", "consumer"]
    for account in OTHERS[:2]:
        assert account not in page and account[:6] not in page and account.lower() not in page


def test_pseudonyms_are_stable_and_readable():
    assert pseudonym(OTHERS[0]) == pseudonym(OTHERS[0].lower())
    assert re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+", pseudonym(OTHERS[0]))


def test_the_day_shows_the_community_totals_per_interval_and_the_key_in_force(client, auth, services):
    made = community(services, others=2)
    auth.login()

    page = client.get("/community/?date=2026-01-01").get_data(as_text=True)

    consumed = sum(i for r in made.readings.values() for i, _ in r.values())
    assert energy(consumed) in page
    assert chart(page)["production"] == [900, 900]
    assert ">STATIC_ROUNDS<" in page and "0.100 credits/kWh" in page


def test_a_key_change_for_a_later_interval_is_announced_with_its_start(client, auth, services):
    made = community(services, others=2)
    later = int(services.clock()) // 900 + 96
    made.set_key(AllocationKey.STATIC_FIXED, from_interval=later)
    made.write(services.config.mirror_path)
    auth.login()

    page = client.get("/community/?date=2026-01-01").get_data(as_text=True)

    assert ">STATIC_ROUNDS<" in page
    assert f"to STATIC_FIXED from" in page and f"(interval {later})" in page


def test_with_too_few_other_members_only_totals_are_shown_and_why(client, auth, services):
    community(services, others=K_ANONYMITY - 1)
    auth.login()

    page = client.get("/community/?date=2026-01-01").get_data(as_text=True)

    assert f"Only totals are shown: {K_ANONYMITY - 1} other members reported this day" in page
    assert "Others' median" not in page
    assert "mine" not in chart(page) and "median" not in chart(page)


def test_with_enough_other_members_my_import_is_compared_with_their_quartiles(client, auth, services):
    community(services, others=K_ANONYMITY)
    auth.login()

    page = client.get("/community/?date=2026-01-01").get_data(as_text=True)

    q1, median, q3 = statistics.quantiles([100, 200, 500], n=4, method="inclusive")
    data = chart(page)
    assert (data["mine"], data["median"], data["q1"], data["q3"]) == ([300, 301], [median] * 2, [q1] * 2, [q3] * 2)
    assert "you imported more than\n      <strong>67 %</strong> of the other 3 members" in page


def test_a_day_without_settlements_says_what_to_do(client, auth, services):
    community(services, others=1)
    auth.login()

    page = client.get("/community/?date=2026-01-05").get_data(as_text=True)

    assert "No interval of this day is settled yet" in page


@pytest.mark.parametrize("query, message", [
    ("date=2026-02-30", "2026-02-30 is not a calendar date"),
    ("date=yesterday", "date must look like 2026-01-31"),
    ("date=0001-01-01", "date must be between 1970 and 2999"),
])
def test_a_bad_date_is_refused_with_what_to_change(client, auth, query, message):
    auth.login()

    response = client.get(f"/community/?{query}")

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
