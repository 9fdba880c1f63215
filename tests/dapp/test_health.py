"""The Node page: what the node's files and chain client say, including when the chain is down."""

from __future__ import annotations

import json

from node.store.samples import Sample
from node.store.store import MeterStore


def test_node_page_says_the_chain_is_unreachable_and_still_shows_the_meter(client, auth, services, clock):
    with MeterStore(services.config.store_path, clock=clock) as store:
        store.add_sample(Sample(int(clock.now) - 5, "E0099", 1000, 20, 350, 0))

    auth.login()
    page = client.get("/node/").get_data(as_text=True)

    assert "The chain client does not answer at http://127.0.0.1:1." in page
    assert "00:59:55 CET" in page  # the last telegram, in the node's time zone
    assert "meter.sqlite" in page


def test_node_page_lists_the_parts_the_running_node_reported(client, auth, services, clock):
    services.config.status_path.write_text(json.dumps({
        "written_at": clock.now, "account": services.address,
        "parts": {"meter": {"running": True, "restarts": 0, "last_error": None},
                  "chain": {"running": False, "restarts": 3, "last_error": "ChainUnreachable: no chain client"}},
        "meter": {"readings": 12, "rejections": {"crc_mismatch": 2}, "events": {"disconnected": 1}},
    }))

    auth.login()
    page = client.get("/node/").get_data(as_text=True)

    assert "<td>chain</td><td>down</td><td class=\"num\">3</td><td>ChainUnreachable: no chain client</td>" in page
    assert "12 readings this run · 2 CRC rejects · 2 rejected in all · 1 reconnects" in " ".join(page.split())


def test_node_page_before_the_node_ever_ran_says_how_to_start_it(client, auth):
    auth.login()

    page = client.get("/node/").get_data(as_text=True)

    assert "No telegram yet" in page
    assert "gridcommons node run" in page
