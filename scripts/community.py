"""`ape run community ...`: the administrator's commands for a deployed community.

add-member, remove-member, set-key (with coefficients, from an interval on), set-shares and
set-schedule (the SCHEDULED key's percentages), set-price, mint and show. Bad input is refused with
a one-line reason before anything is sent.
"""

import re
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation

import click
from ape import accounts, chain, project
from ape.cli import ConnectedProviderCommand, verbosity_option
from ape.exceptions import ApeException
from eth_utils import is_address, keccak, to_checksum_address

from node.allocation import FULL_SHARE_PPM, MAX_PRIORITY, QUARTER_HOUR_S, SCHEDULE_SLOTS, SHARE_SETS, AllocationKey
from scripts._ledger import (
    ALLOCATION_KEY, connect, credits, format_credits, key_name, network_choice, percent_to_ppm, refusal, signer,
)

account_alias = click.option("--account", "alias", default=None, help="Keystore alias of the admin (default on local chains: test account 0).")


class AddressType(click.ParamType):
    name = "address"

    def convert(self, value, param, ctx):
        if not is_address(value):
            self.fail(f"{value!r} is not an Ethereum address (0x followed by 40 hex digits)", param, ctx)
        return to_checksum_address(value)


ADDRESS = AddressType()


def coefficient_pair(text: str) -> tuple[str, int]:
    account, sep, pct = text.partition("=")
    if not sep:
        raise click.BadParameter(f"{text!r}: write ACCOUNT=PERCENT, e.g. 0xAbc…=25")
    return ADDRESS.convert(account, None, None), percent_to_ppm(pct)


def open_community(network, alias):
    contracts = connect(project, chain, network_choice(chain))
    admin = signer(accounts, network_choice(chain), alias)
    return contracts, admin


def send(description: str, call, *args, sender):
    try:
        call(*args, sender=sender)
    except ApeException as error:
        raise click.ClickException(f"{description} refused: {refusal(error)}") from None
    click.echo(f"{description}: done")


def member_id(community, account: str) -> int:
    found = community.memberIdOf(account)
    if found == 0 or not community.isMember(account):
        raise click.ClickException(f"{account} is not a member of this community")
    return found


@click.group()
@verbosity_option()
def cli():
    """Administer a deployed community."""


@cli.command(cls=ConnectedProviderCommand)
@account_alias
def show(network, alias):
    """Print the community's parameters and members."""
    contracts, _ = open_community(network, alias)
    community, token = contracts["Community"], contracts["EnergyToken"]
    price, grace, key, total_ppm = community.parameters()
    click.echo(f"Community {community.address} on chain {chain.chain_id}")
    click.echo(f"  token           {token.symbol()} at {token.address}")
    click.echo(f"  interval        {community.intervalLength()} s, grace {grace} s, now interval {community.currentInterval()}")
    click.echo(f"  local price     {format_credits(price)} {token.symbol()}/kWh")
    now = community.currentInterval()
    in_force = AllocationKey(community.allocationKeyAt(now))
    click.echo(f"  allocation key  {key_name(in_force)} (coefficients total {total_ppm / 10_000:.2f}%)")
    latest, later = community.latestKeyChange()
    if later > now:
        click.echo(f"  from interval {later} ({_starts(community, later)}): {key_name(AllocationKey(latest))}")
    click.echo(f"  last settled    {community.lastSettledInterval() or '-'}")
    click.echo(f"  {'id':>3} {'account':42} {'roles':9} {'coef':>7} {'prio':>4} {'grid kW':>8} {'gen kW':>7} "
               f"{'balance':>14} {'surplus Wh':>11} {'last reading'}")
    for mid in range(1, community.memberCount() + 1):
        account, _, producer, consumer, active, ppm, prio, import_w, export_w = community.memberProfile(mid)
        balance, surplus, interval, imp, exp = community.memberLedger(mid)
        roles = ("P" if producer else "-") + ("C" if consumer else "-") + ("" if active else " removed")
        reading = f"#{interval}: +{imp} / -{exp} Wh" if interval else "-"
        click.echo(f"  {mid:>3} {account:42} {roles:9} {ppm / 10_000:>6.2f}% {prio:>4} {import_w / 1000:>8.2f} "
                   f"{export_w / 1000:>7.2f} {format_credits(balance):>14} {surplus:>11} {reading}")


