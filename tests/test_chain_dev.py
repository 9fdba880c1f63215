"""`gridcommons chain dev`: the embedded anvil that tests, the demo and benchmarks run against."""

import subprocess
import sys
from pathlib import Path

GRIDCOMMONS = str(Path(sys.executable).with_name("gridcommons"))
PORT = "8561"
ASK_CHAIN_ID = (
    "import json, urllib.request; "
    f"r = urllib.request.Request('http://127.0.0.1:{PORT}', "
    "json.dumps({'jsonrpc': '2.0', 'id': 1, 'method': 'eth_chainId', 'params': []}).encode(), "
    "{'Content-Type': 'application/json'}); "
    "print(int(json.load(urllib.request.urlopen(r))['result'], 16))"
)


def dev(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [GRIDCOMMONS, "chain", "dev", "--port", PORT, "--quiet", "--", *command],
        capture_output=True, text=True, timeout=120,
    )


def test_command_runs_against_a_chain_with_id_1337():
    result = dev(sys.executable, "-c", ASK_CHAIN_ID)
    assert (result.returncode, result.stdout.strip()) == (0, "1337")


def test_command_exit_status_is_passed_on_and_the_chain_stops():
    assert dev(sys.executable, "-c", "raise SystemExit(7)").returncode == 7
    assert dev(sys.executable, "-c", ASK_CHAIN_ID).returncode == 0  # the port was freed


def test_busy_port_is_refused_with_a_clear_reason():
    inner = [GRIDCOMMONS, "chain", "dev", "--port", PORT, "--quiet", "--", sys.executable, "-c", "pass"]
    result = dev(*inner)
    assert result.returncode == 1
    assert f"something already answers on http://127.0.0.1:{PORT}" in result.stderr
    assert "Traceback" not in result.stderr


def test_terminating_the_command_stops_the_chain_too():
    runner = subprocess.Popen([GRIDCOMMONS, "chain", "dev", "--port", PORT, "--quiet"])
    try:
        for _ in range(100):
            if subprocess.run([sys.executable, "-c", ASK_CHAIN_ID], capture_output=True).returncode == 0:
                break
            subprocess.run(["sleep", "0.1"])
        runner.terminate()
        assert runner.wait(timeout=30) == 143
    finally:
        runner.kill()
    assert subprocess.run([sys.executable, "-c", ASK_CHAIN_ID], capture_output=True).returncode != 0
