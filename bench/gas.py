"""Gas per member per interval: readings plus settlement, against a naive baseline.

Communities of N = 10, 100 and 500 members, 30% producers. The baseline settles the same
interval the naive way: every consumer pays every producer its share with its own ERC-20
transfer. Runs against the project's anvil: `make bench`.
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


def member_address(n: int, i: int) -> str:
    return to_checksum_address(keccak(text=f"gridcommons-bench-{n}-{i}")[-20:])


def measure(chain: Chain, admin: str, n: int, key: AllocationKey, rng: random.Random) -> dict:
    producers = round(n * PRODUCER_SHARE)
    members = [member_address(n, i) for i in range(n)]
    chain.fund(members)
    token_address = chain.deploy("EnergyToken", admin, "Bench Credit", "BEN", admin)
    community_address = chain.deploy("Community", admin, token_address, admin, INTERVAL, GRACE, PRICE, int(key))
    token, community = chain.contract("EnergyToken", token_address), chain.contract("Community", community_address)
    coefficient = 1_000_000 // (n - producers)
    # Phases, because anvil may reorder different senders' transactions inside a block.
    admit, approve, prepay = [], [], []
    for i, m in enumerate(members):
        producer = i < producers
        admit.append((admin, community_address, chain.call_data(
            community, "addMember", m, keccak(text=m), producer, not producer, 0 if producer else coefficient, i % 4)))
        if not producer:
            # 1000 credits prepaid into the community, and 1000 held for the baseline's transfers.
            admit.append((admin, token_address, chain.call_data(token, "issue", m, 2 * 10**21, b"\x00" * 32)))
            approve.append((m, token_address, chain.call_data(token, "approve", community_address, 10**21)))
            prepay.append((m, community_address, chain.call_data(community, "deposit", m, 10**21)))
    for phase in (admit, approve, prepay):
        chain.transact_all(phase)

    # Two intervals: the first warms every member's ledger slot, the second is the steady state.
    for _ in range(2):
        interval = chain.timestamp() // INTERVAL
        chain.warp_to((interval + 1) * INTERVAL)
        readings = [(rng.randint(0, 50), rng.randint(500, 4000)) if i < producers else (rng.randint(200, 1500), 0)
                    for i in range(n)]
        reading_receipts = chain.transact_all([
            (m, community_address, chain.call_data(community, "submitReading", interval, imp, exp))
            for m, (imp, exp) in zip(members, readings)
        ])
        chain.warp_to((interval + 1) * INTERVAL + GRACE)
        settle_receipt = chain.transact_all(
            [(admin, community_address, chain.call_data(community, "settle", interval))], gas_limit=BLOCK_GAS_LIMIT
        )[0]

    # Baseline: the same interval's payments as one ERC-20 transfer per consumer-producer pair.
    outcome = settle_interval(key, PRICE, [
        MemberInterval(i + 1, imp, exp, i < producers, i >= producers, 0 if i < producers else coefficient, i % 4, 10**21)
        for i, (imp, exp) in enumerate(readings)
    ])
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
            rows.append(measure(chain, admin, n, AllocationKey[key], rng))
            print(f"  measured N={n:<4} {key:9} in {time.monotonic() - started:6.1f} s", flush=True)

    print()
    print(f"Gas per member per interval (steady state, {PRODUCER_SHARE:.0%} producers)")
    print(f"{'key':9} {'N':>4} | {'settle':>8} {'read+settle':>11} {'settle tx':>11} {'1 block':>7} | "
          f"{'naive settle':>12} {'naive total':>11} {'transfers':>9} | {'ratio':>6}")
    for r in rows:
        b = r["baseline"]
        ratio = b["readings_plus_settlement_per_member"] / r["readings_plus_settlement_per_member"]
        r["baseline_over_gridcommons"] = round(ratio, 2)
        print(f"{r['key']:9} {r['members']:>4} | {r['settlement_per_member']:>8,.0f} {r['readings_plus_settlement_per_member']:>11,.0f} "
              f"{r['settlement_gas']:>11,} {'yes' if r['fits_one_block'] else 'NO':>7} | "
              f"{b['settlement_per_member']:>12,.0f} {b['readings_plus_settlement_per_member']:>11,.0f} {b['transfers']:>9,} | "
              f"{ratio:>5.1f}x")
    worst_settle = max(r["settlement_per_member"] for r in rows)
    worst_total = max(r["readings_plus_settlement_per_member"] for r in rows)
    print(f"\nTargets: settlement <= {TARGET_SETTLEMENT:,} gas/member (worst {worst_settle:,.0f}: "
          f"{'met' if worst_settle <= TARGET_SETTLEMENT else 'MISSED'}); readings + settlement <= {TARGET_TOTAL:,} "
          f"(worst {worst_total:,.0f}: {'met' if worst_total <= TARGET_TOTAL else 'MISSED'}); "
          f"500 members in one 30M block: {'met' if all(r['fits_one_block'] for r in rows) else 'MISSED'}")
    save("gas", {"unit": "gas per member per interval", "results": rows})


if __name__ == "__main__":
    main()
