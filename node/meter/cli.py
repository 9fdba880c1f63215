"""`gridcommons meter ...`: parse captured meter data, simulate a meter, read one into the store, import past data.

Only click is imported at module level, so `gridcommons --help` stays fast on a Raspberry Pi.
"""

from __future__ import annotations

import json
import sys

import click

_SPEC_NAMES = ["auto", "dsmr22", "dsmr3", "dsmr4", "dsmr5", "belgium", "luxembourg"]
_KEY_HELP = "AES key for encrypted DLMS frames, 32 hex digits (or env GRIDCOMMONS_METER_KEY)."
_AUTH_KEY_HELP = "Authentication key for frames with SC 0x30, 32 hex digits (or env GRIDCOMMONS_METER_AUTH_KEY)."


def _keys(key: str | None, auth_key: str | None):
    if key is None:
        if auth_key is not None:
            raise click.BadParameter("an authentication key needs the encryption key (--key) too", param_hint="--auth-key")
        return None
    from node.meter.dlms.ciphering import MeterKeys

    try:
        return MeterKeys.from_hex(key, auth_key)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--key/--auth-key") from None


def _spec(name: str):
    from node.meter.dsmr.specs import AUTO, SPECS

    return AUTO if name == "auto" else SPECS[name]


@click.group()
def meter() -> None:
    """The household's smart meter: DSMR P1 and encrypted DLMS/COSEM."""


@meter.command()
@click.argument("file", type=click.File("rb"))
@click.option("--key", envvar="GRIDCOMMONS_METER_KEY", help=_KEY_HELP)
@click.option("--auth-key", envvar="GRIDCOMMONS_METER_AUTH_KEY", help=_AUTH_KEY_HELP)
@click.option("--spec", "spec_name", type=click.Choice(_SPEC_NAMES), default="auto", show_default=True,
              help="DSMR variant; auto checks a CRC whenever a telegram has one.")
def parse(file, key: str | None, auth_key: str | None, spec_name: str) -> None:
    """Decode the telegrams and frames in FILE ('-' for stdin), one JSON object per line.

    Rejected telegrams are reported on stderr with their reason; the exit status is 1 if any
    was rejected.
    """
    from node.meter.decoder import MeterDecoder
    from node.meter.reading import Reading

    decoder = MeterDecoder(keys=_keys(key, auth_key), spec=_spec(spec_name))
    rejected = 0

    def emit(events) -> None:
        nonlocal rejected
        for event in events:
            if isinstance(event, Reading):
                click.echo(json.dumps(event.to_json(), ensure_ascii=False))
            else:
                rejected += 1
                click.echo(f"rejected ({event.reason}): {event.detail}", err=True)

    while chunk := file.read(65536):
        emit(decoder.feed(chunk))
    emit(decoder.finish())
    if decoder.skipped_bytes:
        click.echo(f"skipped {decoder.skipped_bytes} bytes outside any telegram or frame", err=True)
    sys.exit(1 if rejected else 0)


