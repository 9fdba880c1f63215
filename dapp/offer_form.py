"""What a posted energy-offer form means: energy typed in kWh, a price per kWh in credits, and a
delivery window in the household's local time, turned into Wh, token units and the whole intervals
EnergyExchange accepts. Every refusal is a BadRequest that says what to type instead."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from dapp.errors import BadRequest
from dapp.market import parse_credits
from dapp.units import TOKEN_DECIMALS, local_time

WH_PER_KWH = 1000
MAX_WINDOW_INTERVALS = 96  # EnergyExchange.MAX_WINDOW_INTERVALS
# Far above what a household sells in a day: beyond them an offer is a typo, not a deal.
MAX_OFFER_WH = 1_000 * WH_PER_KWH
MAX_PRICE_PER_KWH = 100 * 10**TOKEN_DECIMALS
FIRST_YEAR, LAST_YEAR = 1970, 2999  # the contract keeps interval numbers in 32 bits
FORM_FIELDS = ("kwh", "price", "day", "start", "end")
_KWH = re.compile(r"[0-9]{1,15}(\.[0-9]{1,3})?")  # ASCII digits only, as for credits
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CLOCK = re.compile(r"[0-9]{2}:[0-9]{2}")


def parse_kwh(text: str) -> int:
    """Energy typed in kWh ('2.5') -> Wh (2500), exactly."""
    if text.startswith("-"):
        raise BadRequest("The energy must be more than 0 kWh.")
    if not _KWH.fullmatch(text):
        raise BadRequest("Write the energy in kWh with a dot for decimals, e.g. 2.5 (at most 3 decimals, 1 Wh).")
    wh = int(Decimal(text).scaleb(3))
    if wh == 0:
        raise BadRequest("The energy must be more than 0 kWh.")
    if wh > MAX_OFFER_WH:
        raise BadRequest(f"Offer at most {MAX_OFFER_WH // WH_PER_KWH:,} kWh at a time.")
    return wh


def parse_price(text: str) -> int:
    """A price per kWh typed in credits -> token units; 0 gives the energy away."""
    if text.startswith("-"):
        raise BadRequest("The price per kWh cannot be negative.")
    price = parse_credits(text, "price per kWh", allow_zero=True)
    if price > MAX_PRICE_PER_KWH:
        raise BadRequest(f"The price must be at most {MAX_PRICE_PER_KWH // 10**TOKEN_DECIMALS} credits per kWh.")
    return price


def asked_window(form: dict[str, str], zone: ZoneInfo) -> tuple[int, int]:
    """The local day, start and end typed -> unix seconds; an end at 00:00 is the midnight ending the day."""
    day = _day(form["day"])
    start = _moment(day, _clock(form["start"], "start"), zone)
    end_time = _clock(form["end"], "end")
    end = _moment(day + timedelta(days=1), end_time, zone) if end_time == time() else _moment(day, end_time, zone)
    if end <= start:
        raise BadRequest(f"The window ends ({form['end']}) before it starts ({form['start']}): it runs within one "
                         "day, up to 00:00 for midnight.")
    return start, end


def delivery_intervals(start: int, end: int, length: int, now: float) -> tuple[int, int]:
    """The first interval starting at or after `start` and the last one ending by `end`, as the contract
    will accept them: after the current interval, at most MAX_WINDOW_INTERVALS long."""
    current = int(now) // length
    if start <= now:
        raise BadRequest(f"The window starts at {local_time(start)}, which has passed: choose a later start.")
    if start < (current + 1) * length:
        raise BadRequest(f"The window starts in the current interval, which runs until "
                         f"{local_time((current + 1) * length, '%H:%M')}: start then or later.")
    first, last = -(-start // length), end // length - 1
    if last < first:
        raise BadRequest(f"The window holds no whole interval of {length // 60} minutes: delivery is metered "
                         f"interval by interval, from {local_time(first * length, '%H:%M')}.")
    count = last - first + 1
    if count > MAX_WINDOW_INTERVALS:
        raise BadRequest(f"The window spans {hours_text(count * length)} hours: an offer's window is at most "
                         f"{hours_text(MAX_WINDOW_INTERVALS * length)} hours ({MAX_WINDOW_INTERVALS} intervals).")
    return first, last


def _day(text: str) -> date:
    if _DAY.fullmatch(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            pass
        else:
            if FIRST_YEAR <= day.year <= LAST_YEAR:
                return day
    raise BadRequest("Enter the delivery day as a date, e.g. 2026-03-08.")


def _clock(text: str, what: str) -> time:
    if _CLOCK.fullmatch(text):
        try:
            return time.fromisoformat(text)
        except ValueError:
            pass
    raise BadRequest(f"Enter the {what} of the window as a time of day, e.g. 21:00.")


def _moment(day: date, at: time, zone: ZoneInfo) -> int:
    """A local wall time as unix seconds; refused in the hour the clocks skip in spring."""
    moment = datetime.combine(day, at, zone)
    seconds = int(moment.timestamp())
    if local_moment(seconds, zone).replace(tzinfo=None) != moment.replace(tzinfo=None):
        raise BadRequest(f"{at:%H:%M} does not exist on {day} in {zone.key}: the clocks skip it. Choose another time.")
    return seconds


def local_moment(seconds: float, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc).astimezone(zone)


def kwh_text(wh: int) -> str:
    """Wh as kWh with the decimals needed: 2500 -> '2.5'."""
    text = f"{Decimal(wh).scaleb(-3):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def hours_text(seconds: int) -> str:
    return f"{seconds / 3600:g}"
