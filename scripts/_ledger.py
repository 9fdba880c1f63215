"""Ape-side helpers shared by the deploy, community and demo scripts (not a script itself)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click

from node.allocation import AllocationKey
from node.chain import deployment as records

CREDIT_DECIMALS = 18


@dataclass(frozen=True)
class CommunitySettings:
    """What a deployer chooses for a new community."""

    token_name: str = "Community Energy Credit"
    token_symbol: str = "CEC"
    interval_length: int = 900
    grace_period: int = 120
    price_per_kwh: int = 10**17  # 0.1 credit
    key: AllocationKey = AllocationKey.PRORATA


class AllocationKeyType(click.ParamType):
    """An allocation key by name, e.g. `static-fixed` or `STATIC_FIXED`."""

    name = "key"

    def get_metavar(self, param, *args) -> str:
        return "[" + "|".join(key_name(k) for k in AllocationKey) + "]"

    def convert(self, value, param, ctx):
        if isinstance(value, AllocationKey):
            return value
        try:
            return AllocationKey[value.strip().upper().replace("-", "_")]
        except KeyError:
            self.fail(f"{value!r} is not an allocation key: choose one of "
                      + ", ".join(key_name(k) for k in AllocationKey), param, ctx)


def key_name(key: AllocationKey) -> str:
    return key.name.lower().replace("_", "-")


ALLOCATION_KEY = AllocationKeyType()


def credits(text: str) -> int:
    """'1.5' credits -> token units."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise click.BadParameter(f"{text!r} is not an amount of credits, e.g. 12.5") from None
    if value < 0:
        raise click.BadParameter("an amount of credits cannot be negative")
    units = value * 10**CREDIT_DECIMALS
    if units != units.to_integral_value():
        raise click.BadParameter(f"{text} has more than {CREDIT_DECIMALS} decimals")
    return int(units)


def format_credits(units: int) -> str:
    return f"{Decimal(units) / 10**CREDIT_DECIMALS:,.4f}"


def percent_to_ppm(text: str) -> int:
    """'25%' or '25' -> 250000 parts per million."""
    try:
        value = Decimal(text.rstrip("%"))
    except InvalidOperation:
        raise click.BadParameter(f"{text!r} is not a percentage, e.g. 25 or 12.5%") from None
    if not 0 <= value <= 100:
        raise click.BadParameter(f"a coefficient must be between 0% and 100%, got {text}")
    return int(value * 10_000)


def deploy_all(project, deployer, settings: CommunitySettings) -> dict:
    """Deploy every contract and wire their roles. Returns the contract instances by name."""
    token = deployer.deploy(project.EnergyToken, settings.token_name, settings.token_symbol, deployer)
    community = deployer.deploy(
        project.Community,
        token,
        deployer,
        settings.interval_length,
        settings.grace_period,
        settings.price_per_kwh,
        int(settings.key),
    )
    consents = deployer.deploy(project.ConsentRegistry, community, token)
    certificates = deployer.deploy(
        project.EnergyCertificate, community, token, f"{settings.token_name} Certificate", "CERT"
    )
    community.grantRole(community.CERTIFIER_ROLE(), certificates, sender=deployer)
    exchange = deployer.deploy(project.EnergyExchange, community, token)
    community.grantRole(community.EXCHANGE_ROLE(), exchange, sender=deployer)
    return {
        "EnergyToken": token,
        "Community": community,
        "ConsentRegistry": consents,
        "EnergyCertificate": certificates,
        "EnergyExchange": exchange,
    }


def deploy_and_record(project, chain, deployer, settings: CommunitySettings) -> tuple[dict, Path]:
    """Deploy every contract and write the network's deployment record. Returns (contracts, record path)."""
    first_block = chain.blocks.height + 1
    contracts = deploy_all(project, deployer, settings)
    record = _record_for(network_choice(chain), chain, deployer, contracts, settings, first_block)
    return contracts, records.save(record)


def _record_for(
    network: str, chain, deployer, contracts: dict, settings: CommunitySettings, first: int
) -> records.Deployment:
    """The record of a deployment whose first transaction was mined in block `first`."""
    return records.Deployment(
        network=network,
        chain_id=chain.chain_id,
        deploy_block=first,
        deploy_block_hash=chain.blocks[first].hash.hex(),
        deployer=str(deployer.address),
        contracts={name: str(c.address) for name, c in contracts.items()},
        parameters={
            "token_name": settings.token_name,
            "token_symbol": settings.token_symbol,
            "interval_length": settings.interval_length,
            "grace_period": settings.grace_period,
            "price_per_kwh": settings.price_per_kwh,
            "key": settings.key.name,
        },
    )


def still_on_chain(record: records.Deployment, chain) -> bool:
    """Whether the recorded contracts exist on the connected chain (a dev chain may have been reset)."""
    if record.chain_id != chain.chain_id or record.deploy_block > chain.blocks.height:
        return False
    if chain.blocks[record.deploy_block].hash.hex() != record.deploy_block_hash:
        return False
    return all(chain.provider.get_code(address) for address in record.contracts.values())


def connect(project, chain, network: str) -> dict:
    """The recorded contracts of `network`, or a clear error when there are none on this chain."""
    try:
        record = records.load(network)
    except records.DeploymentError as error:
        raise click.ClickException(str(error)) from None
    if not still_on_chain(record, chain):
        raise click.ClickException(
            f"the deployment recorded in {records.record_path(network)} is not on this chain "
            f"(was it reset?): run `ape run deploy --network {network} --redeploy`"
        )
    return {name: getattr(project, name).at(address) for name, address in record.contracts.items()}


def network_choice(chain) -> str:
    """The full network choice the script runs on, e.g. `ethereum:local:foundry`."""
    return chain.provider.network_choice


def signer(accounts, network: str, alias: str | None):
    """The account that signs: `--account ALIAS` (or TEST::N); on a local chain, test account 0."""
    if alias is None:
        if ":local" in network:
            return accounts.test_accounts[0]
        raise click.UsageError(f"--account is required on {network}: name the keystore alias that signs")
    if alias.startswith("TEST::"):
        return accounts.test_accounts[int(alias.removeprefix("TEST::"))]
    try:
        return accounts.load(alias)
    except Exception as error:  # Ape raises several types for unknown or locked aliases
        raise click.ClickException(f"cannot use account {alias!r}: {error}") from None


def refusal(error) -> str:
    """A contract revert as one readable line, e.g. `CommunityUnknownMember(account=0x…)`."""
    inputs = getattr(error, "inputs", None)
    if inputs is not None:
        args = ", ".join(f"{k}={v}" for k, v in inputs.items())
        return f"{type(error).__name__}({args})"
    return str(error) or type(error).__name__