@cli.command("add-member", cls=ConnectedProviderCommand)
@click.argument("account", type=ADDRESS)
@click.option("--producer/--no-producer", default=False, help="Its export counts as community production.")
@click.option("--consumer/--no-consumer", default=True, help="Its import can receive community production.")
@click.option("--coefficient", default="0", help="Static allocation coefficient in percent.")
@click.option("--priority", type=click.IntRange(0, MAX_PRIORITY), default=0, help="Priority level, 0 served first.")
@click.option("--meter-id", required=True, help="The meter's equipment id (only its hash goes on chain).")
@click.option("--grid-kw", required=True, help="The grid connection's capacity in kW: no reading may import more.")
@click.option("--generation-kw", default="0", show_default=True,
              help="The generation capacity in kW (PV peak, inverter limit): no reading may export more; "
                   "0 means the household cannot export.")
@click.option("--gas-ether", default="0.1", show_default=True,
              help="Top the node account up to this much ether, which pays its readings' gas (0: send none).")
@account_alias
def add_member(network, account, producer, consumer, coefficient, priority, meter_id, grid_kw, generation_kw,
               gas_ether, alias):
    """Admit ACCOUNT (the household's node account) as a member."""
    import_w, export_w = kw_to_w(grid_kw, "--grid-kw"), kw_to_w(generation_kw, "--generation-kw")
    if producer and not export_w:
        raise click.BadParameter("a producer needs its generation capacity, e.g. --generation-kw 9.9",
                                 param_hint="--generation-kw")
    contracts, admin = open_community(network, alias)
    community = contracts["Community"]
    if community.isMember(account):
        raise click.ClickException(f"{account} is already a member")
    ppm = percent_to_ppm(coefficient)
    total = community.parameters()[3] + ppm
    if total > FULL_SHARE_PPM:
        raise click.ClickException(f"coefficients would add up to {total / 10_000:.2f}%, over 100%")
    gas_wei = ether_to_wei(gas_ether)
    send(f"add member {account}", community.addMember, account, keccak(text=meter_id), producer, consumer, ppm, priority,
         import_w, export_w, sender=admin)
    top_up = gas_wei - chain.provider.get_balance(account)
    if top_up > 0:  # a household that joins a running chain starts with no ether for its readings
        try:
            admin.transfer(account, top_up)
        except ApeException as error:
            raise click.ClickException(f"member added, but sending ether for gas refused: {refusal(error)}") from None
        click.echo(f"sent {top_up / 10**18:g} ether to {account} for its readings' gas")


def ether_to_wei(text: str) -> int:
    try:
        wei = Decimal(text) * 10**18
    except InvalidOperation:
        raise click.BadParameter(f"{text!r} is not an amount of ether", param_hint="--gas-ether") from None
    if wei < 0 or wei != int(wei):
        raise click.BadParameter(f"{text!r} must be a positive amount of ether (at most 18 decimals)", param_hint="--gas-ether")
    return int(wei)


@cli.command("remove-member", cls=ConnectedProviderCommand)
@click.argument("account", type=ADDRESS)
@account_alias
def remove_member(network, account, alias):
    """Remove ACCOUNT; its balance stays withdrawable."""
    contracts, admin = open_community(network, alias)
    member_id(contracts["Community"], account)
    send(f"remove member {account}", contracts["Community"].removeMember, account, sender=admin)


