"""DApp benchmark: p95 latency of every page and API route under 20 concurrent clients, with a year
of 10-second readings in the store and a year of a five-member community in the event mirror.

Run: .venv/bin/python -m bench.dapp_latency [--days 365] [--clients 20] [--rounds 5]
The DApp runs as `gridcommons dapp run` in its own process against the project's anvil; the clients
are threads with their own logged-in sessions. Baseline, in the same run and under the same load:
a static file (style.css), which costs the server nothing but the HTTP round trip.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

import requests

from bench.dapp_data import INTERVAL, build
from bench.results import save
from dapp.cli import set_password
from node.chain.anvil import AnvilSettings, EmbeddedAnvil
from node.chain.client import connect
from node.chain.devnet import LocalCommunity, dev_account
from node.runtime.devnode import DEV_ENV, write_dev_node

ANVIL_PORT, DAPP_PORT = 18790, 18791
PASSWORD = "benchmark password"
GRIDCOMMONS = str(Path(sys.executable).with_name("gridcommons"))
TARGET_MS = 100
BASELINE = "/static/style.css"


def routes(last: int, zone) -> list[str]:
    """Every GET page and API route, on recent data (the pages people open) and on older data."""
    moment = datetime.fromtimestamp(last - INTERVAL, timezone.utc).astimezone(zone)
    day, month = moment.strftime("%Y-%m-%d"), moment.strftime("%Y-%m")
    interval = last // INTERVAL - 1
    found = [
        "/now/", "/now/api/summary",
        *(f"/history/?period={p}&date={day}" for p in ("day", "week", "month", "year")),
        *(f"/history/api/series?period={p}&date={day}" for p in ("day", "week", "month", "year")),
        "/community/", f"/community/?date={day}",
        "/bill/", f"/bill/?month={month}", f"/bill/interval/{interval}", f"/bill/export.csv?month={month}",
        f"/check/?month={month}",
        "/market/", "/market/offers/", "/consents/", "/relays/", "/node/",
    ]
    return found


def loopback_session() -> requests.Session:
    """The DApp's cookies are Secure, which browsers keep on loopback; requests would send them over
    https only."""
    session = requests.Session()

    def keep(response, *args, **kwargs):
        value = response.cookies.get("gridcommons_session")
        if value:
            session.headers["Cookie"] = f"gridcommons_session={value}"

    session.hooks["response"].append(keep)
    return session


def login(base: str, password: str = PASSWORD) -> requests.Session:
    """A logged-in session, checked on a private page."""
    session = loopback_session()
    token = re.search(r'name="csrf-token" content="([^"]+)"', session.get(base + "/auth/login").text).group(1)
    session.post(base + "/auth/login", data={"password": password, "csrf_token": token}, allow_redirects=False)
    answer = session.get(base + "/now/", allow_redirects=False)
    if answer.status_code != 200:
        raise SystemExit(f"could not log in to the DApp at {base}: /now/ answered {answer.status_code}")
    return session


def client(base: str, paths: list[str], rounds: int, timings: dict, errors: list, start: threading.Barrier) -> None:
    session = login(base)
    start.wait()
    rng = random.Random(threading.get_ident())
    for _ in range(rounds):
        order = paths + [BASELINE] * 3
        rng.shuffle(order)
        for path in order:
            began = time.perf_counter()
            response = session.get(base + path, allow_redirects=False)
            elapsed = (time.perf_counter() - began) * 1000
            if response.status_code != 200:
                errors.append(f"{path}: {response.status_code}")
            timings[path].append(elapsed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5, help="passes over every route per client")
    args = parser.parse_args()

    with EmbeddedAnvil(AnvilSettings(port=ANVIL_PORT)) as anvil, tempfile.TemporaryDirectory() as scratch:
        w3 = connect(anvil.url)
        community = LocalCommunity(w3)
        accounts = {m: dev_account(m).address for m in range(1, 6)}
        for m, address in accounts.items():
            community.admit(address, m in (1, 2, 5), m != 2)
        config = write_dev_node(Path(scratch) / "node", "bench", dev_account(1), community.deployment, anvil.url,
                                'source = "simulator"', dapp=f"port = {DAPP_PORT}")
        print(f"building {args.days} days of data ...", flush=True)
        data = build(config.data_dir, accounts, args.days)
        print(f"  {data['readings']:,} readings and {data['events']:,} mirrored events in {data['seconds']} s", flush=True)
        set_password(config, PASSWORD)
        server = subprocess.Popen([GRIDCOMMONS, "dapp", "run", "--config", str(config.data_dir.parent / "node.toml")],
                                  env={**os.environ, **DEV_ENV}, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{DAPP_PORT}"
        try:
            wait_for(base)
            paths = routes(data["last"], __import__("zoneinfo").ZoneInfo(config.timezone))
            timings: dict[str, list[float]] = defaultdict(list)
            errors: list[str] = []
            # A route's first request after start builds what later ones reuse (a month's books, the
            # mirror's member index): measured once, on its own, before the concurrent load.
            first_ms = _first_requests(base, paths)
            barrier = threading.Barrier(args.clients)
            threads = [threading.Thread(target=client, args=(base, paths, args.rounds, timings, errors, barrier))
                       for _ in range(args.clients)]
            began = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            wall = time.perf_counter() - began
        finally:
            server.terminate()
            server.wait(timeout=30)

    p95 = {path: _p95(values) for path, values in timings.items()}
    baseline = p95.pop(BASELINE)
    requests_made = sum(len(v) for v in timings.values())
    figures = {
        "clients": args.clients,
        "days_of_data": args.days,
        "readings": data["readings"],
        "mirrored_events": data["events"],
        "requests": requests_made,
        "requests_per_second": round(requests_made / wall, 1),
        "errors": errors[:20],
        "target_p95_ms": TARGET_MS,
        "baseline_p95_ms": round(baseline, 1),
        "p95_ms": {path: round(value, 1) for path, value in p95.items()},
        "p50_ms": {path: round(statistics.median(timings[path]), 1) for path in p95},
        "first_request_ms": first_ms,
        "worst_route": max(p95, key=p95.get),
        "worst_p95_ms": round(max(p95.values()), 1),
        "worst_ratio_to_baseline": round(max(p95.values()) / baseline, 2),
    }
    print(f"{args.clients} clients, {requests_made:,} requests in {wall:.1f} s ({figures['requests_per_second']}/s), "
          f"{len(errors)} errors")
    for path, value in sorted(p95.items(), key=lambda item: -item[1]):
        flag = "" if value < TARGET_MS else "  OVER TARGET"
        print(f"  p95 {value:7.1f} ms  p50 {figures['p50_ms'][path]:6.1f} ms  {value / baseline:5.1f}x baseline  {path}{flag}")
    slowest_first = max(first_ms, key=first_ms.get)
    print(f"  first request after start, one client: slowest {first_ms[slowest_first]:.0f} ms ({slowest_first})")
    print(f"  baseline {BASELINE}: p95 {baseline:.1f} ms (same run, same load); target p95 < {TARGET_MS} ms")
    save("dapp_latency", figures)


def _first_requests(base: str, paths: list[str]) -> dict[str, float]:
    session = login(base)
    timings = {}
    for path in paths:
        began = time.perf_counter()
        session.get(base + path, allow_redirects=False)
        timings[path] = round((time.perf_counter() - began) * 1000, 1)
    return timings


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def wait_for(base: str, timeout: float = 60) -> None:
    """Until the DApp at `base` answers."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if requests.get(base + "/auth/login", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise SystemExit(f"the DApp did not answer at {base}")


if __name__ == "__main__":
    main()
