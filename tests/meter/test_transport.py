"""The serial reader over real pseudo-terminals: unplug and replug, silence, backoff, port settings."""

from __future__ import annotations

import os
import queue
import termios
import threading
import time
import tty
from pathlib import Path

import pytest

from node.meter.decoder import MeterDecoder
from node.meter.transport import PORT_PRESETS, Backoff, PortSettings, SerialMeterReader, serial_port_factory

WAIT = 20  # seconds: a safety net so a broken reader fails the test instead of hanging it


class MeterLine:
    """A pseudo-terminal standing in for a meter's USB adapter, reached through a stable symlink
    (as udev's /dev/serial/by-id links): unplugging closes the pty, replugging makes a new one."""

    def __init__(self, link: Path):
        self.link = link
        self.master: int | None = None

    def plug(self) -> None:
        self.master, slave = os.openpty()
        tty.setraw(slave)
        target = os.ttyname(slave)
        os.close(slave)
        temporary = self.link.with_suffix(".new")
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(target)
        temporary.replace(self.link)

    def unplug(self) -> None:
        os.close(self.master)
        self.master = None

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.master, view) :]


class ReaderThread:
    """Runs a SerialMeterReader in a thread; readings and events arrive on queues."""

    def __init__(self, device: Path, settings: PortSettings = PORT_PRESETS["dsmr5"], **options):
        self.readings: queue.Queue = queue.Queue()
        self.events: queue.Queue = queue.Queue()
        self.decoder = MeterDecoder(formats=frozenset({"dsmr"}))
        options.setdefault("backoff", Backoff(initial=0.01, factor=2, maximum=0.05))
        self.reader = SerialMeterReader(
            serial_port_factory(str(device), settings), self.decoder, self.readings.put, self.events.put, **options
        )
        self.thread = threading.Thread(target=self.reader.run, daemon=True)

    def __enter__(self) -> "ReaderThread":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.reader.stop()
        self.thread.join(WAIT)
        assert not self.thread.is_alive(), "the reader did not stop"

    def wait_for_event(self, kind: str):
        while True:
            event = self.events.get(timeout=WAIT)
            if event.kind == kind:
                return event

    def wait_for_bytes(self, count: int) -> None:
        deadline = time.monotonic() + WAIT
        while self.reader.status.bytes_read < count:
            assert time.monotonic() < deadline, "the reader never read the bytes sent"
            time.sleep(0.005)


@pytest.fixture
def line(tmp_path):
    meter_line = MeterLine(tmp_path / "ttyMeter")
    meter_line.plug()
    yield meter_line
    if meter_line.master is not None:
        meter_line.unplug()


def numbered_telegram(make_telegram, number: int) -> bytes:
    return make_telegram(["/ISK5\\2M550T-1012", "", "0-0:96.1.1(4530303434)", f"1-0:1.8.1({number:06d}.000*kWh)"])


def test_reader_reads_telegrams_written_to_a_pty(line, make_telegram):
    with ReaderThread(line.link) as reader:
        reader.wait_for_event("connected")
        line.send(numbered_telegram(make_telegram, 1) + numbered_telegram(make_telegram, 2))

        first, second = reader.readings.get(timeout=WAIT), reader.readings.get(timeout=WAIT)

    assert (first.meter_id, str(first.values["1-0:1.8.1"].value)) == ("E0044", "1.000")
    assert str(second.values["1-0:1.8.1"].value) == "2.000"


