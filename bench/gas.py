"""Gas per member per interval: readings plus settlement, against a naive baseline; and gas per
peer-deal action.

Communities of N = 10, 100 and 500 members, 30% producers, each settled without deals and with a
tenth of the consumers buying through a peer deal in the measured interval (deals are metered
first, and settlement then reads what they booked). The baseline settles the same interval the
naive way: every consumer pays every producer its share with its own ERC-20 transfer. Runs against
the project's anvil: `make bench`.
"""

from __future__ import annotations

import argparse
import random
import time

from eth_utils import keccak, to_checksum_address

from bench.rpc import Chain, gas
from node.allocation import AllocationKey
from node.settlement import MemberInterval, settle_interval
from bench.results import save

SIZES = (10, 100, 500)
PRODUCER_SHARE = 0.3
INTERVAL, GRACE, PRICE = 900, 60, 10**17
BLOCK_GAS_LIMIT = 30_000_000
TARGET_SETTLEMENT, TARGET_TOTAL = 12_000, 60_000
DEAL_SHARE = 0.1  # of the consumers, when deals are on
DEAL_WH, DEAL_PRICE = 150, 5 * 10**16  # below every consumer's import: each deal completes in its interval


LIMITS_W = (50_000, 30_000)  # every member's grid connection and generation capacity


def member_address(n: int, i: int) -> str:
    return to_checksum_address(keccak(text=f"gridcommons-bench-{n}-{i}")[-20:])


