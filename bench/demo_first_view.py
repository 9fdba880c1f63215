"""Benchmark: how long `make demo` takes, with set-up done, until the first DApp page answers.

Run: .venv/bin/python -m bench.demo_first_view [--runs 3]
Each run starts `make demo-reset` (a new community: chain, contracts, five households with three
weeks of meter history, five nodes) in a scratch folder on spare ports, and polls the first
household's login page from outside; the clock starts when make is started. Same-run baselines:
`make demo` resuming the community the fresh run left (no deployment, no history), and make's own
no-op check of the set-up (`make -q setup`-like: `make setup` with nothing to do). Target: < 60 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.results import save
from node.demo.run import dapp_answers

ROOT = Path(__file__).parents[1]
CHAIN_PORT = 18880
FIRST_DAPP_PORT = 18881
TARGET_S = 60.0


def first_view(target: str, demo_dir: Path, timeout: float = 180) -> float:
    """Seconds from starting `make <target>` until the first DApp's login page answers."""
    started = time.monotonic()
    process = subprocess.Popen(
        ["make", "--no-print-directory", target, f"DEMO_DIR={demo_dir}", f"CHAIN_PORT={CHAIN_PORT}",
         f"DEMO_ARGS=--first-dapp-port {FIRST_DAPP_PORT} --for 5"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        while time.monotonic() - started < timeout:
            if process.poll() is not None:
                raise RuntimeError(f"make {target} stopped before a DApp answered: {process.stderr.read().decode()}")
            if dapp_answers(f"http://127.0.0.1:{FIRST_DAPP_PORT}"):
                return time.monotonic() - started
            time.sleep(0.1)
        raise RuntimeError(f"no DApp answered within {timeout:.0f} s")
    finally:
        process.wait(120)


def setup_check() -> float:
    started = time.monotonic()
    subprocess.run(["make", "--no-print-directory", "setup"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    fresh, resumed, setup = [], [], []
    with tempfile.TemporaryDirectory() as scratch:
        demo_dir = Path(scratch) / "demo"
        for _ in range(args.runs):
            setup.append(setup_check())
            fresh.append(first_view("demo-reset", demo_dir))
            resumed.append(first_view("demo", demo_dir))
    figures = {
        "runs": args.runs,
        "fresh_first_view_s": [round(s, 1) for s in fresh],
        "fresh_median_s": round(statistics.median(fresh), 1),
        "resumed_median_s": round(statistics.median(resumed), 1),
        "setup_noop_median_s": round(statistics.median(setup), 2),
        "fresh_vs_resumed": round(statistics.median(fresh) / statistics.median(resumed), 2),
        "target_s": TARGET_S,
        "target_met": max(fresh) < TARGET_S,
    }
    print(f"make demo-reset, first DApp page: median {figures['fresh_median_s']} s (runs {figures['fresh_first_view_s']})")
    print(f"make demo resuming (baseline):    median {figures['resumed_median_s']} s;"
          f" fresh/resumed {figures['fresh_vs_resumed']}x")
    print(f"make setup with nothing to do:    median {figures['setup_noop_median_s']} s")
    print(f"target < {TARGET_S:.0f} s: {'met' if figures['target_met'] else 'NOT met'}")
    save("demo_first_view", figures)


if __name__ == "__main__":
    main()
