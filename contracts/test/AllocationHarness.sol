// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.24;

import {Allocation} from "../libraries/Allocation.sol";

/// @title AllocationHarness
/// @notice Test-only: exposes the allocation library so the Python reference can be compared with
///         it on many random cases without a full settlement each time. Never deployed.
contract AllocationHarness {
    /// @notice Allocation.prorata.
    function prorata(uint256 production, uint256[] memory demand) external pure returns (uint256[] memory) {
        return Allocation.prorata(production, demand);
    }

    /// @notice Allocation.staticRounds.
    function staticRounds(uint256 production, uint256[] memory demand, uint256[] memory coefficientPpm)
        external
        pure
        returns (uint256[] memory)
    {
        return Allocation.staticRounds(production, demand, coefficientPpm);
    }

    /// @notice Allocation.fixedShares.
    function fixedShares(uint256 production, uint256[] memory demand, uint256[] memory sharePpm)
        external
        pure
        returns (uint256[] memory)
    {
        return Allocation.fixedShares(production, demand, sharePpm);
    }

    /// @notice Allocation.priority.
    function priority(uint256 production, uint256[] memory demand, uint256[] memory level)
        external
        pure
        returns (uint256[] memory)
    {
        return Allocation.priority(production, demand, level);
    }
}