def test_hundred_unplug_replug_cycles_lose_no_complete_telegram(line, make_telegram):
    sent = 0
    numbers = []
    with ReaderThread(line.link) as reader:
        for cycle in range(100):
            reader.wait_for_event("connected")
            telegram = numbered_telegram(make_telegram, cycle)
            line.send(telegram)
            numbers.append(int(reader.readings.get(timeout=WAIT).values["1-0:1.8.1"].value))
            # Half a telegram is in the reader when the cable goes: it must be dropped, not kept.
            line.send(telegram[: len(telegram) // 2])
            sent += len(telegram) + len(telegram) // 2
            reader.wait_for_bytes(sent)
            line.unplug()
            reader.wait_for_event("disconnected")
            line.plug()
        reader.wait_for_event("connected")
        line.send(numbered_telegram(make_telegram, 100))
        numbers.append(int(reader.readings.get(timeout=WAIT).values["1-0:1.8.1"].value))

        status = reader.reader.status

    assert numbers == list(range(101))
    assert reader.decoder.rejections == {"partial_telegram": 100}
    assert (status.disconnects, status.connections) == (100, 101)


def test_silent_meter_is_reported_and_reading_resumes_after_it(line, make_telegram):
    with ReaderThread(line.link, silence_timeout=0.2) as reader:
        reader.wait_for_event("connected")
        silent = reader.wait_for_event("silent")
        reader.wait_for_event("connected")  # the silent port was reopened
        line.send(numbered_telegram(make_telegram, 7))

        reading = reader.readings.get(timeout=WAIT)

    assert "no data from the meter" in silent.detail
    assert reading.values["1-0:1.8.1"].value == 7
    assert reader.reader.status.silent_periods >= 1


def test_missing_device_is_retried_with_growing_delays_until_it_appears(tmp_path, make_telegram):
    meter_line = MeterLine(tmp_path / "ttyMeter")
    delays: list[float] = []

    def sleep(seconds: float) -> None:
        delays.append(seconds)
        if len(delays) == 6:
            meter_line.plug()  # the adapter is plugged in during the sixth wait

    readings: list = []
    events: list = []
    reader = SerialMeterReader(
        serial_port_factory(str(meter_line.link), PORT_PRESETS["dsmr5"]),
        MeterDecoder(),
        readings.append,
        lambda event: (events.append(event), event.kind == "connected" and reader.stop()),
        backoff=Backoff(initial=0.1, factor=2, maximum=1.0),
        sleep=sleep,
    )

    reader.run()
    meter_line.unplug()

    assert delays == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert [event.kind for event in events] == ["open_failed"] * 6 + ["connected"]
    assert reader.status.failed_opens == 6


@pytest.mark.parametrize(
    ("standard", "settings"),
    [("dsmr5", (115200, 8, "N", 1)), ("dsmr4", (115200, 8, "N", 1)), ("dsmr3", (9600, 7, "E", 1)), ("mbus", (2400, 8, "E", 1))],
)
def test_port_is_opened_with_the_standards_settings(line, standard, settings):
    port = serial_port_factory(str(line.link), PORT_PRESETS[standard])()
    try:
        speed = termios.tcgetattr(port.fd)[5]
        opened = (port.baudrate, port.bytesize, port.parity, port.stopbits)
    finally:
        port.close()

    assert opened == settings
    # A pty keeps the line speed it was given (it ignores character size and parity).
    assert speed == getattr(termios, f"B{settings[0]}")


def test_port_overrides_for_a_deviating_meter_replace_the_standards_settings(line):
    from node.meter.transport import port_settings

    settings = port_settings("dsmr5", baudrate=9600, bytesize=7, parity="e", stopbits=2)
    port = serial_port_factory(str(line.link), settings)()
    try:
        speed = termios.tcgetattr(port.fd)[5]
        opened = (port.baudrate, port.bytesize, port.parity, port.stopbits)
    finally:
        port.close()

    assert opened == (9600, 7, "E", 2)
    assert speed == termios.B9600


def test_port_overrides_left_out_keep_the_standards_settings():
    from node.meter.transport import port_settings

    assert port_settings("mbus", baudrate=9600) == PortSettings(9600, 8, "E", 1)


@pytest.mark.parametrize(("override", "message"), [({"parity": "X"}, "parity"), ({"stopbits": 3}, "stop bits"),
                                                   ({"bytesize": 9}, "byte size")])
def test_impossible_port_overrides_are_refused(override, message):
    from node.meter.transport import port_settings

    with pytest.raises(ValueError, match=message):
        port_settings("dsmr5", **override)
