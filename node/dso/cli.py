"""`gridcommons dso ...`: import the grid operator's quarter-hour figures, and check them against the
node's meter and the chain. Only click is imported at module level (`gridcommons --help` stays fast)."""

from __future__ import annotations

import sys

import click

_LISTED_PROBLEMS = 100  # refusals printed one by one; the rest are only counted


@click.group()
def dso() -> None:
    """The grid operator's figures: import them, and check them against the meter and the chain."""


def _config(config_path: str | None):
    if config_path is None:
        return None
    from node.config import ConfigError, load

    try:
        return load(config_path)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


def _dso_db(config, db_path: str | None):
    from node.dso.store import dso_path

    if (config is None) == (db_path is None):
        raise click.UsageError("give exactly one of --config (the node's DSO file) and --db (a DSO file)")
    if config is not None:
        config.data_dir.mkdir(parents=True, exist_ok=True)
        return dso_path(config)
    return db_path


def _zone(name: str | None):
    if name is None:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"unknown time zone {name!r}, e.g. Europe/Vienna", param_hint="--timezone") from None


@dso.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--format", "file_format", type=click.Choice(["auto", "austria", "enedis"]), default="auto",
              show_default=True, help="auto: Enedis when the header names Horodate or a PRM, else Austrian.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Into this node's DSO file (its node.toml).")
@click.option("--db", "db_path", type=click.Path(dir_okay=False), help="Into this DSO file instead.")
@click.option("--point", help="The metering point (Zählpunkt or PRM) of a file whose rows do not name one.")
@click.option("--timezone", help="Zone of times without an offset (default Europe/Vienna, Enedis Europe/Paris).")
def import_figures(file, file_format, config_path, db_path, point, timezone) -> None:
    """Load the DSO's quarter-hour figures from FILE: an Austrian community export or an Enedis load curve.

    Bad rows are reported with their line and skipped; importing again adds nothing twice, and a
    value the DSO corrected replaces the old one. The exit status is 1 only if nothing could be
    imported or FILE cannot be read.
    """
    import sqlite3

    from node.dso.errors import DsoError
    from node.dso.importer import import_file
    from node.dso.store import DsoStore
    from node.import_progress import ImportProgress

    target = _dso_db(_config(config_path), db_path)
    listed = 0

    def on_problem(problem) -> None:
        nonlocal listed
        listed += 1
        if listed <= _LISTED_PROBLEMS:
            click.echo(f"{file} {problem.where}: refused ({problem.reason}): {problem.detail}", err=True)

    progress = ImportProgress.on_stderr(file)
    try:
        with DsoStore(target) as store:
            report = import_file(file, store, file_format, _zone(timezone), point, on_problem, progress)
    except OSError as error:
        raise click.ClickException(f"cannot read {file}: {error.strerror or error}") from None
    except (DsoError, sqlite3.Error) as error:
        raise click.ClickException(f"cannot import {file}: {error}; what was imported so far stays,"
                                   " and importing again adds only the rest") from None
    progress.finish(progress.total)
    if listed > _LISTED_PROBLEMS:
        click.echo(f"{file}: {listed - _LISTED_PROBLEMS} more refusals not listed", err=True)
    for line in _import_summary(file, report):
        click.echo(line)
    sys.exit(0 if report.values else 1)


def _import_summary(file: str, report) -> list[str]:
    from datetime import datetime, timezone

    refused = sum(report.refused.values())
    reasons = ", ".join(f"{reason} {count:,}" for reason, count in report.refused.most_common())
    w = report.written
    lines = [f"{file} ({report.format}, {report.layout}): rows read {report.rows:,}, values stored {w.stored:,},"
             f" unchanged {w.unchanged:,}, changed {w.changed:,}, rows refused {refused:,}"
             + (f" ({reasons})" if refused else "")]
    if report.first_start is not None:
        first, last = (datetime.fromtimestamp(ts, timezone.utc).isoformat() for ts in (report.first_start, report.last_start))
        lines.append(f"{len(report.points)} metering point(s), quarter-hours from {first} to {last} (UTC)")
    else:
        lines.append("nothing could be imported")
    if report.ignored_columns:
        lines.append(f"columns not used: {', '.join(report.ignored_columns)}")
    return lines


