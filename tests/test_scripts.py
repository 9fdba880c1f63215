"""The deployer's and administrator's Ape scripts, run as a deployer runs them, on the project's anvil.

Bad input must end in a one-line reason and a non-zero exit, never a Python traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from node.chain.anvil import AnvilSettings, EmbeddedAnvil

ROOT = Path(__file__).resolve().parents[1]
APE = str(Path(sys.executable).with_name("ape"))
NETWORK = "ethereum:local:foundry"
# anvil's well-known dev accounts 1..3 (test mnemonic)
HOUSEHOLDS = [
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
]


@pytest.fixture(scope="module")
def chain():
    # ape-config.yaml's foundry host is this port; the contract suite's anvil run is not active here.
    with EmbeddedAnvil(AnvilSettings(port=8545)) as anvil:
        yield anvil


@pytest.fixture(scope="module")
def deployments(tmp_path_factory):
    return tmp_path_factory.mktemp("deployments")


@pytest.fixture(scope="module")
def ape_run(chain, deployments):
    env = {**os.environ, "GRIDCOMMONS_DEPLOYMENTS_DIR": str(deployments)}

    def run(script: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [APE, "run", script, "-v", "WARNING", *args, "--network", NETWORK],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
        )

    return run


@pytest.fixture(scope="module")
def deployed(ape_run):
    result = ape_run("deploy", "--price", "0.25", "--key", "static-rounds")
    assert result.returncode == 0, result.stderr
    return result


def refused(result: subprocess.CompletedProcess, reason: str) -> bool:
    output = result.stdout + result.stderr
    return result.returncode != 0 and reason in output and "Traceback" not in output


def test_commands_without_a_deployment_say_how_to_deploy(ape_run):
    result = ape_run("community", "show")
    assert refused(result, "no deployment found for ethereum:local:foundry")
    assert "ape run deploy" in result.stderr


def test_deploy_records_every_contract_with_chain_and_block(deployed, deployments):
    record = json.loads((deployments / "ethereum-local.json").read_text())
    assert sorted(record["contracts"]) == [
        "Community",
        "ConsentRegistry",
        "EnergyCertificate",
        "EnergyExchange",
        "EnergyToken",
    ]
    assert record["chain_id"] == 1337
    assert record["parameters"]["key"] == "STATIC_ROUNDS"
    assert record["parameters"]["price_per_kwh"] == 25 * 10**16


def test_deploying_again_does_nothing_unless_asked(deployed, ape_run, deployments):
    before = (deployments / "ethereum-local.json").read_text()
    result = ape_run("deploy")
    assert result.returncode == 0
    assert "nothing to do" in result.stdout
    assert (deployments / "ethereum-local.json").read_text() == before


def test_redeploy_replaces_the_recorded_community(deployed, ape_run, deployments):
    before = json.loads((deployments / "ethereum-local.json").read_text())
    result = ape_run("deploy", "--redeploy")
    after = json.loads((deployments / "ethereum-local.json").read_text())
    assert result.returncode == 0, result.stderr
    assert after["contracts"]["Community"] != before["contracts"]["Community"]


def test_deploy_refuses_a_grace_period_as_long_as_an_interval(ape_run):
    assert refused(ape_run("deploy", "--redeploy", "--interval-length", "900", "--grace-period", "900"),
                   "grace period must be shorter")


def test_admin_builds_and_shows_a_community(deployed, ape_run):
    producer, bakery, flat = HOUSEHOLDS
    steps = [
        ("community", "add-member", producer, "--producer", "--no-consumer", "--meter-id", "E0001",
         "--grid-kw", "17.3", "--generation-kw", "9.9"),
        ("community", "add-member", bakery, "--coefficient", "60", "--meter-id", "E0002", "--grid-kw", "43.5"),
        ("community", "add-member", flat, "--coefficient", "40%", "--priority", "1", "--meter-id", "E0003",
         "--grid-kw", "11"),
        ("community", "set-price", "0.3"),
        ("community", "mint", bakery, "12.5", "--prepay", "--reference", "invoice 17"),
    ]
    for step in steps:
        result = ape_run(*step)
        assert result.returncode == 0, (step, result.stderr)
    shown = ape_run("community", "show").stdout
    assert "local price     0.3000" in shown
    assert "(coefficients total 100.00%)" in shown
    assert f"{bakery:42} -C         60.00%    0    43.50    0.00        12.5000" in shown
    assert f"{producer:42} P-          0.00%    0    17.30    9.90" in shown


def test_a_new_member_without_ether_gets_its_gas_money_from_the_admin(deployed, ape_run):
    from eth_account import Account

    newcomer = Account.create().address
    result = ape_run("community", "add-member", newcomer, "--meter-id", "E0099", "--grid-kw", "11", "--gas-ether", "0.25")
    assert result.returncode == 0, result.stderr
    assert f"sent 0.25 ether to {newcomer}" in result.stdout


def test_coefficients_over_one_hundred_percent_are_refused(deployed, ape_run):
    result = ape_run("community", "set-key", "static-rounds", "--coefficient", f"{HOUSEHOLDS[1]}=70")
    assert refused(result, "coefficients would add up to 110.00%, over 100%")


def test_unknown_member_is_refused(deployed, ape_run):
    stranger = "0x" + "ab" * 20
    assert refused(ape_run("community", "remove-member", stranger), "is not a member of this community")


def test_malformed_address_and_amount_are_refused(deployed, ape_run):
    assert refused(ape_run("community", "remove-member", "0x123"), "is not an Ethereum address")
    assert refused(ape_run("community", "set-price", "cheap"), "is not an amount of credits")
    assert refused(ape_run("community", "set-key", "static-rounds", "--coefficient", "nonsense"), "ACCOUNT=PERCENT")
    assert refused(ape_run("community", "set-key", "dynamic"), "is not an allocation key: choose one of prorata,")
    assert refused(ape_run("community", "add-member", "0x" + "cd" * 20, "--producer", "--meter-id", "E7",
                           "--grid-kw", "11"), "a producer needs its generation capacity")
    assert refused(ape_run("community", "set-limits", HOUSEHOLDS[1], "--grid-kw", "lots", "--generation-kw", "0"),
                   "is not a power in kW")
    assert refused(ape_run("community", "set-key", "priority", "--from", "1"), "CommunityKeyChangeTooEarly")
    assert refused(ape_run("community", "set-schedule", "--weekday", "08:10-18:00=1"), "on whole quarter-hours")
    assert refused(ape_run("community", "set-shares", "2", "--share", f"{HOUSEHOLDS[1]}=70",
                           "--share", f"{HOUSEHOLDS[2]}=40"), "share set 2 would add up to 110.00%, over 100%")


def test_admin_schedules_a_key_and_its_shares_from_a_later_interval(deployed, ape_run):
    _, bakery, flat = HOUSEHOLDS
    steps = [
        ("community", "set-shares", "1", "--share", f"{bakery}=70", "--share", f"{flat}=30"),
        ("community", "set-schedule", "--weekday", "08:00-18:00=1", "--weekend", "00:00-24:00=1"),
        ("community", "set-key", "scheduled", "--from", "2100-01-01T00:00"),
    ]
    for step in steps:
        result = ape_run(*step)
        assert result.returncode == 0, (step, result.stderr)
    assert "set key scheduled from interval 4558272 (starts 2100-01-01 00:00 UTC): done" in result.stdout
    shown = ape_run("community", "show").stdout
    assert "allocation key  prorata" in shown  # the redeploy test above deployed anew with the default key
    assert "starts 2100-01-01 00:00 UTC): scheduled" in shown
