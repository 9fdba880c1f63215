"""The serial line to the meter: port settings per standard, reconnects, and a silence watchdog.

Reading is kept apart from decoding: the reader hands bytes to a MeterDecoder and passes on
what comes out. The port is opened through an injected factory, time through injected
clock and sleep, so tests drive real pseudo-terminals and nothing waits for real time.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Callable, Mapping, Protocol

from node.meter.counter_store import FrameCounterStore
from node.meter.decoder import MeterDecoder
from node.meter.reading import Reading, Rejection


@dataclass(frozen=True)
class PortSettings:
    """UART framing for a meter port."""

    baudrate: int
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1
    timeout: float = 0.5  # seconds a read waits, which bounds how fast stop() takes effect

    def serial_kwargs(self) -> dict:
        """Keyword arguments for serial.Serial."""
        return {
            "baudrate": self.baudrate,
            "bytesize": self.bytesize,
            "parity": self.parity,
            "stopbits": self.stopbits,
            "timeout": self.timeout,
        }


PORT_PRESETS: Mapping[str, PortSettings] = MappingProxyType(
    {
        "dsmr5": PortSettings(115200, 8, "N", 1),
        "dsmr4": PortSettings(115200, 8, "N", 1),
        "dsmr3": PortSettings(9600, 7, "E", 1),
        "dsmr22": PortSettings(9600, 7, "E", 1),
        "mbus": PortSettings(2400, 8, "E", 1),
    }
)


PARITIES = ("N", "E", "O", "M", "S")
BYTESIZES = (5, 6, 7, 8)
STOPBITS = (1, 1.5, 2)


def port_settings(
    standard: str,
    baudrate: int | None = None,
    bytesize: int | None = None,
    parity: str | None = None,
    stopbits: float | None = None,
) -> PortSettings:
    """The standard's port settings, with what a meter that deviates from them needs instead."""
    settings = PORT_PRESETS[standard]
    if parity is not None and parity.upper() not in PARITIES:
        raise ValueError(f"parity must be one of {', '.join(PARITIES)}, not {parity!r}")
    if bytesize is not None and bytesize not in BYTESIZES:
        raise ValueError(f"byte size must be one of {', '.join(map(str, BYTESIZES))}, not {bytesize!r}")
    if stopbits is not None and stopbits not in STOPBITS:
        raise ValueError(f"stop bits must be one of {', '.join(map(str, STOPBITS))}, not {stopbits!r}")
    if baudrate is not None and baudrate <= 0:
        raise ValueError(f"the baud rate must be a positive number, not {baudrate!r}")
    overrides = {"baudrate": baudrate, "bytesize": bytesize, "parity": parity and parity.upper(), "stopbits": stopbits}
    return replace(settings, **{name: value for name, value in overrides.items() if value is not None})


class Port(Protocol):
    """What the reader needs of a serial port (pyserial's Serial has it)."""

    in_waiting: int

    def read(self, size: int) -> bytes: ...

    def close(self) -> None: ...


def serial_port_factory(device: str, settings: PortSettings) -> Callable[[], Port]:
    """A factory that opens `device` with pyserial each time the reader (re)connects."""

    def open_port() -> Port:
        import serial

        return serial.Serial(device, exclusive=True, **settings.serial_kwargs())

    return open_port


@dataclass(frozen=True)
class Backoff:
    """Reconnect delays: `initial`, multiplied by `factor` per failure, at most `maximum`."""

    initial: float = 0.5
    factor: float = 2.0
    maximum: float = 30.0

    def delays(self):
        delay = self.initial
        while True:
            yield delay
            delay = min(delay * self.factor, self.maximum)


@dataclass(frozen=True)
class ReaderEvent:
    """Something the operator should see: connected, disconnected, open_failed, silent, resumed, rejected,
    counter_save_failed."""

    kind: str
    detail: str
    rejection: Rejection | None = None


@dataclass
class ReaderStatus:
    """Counters since the reader started."""

    connections: int = 0
    disconnects: int = 0
    failed_opens: int = 0
    silent_periods: int = 0
    readings: int = 0
    bytes_read: int = 0
    last_reading_at: float | None = field(default=None)


class SilenceWatchdog:
    """Notices when no byte came for `timeout` seconds; reports each silent period once."""

    def __init__(self, timeout: float, clock: Callable[[], float]):
        self.timeout = timeout
        self._clock = clock
        self._last = clock()
        self._reported = False

    def kick(self) -> bool:
        """Bytes arrived; True if that ends a reported silence."""
        self._last = self._clock()
        was_silent, self._reported = self._reported, False
        return was_silent

    def overdue(self) -> float | None:
        """Seconds of silence when they newly reach the timeout, else None."""
        silent_for = self._clock() - self._last
        if silent_for >= self.timeout and not self._reported:
            self._reported = True
            return silent_for
        return None


