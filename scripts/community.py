"""`ape run community ...`: the administrator's commands for a deployed community.

add-member, remove-member, set-key (with coefficients), set-price, mint and show. Bad input is
refused with a one-line reason before anything is sent.
"""

from decimal import Decimal, InvalidOperation

import click
from ape import accounts, chain, project
from ape.cli import ConnectedProviderCommand, verbosity_option
from ape.exceptions import ApeException
from eth_utils import is_address, keccak, to_checksum_address

from node.allocation import FULL_SHARE_PPM, MAX_PRIORITY, AllocationKey
from scripts._ledger import connect, credits, format_credits, network_choice, percent_to_ppm, refusal, signer

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
    click.echo(f"  allocation key  {AllocationKey(key).name} (coefficients total {total_ppm / 10_000:.2f}%)")
    click.echo(f"  last settled    {community.lastSettledInterval() or '-'}")
    click.echo(f"  {'id':>3} {'account':42} {'roles':9} {'coef':>7} {'prio':>4} {'balance':>14} {'surplus Wh':>11} {'last reading'}")
    for mid in range(1, community.memberCount() + 1):
        account, _, producer, consumer, active, ppm, prio = community.memberProfile(mid)
        balance, surplus, interval, imp, exp = community.memberLedger(mid)
        roles = ("P" if producer else "-") + ("C" if consumer else "-") + ("" if active else " removed")
        reading = f"#{interval}: +{imp} / -{exp} Wh" if interval else "-"
        click.echo(f"  {mid:>3} {account:42} {roles:9} {ppm / 10_000:>6.2f}% {prio:>4} {format_credits(balance):>14} {surplus:>11} {reading}")


@cli.command("add-member", cls=ConnectedProviderCommand)
@click.argument("account", type=ADDRESS)
@click.option("--producer/--no-producer", default=False, help="Its export counts as community production.")
@click.option("--consumer/--no-consumer", default=True, help="Its import can receive community production.")
@click.option("--coefficient", default="0", help="Static allocation coefficient in percent.")
@click.option("--priority", type=click.IntRange(0, MAX_PRIORITY), default=0, help="Priority level, 0 served first.")
@click.option("--meter-id", required=True, help="The meter's equipment id (only its hash goes on chain).")
@click.option("--gas-ether", default="0.1", show_default=True,
              help="Top the node account up to this much ether, which pays its readings' gas (0: send none).")
@account_alias
def add_member(network, account, producer, consumer, coefficient, priority, meter_id, gas_ether, alias):
    """Admit ACCOUNT (the household's node account) as a member."""
    contracts, admin = open_community(network, alias)
    community = contracts["Community"]
    if community.isMember(account):
        raise click.ClickException(f"{account} is already a member")
    ppm = percent_to_ppm(coefficient)
    total = community.parameters()[3] + ppm
    if total > FULL_SHARE_PPM:
        raise click.ClickException(f"coefficients would add up to {total / 10_000:.2f}%, over 100%")
    gas_wei = ether_to_wei(gas_ether)
    send(f"add member {account}", community.addMember, account, keccak(text=meter_id), producer, consumer, ppm, priority, sender=admin)
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


@cli.command("set-key", cls=ConnectedProviderCommand)
@click.argument("key", type=click.Choice([k.name for k in AllocationKey], case_sensitive=False))
@click.option("--coefficient", "pairs", multiple=True, type=coefficient_pair, metavar="ACCOUNT=PERCENT",
              help="Static coefficient of a member; repeat for each member to change.")
@account_alias
def set_key(network, key, pairs, alias):
    """Choose the allocation key, and optionally the static coefficients."""
    contracts, admin = open_community(network, alias)
    community = contracts["Community"]
    if pairs:
        changes = dict(pairs)
        current = {a: community.memberProfile(member_id(community, a))[5] for a in changes}
        total = community.parameters()[3] - sum(current.values()) + sum(changes.values())
        if total > FULL_SHARE_PPM:
            raise click.ClickException(f"coefficients would add up to {total / 10_000:.2f}%, over 100%")
        send("set coefficients", community.setCoefficients, list(changes), list(changes.values()), sender=admin)
    send(f"set key {key.upper()}", community.setAllocationKey, int(AllocationKey[key.upper()]), sender=admin)


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
