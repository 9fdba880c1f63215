// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.24;

/// @title ICommunity
/// @notice Membership, interval readings and settlement of a local energy community.
interface ICommunity {
    /// @notice How the community's production P is shared among its consumers in an interval; C_i is a
    ///         consumer's import left by peer deals, k_i its share. docs/contracts.md names each rule's source.
    /// @dev PRORATA: E_i = min(P, ΣC)·C_i/ΣC. Austria's dynamic model, France's "dynamique par défaut",
    ///      Luxembourg's default "prorata".
    ///      STATIC_ROUNDS: fixed shares, and what a consumer leaves unused goes in further rounds to the
    ///      consumers still short, in proportion to their shares, until nothing moves: E_i = min(C_i, λ·k_i)
    ///      for the largest λ that allocates no more than P. Brussels' fixed key in several rounds.
    ///      PRIORITY: ordered levels (0 first), pro rata to import inside the level where P runs out.
    ///      Luxembourg's "priorité".
    ///      STATIC_FIXED: E_i = min(C_i, k_i·P) with the member's coefficient; an unused share is surplus,
    ///      never redistributed. Austria's static model.
    ///      SCHEDULED: as STATIC_FIXED, with the percentages the community set for the interval's quarter
    ///      of a weekday or weekend day (`setShares`, `setShareSchedule`), all producers' export in one pot.
    ///      France's "dynamique simple".
    enum AllocationKey {
        PRORATA,
        STATIC_ROUNDS,
        PRIORITY,
        STATIC_FIXED,
        SCHEDULED
    }

    /// @notice A member's static data.
    struct MemberProfile {
        address account;
        bytes32 meterIdHash;
        bool producer;
        bool consumer;
        bool active;
        uint32 coefficientPpm;
        uint8 priority;
        uint32 importLimitW;
        uint32 exportLimitW;
    }

    /// @notice A member's escrowed balance, unminted surplus and latest reading.
    struct MemberLedger {
        uint96 balance;
        uint64 surplusWh;
        uint32 readingInterval;
        uint32 importWh;
        uint32 exportWh;
    }

    error CommunityUnknownMember(address account);
    error CommunityUnknownMemberId(uint256 memberId);
    error CommunityLengthMismatch(uint256 accounts, uint256 coefficients);
    error CommunityIntervalBeforeStart(uint256 interval, uint256 firstInterval);
    error CommunityMemberExists(address account);
    error CommunityMemberInactive(address account);
    error CommunityZeroAddress();
    error CommunityCoefficientsOverflow(uint256 totalPpm);
    error CommunityPriorityOutOfRange(uint256 priority);
    error CommunityIntervalNotEnded(uint256 interval, uint256 endsAt);
    error CommunityGracePeriodRunning(uint256 interval, uint256 settlesFrom);
    error CommunityIntervalSettled(uint256 interval);
    error CommunityReadingExists(uint256 interval, address account);
    error CommunityReadingOutOfOrder(uint256 interval, uint256 latestInterval);
    error CommunityPreviousIntervalUnsettled(uint256 previousInterval);
    error CommunityReadingTooLarge(uint256 importWh, uint256 exportWh);
    error CommunityInsufficientBalance(address account, uint256 balance, uint256 requested);
    error CommunityInsufficientSurplus(address account, uint256 surplusWh, uint256 requestedWh);
    error CommunityInvalidGracePeriod(uint256 gracePeriod, uint256 intervalLength);
    error CommunityInvalidIntervalLength(uint256 intervalLength);
    error CommunityAmountTooLarge(uint256 amount);
    error CommunityDeliveryWithoutReading(uint256 interval, uint256 producerId, uint256 consumerId);
    error CommunityReadingAboveLimit(uint256 importWh, uint256 exportWh, uint256 importLimitWh, uint256 exportLimitWh);
    error CommunityLimitOutOfRange(uint256 importLimitW, uint256 exportLimitW, uint256 maxW);
    error CommunityKeyChangeTooEarly(uint256 fromInterval, uint256 earliestInterval);
    error CommunityShareSetOutOfRange(uint256 shareSet);
    error CommunitySharesOverflow(uint256 shareSet, uint256 totalPpm);
    error CommunityShareScheduleLength(uint256 length, uint256 expected);
    error CommunityDeliveryExceedsReading(uint256 interval, uint256 wh, uint256 exportLeftWh, uint256 importLeftWh);

