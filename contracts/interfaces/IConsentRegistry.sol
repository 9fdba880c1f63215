// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.24;

/// @title IConsentRegistry
/// @notice Members' consents to share their detailed meter data, optionally paid for in tokens.
interface IConsentRegistry {
    /// @notice What a subject agreed to share with a recipient, and on which terms.
    /// @dev `scope` is a bitmask of data categories (see the registry's `SCOPE_*` constants).
    ///      `purpose` is a code from the community's published purpose list; `policyHash` is the
    ///      keccak256 of the policy document the recipient committed to. `pricePerPeriod` is 0 for a
    ///      free grant. `revokedAt` is 0 while the grant has not been revoked.
    struct Grant {
        address subject;
        uint64 validFrom;
        uint32 scope;
        address recipient;
        uint64 validUntil;
        uint32 periodLength;
        bytes32 policyHash;
        uint128 pricePerPeriod;
        uint64 revokedAt;
        uint16 purpose;
    }

    /// @notice A paid grant's escrow.
    /// @dev `paid` is everything the recipient prepaid; `released` went to the subject and `refunded`
    ///      back to the recipient. Access is paid for from `coverageStart` to `paidUntil`;
    ///      `earnedBefore` is what earlier, lapsed coverage earned in full.
    struct Escrow {
        uint128 paid;
        uint128 released;
        uint128 refunded;
        uint64 coverageStart;
        uint64 paidUntil;
        uint128 earnedBefore;
    }

    error ConsentRegistryZeroAddress();
    error ConsentRegistryNotMember(address account);
    error ConsentRegistryInvalidRecipient(address recipient);
    error ConsentRegistryEmptyScope();
    error ConsentRegistryInvalidValidity(uint256 validFrom, uint256 validUntil, uint256 timestamp);
    error ConsentRegistryInvalidPeriod(uint256 periodLength);
    error ConsentRegistryUnknownGrant(uint256 grantId);
    error ConsentRegistryNotSubject(uint256 grantId, address caller);
    error ConsentRegistryNotRecipient(uint256 grantId, address caller);
    error ConsentRegistryGrantEnded(uint256 grantId);
    error ConsentRegistryFreeGrant(uint256 grantId);
    error ConsentRegistryZeroPeriods(uint256 grantId);
    error ConsentRegistryPaymentBeyondValidity(uint256 grantId, uint256 paidUntil, uint256 validUntil);
    error ConsentRegistryRenewalNotLater(uint256 grantId, uint256 validUntil, uint256 newValidUntil);
    error ConsentRegistryNothingToRelease(uint256 grantId);

    event ConsentGranted(
        uint256 indexed grantId,
        address indexed subject,
        address indexed recipient,
        uint256 scope,
        uint256 purpose,
        bytes32 policyHash,
        uint256 validFrom,
        uint256 validUntil,
        uint256 pricePerPeriod,
        uint256 periodLength
    );
    event ConsentRenewed(uint256 indexed grantId, uint256 validUntil);
    event ConsentRevoked(uint256 indexed grantId, uint256 revokedAt);
    /// @notice The recipient prepaid `periods` periods; access is now paid for until `paidUntil`.
    event ConsentPaid(uint256 indexed grantId, address indexed payer, uint256 periods, uint256 amount, uint256 paidUntil);
    /// @notice Earned payment went from the escrow to the subject.
    event PaymentReleased(uint256 indexed grantId, address indexed subject, uint256 amount);
    /// @notice Unearned payment went from the escrow back to the recipient.
    event PaymentRefunded(uint256 indexed grantId, address indexed recipient, uint256 amount);

    /// @notice Whether `recipient` may receive the `scope` categories of `subject`'s data at `timestamp`.
    function isAllowed(address subject, address recipient, uint32 scope, uint256 timestamp)
        external
        view
        returns (bool);
}