def measure(chain: Chain, admin: str, n: int, key: AllocationKey, rng: random.Random, with_deals: bool) -> dict:
    producers = round(n * PRODUCER_SHARE)
    members = [member_address(n, i) for i in range(n)]
    chain.fund(members)
    token_address = chain.deploy("EnergyToken", admin, "Bench Credit", "BEN", admin)
    community_address = chain.deploy("Community", admin, token_address, admin, INTERVAL, GRACE, PRICE, int(key))
    token, community = chain.contract("EnergyToken", token_address), chain.contract("Community", community_address)
    exchange_address = chain.deploy("EnergyExchange", admin, community_address, token_address)
    exchange = chain.contract("EnergyExchange", exchange_address)
    chain.transact_all([(admin, community_address, chain.call_data(
        community, "grantRole", keccak(text="EXCHANGE_ROLE"), exchange_address))])
    coefficient = 1_000_000 // (n - producers)
    # Phases, because anvil may reorder different senders' transactions inside a block.
    admit, approve, prepay = [], [], []
    for i, m in enumerate(members):
        producer = i < producers
        admit.append((admin, community_address, chain.call_data(
            community, "addMember", m, keccak(text=m), producer, not producer, 0 if producer else coefficient, i % 4,
            *LIMITS_W)))
        if not producer:
            # 1000 credits prepaid into the community, and 1000 held for the baseline's transfers.
            admit.append((admin, token_address, chain.call_data(token, "issue", m, 2 * 10**21, b"\x00" * 32)))
            approve.append((m, token_address, chain.call_data(token, "approve", community_address, 10**21)))
            approve.append((m, token_address, chain.call_data(token, "approve", exchange_address, 10**20)))
            prepay.append((m, community_address, chain.call_data(community, "deposit", m, 10**21)))
    for phase in (admit, approve, prepay):
        chain.transact_all(phase)
    if key == AllocationKey.SCHEDULED:
        # Share set 0, the one every quarter-hour uses by default, with the consumers' coefficients.
        consumers = members[producers:]
        chain.transact_all([(admin, community_address, chain.call_data(
            community, "setShares", 0, consumers, [coefficient] * len(consumers)))], gas_limit=BLOCK_GAS_LIMIT)

    # Deals for the steady-state interval: a tenth of the consumers each buy from a producer.
    buyers = list(range(producers, n))[:max(1, round((n - producers) * DEAL_SHARE))] if with_deals else []
    deals = [(members[b % producers], members[b]) for b in buyers]
    deal_gas: dict[str, int] = {}

    # Two intervals: the first warms every member's ledger slot, the second is the steady state.
    for steady in (False, True):
        interval = chain.timestamp() // INTERVAL
        if deals and not steady:
            offer_ids, deal_gas = _post_and_accept(chain, exchange, exchange_address, deals, interval + 1)
        chain.warp_to((interval + 1) * INTERVAL)
        readings = [(rng.randint(0, 50), rng.randint(500, 4000)) if i < producers else (rng.randint(200, 1500), 0)
                    for i in range(n)]
        reading_receipts = chain.transact_all([
            (m, community_address, chain.call_data(community, "submitReading", interval, imp, exp))
            for m, (imp, exp) in zip(members, readings)
        ])
        if deals and steady:
            deliveries = chain.transact_all([(admin, exchange_address, chain.call_data(exchange, "recordDelivery", o))
                                             for o in offer_ids[:-1]], gas_limit=500_000)
            deal_gas["recordDelivery"] = gas(deliveries) // len(deliveries)
        chain.warp_to((interval + 1) * INTERVAL + GRACE)
        settle_receipt = chain.transact_all(
            [(admin, community_address, chain.call_data(community, "settle", interval))], gas_limit=BLOCK_GAS_LIMIT
        )[0]

    if deals:
        closed = chain.transact_all([(admin, exchange_address, chain.call_data(exchange, "close", offer_ids[-1]))],
                                    gas_limit=500_000)
        deal_gas["close"] = gas(closed)

    # Baseline: the same interval's payments as one ERC-20 transfer per consumer-producer pair.
    outcome = settle_interval(key, PRICE, [
        MemberInterval(i + 1, imp, exp, i < producers, i >= producers, 0 if i < producers else coefficient, i % 4, 10**21,
                       DEAL_WH if i in buyers else 0, DEAL_WH * sum(1 for p, _ in deals if p == members[i]),
                       share_ppm=0 if i < producers else coefficient)
        for i, (imp, exp) in enumerate(readings)
    ])
    assert outcome.allocated_wh == _allocated(settle_receipt), "settlement disagrees with the reference"
    supply = [exp for imp, exp in readings[:producers]]
    production = sum(supply)
    transfers = [
        (members[c], token_address, chain.call_data(token, "transfer", members[p], outcome.members[c].paid * supply[p] // production))
        for c in range(producers, n) if outcome.members[c].paid
        for p in range(producers)
    ]
    baseline_gas = gas(chain.transact_all(transfers, gas_limit=100_000))
    readings_gas, settle_gas = gas(reading_receipts), int(settle_receipt["gasUsed"], 16)
    return {
        "members": n,
        "producers": producers,
        "key": key.name,
        "deals": len(deals),
        "deal_action_gas": deal_gas,
        "settlement_gas": settle_gas,
        "settlement_per_member": settle_gas / n,
        "readings_plus_settlement_per_member": (readings_gas + settle_gas) / n,
        "fits_one_block": settle_gas <= BLOCK_GAS_LIMIT,
        "baseline": {
            "transfers": len(transfers),
            "settlement_per_member": baseline_gas / n,
            "readings_plus_settlement_per_member": (readings_gas + baseline_gas) / n,
        },
    }


def _post_and_accept(chain: Chain, exchange, exchange_address: str, deals, window: int) -> tuple[list[int], dict[str, int]]:
    """Each producer posts an offer for `window` and its buyer accepts it; also measures a cancel."""
    posted = chain.transact_all([(p, exchange_address, chain.call_data(exchange, "postOffer", DEAL_WH, DEAL_PRICE, window, window))
                                 for p, _ in deals], gas_limit=500_000)
    first = chain.view(exchange, "offerCount") - len(deals) + 1
    offer_ids = list(range(first, first + len(deals)))
    accepted = chain.transact_all([(c, exchange_address, chain.call_data(exchange, "accept", o))
                                   for o, (_, c) in zip(offer_ids, deals)], gas_limit=500_000)
    producer, buyer = deals[0]
    # One offer withdrawn, and one accepted but never metered, which `close` refunds after the window.
    post = chain.call_data(exchange, "postOffer", DEAL_WH, DEAL_PRICE, window, window)
    chain.transact_all([(producer, exchange_address, post)] * 2, gas_limit=500_000)
    unmetered = chain.view(exchange, "offerCount")
    cancelled = chain.transact_all([(producer, exchange_address, chain.call_data(exchange, "cancel", unmetered - 1))],
                                   gas_limit=500_000)
    chain.transact_all([(buyer, exchange_address, chain.call_data(exchange, "accept", unmetered))], gas_limit=500_000)
    return offer_ids + [unmetered], {"postOffer": gas(posted) // len(posted), "accept": gas(accepted) // len(accepted),
                                     "cancel": gas(cancelled)}


def _allocated(receipt: dict) -> int:
    """allocatedWh of the IntervalSettled event in a settle receipt."""
    topic = "0x" + keccak(text="IntervalSettled(uint256,uint256,uint256,uint256,uint256,uint8)").hex().removeprefix("0x")
    log = next(entry for entry in receipt["logs"] if entry["topics"][0].lower() == topic.lower())
    return int(log["data"][2 + 64:2 + 128], 16)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8545")
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--keys", nargs="*", default=[k.name for k in AllocationKey], choices=[k.name for k in AllocationKey])
    args = parser.parse_args()
    chain = Chain(args.url)
    admin = to_checksum_address(chain.rpc.call("eth_accounts")[0])
    rng = random.Random(2026)
    rows = []
    started = time.monotonic()
    for key in args.keys:
        for n in args.sizes:
            for with_deals in (False, True):
                rows.append(measure(chain, admin, n, AllocationKey[key], rng, with_deals))
                print(f"  measured N={n:<4} {key:13} {'with deals' if with_deals else 'no deals':10} "
                      f"in {time.monotonic() - started:6.1f} s", flush=True)

    print()
    print(f"Gas per member per interval (steady state, {PRODUCER_SHARE:.0%} producers)")
    print(f"{'key':13} {'N':>4} {'deals':>5} | {'settle':>8} {'read+settle':>11} {'settle tx':>11} {'1 block':>7} | "
          f"{'naive settle':>12} {'naive total':>11} {'transfers':>9} | {'ratio':>6}")
    for r in rows:
        b = r["baseline"]
        ratio = b["readings_plus_settlement_per_member"] / r["readings_plus_settlement_per_member"]
        r["baseline_over_gridcommons"] = round(ratio, 2)
        print(f"{r['key']:13} {r['members']:>4} {r['deals']:>5} | {r['settlement_per_member']:>8,.0f} {r['readings_plus_settlement_per_member']:>11,.0f} "
              f"{r['settlement_gas']:>11,} {'yes' if r['fits_one_block'] else 'NO':>7} | "
              f"{b['settlement_per_member']:>12,.0f} {b['readings_plus_settlement_per_member']:>11,.0f} {b['transfers']:>9,} | "
              f"{ratio:>5.1f}x")
    dealt = [r for r in rows if r["deals"]]
    if dealt:
        print("\nGas per peer-deal action (mean over the deals of each run)")
        for r in dealt:
            actions = ", ".join(f"{name} {value:,}" for name, value in r["deal_action_gas"].items())
            plain = next(p for p in rows if p["key"] == r["key"] and p["members"] == r["members"] and not p["deals"])
            print(f"  {r['key']:13} N={r['members']:<4} {actions}; settlement with deals "
                  f"{r['settlement_gas'] / plain['settlement_gas']:.2f}x the same community without")
    worst_settle = max(r["settlement_per_member"] for r in rows)
    worst_total = max(r["readings_plus_settlement_per_member"] for r in rows)
    print(f"\nTargets: settlement <= {TARGET_SETTLEMENT:,} gas/member (worst {worst_settle:,.0f}: "
          f"{'met' if worst_settle <= TARGET_SETTLEMENT else 'MISSED'}); readings + settlement <= {TARGET_TOTAL:,} "
          f"(worst {worst_total:,.0f}: {'met' if worst_total <= TARGET_TOTAL else 'MISSED'}); "
          f"500 members in one 30M block: {'met' if all(r['fits_one_block'] for r in rows) else 'MISSED'}")
    save("gas", {"unit": "gas per member per interval", "results": rows})


if __name__ == "__main__":
    main()