class SerialMeterReader:
    """Reads a meter until stop(): reconnects with backoff, watches for silence, never exits on a
    serial error. Readings go to `on_reading`; everything else to `on_event`.

    With a `counter_store`, the decoder starts from the DLMS frame counters an earlier run saved,
    and the store saves them as they advance (as rarely as it is set to) and when run() returns.
    """

    def __init__(
        self,
        open_port: Callable[[], Port],
        decoder: MeterDecoder,
        on_reading: Callable[[Reading], None],
        on_event: Callable[[ReaderEvent], None] = lambda event: None,
        backoff: Backoff = Backoff(),
        silence_timeout: float = 30.0,
        reopen_when_silent: bool = True,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
        read_size: int = 4096,
        counter_store: FrameCounterStore | None = None,
    ):
        self._open_port = open_port
        self.decoder = decoder
        self.counter_store = counter_store
        if counter_store is not None:
            decoder.restore_frame_counters(counter_store.load())
        self._on_reading = on_reading
        self._on_event = on_event
        self.backoff = backoff
        self.silence_timeout = silence_timeout
        self.reopen_when_silent = reopen_when_silent
        self._clock = clock
        self._stopping = threading.Event()
        self._sleep = sleep or self._stopping.wait
        self._read_size = read_size
        import serial

        # termios.error too: a driver refusing a setting (say 1.5 stop bits) must not end the reader.
        self._errors = (serial.SerialException, OSError, *_termios_errors())
        self.status = ReaderStatus()
        self._counter_error: str | None = None  # reported once, until a save works again

    def stop(self) -> None:
        """Ask run() to return after its current read."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def run(self) -> None:
        """Read until stop(): open, read, and on any serial error close, wait, and open again."""
        try:
            self._run()
        finally:
            if self.counter_store is not None:
                self._saved(self.counter_store.close(self.decoder.frame_counters))

    def _run(self) -> None:
        delays = self.backoff.delays()
        while not self.stopping:
            try:
                port = self._open_port()
            except self._errors as error:
                self.status.failed_opens += 1
                delay = next(delays)
                self._on_event(ReaderEvent("open_failed", f"{error}; retrying in {delay:g} s"))
                self._sleep(delay)
                continue
            delays = self.backoff.delays()
            self.status.connections += 1
            self._on_event(ReaderEvent("connected", "serial port open"))
            try:
                self._read_until_trouble(port)
            except self._errors as error:
                self.status.disconnects += 1
                self._on_event(ReaderEvent("disconnected", str(error) or type(error).__name__))
                self._emit(self.decoder.interrupt("serial line lost"))
                self._sleep(self.backoff.initial)
            finally:
                try:
                    port.close()
                except self._errors:
                    pass

    def _read_until_trouble(self, port: Port) -> None:
        watchdog = SilenceWatchdog(self.silence_timeout, self._clock)
        while not self.stopping:
            data = port.read(max(1, min(port.in_waiting, self._read_size)))
            if data:
                self.status.bytes_read += len(data)
                if watchdog.kick():
                    self._on_event(ReaderEvent("resumed", "the meter sends again"))
                self._emit(self.decoder.feed(data))
                continue
            silent_for = watchdog.overdue()
            if silent_for is not None:
                self.status.silent_periods += 1
                self._on_event(ReaderEvent("silent", f"no data from the meter for {silent_for:.0f} s"))
                if self.reopen_when_silent:
                    self._emit(self.decoder.interrupt("reopening a silent port"))
                    return

    def _emit(self, events: list[Reading | Rejection]) -> None:
        for event in events:
            if isinstance(event, Reading):
                self.status.readings += 1
                self.status.last_reading_at = self._clock()
                if event.frame_counter is not None and self.counter_store is not None:
                    self._saved(self.counter_store.save(self.decoder.frame_counters))
                self._on_reading(event)
            else:
                self._on_event(ReaderEvent("rejected", f"{event.reason}: {event.detail}", event))

    def _saved(self, written: bool) -> None:
        error = self.counter_store.last_error
        if not written and error is not None and error != self._counter_error:
            self._on_event(ReaderEvent("counter_save_failed", error))
        self._counter_error = error


def _termios_errors() -> tuple[type[BaseException], ...]:
    try:
        import termios
    except ImportError:  # not a POSIX system
        return ()
    return (termios.error,)