@cli.command("set-limits", cls=ConnectedProviderCommand)
@click.argument("account", type=ADDRESS)
@click.option("--grid-kw", required=True, help="The grid connection's capacity in kW.")
@click.option("--generation-kw", required=True, help="The generation capacity in kW (0: it cannot export).")
@account_alias
def set_limits(network, account, grid_kw, generation_kw, alias):
    """Change a member's physical limits (a new connection, more panels)."""
    import_w, export_w = kw_to_w(grid_kw, "--grid-kw"), kw_to_w(generation_kw, "--generation-kw")
    contracts, admin = open_community(network, alias)
    member_id(contracts["Community"], account)
    send(f"set limits of {account}", contracts["Community"].setMemberLimits, account, import_w, export_w, sender=admin)


def kw_to_w(text: str, option: str) -> int:
    """'17.3' kW -> 17300 W, whole watts."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise click.BadParameter(f"{text!r} is not a power in kW, e.g. 17.3", param_hint=option) from None
    watts = value * 1000
    if value < 0 or watts != watts.to_integral_value():
        raise click.BadParameter(f"{text} kW must be 0 or more, in whole watts", param_hint=option)
    return int(watts)


@cli.command("set-key", cls=ConnectedProviderCommand)
@click.argument("key", type=ALLOCATION_KEY)
@click.option("--coefficient", "pairs", multiple=True, type=coefficient_pair, metavar="ACCOUNT=PERCENT",
              help="Static coefficient of a member; repeat for each member to change.")
@click.option("--from", "start", default="next", show_default=True, metavar="WHEN",
              help="First interval under the new key: 'next', 'now' (the running one), an interval number, "
                   "or a date and time (ISO 8601; without an offset, UTC), rounded up to an interval start.")
@account_alias
def set_key(network, key, pairs, start, alias):
    """Choose the allocation key from an interval on, and optionally the static coefficients."""
    contracts, admin = open_community(network, alias)
    community = contracts["Community"]
    first = _interval_from(community, start)
    if pairs:
        changes = dict(pairs)
        current = {a: community.memberProfile(member_id(community, a))[5] for a in changes}
        total = community.parameters()[3] - sum(current.values()) + sum(changes.values())
        if total > FULL_SHARE_PPM:
            raise click.ClickException(f"coefficients would add up to {total / 10_000:.2f}%, over 100%")
        send("set coefficients", community.setCoefficients, list(changes), list(changes.values()), sender=admin)
    send(f"set key {key_name(key)} from interval {first} ({_starts(community, first)})",
         community.setAllocationKey, int(key), first, sender=admin)


@cli.command("set-shares", cls=ConnectedProviderCommand)
@click.argument("share_set", metavar="SET", type=click.IntRange(0, SHARE_SETS - 1))
@click.option("--share", "pairs", multiple=True, required=True, type=coefficient_pair, metavar="ACCOUNT=PERCENT",
              help="A member's percentage of production in this share set; repeat for each member to change.")
@account_alias
def set_shares(network, share_set, pairs, alias):
    """Set members' percentages in share SET (0-15) of the SCHEDULED key."""
    contracts, admin = open_community(network, alias)
    community = contracts["Community"]
    changes = dict(pairs)
    current = {a: community.sharesOf(share_set, member_id(community, a))[0] for a in changes}
    total = community.sharesOf(share_set, 0)[1] - sum(current.values()) + sum(changes.values())
    if total > FULL_SHARE_PPM:
        raise click.ClickException(f"share set {share_set} would add up to {total / 10_000:.2f}%, over 100%")
    send(f"set shares of set {share_set}", community.setShares, share_set, list(changes), list(changes.values()),
         sender=admin)


@cli.command("set-schedule", cls=ConnectedProviderCommand)
@click.option("--weekday", "weekday", multiple=True, metavar="HH:MM-HH:MM=SET",
              help="Share set for a time span of Monday to Friday, in UTC; repeat for each span.")
@click.option("--weekend", "weekend", multiple=True, metavar="HH:MM-HH:MM=SET",
              help="Share set for a time span of Saturday and Sunday, in UTC; repeat for each span.")