    event MemberAdded(uint256 indexed memberId, address indexed account, bytes32 meterIdHash);
    event MemberRemoved(uint256 indexed memberId, address indexed account);
    event MemberProfileChanged(
        uint256 indexed memberId, bool producer, bool consumer, uint32 coefficientPpm, uint8 priority
    );
    /// @notice A member's physical limits in W: its grid connection (import) and generation (export) capacity.
    event MemberLimitsChanged(uint256 indexed memberId, uint256 importLimitW, uint256 exportLimitW);
    /// @notice The key settlement uses for `fromInterval` and every later interval.
    event AllocationKeyChanged(AllocationKey key, uint256 fromInterval);
    /// @notice A member's percentage of production in share set `shareSet` (SCHEDULED), in ppm.
    event SharesChanged(uint256 indexed shareSet, uint256 indexed memberId, uint32 sharePpm);
    /// @notice Which share set each quarter-hour uses (SCHEDULED): 96 weekday quarters from 00:00 UTC,
    ///         then 96 for Saturday and Sunday, one byte each.
    event ShareScheduleChanged(bytes slots);
    event LocalPriceChanged(uint256 pricePerKWh);
    event GracePeriodChanged(uint256 gracePeriod);
    event ReadingSubmitted(uint256 indexed interval, uint256 indexed memberId, uint256 importWh, uint256 exportWh);
    /// @notice One per member with a reading in a settled interval. `tokenDelta` is what the member
    ///         received as a producer minus what it paid as a consumer.
    event MemberSettled(uint256 indexed interval, uint256 indexed memberId, uint256 allocatedWh, int256 tokenDelta);
    /// @notice Once per settled interval. `unpaid` is what consumers owed but had not prepaid.
    event IntervalSettled(
        uint256 indexed interval, uint256 productionWh, uint256 allocatedWh, uint256 paid, uint256 unpaid, AllocationKey key
    );
    event Deposited(uint256 indexed memberId, address indexed from, uint256 amount);
    event Withdrawn(uint256 indexed memberId, address indexed to, uint256 amount);
    event SurplusConsumed(uint256 indexed memberId, uint256 wh, address indexed by);

    /// @notice The member id of `account`, or 0 when it never was a member.
    function memberIdOf(address account) external view returns (uint256);

    /// @notice Whether `account` is an active member.
    function isMember(address account) external view returns (bool);

    /// @notice Whether `account` is an active member with the producer role.
    function isProducer(address account) external view returns (bool);

    /// @notice Settled Wh that `account` exported and the community did not take, not yet certified.
    function surplusOf(address account) external view returns (uint256);

    /// @notice Draws down a producer's settled surplus for a certificate.
    /// @dev Only the certifier role (the EnergyCertificate contract).
    function consumeSurplus(address producer, uint256 wh) external;

    /// @notice Books `wh` of interval `interval` as delivered from `producerId` to `consumerId` under a
    ///         peer deal, so that the interval's settlement shares only what deals left.
    /// @dev Only the exchange role (the EnergyExchange contract), before the interval is settled, and
    ///      only out of both members' readings for that interval not yet booked by another deal.
    function bookDelivery(uint256 interval, uint256 producerId, uint256 consumerId, uint256 wh) external;

    /// @notice A member's latest reading less what deals already booked of it: its interval, the
    ///         import still free for deals and the export still free for deals.
    function dealRoom(uint256 memberId) external view returns (uint256 interval, uint256 importWh, uint256 exportWh);

    /// @notice The last interval for which any settlement ran.
    function lastSettledInterval() external view returns (uint256);
}
