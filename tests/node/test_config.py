"""The node config is checked at start: every error names its key; secrets are refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from node import config as node_config
from node.config import ConfigError

GRIDCOMMONS = str(Path(sys.executable).with_name("gridcommons"))
MINIMAL = {"node": {"name": "home", "data_dir": "data"}, "chain": {"deployment": "d.json", "manifest": "m.json", "keystore": "k.json"}}


def with_(section: str, **values) -> dict:
    data = {key: dict(value) for key, value in MINIMAL.items()}
    data.setdefault(section, {}).update(values)
    return data


def error_of(data: dict) -> str:
    with pytest.raises(ConfigError) as raised:
        node_config.parse(data, Path("/etc/gridcommons"))
    return str(raised.value)


def test_a_minimal_config_gets_safe_defaults_and_paths_relative_to_its_folder():
    config = node_config.parse(MINIMAL, Path("/etc/gridcommons"))
    assert (config.data_dir, config.chain.keystore) == (Path("/etc/gridcommons/data"), Path("/etc/gridcommons/k.json"))
    assert (config.meter.source, config.chain.embedded, config.exchange.auto_accept, config.pins) == ("simulator", False, False, "gpio")
    assert (config.certificates.auto_mint, config.certificates.list_price_per_kwh) == (False, 0)


@pytest.mark.parametrize(
    "data, expected",
    [
        (with_("chain", rpc="ftp://x"), "chain.rpc: must be an http:// or https:// URL, got 'ftp://x'"),
        (with_("chain", poll_seconds="fast"), "chain.poll_seconds: must be a number, got 'fast'"),
        (with_("chain", reorg_window=0), "chain.reorg_window: must be a whole number >= 1, got 0"),
        (with_("meter", source="serial"), "meter.device: a serial meter needs its device, e.g. /dev/ttyUSB0"),
        (with_("meter", standard="dsmr9"), "meter.standard: must be one of dsmr5, dsmr4, dsmr3, dsmr22, mbus, got 'dsmr9'"),
        (with_("node", timezone="Mars/Olympus"), "node.timezone: unknown time zone 'Mars/Olympus', e.g. Europe/Amsterdam"),
        (with_("chain", colour="blue"), "chain.colour: unknown setting; known here: block_time, chain_dir, client, deployment, embedded, follow_membership, genesis, keystore, manifest, p2p_host, p2p_port, participation_percent, passphrase_file, peers, poll_seconds, reorg_window, rpc, settle_patience, state_file"),
        (with_("clock", time_factor=60), "clock.start: an accelerated clock needs both clock.start and clock.wall_start"),
        (with_("exchange", battery_below_pct=120), "exchange.battery_below_pct: must be a percentage (0-100), got 120"),
        (with_("certificates", min_wh=0), "certificates.min_wh: must be a whole number >= 1, got 0"),
        (with_("certificates", auto_mint="yes"), "certificates.auto_mint: must be true or false, got 'yes'"),
        ({"node": {"name": "home", "data_dir": "data"}}, "chain: the [chain] table is missing"),
        (with_("chain", client="parity"), "chain.client: must be one of external, anvil, geth, got 'parity'"),
        (with_("chain", client="geth"), "chain.genesis: is required"),
        (with_("chain", client="geth", embedded=True), 'chain.embedded: embedded = true starts anvil; remove it to run client = "geth"'),
        (with_("chain", client="geth", genesis="g.json", rpc="http://0.0.0.0:8545"),
         "chain.rpc: a node's own geth answers on http://127.0.0.1:<port> only, got 'http://0.0.0.0:8545'"),
        (with_("chain", client="geth", genesis="g.json", p2p_port=8545),
         "chain.p2p_port: must be a free TCP port (1-65535) other than the rpc port, got 8545"),
        (with_("chain", client="geth", genesis="g.json", peers="enode://x"),
         'chain.peers: must be a list of enode URLs, e.g. ["enode://<128 hex digits>@192.168.1.11:30303"]'),
    ],
)
def test_a_wrong_setting_is_refused_naming_its_key(data, expected):
    assert error_of(data) == expected


def test_a_geth_validator_config_names_its_genesis_peers_and_chain_folder():
    enode = "enode://" + "ab" * 64 + "@192.168.1.12:30303"
    config = node_config.parse(with_("chain", client="geth", genesis="genesis.json", peers=[enode], p2p_port=30304),
                               Path("/etc/gridcommons"))
    chain = config.chain
    assert (chain.client, chain.embedded, chain.genesis, chain.peers, chain.p2p_port, chain.follow_membership) == (
        "geth", False, Path("/etc/gridcommons/genesis.json"), (enode,), 30304, True)
    assert config.chain_dir == Path("/etc/gridcommons/data/chain")


def test_embedded_true_is_still_read_as_the_anvil_client():
    assert node_config.parse(with_("chain", embedded=True), Path("/x")).chain.client == "anvil"


def test_secrets_in_the_config_file_are_refused():
    assert error_of(with_("chain", passphrase="hunter2")) == (
        "chain.passphrase: secrets do not belong in the config file: use a 0600 file or the environment"
    )


def test_relay_errors_name_the_relay_key_once():
    message = error_of(with_("relays", battery={"pin": 17, "rule": "battery", "low_pct": 90, "high_pct": 80}))
    assert message.startswith("relays.battery.") and message.count("relays.battery") == 1


def test_init_writes_a_config_that_dry_run_accepts(tmp_path):
    passphrase = tmp_path / "passphrase"
    passphrase.write_text("correct horse battery staple\n")
    passphrase.chmod(0o600)
    made = subprocess.run(
        [GRIDCOMMONS, "init", "--dir", str(tmp_path / "node"), "--name", "de-vries", "--simulated-meter", "prosumer",
         "--passphrase-file", str(passphrase), "--deployment", str(tmp_path / "deployment.json")],
        capture_output=True, text=True, timeout=60,
    )
    assert made.returncode == 0, made.stderr
    config_text = (tmp_path / "node" / "node.toml").read_text()
    assert "correct horse" not in config_text + made.stdout + made.stderr
    assert (tmp_path / "node" / "node-key.json").stat().st_mode & 0o777 == 0o600

    checked = subprocess.run([GRIDCOMMONS, "node", "run", "--dry-run", "--config", str(tmp_path / "node" / "node.toml")],
                             capture_output=True, text=True, timeout=60)
    # The deployment record does not exist yet: the dry run says so, naming the file, and touches nothing.
    assert (checked.returncode, checked.stderr.strip()) == (
        1, f"Error: no deployment record at {tmp_path / 'deployment.json'}: copy it from the deployer (`ape run deploy` writes it)"
    )
    assert not (tmp_path / "node" / "data").exists()


def test_run_with_a_broken_config_fails_with_one_line_naming_the_key(tmp_path):
    path = tmp_path / "node.toml"
    path.write_text('[node]\nname = "x"\ndata_dir = "d"\n[chain]\nrpc = "localhost:8545"\n')
    result = subprocess.run([GRIDCOMMONS, "node", "run", "--config", str(path)], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stderr.strip()) == (
        1, "Error: chain.rpc: must be an http:// or https:// URL, got 'localhost:8545'"
    )


def test_a_meter_key_file_without_a_key_is_refused_without_repeating_its_text(tmp_path):
    from node.runtime.node import _meter_keys

    key_file = tmp_path / "meter.key"
    key_file.write_text("not-a-key-SECRETISH\n")
    key_file.chmod(0o600)
    with pytest.raises(ConfigError) as raised:
        _meter_keys(key_file)
    assert str(raised.value).startswith(f"meter.key_file: {key_file} does not hold a meter key")
    assert "SECRETISH" not in str(raised.value)


def test_the_meter_section_takes_an_authentication_key_file_and_serial_overrides():
    config = node_config.parse(with_("meter", source="serial", device="/dev/ttyUSB0", standard="mbus", key_file="meter.key",
                                     auth_key_file="meter-auth.key", baudrate=9600, bytesize=8, parity="n", stopbits=1.5),
                               Path("/etc/gridcommons"))
    meter = config.meter
    assert (meter.key_file, meter.auth_key_file) == (Path("/etc/gridcommons/meter.key"), Path("/etc/gridcommons/meter-auth.key"))
    assert (meter.baudrate, meter.bytesize, meter.parity, meter.stopbits) == (9600, 8, "N", 1.5)


def test_serial_overrides_left_out_keep_the_standards_settings():
    meter = node_config.parse(MINIMAL, Path("/x")).meter
    assert (meter.auth_key_file, meter.baudrate, meter.bytesize, meter.parity, meter.stopbits) == (None,) * 5


@pytest.mark.parametrize(
    "values, expected",
    [
        ({"baudrate": 0}, "meter.baudrate: must be a whole number >= 50, got 0"),
        ({"baudrate": "fast"}, "meter.baudrate: must be a whole number, got 'fast'"),
        ({"bytesize": 9}, "meter.bytesize: must be one of 5, 6, 7, 8 data bits, got 9"),
        ({"parity": "X"}, "meter.parity: must be one of N, E, O, M, S (none, even, odd, mark, space), got 'X'"),
        ({"stopbits": 3}, "meter.stopbits: must be 1, 1.5 or 2, got 3"),
        ({"auth_key": "00112233"}, "meter.auth_key: secrets do not belong in the config file: use a 0600 file "
                                   "(key_file, auth_key_file) or the environment"),
        ({"key": "00112233"}, "meter.key: secrets do not belong in the config file: use a 0600 file or the environment"),
    ],
)
def test_a_wrong_meter_setting_is_refused_naming_its_key_and_never_echoing_a_key(values, expected):
    assert error_of(with_("meter", **values)) == expected


def test_meter_keys_come_from_the_environment_when_no_key_file_is_set(monkeypatch):
    from node.runtime.node import _meter_keys

    monkeypatch.setenv("GRIDCOMMONS_METER_KEY", "000102030405060708090a0b0c0d0e0f")
    monkeypatch.setenv("GRIDCOMMONS_METER_AUTH_KEY", "101112131415161718191a1b1c1d1e1f")
    keys = _meter_keys(None, None)
    assert (keys.encryption_key[:2], keys.authentication_key[:2]) == (b"\x00\x01", b"\x10\x11")


def test_a_meter_auth_key_file_without_a_key_is_refused_naming_its_setting(tmp_path, monkeypatch):
    from node.runtime.node import _meter_keys

    monkeypatch.delenv("GRIDCOMMONS_METER_KEY", raising=False)
    key_file, auth_file = tmp_path / "meter.key", tmp_path / "meter-auth.key"
    key_file.write_text("000102030405060708090a0b0c0d0e0f\n")
    auth_file.write_text("SECRETISH\n")
    key_file.chmod(0o600), auth_file.chmod(0o600)
    with pytest.raises(ConfigError) as raised:
        _meter_keys(key_file, auth_file)
    assert str(raised.value).startswith(f"meter.auth_key_file: {auth_file} does not hold a meter key")
    assert "SECRETISH" not in str(raised.value)


# -- [dapp]: plain HTTP beyond loopback only when asked for, and the Host allow-list ----------


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "fe80::1", "de-vries.local"])
def test_plain_http_beyond_loopback_is_refused_saying_what_to_do(host):
    message = error_of(with_("dapp", host=host))

    assert message.startswith(f"dapp.host: {host!r} serves the DApp beyond this machine over plain HTTP")
    assert "set dapp.tls_cert and dapp.tls_key" in message and "allow_plain_http = true in [dapp]" in message


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1"])
def test_loopback_needs_neither_tls_nor_allow_plain_http(host):
    dapp = node_config.parse(with_("dapp", host=host), Path("/etc/gridcommons")).dapp

    assert (dapp.host, dapp.plain_http, dapp.secure_cookies) == (host, False, True)


def test_allow_plain_http_lets_a_trusted_lan_use_plain_http_and_says_so():
    dapp = node_config.parse(with_("dapp", host="0.0.0.0", allow_plain_http=True), Path("/etc/gridcommons")).dapp

    assert (dapp.allow_plain_http, dapp.plain_http, dapp.secure_cookies) == (True, True, False)


def test_tls_on_all_interfaces_needs_no_allow_plain_http():
    dapp = node_config.parse(with_("dapp", host="0.0.0.0", tls_cert="c.pem", tls_key="k.pem"), Path("/etc/gridcommons")).dapp

    assert (dapp.plain_http, dapp.secure_cookies) == (False, True)


def test_a_disabled_dapp_may_name_any_host():
    assert node_config.parse(with_("dapp", host="0.0.0.0", enabled=False), Path("/etc/gridcommons")).dapp.enabled is False


def test_a_config_file_with_plain_http_on_the_lan_fails_at_load(tmp_path):
    path = tmp_path / "node.toml"
    path.write_text('[node]\nname = "home"\ndata_dir = "data"\n[chain]\ndeployment = "d.json"\nmanifest = "m.json"\n'
                    'keystore = "k.json"\n[dapp]\nhost = "0.0.0.0"\n')

    with pytest.raises(ConfigError, match="allow_plain_http = true"):
        node_config.load(path)


def test_allowed_hosts_are_read_as_lower_case_names():
    dapp = node_config.parse(with_("dapp", allowed_hosts=["Pi.Home.Arpa", "192.168.1.20", "[fe80::1]"]),
                             Path("/etc/gridcommons")).dapp

    assert dapp.allowed_hosts == ("pi.home.arpa", "192.168.1.20", "[fe80::1]")


@pytest.mark.parametrize("values, expected", [
    ({"allowed_hosts": "pi.local"}, "dapp.allowed_hosts: must be a list of host names or addresses"),
    ({"allowed_hosts": ["pi.local", 7]}, "dapp.allowed_hosts: must be a list of host names or addresses"),
    ({"allowed_hosts": ["http://pi.local/"]}, "dapp.allowed_hosts: must be a list of host names or addresses"),
    ({"allow_plain_http": "yes"}, "dapp.allow_plain_http: must be true or false, got 'yes'"),
])
def test_a_wrong_dapp_host_setting_is_refused_naming_its_key(values, expected):
    assert error_of(with_("dapp", **values)).startswith(expected)