@meter.command()
@click.option("--profile", type=click.Choice(["consumer", "prosumer", "producer"]), default="prosumer", show_default=True)
@click.option("--speed", type=float, default=1.0, show_default=True, help="Times real time; 0 sends as fast as possible.")
@click.option("--interval", type=float, default=1.0, show_default=True, help="Seconds of meter time between telegrams.")
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same household.")
@click.option("--start", type=click.DateTime(["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]), default=None,
              help="Meter time of the first telegram, local to the meter (default: now).")
@click.option("--count", type=int, default=None, help="Stop after this many telegrams (default: never).")
@click.option("--output", type=click.File("ab"), default=None, help="Append to this file ('-' for stdout).")
@click.option("--pty", "use_pty", is_flag=True, help="Create a pseudo-terminal and send there; its path goes to stderr.")
@click.option("--key", envvar="GRIDCOMMONS_METER_KEY", help="Encrypt as DLMS general-glo-ciphering with this key.")
@click.option("--auth-key", envvar="GRIDCOMMONS_METER_AUTH_KEY", help="Also authenticate (SC 0x30) with this key.")
@click.option("--payload", type=click.Choice(["notification", "dsmr"]), default="notification", show_default=True,
              help="Encrypted content: a DLMS DataNotification or the DSMR telegram.")
@click.option("--container", type=click.Choice(["mbus", "hdlc", "gbt", "bare"]), default="mbus", show_default=True,
              help="Link frames around encrypted APDUs; gbt: General Block Transfer blocks in HDLC frames (E450).")
def simulate(profile, speed, interval, seed, start, count, output, use_pty, key, auth_key, payload, container) -> None:
    """Act as a household's meter: DSMR 5 telegrams (or encrypted DLMS frames) on a pty or file."""
    from datetime import datetime

    from node.meter.dsmr.timestamps import METER_TIMEZONE
    from node.meter.simulator.household import PROFILES, Household
    from node.meter.simulator.meter import Encryption, SimulatedMeter
    from node.meter.simulator.output import FileLine, PtyLine, pace

    if use_pty == (output is not None):
        raise click.UsageError("give exactly one of --pty and --output")
    keys = _keys(key, auth_key)
    encryption = (
        Encryption(keys.encryption_key, keys.authentication_key, payload=payload, container=container) if keys else None
    )
    begin = (start.replace(tzinfo=METER_TIMEZONE) if start else datetime.now(METER_TIMEZONE).replace(microsecond=0))
    simulated = SimulatedMeter(Household(PROFILES[profile], seed), begin, interval=interval, encryption=encryption)
    line = PtyLine() if use_pty else FileLine(output)
    if use_pty:
        click.echo(f"simulated meter on {line.path}", err=True)
    try:
        pace(simulated, line.write, interval=interval, speed=speed, count=count)
    except KeyboardInterrupt:
        pass
    finally:
        if use_pty:
            line.close()


@meter.command()
@click.argument("device")
@click.option("--standard", type=click.Choice(["dsmr5", "dsmr4", "dsmr3", "dsmr22", "mbus"]), default="dsmr5",
              show_default=True, help="Port settings: 115200 8N1 (DSMR 4/5), 9600 7E1 (DSMR 2.2/3), 2400 8E1 (M-Bus).")
@click.option("--baudrate", type=int, default=None, help="Override the standard's baud rate.")
@click.option("--framing", default=None, metavar="8N1", help="Override data bits, parity and stop bits, e.g. 7E1.")
@click.option("--db", "db_path", type=click.Path(dir_okay=False), default="meter.db", show_default=True,
              help="The local store (SQLite).")
@click.option("--key", envvar="GRIDCOMMONS_METER_KEY", help=_KEY_HELP)
@click.option("--auth-key", envvar="GRIDCOMMONS_METER_AUTH_KEY", help=_AUTH_KEY_HELP)
@click.option("--silence-timeout", type=float, default=30.0, show_default=True,
              help="Report (and reopen the port) after this many seconds without data.")
@click.option("--count", type=int, default=None, help="Stop after this many readings (default: run until stopped).")
@click.option("--print", "print_readings", is_flag=True, help="Also print each reading as a JSON line.")
@click.option("--frame-counters", "counters_path", type=click.Path(dir_okay=False), default=None,
              help="Keep the DLMS frame counters in this file, so replayed frames are refused after a restart too.")
def read(device, standard, baudrate, framing, db_path, key, auth_key, silence_timeout, count, print_readings,
         counters_path) -> None:
    """Read the meter on DEVICE into the local store until Ctrl-C (or --count readings)."""
    import dataclasses
    import signal

    from node.meter.counter_store import FrameCounterStore
    from node.meter.decoder import MeterDecoder
    from node.meter.errors import MeterSetupError
    from node.meter.transport import PORT_PRESETS, SerialMeterReader, serial_port_factory
    from node.store import MeterStore

    settings = PORT_PRESETS[standard]
    if baudrate:
        settings = dataclasses.replace(settings, baudrate=baudrate)
    if framing:
        if len(framing) != 3 or framing[0] not in "5678" or framing[1].upper() not in "NEOMS" or framing[2] not in "12":
            raise click.BadParameter("framing is data bits, parity, stop bits, e.g. 8N1 or 7E1", param_hint="--framing")
        settings = dataclasses.replace(settings, bytesize=int(framing[0]), parity=framing[1].upper(), stopbits=int(framing[2]))
    formats = frozenset({"mbus", "hdlc", "apdu"}) if standard == "mbus" else frozenset({"dsmr", "mbus", "hdlc", "apdu"})
    decoder = MeterDecoder(keys=_keys(key, auth_key), formats=formats)

    with MeterStore(db_path) as store:
        def on_reading(reading) -> None:
            store.add(reading)
            if print_readings:
                click.echo(json.dumps(reading.to_json(), ensure_ascii=False))
            if count is not None and reader.status.readings >= count:
                reader.stop()

        def on_event(event) -> None:
            click.echo(f"meter: {event.kind}: {event.detail}", err=True)

        try:
            reader = SerialMeterReader(
                serial_port_factory(device, settings), decoder, on_reading, on_event, silence_timeout=silence_timeout,
                counter_store=FrameCounterStore(counters_path) if counters_path else None,
            )
        except MeterSetupError as error:
            raise click.ClickException(str(error)) from None
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: reader.stop())
        reader.run()
    click.echo(
        f"meter: {reader.status.readings} readings, rejected {dict(decoder.rejections) or 'none'}", err=True
    )


_LISTED_PROBLEMS = 100  # problems printed one by one; the rest are only counted


def _import_target(config_path: str | None, db_path: str | None, timezone: str | None):
    """The store file, the zone of local times, and the clock for `meter import`."""
    import time
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from node.meter.dsmr.timestamps import METER_TIMEZONE

    if (config_path is None) == (db_path is None):
        raise click.UsageError("give exactly one of --config (the node's store) and --db (a store file)")
    clock, local = time.time, METER_TIMEZONE
    if config_path is not None:
        from node.config import ConfigError, load
        from node.runtime.clock import SimulatedClock

        try:
            config = load(config_path)
        except ConfigError as error:
            raise click.ClickException(str(error)) from None
        config.data_dir.mkdir(parents=True, exist_ok=True)
        db_path, local = config.store_path, ZoneInfo(config.timezone)
        c = config.clock
        if c.time_factor != 1.0:  # the node's accelerated time: "now" is where its meter is
            clock = SimulatedClock(c.time_factor, c.start, c.wall_start)
    if timezone is not None:
        try:
            local = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise click.BadParameter(f"unknown time zone {timezone!r}, e.g. Europe/Amsterdam", param_hint="--timezone") from None
    return db_path, local, clock


@meter.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--format", "file_format", type=click.Choice(["auto", "p1", "csv"]), default="auto", show_default=True,
              help="auto: CSV when the first line names a timestamp column, else a P1 capture.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Import into this node's store (its node.toml).")
