"""`gridcommons demo network` (what `make demo-network` runs), headless end to end: the five demo
households on five geth Clique validators in real time. An interval settles on chain, every
validator seals blocks in turn, a DApp answers and its Node page lists the signers; Ctrl-C stops
everything and leaves no geth behind."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import requests
from demokit import eventually, running_demo

from node.chain.client import connect
from node.chain.contracts import CommunityContracts, load_abis
from node.chain.deployment import Deployment
from node.chain.devnet import MANIFEST, dev_account
from node.demo.households import HOUSEHOLDS
from node.demo.network import validator_processes
from node.demo.run import dapp_answers

FIRST_RPC_PORT, FIRST_P2P_PORT, FIRST_DAPP_PORT = 18860, 18865, 18870  # this test's range: 18860-18874


def gethes_of(root: Path) -> list[int]:
    """`pgrep -f`: the geth processes whose data directory is in `root`."""
    found = subprocess.run(["pgrep", "-f", f"geth .*--datadir {root}/"], capture_output=True, text=True).stdout
    return [int(pid) for pid in found.split()]


def sealers_of_recent_blocks(w3, count: int) -> set[str]:
    head = w3.eth.block_number
    return {w3.provider.make_request("clique_getSigner", [hex(n)])["result"].lower()
            for n in range(max(head - count + 1, 1), head + 1)}


def node_page(url: str, password: str) -> str:
    """The Node page's HTML, logged in as the household's operator."""
    session = requests.Session()
    login = session.get(url + "/auth/login", timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)
    _send_secure_cookies_over_loopback(session)
    # Not followed: the redirect would go without the new (Secure) cookie and come back with a logged-out one.
    session.post(url + "/auth/login", data={"csrf_token": token, "password": password}, timeout=10,
                 allow_redirects=False)
    _send_secure_cookies_over_loopback(session)
    return session.get(url + "/node/", timeout=30).text


def _send_secure_cookies_over_loopback(session: requests.Session) -> None:
    # The DApp marks its cookies Secure on 127.0.0.1, as browsers honour there; requests sends those over https only.
    for cookie in session.cookies:
        cookie.secure = False


def test_network_demo_settles_on_five_sealing_validators_and_ctrl_c_leaves_no_geth(tmp_path):
    root = tmp_path / "community"
    output = tmp_path / "demo.out"
    started_at = time.monotonic()
    with running_demo(output, "network", "--dir", str(root), "--chain-port", str(FIRST_RPC_PORT),
                      "--first-p2p-port", str(FIRST_P2P_PORT), "--first-dapp-port", str(FIRST_DAPP_PORT)) as demo:
        assert len(gethes_of(root)) == len(HOUSEHOLDS)
        assert sorted(validator_processes(root)) == sorted(gethes_of(root))

        w3 = connect(f"http://127.0.0.1:{FIRST_RPC_PORT + 2}")  # any validator: bakker's
        record = Deployment(**json.loads((root / "demo.json").read_text())["deployment"])
        community = CommunityContracts(w3, record, load_abis(MANIFEST))["Community"]
        assert community.functions.intervalLength().call() == 60
        assert eventually(lambda: community.functions.lastSettledInterval().call() > 0, 150, every=2), \
            f"no interval settled:\n{output.read_text()}"
        settled_after_s = time.monotonic() - started_at
        # The narrator polls the chain every few seconds: its line follows the settlement.
        assert eventually(lambda: " settled: produced " in output.read_text(), 30), output.read_text()

        validators = {dev_account(h.account_index).address.lower() for h in HOUSEHOLDS}
        assert sealers_of_recent_blocks(w3, 15) == validators

        smit = HOUSEHOLDS.index(next(h for h in HOUSEHOLDS if h.name == "smit"))
        dapp = f"http://127.0.0.1:{FIRST_DAPP_PORT + smit}"
        assert dapp_answers(dapp)
        page = node_page(dapp, json.loads((root / "logins.json").read_text())["smit"])
        assert "This node is a signer" in page
        assert [a for a in (dev_account(h.account_index).address for h in HOUSEHOLDS) if a not in page] == []
        assert "Last blocks" in page

        demo.send_signal(signal.SIGINT)
        exit_code = demo.wait(90)
    assert exit_code == 0, output.read_text()
    assert "stopped; the state is in" in output.read_text()
    assert gethes_of(root) == []
    assert not dapp_answers(dapp)
    print(f"first interval settled {settled_after_s:.0f} s after the demo started")
