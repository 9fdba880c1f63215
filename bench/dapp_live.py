"""DApp benchmark: delay from a telegram's arrival at the node to the browser showing it.

Run: .venv/bin/python -m bench.dapp_live [--telegrams 60]
`gridcommons node run` reads a simulated DSMR 5 meter on a pseudo-terminal, one telegram a second
in real time, and serves its DApp; Debian's Chromium keeps the Now page open. A telegram's delay runs
from the moment its last byte is written to the meter line to the first animation frame after the
page's live handler put it on screen. Baseline, in the same run: a plain HTTP client reading the
same server-sent event stream (no browser), so the ratio shows what the browser adds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import requests

from bench.dapp_latency import PASSWORD, login, wait_for
from bench.results import save
from dapp.cli import set_password
from node.chain.anvil import AnvilSettings, EmbeddedAnvil
from node.chain.client import connect
from node.chain.devnet import LocalCommunity, dev_account
from node.meter.dsmr.timestamps import METER_TIMEZONE
from node.meter.simulator.household import PROFILES, Household
from node.meter.simulator.meter import SimulatedMeter
from node.meter.simulator.output import PtyLine
from node.runtime.devnode import DEV_ENV, write_dev_node

ANVIL_PORT, DAPP_PORT = 18795, 18796
GRIDCOMMONS = str(Path(sys.executable).with_name("gridcommons"))
TARGET_MS = 300
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Wraps the page's EventSource handler: after it has updated the page, the next animation frame
# records (telegram time, browser time).
RECORD_SHOWN = """
window.__shown = [];
const NativeEventSource = window.EventSource;
window.EventSource = class extends NativeEventSource {
  set onmessage(handler) {
    super.onmessage = (event) => {
      handler(event);
      const ts = JSON.parse(event.data).ts;
      requestAnimationFrame(() => window.__shown.push([ts, Date.now()]));
    };
  }
  get onmessage() { return super.onmessage; }
};
"""


def feed(line: PtyLine, count: int, written: dict, stop: threading.Event) -> None:
    meter = SimulatedMeter(Household(PROFILES["prosumer"], 1), datetime.now(METER_TIMEZONE).replace(microsecond=0))
    next_at = time.time()
    for _ in range(count):
        if stop.is_set():
            return
        moment, telegram = meter.step()
        time.sleep(max(0.0, next_at - time.time()))
        line.write(telegram)
        written[int(moment.timestamp())] = time.time()
        next_at += 1.0


def raw_stream(session: requests.Session, base: str, received: dict, stop: threading.Event) -> None:
    try:
        with session.get(base + "/now/stream", stream=True, timeout=(5, 30)) as response:
            for line in response.iter_lines():
                if stop.is_set():
                    return
                if line.startswith(b"data:"):
                    received.setdefault(json.loads(line[5:])["ts"], time.time())
    except requests.RequestException:
        if not stop.is_set():
            raise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--telegrams", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5, help="telegrams before measuring")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with EmbeddedAnvil(AnvilSettings(port=ANVIL_PORT)) as anvil, tempfile.TemporaryDirectory() as scratch:
        community = LocalCommunity(connect(anvil.url))
        community.admit(dev_account(1).address, True, True)
        line = PtyLine()
        config = write_dev_node(Path(scratch) / "node", "bench", dev_account(1), community.deployment, anvil.url,
                                f'source = "serial"\ndevice = "{line.path}"\nstandard = "dsmr5"',
                                dapp=f"port = {DAPP_PORT}")
        set_password(config, PASSWORD)
        node = subprocess.Popen([GRIDCOMMONS, "node", "run", "--config", str(config.data_dir.parent / "node.toml")],
                                env={**os.environ, **DEV_ENV}, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{DAPP_PORT}"
        written, received, stop = {}, {}, threading.Event()
        try:
            wait_for(base)
            session = login(base)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                context = browser.new_context()
                cookie = session.headers["Cookie"].split("=", 1)[1]
                context.add_cookies([{"name": "gridcommons_session", "value": cookie, "url": base}])
                page = context.new_page()
                page.add_init_script(RECORD_SHOWN)
                page.goto(base + "/now/")
                threading.Thread(target=raw_stream, args=(session, base, received, stop), daemon=True).start()
                feeder = threading.Thread(target=feed, args=(line, args.warmup + args.telegrams, written, stop))
                feeder.start()
                feeder.join()
                time.sleep(2)
                shown = dict(page.evaluate("window.__shown"))
                browser.close()
        finally:
            stop.set()
            node.terminate()
            node.wait(timeout=30)
            line.close()

    measured = sorted(written)[args.warmup:]
    if not all((shown, received)):
        raise SystemExit(f"nothing measured: {len(written)} written, {len(received)} streamed, {len(shown)} shown")
    browser_ms = [(shown[ts] / 1000 - written[ts]) * 1000 for ts in measured if ts in shown]
    raw_ms = [(received[ts] - written[ts]) * 1000 for ts in measured if ts in received]
    p95 = lambda values: statistics.quantiles(values, n=20)[-1]  # noqa: E731
    figures = {
        "telegrams": len(measured),
        "shown_in_browser": len(browser_ms),
        "received_by_plain_client": len(raw_ms),
        "target_p95_ms": TARGET_MS,
        "browser_p50_ms": round(statistics.median(browser_ms), 1),
        "browser_p95_ms": round(p95(browser_ms), 1),
        "browser_max_ms": round(max(browser_ms), 1),
        "baseline_plain_client_p50_ms": round(statistics.median(raw_ms), 1),
        "baseline_plain_client_p95_ms": round(p95(raw_ms), 1),
        "ratio_p95_browser_to_plain_client": round(p95(browser_ms) / p95(raw_ms), 2),
    }
    print(f"{len(measured)} telegrams at 1 Hz over a pseudo-terminal into `gridcommons node run`:")
    print(f"  telegram -> browser shows it: p50 {figures['browser_p50_ms']} ms, p95 {figures['browser_p95_ms']} ms, "
          f"max {figures['browser_max_ms']} ms ({len(browser_ms)} shown; target p95 < {TARGET_MS} ms)")
    print(f"  baseline telegram -> plain SSE client: p50 {figures['baseline_plain_client_p50_ms']} ms, "
          f"p95 {figures['baseline_plain_client_p95_ms']} ms; browser/plain p95 ratio {figures['ratio_p95_browser_to_plain_client']}")
    save("dapp_live", figures)


if __name__ == "__main__":
    main()
