// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.24;

import {ICommunity} from "../interfaces/ICommunity.sol";

/// @title LedgerWord
/// @notice A member's ledger packed into one storage word, so settlement reads and writes it once:
///         balance (96 bits) | surplusWh (64) | readingInterval (32) | importWh (32) | exportWh (32).
library LedgerWord {
    uint256 private constant MASK_32 = 0xffffffff;
    uint256 private constant MASK_64 = 0xffffffffffffffff;

    /// @notice The ledger's fields.
    function unpack(uint256 word) internal pure returns (ICommunity.MemberLedger memory) {
        return ICommunity.MemberLedger({
            balance: uint96(balance(word)),
            surplusWh: uint64(surplusWh(word)),
            readingInterval: uint32(readingInterval(word)),
            importWh: uint32(importWh(word)),
            exportWh: uint32(exportWh(word))
        });
    }

    function balance(uint256 word) internal pure returns (uint256) {
        return word >> 160;
    }

    function surplusWh(uint256 word) internal pure returns (uint256) {
        return (word >> 96) & MASK_64;
    }

    function readingInterval(uint256 word) internal pure returns (uint256) {
        return (word >> 64) & MASK_32;
    }

    function importWh(uint256 word) internal pure returns (uint256) {
        return (word >> 32) & MASK_32;
    }

    function exportWh(uint256 word) internal pure returns (uint256) {
        return word & MASK_32;
    }

    /// @dev Callers keep balance below 2^96 and surplus below 2^64.
    function withAccount(uint256 word, uint256 newBalance, uint256 newSurplusWh) internal pure returns (uint256) {
        return (newBalance << 160) | (newSurplusWh << 96) | (word & ((1 << 96) - 1));
    }

    /// @dev Callers keep the interval and energies below 2^32.
    function withReading(uint256 word, uint256 interval, uint256 importedWh, uint256 exportedWh)
        internal
        pure
        returns (uint256)
    {
        return (word & ~uint256((1 << 96) - 1)) | (interval << 64) | (importedWh << 32) | exportedWh;
    }
}
