// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ICommunity} from "./interfaces/ICommunity.sol";
import {IConsentRegistry} from "./interfaces/IConsentRegistry.sol";

/// @title ConsentRegistry
/// @notice Members (subjects) grant recipients access to their detailed meter data, for a scope of
///         data categories, a declared purpose and a period of validity, free or for a price per
///         period paid to the subject. Nodes call `isAllowed` before serving any data.
/// @dev Payment design: an escrow that nobody can lose money in. The recipient prepays whole periods
///      into this contract (`pay`, or `payWithPermit` with no approve transaction). Payment accrues to
///      the subject linearly, second by second, over the time paid for, and access is only allowed for
///      time that has been paid for. `release` (open to anyone) sends what has accrued to the subject.
///      When the subject revokes, what accrued up to that moment goes to the subject and the rest goes
///      back to the recipient at once; when a grant expires, `release` refunds the paid-but-unused rest.
///
///      Escrow arithmetic is cumulative, so rounding never leaks: accrued(t) = earnedBefore +
///      ⌊price · (t − coverageStart) / periodLength⌋, with t clamped to the paid and valid time, and
///      every transfer is the difference between a cumulative figure and what was already sent. The
///      subject's total is therefore accrued(end) and the recipient's refund paid − accrued(end), which
///      add up to `paid` exactly. If the recipient lets coverage lapse, everything paid before has
///      accrued in full (`earnedBefore`) and the next payment starts new coverage at that moment, so
///      the recipient never pays for time it could not use.
contract ConsentRegistry is IConsentRegistry {
    using SafeERC20 for IERC20;

    /// @notice Scope bit: energy per 15-minute interval.
    uint32 public constant SCOPE_ENERGY_15MIN = 1 << 0;
    /// @notice Scope bit: power at 1-second resolution.
    uint32 public constant SCOPE_POWER_1S = 1 << 1;
    /// @notice Scope bit: phase voltages.
    uint32 public constant SCOPE_VOLTAGES = 1 << 2;
    /// @notice Scope bit: gas meter readings.
    uint32 public constant SCOPE_GAS = 1 << 3;

    /// @notice The community whose members can grant consent.
    ICommunity public immutable community;
    /// @notice The token that paid grants are priced in.
    IERC20 public immutable token;

    uint256 private _grantCount;
    mapping(uint256 grantId => Grant) private _grants;
    mapping(uint256 grantId => Escrow) private _escrows;
    mapping(address subject => mapping(address recipient => uint256[])) private _grantIds;

    /// @param community_ The community whose members can grant consent.
    /// @param token_ The token that paid grants are priced in (the community's credit).
    constructor(ICommunity community_, IERC20 token_) {
        if (address(community_) == address(0) || address(token_) == address(0)) revert ConsentRegistryZeroAddress();
        community = community_;
        token = token_;
    }

    // ------------------------------------------------------------------ subject

    /// @notice Grants `recipient` access to the caller's meter data in `scope`; the caller must be a member.
    /// @param recipient Who may receive the data (not the caller).
    /// @param scope Bitmask of data categories (`SCOPE_*`); not empty.
    /// @param purpose The purpose code the data may be used for.
    /// @param policyHash keccak256 of the policy document the recipient committed to.
    /// @param validFrom First second of access; may be in the past.
    /// @param validUntil First second without access; later than both `validFrom` and now.
    /// @param pricePerPeriod Token units the recipient pays per period; 0 for a free grant.
    /// @param periodLength Seconds per paid period; above 0 when the grant has a price.
    /// @return grantId The new grant's id, counted from 1.
    function grantConsent(
        address recipient,
        uint32 scope,
        uint16 purpose,
        bytes32 policyHash,
        uint64 validFrom,
        uint64 validUntil,
        uint128 pricePerPeriod,
        uint32 periodLength
    ) external returns (uint256 grantId) {
        if (!community.isMember(msg.sender)) revert ConsentRegistryNotMember(msg.sender);
        if (recipient == address(0) || recipient == msg.sender) revert ConsentRegistryInvalidRecipient(recipient);
        if (scope == 0) revert ConsentRegistryEmptyScope();
        if (validUntil <= validFrom || validUntil <= block.timestamp) {
            revert ConsentRegistryInvalidValidity(validFrom, validUntil, block.timestamp);
        }
        if (pricePerPeriod != 0 && periodLength == 0) revert ConsentRegistryInvalidPeriod(periodLength);
        grantId = _grant(
            Grant({
                subject: msg.sender,
                validFrom: validFrom,
                scope: scope,
                recipient: recipient,
                validUntil: validUntil,
                periodLength: pricePerPeriod == 0 ? 0 : periodLength,
                policyHash: policyHash,
                pricePerPeriod: pricePerPeriod,
                revokedAt: 0,
                purpose: purpose
            })
        );
    }

    /// @notice Extends a live grant until `validUntil`; only its subject.
    function renew(uint256 grantId, uint64 validUntil) external {
        Grant storage g = _subjectGrant(grantId);
        if (!_isLive(g)) revert ConsentRegistryGrantEnded(grantId);
        if (validUntil <= g.validUntil) revert ConsentRegistryRenewalNotLater(grantId, g.validUntil, validUntil);
        _renew(grantId, g, validUntil);
    }

    /// @notice Revokes a live grant with immediate effect; only its subject. Payment accrued so far
    ///         goes to the subject and the rest back to the recipient, in the same transaction.
    function revoke(uint256 grantId) external {
        Grant storage g = _subjectGrant(grantId);
        if (!_isLive(g)) revert ConsentRegistryGrantEnded(grantId);
        _revoke(grantId, g);
    }

    // ------------------------------------------------------------------ recipient

    /// @notice Prepays `periods` periods of a paid grant, pulled from the caller (approve first); only
    ///         the grant's recipient, while the grant is live.
    /// @dev Coverage continues where it ends, or starts now (not before `validFrom`) if it has lapsed.
    ///      The last period bought must start before `validUntil`; what the grant's end cuts off is
    ///      refunded by `release` once the grant has expired.
    function pay(uint256 grantId, uint256 periods) external {
        _checkPayment(grantId, periods);
        _pay(grantId, periods);
    }

    /// @notice Prepays with an EIP-2612 permit for the amount instead of an approve transaction.
    /// @dev The permit is tried, not required: if someone front-ran it, the allowance is already there.
    function payWithPermit(uint256 grantId, uint256 periods, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
    {
        uint256 amount = _checkPayment(grantId, periods);
        try IERC20Permit(address(token)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        _pay(grantId, periods);
    }

    // ------------------------------------------------------------------ anyone

    /// @notice Sends what a grant has accrued to its subject and, once the grant has ended, the
    ///         unused rest to its recipient. Anyone may call it.
    function release(uint256 grantId) external {
        Grant storage g = _knownGrant(grantId);
        (uint256 toSubject, uint256 toRecipient) = _releasable(g, _escrows[grantId]);
        if (toSubject == 0 && toRecipient == 0) revert ConsentRegistryNothingToRelease(grantId);
        _release(grantId, g, toSubject, toRecipient);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IConsentRegistry
    /// @dev True when one grant from `subject` to `recipient` covers every category in `scope`, is
    ///      valid and not revoked at `timestamp`, and, if it has a price, has been paid for at
    ///      `timestamp`. Categories are not pooled across grants: each grant has its own purpose.
    ///      Meant for the moment of access (normally now); for a paid grant only the current stretch
    ///      of paid coverage counts, so after a lapse an earlier paid stretch no longer answers true.
    function isAllowed(address subject, address recipient, uint32 scope, uint256 timestamp)
        external
        view
        returns (bool)
    {
        uint256[] storage ids = _grantIds[subject][recipient];
        for (uint256 i; i < ids.length; ++i) {
            if (_allows(ids[i], scope, timestamp)) return true;
        }
        return false;
    }

    /// @notice A grant's terms.
    function grant(uint256 grantId) external view returns (Grant memory) {
        return _knownGrant(grantId);
    }

    /// @notice A grant's escrow.
    function escrow(uint256 grantId) external view returns (Escrow memory) {
        _knownGrant(grantId);
        return _escrows[grantId];
    }

    /// @notice What `release` would send now: to the subject, and to the recipient.
    function releasable(uint256 grantId) external view returns (uint256 toSubject, uint256 toRecipient) {
        return _releasable(_knownGrant(grantId), _escrows[grantId]);
    }

    /// @notice The ids of every grant `subject` gave `recipient`, oldest first.
    /// @dev To list all consents given or received, filter `ConsentGranted` by its indexed topics.
    function grantIdsOf(address subject, address recipient) external view returns (uint256[] memory) {
        return _grantIds[subject][recipient];
    }

    /// @notice The number of grants ever made; ids run from 1 to this.
    function grantCount() external view returns (uint256) {
        return _grantCount;
    }

    /// @notice Whether a grant is neither revoked nor expired.
    function isLive(uint256 grantId) external view returns (bool) {
        return _isLive(_knownGrant(grantId));
    }

    // ------------------------------------------------------------------ internals

    function _grant(Grant memory terms) internal returns (uint256 grantId) {
        grantId = ++_grantCount;
        _grants[grantId] = terms;
        _grantIds[terms.subject][terms.recipient].push(grantId);
        emit ConsentGranted(
            grantId,
            terms.subject,
            terms.recipient,
            terms.scope,
            terms.purpose,
            terms.policyHash,
            terms.validFrom,
            terms.validUntil,
            terms.pricePerPeriod,
            terms.periodLength
        );
    }

    function _renew(uint256 grantId, Grant storage g, uint64 validUntil) internal {
        g.validUntil = validUntil;
        emit ConsentRenewed(grantId, validUntil);
    }

    function _revoke(uint256 grantId, Grant storage g) internal {
        g.revokedAt = uint64(block.timestamp);
        emit ConsentRevoked(grantId, block.timestamp);
        (uint256 toSubject, uint256 toRecipient) = _releasable(g, _escrows[grantId]);
        _release(grantId, g, toSubject, toRecipient);
    }

    /// @dev Checks a payment and returns its amount.
    function _checkPayment(uint256 grantId, uint256 periods) internal view returns (uint256 amount) {
        Grant storage g = _knownGrant(grantId);
        if (msg.sender != g.recipient) revert ConsentRegistryNotRecipient(grantId, msg.sender);
        if (!_isLive(g)) revert ConsentRegistryGrantEnded(grantId);
        if (g.pricePerPeriod == 0) revert ConsentRegistryFreeGrant(grantId);
        if (periods == 0) revert ConsentRegistryZeroPeriods(grantId);
        (, uint256 paidUntil) = _coverageAfter(g, _escrows[grantId], periods);
        if (paidUntil - g.periodLength >= g.validUntil) {
            revert ConsentRegistryPaymentBeyondValidity(grantId, paidUntil, g.validUntil);
        }
        amount = g.pricePerPeriod * periods;
    }

    function _pay(uint256 grantId, uint256 periods) internal {
        Grant storage g = _grants[grantId];
        Escrow storage e = _escrows[grantId];
        uint256 amount = g.pricePerPeriod * periods;
        (uint256 coverageStart, uint256 paidUntil) = _coverageAfter(g, e, periods);
        if (coverageStart != e.coverageStart) {
            // Coverage lapsed (or never started): everything paid so far has accrued in full.
            e.earnedBefore = e.paid;
            e.coverageStart = uint64(coverageStart);
        }
        e.paidUntil = SafeCast.toUint64(paidUntil);
        e.paid = SafeCast.toUint128(e.paid + amount);
        emit ConsentPaid(grantId, msg.sender, periods, amount, paidUntil);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    function _release(uint256 grantId, Grant storage g, uint256 toSubject, uint256 toRecipient) internal {
        Escrow storage e = _escrows[grantId];
        if (toSubject != 0) {
            e.released += uint128(toSubject);
            emit PaymentReleased(grantId, g.subject, toSubject);
        }
        if (toRecipient != 0) {
            e.refunded += uint128(toRecipient);
            emit PaymentRefunded(grantId, g.recipient, toRecipient);
        }
        if (toSubject != 0) token.safeTransfer(g.subject, toSubject);
        if (toRecipient != 0) token.safeTransfer(g.recipient, toRecipient);
    }

    /// @dev Where coverage starts and ends once `periods` more periods are paid for.
    function _coverageAfter(Grant storage g, Escrow storage e, uint256 periods)
        internal
        view
        returns (uint256 coverageStart, uint256 paidUntil)
    {
        coverageStart = e.coverageStart;
        paidUntil = e.paidUntil;
        if (paidUntil <= block.timestamp) {
            coverageStart = block.timestamp > g.validFrom ? block.timestamp : g.validFrom;
            paidUntil = coverageStart;
        }
        paidUntil += periods * g.periodLength;
    }

    /// @dev What is due to the subject and the recipient now. Accrual stops at revocation or expiry;
    ///      the recipient's rest is only due once the grant has ended.
    function _releasable(Grant storage g, Escrow storage e)
        internal
        view
        returns (uint256 toSubject, uint256 toRecipient)
    {
        uint256 end = _end(g);
        bool ended = block.timestamp >= end;
        uint256 accrued = _accrued(g, e, ended ? end : block.timestamp);
        toSubject = accrued - e.released;
        if (ended) toRecipient = e.paid - accrued - e.refunded;
    }

    /// @dev Cumulative payment accrued to the subject by `timestamp`.
    function _accrued(Grant storage g, Escrow storage e, uint256 timestamp) internal view returns (uint256) {
        if (g.pricePerPeriod == 0) return 0;
        uint256 start = e.coverageStart;
        if (timestamp <= start) return e.earnedBefore;
        uint256 paidUntil = e.paidUntil;
        uint256 elapsed = (timestamp < paidUntil ? timestamp : paidUntil) - start;
        return e.earnedBefore + (g.pricePerPeriod * elapsed) / g.periodLength;
    }

    function _allows(uint256 grantId, uint32 scope, uint256 timestamp) internal view returns (bool) {
        Grant storage g = _grants[grantId];
        if (g.scope & scope != scope) return false;
        if (timestamp < g.validFrom || timestamp >= _end(g)) return false;
        if (g.pricePerPeriod == 0) return true;
        Escrow storage e = _escrows[grantId];
        return timestamp >= e.coverageStart && timestamp < e.paidUntil;
    }

    /// @dev The first second without access: expiry, or revocation if earlier.
    function _end(Grant storage g) internal view returns (uint256) {
        uint256 revokedAt = g.revokedAt;
        return revokedAt != 0 && revokedAt < g.validUntil ? revokedAt : g.validUntil;
    }

    function _isLive(Grant storage g) internal view returns (bool) {
        return g.revokedAt == 0 && block.timestamp < g.validUntil;
    }

    function _knownGrant(uint256 grantId) internal view returns (Grant storage g) {
        g = _grants[grantId];
        if (g.subject == address(0)) revert ConsentRegistryUnknownGrant(grantId);
    }

    function _subjectGrant(uint256 grantId) internal view returns (Grant storage g) {
        g = _knownGrant(grantId);
        if (msg.sender != g.subject) revert ConsentRegistryNotSubject(grantId, msg.sender);
    }
}