@click.option("--default", "default_set", type=click.IntRange(0, SHARE_SETS - 1), default=0, show_default=True,
              help="Share set of every quarter-hour no span names.")
@account_alias
def set_schedule(network, weekday, weekend, default_set, alias):
    """Choose which share set each quarter-hour uses under the SCHEDULED key."""
    slots = schedule_slots(weekday, weekend, default_set)
    contracts, admin = open_community(network, alias)
    send("set share schedule", contracts["Community"].setShareSchedule, slots, sender=admin)


@cli.command("set-price", cls=ConnectedProviderCommand)
@click.argument("price")
@account_alias
def set_price(network, price, alias):
    """Set the local price, in credits per kWh."""
    contracts, admin = open_community(network, alias)
    send(f"set price {price}/kWh", contracts["Community"].setLocalPrice, credits(price), sender=admin)


@cli.command(cls=ConnectedProviderCommand)
@click.argument("account", type=ADDRESS)
@click.argument("amount")
@click.option("--prepay", is_flag=True, help="Put the credits straight into the member's community balance.")
@click.option("--reference", default="", help="Off-chain payment reference, e.g. an invoice number.")
@account_alias
def mint(network, account, amount, prepay, reference, alias):
    """Issue AMOUNT credits to ACCOUNT (treasury role)."""
    contracts, admin = open_community(network, alias)
    token, community = contracts["EnergyToken"], contracts["Community"]
    units = credits(amount)
    ref = keccak(text=reference) if reference else b"\x00" * 32
    if not prepay:
        send(f"issue {amount} credits to {account}", token.issue, account, units, ref, sender=admin)
        return
    member_id(community, account)
    send(f"issue {amount} credits", token.issue, admin.address, units, ref, sender=admin)
    send("approve the community", token.approve, community.address, units, sender=admin)
    send(f"prepay {amount} credits for {account}", community.deposit, account, units, sender=admin)


SPAN = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})=(\d{1,2})$")


def schedule_slots(weekday: tuple[str, ...], weekend: tuple[str, ...], default_set: int) -> bytes:
    """The 192 slots of setShareSchedule from spans such as '08:00-18:00=1' (UTC, whole quarter-hours)."""
    slots = bytearray([default_set] * SCHEDULE_SLOTS)
    for offset, spans in ((0, weekday), (SCHEDULE_SLOTS // 2, weekend)):
        for span in spans:
            match = SPAN.match(span.replace(" ", ""))
            if not match:
                raise click.BadParameter(f"{span!r}: write HH:MM-HH:MM=SET, e.g. 08:00-18:00=1")
            h1, m1, h2, m2, share_set = (int(g) for g in match.groups())
            begin, end = (h1 * 3600 + m1 * 60), (h2 * 3600 + m2 * 60)
            if begin % QUARTER_HOUR_S or end % QUARTER_HOUR_S or not 0 <= begin < end <= 86_400:
                raise click.BadParameter(f"{span!r}: a span runs forward within one day, on whole quarter-hours")
            if share_set >= SHARE_SETS:
                raise click.BadParameter(f"{span!r}: share sets are 0 to {SHARE_SETS - 1}")
            for slot in range(begin // QUARTER_HOUR_S, end // QUARTER_HOUR_S):
                slots[offset + slot] = share_set
    return bytes(slots)


def _interval_from(community, text: str) -> int:
    now = community.currentInterval()
    if text in ("next", "now"):
        return now + 1 if text == "next" else now
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r}: write next, now, an interval number or a date such as 2027-01-01T00:00",
                                 param_hint="--from") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    length = community.intervalLength()
    return -(-int(moment.timestamp()) // length)


def _starts(community, interval: int) -> str:
    start = datetime.fromtimestamp(interval * community.intervalLength(), tz=timezone.utc)
    return f"starts {start:%Y-%m-%d %H:%M} UTC"