@click.option("--db", "db_path", type=click.Path(dir_okay=False), help="Import into this store file instead.")
@click.option("--timezone", help="Zone of CSV times without an offset (default: the node's, else Europe/Amsterdam).")
@click.option("--key", envvar="GRIDCOMMONS_METER_KEY", help=_KEY_HELP)
@click.option("--auth-key", envvar="GRIDCOMMONS_METER_AUTH_KEY", help=_AUTH_KEY_HELP)
@click.option("--spec", "spec_name", type=click.Choice(_SPEC_NAMES), default="auto", show_default=True,
              help="DSMR variant of a P1 capture.")
def import_history(file, file_format, config_path, db_path, timezone, key, auth_key, spec_name) -> None:
    """Load past meter data from FILE into the store: a P1 capture or a CSV register export.

    Bad records are reported with their line and skipped; importing again adds nothing twice.
    The exit status is 1 only if nothing could be imported or FILE cannot be read.
    """
    import sqlite3

    from node.errors import NodeError
    from node.import_progress import ImportProgress
    from node.store import MeterStore
    from node.store.csv_registers import UnusableHeader
    from node.store.history_import import import_history as run_import

    store_path, local, clock = _import_target(config_path, db_path, timezone)
    keys = _keys(key, auth_key)
    listed = 0

    def on_problem(problem) -> None:
        nonlocal listed
        listed += 1
        if listed <= _LISTED_PROBLEMS:
            verdict = "rejected" if problem.rejected else "noticed"
            click.echo(f"{file} {problem.where}: {verdict} ({problem.reason}): {problem.detail}", err=True)

    progress = ImportProgress.on_stderr(file)
    try:
        with MeterStore(store_path, clock=clock, local=local) as store:
            report = run_import(file, store, clock, file_format, local, keys, _spec(spec_name), on_problem, progress)
    except UnusableHeader as error:
        raise click.ClickException(f"cannot import {file}: {error}") from None
    except OSError as error:
        raise click.ClickException(f"cannot read {file}: {error.strerror or error}; what was imported so far stays,"
                                   " and importing again adds only the rest") from None
    except (NodeError, sqlite3.Error) as error:
        raise click.ClickException(f"{file}: {error}; what was imported so far stays, and importing again adds"
                                   " only the rest") from None
    progress.finish(progress.total)
    if listed > _LISTED_PROBLEMS:
        click.echo(f"{file}: {listed - _LISTED_PROBLEMS} more problems not listed", err=True)
    for line in _import_summary(file, report, local):
        click.echo(line)
    sys.exit(0 if report.accepted else 1)


def _import_summary(file: str, report, local) -> list[str]:
    from datetime import datetime

    def counts(counter) -> str:
        return ", ".join(f"{reason} {count:,}" for reason, count in counter.most_common())

    rejected = sum(report.rejected.values())
    lines = [
        f"{file} ({report.format}): imported {report.imported:,}, duplicates skipped {report.duplicates:,},"
        f" rejected {rejected:,}" + (f" ({counts(report.rejected)})" if rejected else "")
    ]
    if report.first_ts is not None:
        first, last = (datetime.fromtimestamp(ts, local).isoformat() for ts in (report.first_ts, report.last_ts))
        lines.append(f"time range {first} to {last}")
    else:
        hint = " (a CSV export needs a header naming a timestamp column)" if report.format == "p1" else ""
        lines.append(f"nothing could be imported{hint}")
    if report.noticed:
        lines.append(f"noticed: {counts(report.noticed)}")
    if report.out_of_order:
        lines.append(f"{report.out_of_order:,} records out of time order, stored by time")
    if report.skipped_bytes:
        lines.append(f"{report.skipped_bytes:,} bytes outside any telegram skipped")
    if report.ignored_columns:
        lines.append(f"columns not used: {', '.join(report.ignored_columns)}")
    return lines
