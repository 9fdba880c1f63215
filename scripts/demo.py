"""`ape run demo`: a small community lives through one settlement interval on a local chain.

Deploys everything, admits three households (one with solar panels), lets each node submit its
interval reading, settles the interval and prints who got what, checked against the Python
reference settlement.
"""

import click
from ape import accounts, chain, project
from ape.cli import ConnectedProviderCommand
from eth_utils import keccak

from node.allocation import AllocationKey
from node.chain import deployment as records
from node.settlement import MemberInterval, settle_interval
from scripts._ledger import CommunitySettings, deploy_and_record, format_credits, network_choice

# name, producer, consumer, (imported Wh, exported Wh) in the demo interval
HOUSEHOLDS = [
    ("Sunny Roof (PV)", True, False, (40, 2600)),
    ("Corner Bakery", False, True, (1900, 0)),
    ("Flat 3B", False, True, (650, 0)),
]
PREPAID = 20 * 10**18


@click.command(cls=ConnectedProviderCommand)
def cli(network):
    """Run one interval of a three-household community."""
    network = network_choice(chain)
    admin = accounts.test_accounts[0]
    settings = CommunitySettings()
    click.echo(f"1. Deploying the contracts to {network} (chain id {chain.chain_id})")
    contracts, _ = deploy_and_record(project, chain, admin, settings)
    token, community = contracts["EnergyToken"], contracts["Community"]
    for name, contract in contracts.items():
        click.echo(f"   {name:18} {contract.address}")

    click.echo("2. Admitting three households; consumers prepay 20 credits each")
    nodes = []
    for n, (name, producer, consumer, _) in enumerate(HOUSEHOLDS, start=1):
        node = accounts.test_accounts[n]
        community.addMember(node, keccak(text=f"demo-meter-{n}"), producer, consumer, 0, 0, sender=admin)
        if consumer:
            token.issue(node, PREPAID, b"\x00" * 32, sender=admin)
            token.approve(community, PREPAID, sender=node)
            community.deposit(node, PREPAID, sender=node)
        nodes.append(node)
        click.echo(f"   #{community.memberIdOf(node)} {name:16} node {node.address}")

    interval = community.currentInterval()
    click.echo(f"3. Interval {interval} ends; each node submits its metered energy")
    chain.pending_timestamp = (interval + 1) * community.intervalLength()
    for node, (name, _, _, (imported, exported)) in zip(nodes, HOUSEHOLDS):
        community.submitReading(interval, imported, exported, sender=node)
        click.echo(f"   {name:16} imported {imported:>5} Wh, exported {exported:>5} Wh")

    price, grace, key, _ = community.parameters()
    chain.pending_timestamp = (interval + 1) * community.intervalLength() + grace
    click.echo(f"4. After the {grace} s grace period, a node settles the interval ({AllocationKey(key).name} key)")
    before = {community.memberIdOf(n): community.memberLedger(community.memberIdOf(n)).balance for n in nodes}
    receipt = community.settle(interval, sender=nodes[1])
    summary = receipt.events.filter(community.IntervalSettled)[0]
    click.echo(f"   production {summary.productionWh} Wh, shared {summary.allocatedWh} Wh, "
               f"paid {format_credits(summary.paid)} credits (gas {receipt.gas_used:,})")
    for event, (name, *_rest) in zip(receipt.events.filter(community.MemberSettled), HOUSEHOLDS):
        ledger = community.memberLedger(event.memberId)
        click.echo(f"   {name:16} got {event.allocatedWh:>5} Wh from the community, "
                   f"credits {format_credits(event.tokenDelta):>8}, balance {format_credits(ledger.balance)}, "
                   f"surplus {ledger.surplusWh} Wh")

    expected = settle_interval(
        AllocationKey(key),
        price,
        [MemberInterval(mid, imp, exp, p, c, 0, 0, before[mid])
         for mid, (_, p, c, (imp, exp)) in zip(before, HOUSEHOLDS)],
    )
    on_chain = [(e.allocatedWh, e.tokenDelta) for e in receipt.events.filter(community.MemberSettled)]
    agrees = on_chain == [(m.allocated_wh, m.token_delta) for m in expected.members]
    click.echo(f"5. The Python reference settlement {'agrees' if agrees else 'DISAGREES'} with the chain.")
    if not agrees:
        raise click.ClickException("the chain and the reference settlement differ")

    producer, bakery, flat = nodes
    surplus = community.surplusOf(producer)
    if surplus:
        certificates = contracts["EnergyCertificate"]
        receipt = certificates.mint(surplus, sender=producer)
        token_id = receipt.events.filter(certificates.CertificateMinted)[0].tokenId
        price = 10**16 * surplus // 50  # 0.01 credit per 50 Wh
        certificates.list(token_id, price, sender=producer)
        token.issue(bakery, price, b"\x00" * 32, sender=admin)
        token.approve(certificates, price, sender=bakery)
        certificates.buy(token_id, price, sender=bakery)
        certificates.retire(token_id, bakery, "Bakery bread baked on local sun", sender=bakery)
        click.echo(f"6. Sunny Roof certifies its {surplus} Wh surplus as certificate #{token_id}; the bakery buys it "
                   f"for {format_credits(price)} credits and retires it")

    consents = contracts["ConsentRegistry"]
    scope = consents.SCOPE_ENERGY_15MIN()
    now = chain.pending_timestamp
    receipt = consents.grantConsent(producer, scope, 1, b"\x00" * 32, now, now + 86_400, 0, 0, sender=flat)
    grant = receipt.events.filter(consents.ConsentGranted)[0].grantId
    allowed = consents.isAllowed(flat, producer, scope, now + 60)
    consents.revoke(grant, sender=flat)
    chain.mine()
    after = consents.isAllowed(flat, producer, scope, chain.pending_timestamp)
    click.echo(f"7. Flat 3B lets Sunny Roof read its 15-min energy (allowed: {allowed}), then revokes (allowed: {after})")
    click.echo(f"\nDone. The deployment is recorded in {records.record_path(network)}.")
