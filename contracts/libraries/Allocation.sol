// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.24;

/// @title Allocation
/// @notice The community's allocation keys on integer Wh. Every key allocates at most the production
///         in total and at most its own demand to each member. `node/allocation.py` is the reference
///         implementation of exactly this arithmetic; the DApp uses it to explain bills.
library Allocation {
    /// @notice Coefficients are parts per million of the production.
    uint256 internal constant FULL_SHARE_PPM = 1_000_000;
    /// @notice Priority levels run from 0 (served first) to MAX_PRIORITY.
    uint256 internal constant MAX_PRIORITY = 15;

    /// @notice PRORATA: E_i = min(P, ΣC)·C_i/ΣC, rounded down.
    function prorata(uint256 production, uint256[] memory demand) internal pure returns (uint256[] memory allocated) {
        uint256 n = demand.length;
        allocated = new uint256[](n);
        uint256 totalDemand;
        for (uint256 i; i < n; ++i) totalDemand += demand[i];
        if (totalDemand <= production) {
            for (uint256 i; i < n; ++i) allocated[i] = demand[i];
        } else {
            for (uint256 i; i < n; ++i) allocated[i] = (production * demand[i]) / totalDemand;
        }
    }

    /// @notice STATIC_FIXED and SCHEDULED: E_i = min(C_i, P·k_i), rounded down. A share a consumer does not
    ///         use is surplus: it is not passed on to the others.
    function fixedShares(uint256 production, uint256[] memory demand, uint256[] memory sharePpm)
        internal
        pure
        returns (uint256[] memory allocated)
    {
        uint256 n = demand.length;
        allocated = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            uint256 share = (production * sharePpm[i]) / FULL_SHARE_PPM;
            allocated[i] = demand[i] < share ? demand[i] : share;
        }
    }

    /// @notice STATIC_ROUNDS: E_i = min(C_i, λ·k_i) with the largest λ that allocates no more than P.
    /// @dev This is the fixed point of "give min(C_i, k_i·P), then redistribute unused shares to the
    ///      members whose demand is unmet, in proportion to their keys, until nothing moves", computed
    ///      in one pass: members sorted by C_i/k_i saturate in that order while their demand fits the
    ///      water level R/K; the rest share what remains in proportion to their keys, rounded down.
    ///      Members with a zero coefficient get nothing.
    function staticRounds(uint256 production, uint256[] memory demand, uint256[] memory coefficientPpm)
        internal
        pure
        returns (uint256[] memory allocated)
    {
        uint256 n = demand.length;
        allocated = new uint256[](n);
        // Sort keys: the ratio C_i/k_i as 64-bit fixed point above a 16-bit member index. Distinct ratios
        // of 32-bit demands and 20-bit coefficients differ by at least 2^-40, so the order is exact.
        uint256[] memory order = new uint256[](n);
        uint256 count;
        uint256 remainingKeys;
        for (uint256 i; i < n; ++i) {
            if (demand[i] == 0 || coefficientPpm[i] == 0) continue;
            order[count++] = (((demand[i] << 64) / coefficientPpm[i]) << 16) | i;
            remainingKeys += coefficientPpm[i];
        }
        _heapSort(order, count);
        uint256 remaining = production;
        uint256 next;
        for (; next < count; ++next) {
            uint256 i = order[next] & 0xffff;
            if (demand[i] * remainingKeys > remaining * coefficientPpm[i]) break;
            allocated[i] = demand[i];
            remaining -= demand[i];
            remainingKeys -= coefficientPpm[i];
        }
        for (uint256 j = next; j < count; ++j) {
            uint256 i = order[j] & 0xffff;
            allocated[i] = (remaining * coefficientPpm[i]) / remainingKeys;
        }
    }

    /// @notice PRIORITY: levels served in order from 0; pro rata inside the level production runs out in.
    function priority(uint256 production, uint256[] memory demand, uint256[] memory level)
        internal
        pure
        returns (uint256[] memory allocated)
    {
        uint256 n = demand.length;
        allocated = new uint256[](n);
        uint256[MAX_PRIORITY + 1] memory levelDemand;
        for (uint256 i; i < n; ++i) levelDemand[level[i]] += demand[i];
        // Per level: the energy it receives (== its demand when fully served).
        uint256[MAX_PRIORITY + 1] memory levelEnergy;
        uint256 remaining = production;
        for (uint256 l; l <= MAX_PRIORITY && remaining > 0; ++l) {
            uint256 served = levelDemand[l] < remaining ? levelDemand[l] : remaining;
            levelEnergy[l] = served;
            remaining -= served;
        }
        for (uint256 i; i < n; ++i) {
            uint256 l = level[i];
            if (levelEnergy[l] == levelDemand[l]) allocated[i] = demand[i];
            else allocated[i] = (levelEnergy[l] * demand[i]) / levelDemand[l];
        }
    }

    /// @dev In-place ascending heapsort of the first `count` entries. OpenZeppelin's Arrays.sort is a
    ///      first-element-pivot quicksort: on already ordered or equal ratios, common in real
    ///      communities, it recurses once per member and overflows the EVM stack at a few hundred.
    ///      Written in Yul because settlement pays for every step: indices stay below `count`, so the
    ///      bounds and overflow checks Solidity would add cannot fail.
    function _heapSort(uint256[] memory a, uint256 count) private pure {
        if (count < 2) return;
        assembly ("memory-safe") {
            function siftDown(base, root, end) {
                for {} 1 {} {
                    let child := add(shl(1, root), 1)
                    if iszero(lt(child, end)) { break }
                    let childPtr := add(base, shl(5, child))
                    let childValue := mload(childPtr)
                    if lt(add(child, 1), end) {
                        let rightValue := mload(add(childPtr, 0x20))
                        if lt(childValue, rightValue) {
                            child := add(child, 1)
                            childPtr := add(childPtr, 0x20)
                            childValue := rightValue
                        }
                    }
                    let rootPtr := add(base, shl(5, root))
                    let rootValue := mload(rootPtr)
                    if iszero(lt(rootValue, childValue)) { break }
                    mstore(rootPtr, childValue)
                    mstore(childPtr, rootValue)
                    root := child
                }
            }
            let base := add(a, 0x20)
            for { let start := shr(1, count) } gt(start, 0) { start := sub(start, 1) } {
                siftDown(base, sub(start, 1), count)
            }
            for { let end := sub(count, 1) } gt(end, 0) { end := sub(end, 1) } {
                let endPtr := add(base, shl(5, end))
                let first := mload(base)
                mstore(base, mload(endPtr))
                mstore(endPtr, first)
                siftDown(base, 0, end)
            }
        }
    }
}
