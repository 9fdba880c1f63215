"""`gridcommons demo run` (what `make demo` runs), headless: within the community's first simulated
hours, de Vries offers its forecast surplus by rule, a consumer's rule accepts it for its forecast
shortage, both relays follow the deal, and a delivery is metered and paid; the narrator tells
each step on one line. Ctrl-C then stops the community."""

from __future__ import annotations

import json
import re
import signal

from demokit import eventually, running_demo

from node.chain.client import connect
from node.chain.contracts import CommunityContracts, load_abis
from node.chain.deployment import Deployment
from node.chain.devnet import MANIFEST, dev_account
from node.demo.households import HOUSEHOLDS

CHAIN_PORT, FIRST_DAPP_PORT = 18900, 18901  # this test's range: 18900-18905
DELIVERED = re.compile(
    r"offer #(\d+): de-vries delivered ([1-9][0-9]*) Wh to (bakker|visser) in interval (\d+) \(.+\) for [0-9.]+ credits")


def account_of(name: str) -> str:
    return dev_account(next(h for h in HOUSEHOLDS if h.name == name).account_index).address


def test_the_demo_trades_by_rule_offer_acceptance_relays_and_a_paid_delivery(tmp_path):
    root = tmp_path / "community"
    output = tmp_path / "demo.out"
    with running_demo(output, "run", "--dir", str(root), "--chain-port", str(CHAIN_PORT),
                      "--first-dapp-port", str(FIRST_DAPP_PORT)) as demo:
        # 60x: the first offered hour starts about a minute after the nodes, its first interval ends 15 s later.
        assert eventually(lambda: DELIVERED.search(output.read_text()) or demo.poll() is not None, 240), \
            output.read_text()
        told = output.read_text()
        offer_id, wh, consumer, interval = DELIVERED.search(told).groups()

        assert re.search(rf"de-vries offers \d+ Wh for .+ at 0\.080 credits/kWh \(offer #{offer_id}\)", told), told
        assert f"{consumer} accepted offer #{offer_id} from de-vries:" in told
        assert re.search(rf"de-vries: relay peer-supply ON \(exchange {offer_id} with ", told), told
        assert re.search(rf"{consumer}: relay peer-in ON \(exchange {offer_id} with ", told), told

        w3 = connect(f"http://127.0.0.1:{CHAIN_PORT}")
        record = Deployment(**json.loads((root / "demo.json").read_text())["deployment"])
        exchange = CommunityContracts(w3, record, load_abis(MANIFEST))["EnergyExchange"]
        only = {"offerId": int(offer_id)}
        posted = exchange.events.OfferPosted().get_logs(from_block=0, argument_filters=only)
        accepted = exchange.events.OfferAccepted().get_logs(from_block=0, argument_filters=only)
        delivered = exchange.events.DeliveryRecorded().get_logs(from_block=0, argument_filters=only)
        assert [e.args.producer for e in posted] == [account_of("de-vries")]
        assert [e.args.consumer for e in accepted] == [account_of(consumer)]
        told_one = [d.args for d in delivered if d.args.interval == int(interval)]
        assert [(d.wh, d.tokens > 0) for d in told_one] == [(int(wh), True)]

        demo.send_signal(signal.SIGINT)
        exit_code = demo.wait(90)
    assert exit_code == 0, output.read_text()