@dso.command("check")
@click.option("--month", required=True, help="The local calendar month, e.g. 2026-01.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="The node's node.toml: its meter store, mirror and DSO file.")
@click.option("--store", "store_path", type=click.Path(dir_okay=False), help="A meter store instead (with --mirror, --db, --account).")
@click.option("--mirror", "mirror_path", type=click.Path(dir_okay=False), help="An event mirror instead.")
@click.option("--db", "db_path", type=click.Path(dir_okay=False), help="A DSO file instead.")
@click.option("--account", help="The member's account (default: the node's, from its keystore).")
@click.option("--point", "points", multiple=True, help="The household's metering point(s) in the DSO file.")
@click.option("--timezone", help="The month's zone (default: the node's, else Europe/Vienna).")
@click.option("--tolerance-wh", type=click.IntRange(min=0), default=10, show_default=True)
@click.option("--tolerance-percent", type=click.IntRange(min=0), default=2, show_default=True)
@click.option("--interval-length", type=click.IntRange(min=1), default=900, show_default=True,
              help="The Community's interval length in seconds.")
@click.option("--csv", "csv_file", type=click.File("w"), help="Write every interval as a CSV row ('-' for stdout).")
def check(month, config_path, store_path, mirror_path, db_path, account, points, timezone, tolerance_wh,
          tolerance_percent, interval_length, csv_file) -> None:
    """Compare a month of the DSO's figures with the meter and the chain, interval by interval.

    Prints the summary (intervals agreeing and not, what is at stake, the reasons); the exit status
    is 0 also when intervals disagree, and 1 when the sources cannot be read.
    """
    import json
    import re
    from datetime import date

    from node.dso.check import Tolerance
    from node.dso.errors import DsoError
    from node.dso.sources import check_month
    from node.dso.store import DsoStore, dso_path
    from node.mirror.db import MirrorDB
    from node.store import MeterStore

    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise click.BadParameter(f"month must look like 2026-01, got {month!r}", param_hint="--month")
    config = _config(config_path)
    if config is not None:
        store_path = store_path or config.store_path
        mirror_path = mirror_path or config.mirror_path
        db_path = db_path or dso_path(config)
        if account is None:
            try:
                account = "0x" + json.loads(config.chain.keystore.read_text())["address"].removeprefix("0x")
            except (OSError, ValueError, KeyError):
                raise click.ClickException(f"cannot read the node's account from {config.chain.keystore}: give --account") from None
    if not (store_path and mirror_path and db_path and account):
        raise click.UsageError("give --config, or all of --store, --mirror, --db and --account")
    zone = _zone(timezone) or _zone(config.timezone if config else "Europe/Vienna")
    try:
        with MeterStore(store_path, local=zone) as store, DsoStore(db_path) as figures:
            mirror = MirrorDB(mirror_path)
            try:
                result = check_month(store, mirror, figures, account, date(int(month[:4]), int(month[5:]), 1), zone,
                                     points, Tolerance(tolerance_wh, tolerance_percent), interval_length)
            finally:
                mirror.close()
    except DsoError as error:
        raise click.ClickException(str(error)) from None
    for line in _check_summary(month, result):
        click.echo(line)
    if csv_file is not None:
        from node.dso.report import write_csv

        write_csv(csv_file, result.rows, zone)


@dso.command("check-members")
@click.option("--month", required=True, help="The local calendar month, e.g. 2026-01.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="The admin node's node.toml: its mirror and DSO file.")
@click.option("--mirror", "mirror_path", type=click.Path(dir_okay=False), help="An event mirror instead.")
@click.option("--db", "db_path", type=click.Path(dir_okay=False), help="A DSO file instead (the community's, all members).")
@click.option("--timezone", help="The month's zone (default: the node's, else Europe/Vienna).")
@click.option("--interval-length", type=click.IntRange(min=1), default=900, show_default=True,
              help="The Community's interval length in seconds.")
def check_members(month, config_path, mirror_path, db_path, timezone, interval_length) -> None:
    """For the community's admin: each member's month of DSO figures against what the chain booked.

    Members are found by the meter id they were admitted with (its hash on chain) among the DSO
    file's metering points; the reading each member submitted stands in for its meter.
    """
    import re
    from datetime import date

    from node.dso.errors import DsoError
    from node.dso.sources import check_members as check_all
    from node.dso.store import DsoStore, dso_path
    from node.mirror.db import MirrorDB

    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise click.BadParameter(f"month must look like 2026-01, got {month!r}", param_hint="--month")
    config = _config(config_path)
    if config is not None:
        mirror_path = mirror_path or config.mirror_path
        db_path = db_path or dso_path(config)
    if not (mirror_path and db_path):
        raise click.UsageError("give --config, or both --mirror and --db")
    zone = _zone(timezone) or _zone(config.timezone if config else "Europe/Vienna")
    try:
        with DsoStore(db_path) as figures:
            mirror = MirrorDB(mirror_path)
            try:
                checked = check_all(mirror, figures, date(int(month[:4]), int(month[5:]), 1), zone,
                                    length=interval_length)
            finally:
                mirror.close()
    except DsoError as error:
        raise click.ClickException(str(error)) from None
    if not checked:
        raise click.ClickException("no member's meter id is a metering point of the DSO file: were the members "
                                   "admitted with `add-member --meter-id` set to their metering point ids?")
    click.echo(f"{month}: {len(checked)} members with DSO figures")
    click.echo(f"{'member':>6}  {'metering point':33}  {'agree':>6}  {'differ':>6}  reasons")
    for member in checked:
        s = member.summary
        reasons = ", ".join(f"{reason} {count}" for reason, count in s.reasons.items()) or "-"
        click.echo(f"{member.member_id:>6}  {member.points[0]:33}  {s.agreeing:>6}  {s.disagreeing:>6}  {reasons}")


def _check_summary(month: str, result) -> list[str]:
    s = result.summary
    who = f"member {result.member_id}" if result.member_id is not None else "not a member in the mirror"
    lines = [
        f"{month}: {who}, metering point(s) {', '.join(result.points) or 'none'}",
        f"intervals {s.intervals:,}: agreeing {s.agreeing:,}, disagreeing {s.disagreeing:,}, without data {s.without_data:,}",
        f"consumption: meter {s.meter_import_wh:,} Wh, DSO {s.dso_consumption_wh:,} Wh",
    ]
    if s.disagreeing:
        lines.append(f"in the disagreeing intervals: differences {s.difference_wh:,} Wh, community share on chain"
                     f" {s.allocated_wh:,} Wh vs DSO {s.dso_covered_wh:,} Wh, credits moved {s.credits:,},"
                     f" share difference worth {s.credits_difference:,} token units")
        lines.append("reasons: " + ", ".join(f"{reason} {count:,}" for reason, count in s.reasons.items()))
    return lines
