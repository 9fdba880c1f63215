"""`ape run deploy --network ...`: deploy the community's contracts and record where they are.

Run again, it does nothing unless asked to redeploy (`--redeploy`).
"""

import click
from ape import accounts, chain, project
from ape.cli import ConnectedProviderCommand

from node.chain import deployment as records
from scripts._ledger import ALLOCATION_KEY, CommunitySettings, credits, deploy_and_record, network_choice, signer, still_on_chain


@click.command(cls=ConnectedProviderCommand)
@click.option("--account", "alias", default=None, help="Keystore alias that deploys (default on local chains: test account 0).")
@click.option("--redeploy", is_flag=True, help="Deploy anew even if a deployment is recorded.")
@click.option("--token-name", default=CommunitySettings.token_name, show_default=True)
@click.option("--token-symbol", default=CommunitySettings.token_symbol, show_default=True)
@click.option("--interval-length", type=click.IntRange(60), default=900, show_default=True, help="Seconds per interval.")
@click.option("--grace-period", type=click.IntRange(0), default=120, show_default=True, help="Seconds before an ended interval can be settled.")
@click.option("--price", default="0.1", show_default=True, help="Credits per kWh shared inside the community.")
@click.option("--key", type=ALLOCATION_KEY, default="prorata", show_default=True, help="The allocation key (docs/contracts.md).")
def cli(network, alias, redeploy, token_name, token_symbol, interval_length, grace_period, price, key):
    """Deploy EnergyToken, Community, ConsentRegistry, EnergyCertificate and EnergyExchange, and wire their roles."""
    network = network_choice(chain)
    if grace_period >= interval_length:
        raise click.BadParameter("the grace period must be shorter than an interval", param_hint="--grace-period")
    path = records.record_path(network)
    if path.is_file() and not redeploy:
        record = records.load(network)
        if still_on_chain(record, chain):
            click.echo(f"Already deployed on {network} (block {record.deploy_block}); nothing to do.")
            for name, address in record.contracts.items():
                click.echo(f"  {name:18} {address}")
            click.echo("Use --redeploy to deploy a new community.")
            return
        click.echo(f"{path} records contracts that are not on this chain (reset?); deploying anew.")

    deployer = signer(accounts, network, alias)
    settings = CommunitySettings(
        token_name=token_name,
        token_symbol=token_symbol,
        interval_length=interval_length,
        grace_period=grace_period,
        price_per_kwh=credits(price),
        key=key,
    )
    click.echo(f"Deploying the community to {network} as {deployer.address} ...")
    contracts, saved = deploy_and_record(project, chain, deployer, settings)
    for name, contract in contracts.items():
        click.echo(f"  {name:18} {contract.address}")
    click.echo(f"Recorded in {saved}")
