"""`gridcommons meter parse | simulate | read`, run through the real command group."""

import json
import threading
from datetime import datetime, timezone

from click.testing import CliRunner

from node.cli import main
from node.meter.dsmr.timestamps import METER_TIMEZONE
from node.meter.simulator.dlms_frames import glo_cipher, mbus_frames
from node.meter.simulator.household import PROFILES, Household
from node.meter.simulator.meter import SimulatedMeter
from node.meter.simulator.output import PtyLine
from node.store import MeterStore


def run(*args, input=None):
    return CliRunner(mix_stderr=False).invoke(main, list(args), input=input, catch_exceptions=False)


def test_parse_prints_one_json_object_per_telegram_in_the_documented_shape(tmp_path, make_telegram):
    capture = tmp_path / "p1.bin"
    capture.write_bytes(
        make_telegram(
            [
                "/ISK5\\2M550T-1012",
                "",
                "0-0:1.0.0(240115103005W)",
                "0-0:96.1.1(4530303434303037)",
                "1-0:1.8.1(000123.456*kWh)",
                "0-1:24.2.1(240115100000W)(00001.234*m3)",
            ]
        )
        * 2
    )

    result = run("meter", "parse", str(capture))

    lines = result.stdout.splitlines()
    assert result.exit_code == 0
    assert len(lines) == 2
    assert json.loads(lines[0]) == {
        "meter_id": "E0044007",
        "timestamp": "2024-01-15T10:30:05+01:00",
        "crc_ok": True,
        "values": {
            "0-0:1.0.0": {"value": "2024-01-15T10:30:05+01:00", "unit": None},
            "0-0:96.1.1": {"value": "E0044007", "unit": None},
            "1-0:1.8.1": {"value": "123.456", "unit": "kWh"},
            "0-1:24.2.1": {"value": "1.234", "unit": "m3", "timestamp": "2024-01-15T10:00:00+01:00"},
        },
    }
    assert list(json.loads(lines[0])) == ["meter_id", "timestamp", "crc_ok", "values"]


def test_parse_reports_rejected_telegrams_on_stderr_with_reason_and_exits_1(tmp_path, dsmr5):
    capture = tmp_path / "p1.bin"
    capture.write_bytes(dsmr5.replace(b"(123456.789*kWh)", b"(123456.780*kWh)", 1) + dsmr5)

    result = run("meter", "parse", str(capture))

    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) == 1
    assert result.stderr.startswith("rejected (crc_mismatch): telegram says CRC E47C")


def test_parse_decrypts_mbus_frames_with_key_and_auth_key(tmp_path, meter_keys, telegram_file):
    apdu = glo_cipher(telegram_file("luxembourg_smarty"), b"SAG\x00\x00\x00\x00\x01", 5, meter_keys.encryption_key, meter_keys.authentication_key)
    capture = tmp_path / "frames.bin"
    capture.write_bytes(mbus_frames(apdu, 200))

    result = run(
        "meter", "parse", str(capture),
        "--key", meter_keys.encryption_key.hex(), "--auth-key", meter_keys.authentication_key.hex(),
    )

    assert result.exit_code == 0
    assert json.loads(result.stdout)["values"]["1-0:1.8.0"] == {"value": "341.230", "unit": "kWh"}


def test_parse_with_the_wrong_key_names_the_meter_and_never_prints_the_key(tmp_path, meter_keys, telegram_file):
    apdu = glo_cipher(telegram_file("luxembourg_smarty"), b"SAG\x00\x00\x00\x00\x01", 5, meter_keys.encryption_key, meter_keys.authentication_key)
    capture = tmp_path / "frames.bin"
    capture.write_bytes(apdu)
    wrong = "00" * 16

    result = run("meter", "parse", str(capture), "--key", wrong, "--auth-key", meter_keys.authentication_key.hex())

    assert result.exit_code == 1
    assert "rejected (wrong_key)" in result.stderr and "5341470000000001 (SAG)" in result.stderr
    assert wrong not in result.stderr + result.stdout


def test_parse_refuses_a_key_that_is_not_32_hex_digits(tmp_path, dsmr5):
    capture = tmp_path / "p1.bin"
    capture.write_bytes(dsmr5)

    result = run("meter", "parse", str(capture), "--key", "abc")

    assert result.exit_code == 2
    assert "32 hex digits" in result.stderr


def test_simulate_to_a_file_writes_telegrams_that_parse(tmp_path):
    output = tmp_path / "sim.txt"

    simulated = run("meter", "simulate", "--profile", "producer", "--speed", "0", "--count", "5",
                    "--seed", "3", "--start", "2024-06-21T12:00:00", "--output", str(output))
    parsed = run("meter", "parse", str(output))

    readings = [json.loads(line) for line in parsed.stdout.splitlines()]
    assert (simulated.exit_code, parsed.exit_code) == (0, 0)
    assert [reading["timestamp"] for reading in readings] == [f"2024-06-21T12:00:0{s}+02:00" for s in range(1, 6)]
    assert all(reading["crc_ok"] for reading in readings)


def test_simulate_encrypted_output_needs_the_key_to_parse(tmp_path, meter_keys):
    output = tmp_path / "sim.bin"
    keys = ["--key", meter_keys.encryption_key.hex(), "--auth-key", meter_keys.authentication_key.hex()]

    run("meter", "simulate", "--speed", "0", "--count", "3", "--output", str(output), "--container", "hdlc", *keys)
    with_key = run("meter", "parse", str(output), *keys)
    without = run("meter", "parse", str(output))

    assert len(with_key.stdout.splitlines()) == 3
    assert without.stderr.count("rejected (no_key)") == 3


def test_read_stores_readings_from_a_serial_device(tmp_path):
    line = PtyLine()
    meter = SimulatedMeter(Household(PROFILES["consumer"], 2), datetime.now(METER_TIMEZONE).replace(microsecond=0))
    stop = threading.Event()

    def send():
        # Keep sending until the reader has had enough: it may open the port after the first ones.
        while not stop.wait(0.02):
            line.write(meter.step()[1])

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        result = run("meter", "read", line.path, "--db", str(tmp_path / "meter.db"), "--count", "5")
    finally:
        stop.set()
        sender.join()
        line.close()

    assert result.exit_code == 0
    assert "5 readings" in result.stderr
    with MeterStore(tmp_path / "meter.db") as store:
        stored = store.readings(datetime(2000, 1, 1, tzinfo=timezone.utc), datetime(2100, 1, 1, tzinfo=timezone.utc))
    assert len(stored) == 5
    assert {sample.meter_id for sample in stored} == {"E0099000000000002"}
