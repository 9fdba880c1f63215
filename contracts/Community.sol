// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ICommunity} from "./interfaces/ICommunity.sol";
import {Allocation} from "./libraries/Allocation.sol";
import {LedgerWord} from "./libraries/LedgerWord.sol";

/// @title Community
/// @notice A local energy community's membership, interval readings and settlement.
/// @dev Payment design: members prepay into an escrowed balance held by this contract (one
///      `deposit`, or `depositWithPermit` with no approve transaction at all). Settlement then
///      moves credits between balances in storage: no token transfer, and no approval, per interval.
///      Members withdraw whenever they like. A consumer whose prepaid balance does not cover its
///      allocation pays what it has; the rest is reported as `unpaid` in `IntervalSettled` for the
///      community to collect off-chain, so settlement never stalls on one empty wallet.
///
///      Gas layout: each member's balance, unminted surplus and latest reading share one storage
///      slot, and member profiles are packed eight to a slot, so settlement reads and writes about
///      one slot per member. A member keeps one reading at a time: the reading for interval t can be
///      stored once t-1's is settled, which `settle` (open to anyone) ensures after the grace period.
///
///      Peer deals first. The exchange books what a deal delivered in interval t (`bookDelivery`,
///      before t is settled); settlement then shares with the allocation key only the import and the
///      export that deals left. Energy a deal delivered is paid through the deal's escrow, never also
///      at the local price, and a producer's surplus is what neither deals nor the community took.
///      Settlement reads the bookings of the members that have one, and one extra word per 256 members.
contract Community is ICommunity, AccessControl {
    using SafeERC20 for IERC20;
    using LedgerWord for uint256;

    /// @notice Role of the contracts allowed to draw down settled surplus (EnergyCertificate).
    bytes32 public constant CERTIFIER_ROLE = keccak256("CERTIFIER_ROLE");
    /// @notice Role of the contract that books peer-deal deliveries out of readings (EnergyExchange).
    bytes32 public constant EXCHANGE_ROLE = keccak256("EXCHANGE_ROLE");

    uint256 private constant WH_PER_KWH = 1000;
    uint256 private constant PROFILES_PER_WORD = 4;
    uint256 private constant PROFILE_BITS = 64;
    uint256 private constant PROFILE_MASK = (1 << 64) - 1;
    uint256 private constant SHARES_PER_WORD = 8;
    uint256 private constant SHARE_BITS = 32;
    // Physical limits in units of 10 W, 18 bits each: up to 2.6 MW.
    uint256 private constant IMPORT_LIMIT_SHIFT = 27;
    uint256 private constant EXPORT_LIMIT_SHIFT = 45;
    uint256 private constant LIMIT_MASK = (1 << 18) - 1;
    uint256 private constant LIMIT_UNIT_W = 10;
    uint256 private constant SECONDS_PER_HOUR = 3600;
    uint256 private constant COEFFICIENT_MASK = (1 << 20) - 1;
    uint256 private constant PRIORITY_SHIFT = 20;
    uint256 private constant PRODUCER_BIT = 1 << 24;
    uint256 private constant CONSUMER_BIT = 1 << 25;
    uint256 private constant ACTIVE_BIT = 1 << 26;
    uint256 private constant MASK_32 = 0xffffffff;
    uint256 private constant SHARE_SETS = 16;
    uint256 private constant SCHEDULE_SLOTS = 192;
    uint256 private constant QUARTER_HOUR = 900;
    uint256 private constant DAY = 86400;

    /// @notice The community's energy credit.
    IERC20 public immutable token;
    /// @notice Seconds per settlement interval; interval t covers [t·length, (t+1)·length).
    uint256 public immutable intervalLength;
    /// @notice The first interval of this community; earlier ones can be neither read nor settled.
    uint256 public immutable firstInterval;

    /// @dev Parameters settlement reads together, in one slot.
    struct Parameters {
        uint96 pricePerKWh;
        uint32 gracePeriod;
        uint32 memberCount;
        uint32 lastSettledInterval;
        AllocationKey key; // the latest key, in force from `keyFrom` on
        uint32 keyFrom;
    }

    Parameters private _params;
    uint256 private _coefficientSumPpm;
    mapping(address account => uint256) private _memberIds;
    mapping(uint256 memberId => address) private _accounts;
    mapping(uint256 memberId => bytes32) private _meterIdHashes;
    mapping(uint256 word => uint256) private _profileWords;
    mapping(uint256 memberId => uint256) private _ledgers; // LedgerWord
    mapping(uint256 word => uint256) private _settledWords;
    /// @dev Per member: interval (32 bits) << 64 | import booked by deals << 32 | export booked by deals.
    mapping(uint256 memberId => uint256) private _dealt;
    /// @dev Per interval, one bit per member id that a deal booked a delivery for; settlement reads
    ///      `_dealt` only for those, and a word of 256 members costs one read when none has a deal.
    mapping(uint256 interval => mapping(uint256 word => uint256)) private _dealtMembers;
    /// @dev Every key change, oldest first: from interval << 8 | key. Settlement of an interval before
    ///      the latest change looks back here.
    uint256[] private _keyChanges;
    /// @dev SCHEDULED: per share set, members' shares in ppm, eight to a word as profiles are.
    mapping(uint256 shareSet => mapping(uint256 word => uint256)) private _shareWords;
    mapping(uint256 shareSet => uint256) private _shareSumsPpm;
    /// @dev SCHEDULED: the share set of each of the 192 quarter-hour slots, 4 bits each, 64 to a word.
    uint256[3] private _scheduleWords;

    /// @param token_ The community's energy credit.
    /// @param admin The community administrator (manages members and parameters).
    /// @param intervalLength_ Seconds per interval (900 in production); 60 or more.
    /// @param gracePeriod_ Seconds after an interval ends before it can be settled; below the interval length.
    /// @param pricePerKWh Token units a consumer pays per kWh allocated inside the community.
    /// @param key The allocation key.
    constructor(
        IERC20 token_,
        address admin,
        uint256 intervalLength_,
        uint256 gracePeriod_,
        uint256 pricePerKWh,
        AllocationKey key
    ) {
        if (address(token_) == address(0) || admin == address(0)) revert CommunityZeroAddress();
        if (intervalLength_ < 60) revert CommunityInvalidIntervalLength(intervalLength_);
        if (gracePeriod_ >= intervalLength_) revert CommunityInvalidGracePeriod(gracePeriod_, intervalLength_);
        token = token_;
        intervalLength = intervalLength_;
        firstInterval = block.timestamp / intervalLength_;
        _params = Parameters({
            pricePerKWh: _toUint96(pricePerKWh),
            gracePeriod: uint32(gracePeriod_),
            memberCount: 0,
            lastSettledInterval: 0,
            key: key,
            keyFrom: uint32(firstInterval)
        });
        _keyChanges.push((firstInterval << 8) | uint256(key));
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        emit LocalPriceChanged(pricePerKWh);
        emit GracePeriodChanged(gracePeriod_);
        emit AllocationKeyChanged(key, firstInterval);
    }

    // ------------------------------------------------------------------ membership (admin)

    /// @notice Adds `account` as a member, or re-activates a removed member with a new profile.
    /// @param account The member's node account, which submits its readings.
    /// @param meterIdHash keccak256 of the meter's equipment identifier (the id itself stays off-chain).
    /// @param producer Whether its export counts as community production.
    /// @param consumer Whether its import can receive community production.
    /// @param coefficientPpm Its static allocation coefficient, in parts per million.
    /// @param priority Its priority level, 0 (served first) to 15.
    /// @param importLimitW Its grid connection's capacity in W: no reading imports more in an interval.
    /// @param exportLimitW Its generation capacity in W (0: it cannot export): no reading exports more.
    function addMember(
        address account,
        bytes32 meterIdHash,
        bool producer,
        bool consumer,
        uint32 coefficientPpm,
        uint8 priority,
        uint256 importLimitW,
        uint256 exportLimitW
    ) external onlyRole(DEFAULT_ADMIN_ROLE) returns (uint256 memberId) {
        if (account == address(0)) revert CommunityZeroAddress();
        memberId = _memberIds[account];
        if (memberId != 0 && _profileOf(memberId) & ACTIVE_BIT != 0) revert CommunityMemberExists(account);
        if (memberId == 0) {
            memberId = ++_params.memberCount;
            _memberIds[account] = memberId;
            _accounts[memberId] = account;
        }
        _meterIdHashes[memberId] = meterIdHash;
        emit MemberAdded(memberId, account, meterIdHash);
        _setProfile(memberId, producer, consumer, coefficientPpm, priority, true);
        _setLimits(memberId, importLimitW, exportLimitW);
    }

    /// @notice Changes a member's physical limits (a new grid connection, more panels), in W.
    function setMemberLimits(address account, uint256 importLimitW, uint256 exportLimitW)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        _setLimits(_activeMemberId(account), importLimitW, exportLimitW);
    }

    /// @notice Deactivates a member: it can no longer submit readings. Its balance stays withdrawable
    ///         and a reading it already submitted is still settled.
    function removeMember(address account) external onlyRole(DEFAULT_ADMIN_ROLE) {
        uint256 memberId = _activeMemberId(account);
        _setProfile(memberId, false, false, 0, 0, false);
        emit MemberRemoved(memberId, account);
    }

    /// @notice Changes a member's roles, coefficient and priority.
    function setMemberProfile(address account, bool producer, bool consumer, uint32 coefficientPpm, uint8 priority)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        _setProfile(_activeMemberId(account), producer, consumer, coefficientPpm, priority, true);
    }

    /// @notice Sets several members' static coefficients at once; the total is checked at the end,
    ///         so shares can move between members in one call.
    function setCoefficients(address[] calldata accounts, uint32[] calldata coefficientsPpm)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        if (accounts.length != coefficientsPpm.length) revert CommunityLengthMismatch(accounts.length, coefficientsPpm.length);
        uint256 sum = _coefficientSumPpm;
        for (uint256 i; i < accounts.length; ++i) {
            uint256 memberId = _activeMemberId(accounts[i]);
            uint256 profile = _profileOf(memberId);
            sum = sum - (profile & COEFFICIENT_MASK) + coefficientsPpm[i];
            _writeProfile(memberId, (profile & ~COEFFICIENT_MASK) | coefficientsPpm[i]);
            _emitProfile(memberId);
        }
        if (sum > Allocation.FULL_SHARE_PPM) revert CommunityCoefficientsOverflow(sum);
        _coefficientSumPpm = sum;
    }

    /// @notice Chooses how production is shared in `fromInterval` and every later interval.
    /// @dev Never for an interval that has ended (its readings may be in), nor before the latest
    ///      change; a second change from the same interval replaces the first.
    function setAllocationKey(AllocationKey key, uint256 fromInterval) external onlyRole(DEFAULT_ADMIN_ROLE) {
        uint256 earliest = block.timestamp / intervalLength;
        if (_params.keyFrom > earliest) earliest = _params.keyFrom;
        if (fromInterval < earliest || fromInterval > type(uint32).max) {
            revert CommunityKeyChangeTooEarly(fromInterval, earliest);
        }
        _setAllocationKey(key, fromInterval);
    }

    /// @notice Sets members' percentages of production in share set `shareSet` (0 to 15) for the
    ///         SCHEDULED key; the set's total is checked at the end, at most 100 %.
    function setShares(uint256 shareSet, address[] calldata accounts, uint32[] calldata sharesPpm)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        if (shareSet >= SHARE_SETS) revert CommunityShareSetOutOfRange(shareSet);
        if (accounts.length != sharesPpm.length) revert CommunityLengthMismatch(accounts.length, sharesPpm.length);
        uint256 sum = _shareSumsPpm[shareSet];
        for (uint256 i; i < accounts.length; ++i) {
            uint256 memberId = _activeMemberId(accounts[i]);
            sum = sum - _shareOf(shareSet, memberId) + sharesPpm[i];
            _writeShare(shareSet, memberId, sharesPpm[i]);
            emit SharesChanged(shareSet, memberId, sharesPpm[i]);
        }
        if (sum > Allocation.FULL_SHARE_PPM) revert CommunitySharesOverflow(shareSet, sum);
        _shareSumsPpm[shareSet] = sum;
    }

    /// @notice Sets which share set each quarter-hour uses under the SCHEDULED key: 192 bytes, the
    ///         share sets of the 96 quarter-hours of a weekday (Monday to Friday) from 00:00 UTC, then
    ///         of a Saturday or Sunday.
    function setShareSchedule(bytes calldata slots) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (slots.length != SCHEDULE_SLOTS) revert CommunityShareScheduleLength(slots.length, SCHEDULE_SLOTS);
        uint256[3] memory words;
        for (uint256 i; i < SCHEDULE_SLOTS; ++i) {
            uint256 shareSet = uint8(slots[i]);
            if (shareSet >= SHARE_SETS) revert CommunityShareSetOutOfRange(shareSet);
            words[i / 64] |= shareSet << ((i % 64) * 4);
        }
        _scheduleWords = words;
        emit ShareScheduleChanged(slots);
    }

    /// @notice Sets the price per kWh allocated inside the community, in token units.
    function setLocalPrice(uint256 pricePerKWh) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _params.pricePerKWh = _toUint96(pricePerKWh);
        emit LocalPriceChanged(pricePerKWh);
    }

    /// @notice Sets the seconds after an interval ends before it can be settled.
    function setGracePeriod(uint256 gracePeriod) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (gracePeriod >= intervalLength) revert CommunityInvalidGracePeriod(gracePeriod, intervalLength);
        _params.gracePeriod = uint32(gracePeriod);
        emit GracePeriodChanged(gracePeriod);
    }

    // ------------------------------------------------------------------ escrowed balances

    /// @notice Prepays `amount` credits into `account`'s balance, pulled from the caller (approve first).
    function deposit(address account, uint256 amount) external {
        _deposit(_knownMemberId(account), amount);
    }

    /// @notice Prepays with an EIP-2612 permit instead of an approve transaction.
    /// @dev The permit is tried, not required: if someone front-ran it, the allowance is already there.
    function depositWithPermit(address account, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
    {
        uint256 memberId = _knownMemberId(account);
        try IERC20Permit(address(token)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        _deposit(memberId, amount);
    }

    /// @notice Withdraws `amount` of the caller's balance to `to`.
    function withdraw(uint256 amount, address to) external {
        if (to == address(0)) revert CommunityZeroAddress();
        uint256 memberId = _knownMemberId(msg.sender);
        uint256 ledger = _ledgers[memberId];
        uint256 balance = ledger.balance();
        if (balance < amount) revert CommunityInsufficientBalance(msg.sender, balance, amount);
        _ledgers[memberId] = ledger.withAccount(balance - amount, ledger.surplusWh());
        emit Withdrawn(memberId, to, amount);
        token.safeTransfer(to, amount);
    }

    // ------------------------------------------------------------------ readings and settlement

    /// @notice Records the caller's imported and exported Wh for a finished interval.
    /// @dev One reading per member and interval; none once the interval is settled; in interval order.
    function submitReading(uint256 interval, uint256 importWh, uint256 exportWh) external {
        uint256 memberId = _activeMemberId(msg.sender);
        if (interval < firstInterval) revert CommunityIntervalBeforeStart(interval, firstInterval);
        uint256 endsAt = (interval + 1) * intervalLength;
        if (block.timestamp < endsAt) revert CommunityIntervalNotEnded(interval, endsAt);
        if (_isSettled(interval)) revert CommunityIntervalSettled(interval);
        if (importWh > type(uint32).max || exportWh > type(uint32).max) {
            revert CommunityReadingTooLarge(importWh, exportWh);
        }
        uint256 profile = _profileOf(memberId);
        uint256 importLimitWh = _limitWh((profile >> IMPORT_LIMIT_SHIFT) & LIMIT_MASK);
        uint256 exportLimitWh = _limitWh((profile >> EXPORT_LIMIT_SHIFT) & LIMIT_MASK);
        if (importWh > importLimitWh || exportWh > exportLimitWh) {
            revert CommunityReadingAboveLimit(importWh, exportWh, importLimitWh, exportLimitWh);
        }
        uint256 ledger = _ledgers[memberId];
        uint256 latest = ledger.readingInterval();
        if (latest == interval) revert CommunityReadingExists(interval, msg.sender);
        if (latest > interval) revert CommunityReadingOutOfOrder(interval, latest);
        if (latest != 0 && !_isSettled(latest)) revert CommunityPreviousIntervalUnsettled(latest);
        _ledgers[memberId] = ledger.withReading(interval, importWh, exportWh);
        emit ReadingSubmitted(interval, memberId, importWh, exportWh);
    }

    /// @notice Settles a finished interval once its grace period is over: allocates production with
    ///         the community's key, and moves payment from consumers to producers. Anyone may call it.
    /// @dev Members without a reading count as zero. Production left unallocated stays with the grid.
    function settle(uint256 interval) external {
        if (interval < firstInterval) revert CommunityIntervalBeforeStart(interval, firstInterval);
        Parameters memory params = _params;
        uint256 settlesFrom = (interval + 1) * intervalLength + params.gracePeriod;
        if (block.timestamp < settlesFrom) revert CommunityGracePeriodRunning(interval, settlesFrom);
        if (_isSettled(interval)) revert CommunityIntervalSettled(interval);
        _settledWords[interval >> 8] |= 1 << (interval & 0xff);
        if (interval > params.lastSettledInterval) _params.lastSettledInterval = uint32(interval);
        _settle(interval, params);
    }

    // ------------------------------------------------------------------ peer deals (exchange)

    /// @inheritdoc ICommunity
    function bookDelivery(uint256 interval, uint256 producerId, uint256 consumerId, uint256 wh)
        external
        onlyRole(EXCHANGE_ROLE)
    {
        if (_isSettled(interval)) revert CommunityIntervalSettled(interval);
        (uint256 producedAt,, uint256 exportLeft) = _dealRoom(producerId);
        (uint256 consumedAt, uint256 importLeft,) = _dealRoom(consumerId);
        if (producedAt != interval || consumedAt != interval || producerId == consumerId) {
            revert CommunityDeliveryWithoutReading(interval, producerId, consumerId);
        }
        if (wh > exportLeft || wh > importLeft) revert CommunityDeliveryExceedsReading(interval, wh, exportLeft, importLeft);
        _bookDelivery(interval, producerId, consumerId, wh);
    }

    // ------------------------------------------------------------------ surplus (certifier)

    /// @inheritdoc ICommunity
    function consumeSurplus(address producer, uint256 wh) external onlyRole(CERTIFIER_ROLE) {
        uint256 memberId = _knownMemberId(producer);
        uint256 ledger = _ledgers[memberId];
        uint256 surplus = ledger.surplusWh();
        if (surplus < wh) revert CommunityInsufficientSurplus(producer, surplus, wh);
        _ledgers[memberId] = ledger.withAccount(ledger.balance(), surplus - wh);
        emit SurplusConsumed(memberId, wh, msg.sender);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc ICommunity
    function memberIdOf(address account) external view returns (uint256) {
        return _memberIds[account];
    }

    /// @inheritdoc ICommunity
    function isMember(address account) public view returns (bool) {
        uint256 memberId = _memberIds[account];
        return memberId != 0 && _profileOf(memberId) & ACTIVE_BIT != 0;
    }

    /// @inheritdoc ICommunity
    function isProducer(address account) external view returns (bool) {
        uint256 memberId = _memberIds[account];
        uint256 profile = memberId == 0 ? 0 : _profileOf(memberId);
        return profile & ACTIVE_BIT != 0 && profile & PRODUCER_BIT != 0;
    }

    /// @inheritdoc ICommunity
    function surplusOf(address account) external view returns (uint256) {
        return _ledgers[_memberIds[account]].surplusWh();
    }

    /// @inheritdoc ICommunity
    function lastSettledInterval() external view returns (uint256) {
        return _params.lastSettledInterval;
    }

    /// @inheritdoc ICommunity
    function dealRoom(uint256 memberId) external view returns (uint256 interval, uint256 importWh, uint256 exportWh) {
        return _dealRoom(memberId);
    }

    /// @notice What deals booked of a member's reading for `interval` (zero for any other interval).
    function dealtOf(uint256 memberId, uint256 interval) external view returns (uint256 importWh, uint256 exportWh) {
        uint256 word = _dealtAt(memberId, interval);
        return ((word >> 32) & MASK_32, word & MASK_32);
    }

    /// @notice The number of member ids ever given out (removed members keep theirs).
    function memberCount() external view returns (uint256) {
        return _params.memberCount;
    }

    /// @notice A member's profile by id.
    function memberProfile(uint256 memberId) external view returns (MemberProfile memory profile) {
        if (memberId == 0 || memberId > _params.memberCount) revert CommunityUnknownMemberId(memberId);
        uint256 bits = _profileOf(memberId);
        profile = MemberProfile({
            account: _accounts[memberId],
            meterIdHash: _meterIdHashes[memberId],
            producer: bits & PRODUCER_BIT != 0,
            consumer: bits & CONSUMER_BIT != 0,
            active: bits & ACTIVE_BIT != 0,
            coefficientPpm: uint32(bits & COEFFICIENT_MASK),
            priority: uint8((bits >> PRIORITY_SHIFT) & 0xf),
            importLimitW: uint32(((bits >> IMPORT_LIMIT_SHIFT) & LIMIT_MASK) * LIMIT_UNIT_W),
            exportLimitW: uint32(((bits >> EXPORT_LIMIT_SHIFT) & LIMIT_MASK) * LIMIT_UNIT_W)
        });
    }

    /// @notice A member's escrowed balance, unminted surplus and latest reading, by id.
    function memberLedger(uint256 memberId) external view returns (MemberLedger memory) {
        return _ledgers[memberId].unpack();
    }

    /// @notice The price per kWh, grace period, allocation key and coefficient total.
    function parameters()
        external
        view
        returns (uint256 pricePerKWh, uint256 gracePeriod, AllocationKey key, uint256 coefficientSumPpm)
    {
        Parameters memory params = _params;
        return (params.pricePerKWh, params.gracePeriod, params.key, _coefficientSumPpm);
    }

    /// @notice The key settlement uses for `interval`.
    function allocationKeyAt(uint256 interval) external view returns (AllocationKey) {
        return _keyAt(interval, _params);
    }

    /// @notice The latest key change: the key and the first interval it applies to.
    function latestKeyChange() external view returns (AllocationKey key, uint256 fromInterval) {
        return (_params.key, _params.keyFrom);
    }

    /// @notice A member's percentage of production in share set `shareSet`, in ppm, and the set's total.
    function sharesOf(uint256 shareSet, uint256 memberId) external view returns (uint256 sharePpm, uint256 totalPpm) {
        if (shareSet >= SHARE_SETS) revert CommunityShareSetOutOfRange(shareSet);
        return (_shareOf(shareSet, memberId), _shareSumsPpm[shareSet]);
    }

    /// @notice The share set the SCHEDULED key uses for `interval`.
    function shareSetAt(uint256 interval) external view returns (uint256) {
        return _shareSetAt(interval);
    }

    /// @notice Whether `interval` has been settled.
    function isSettled(uint256 interval) external view returns (bool) {
        return _isSettled(interval);
    }

    /// @notice The interval running now.
    function currentInterval() external view returns (uint256) {
        return block.timestamp / intervalLength;
    }

    // ------------------------------------------------------------------ internals

    /// @dev Working set of one settlement, in memory.
    struct Settlement {
        uint256 interval;
        AllocationKey key;
        uint256 production;
        uint256 allocated;
        uint256 paid;
        uint256 unpaid;
        uint256 lastProducer;
        uint256[] ledgers;
        uint256[] demand;
        uint256[] supply;
        uint256[] payment;
    }

    function _settle(uint256 interval, Parameters memory params) internal {
        uint256 n = params.memberCount;
        Settlement memory s;
        s.interval = interval;
        s.key = _keyAt(interval, params);
        s.ledgers = new uint256[](n);
        s.demand = new uint256[](n);
        s.supply = new uint256[](n);
        uint256[] memory keyInput = new uint256[](n);
        uint256 dealtWord;
        uint256 profileWord;
        for (uint256 i; i < n; ++i) {
            uint256 memberId = i + 1;
            // Eight profiles share a word: load it once per eight members.
            if (i == 0 || memberId % PROFILES_PER_WORD == 0) profileWord = _profileWords[memberId / PROFILES_PER_WORD];
            if (i == 0 || memberId & 0xff == 0) dealtWord = _dealtMembers[interval][memberId >> 8];
            uint256 ledger = _ledgers[memberId];
            s.ledgers[i] = ledger;
            if (ledger.readingInterval() != interval) continue;
            uint256 profile = (profileWord >> ((memberId % PROFILES_PER_WORD) * PROFILE_BITS)) & PROFILE_MASK;
            // Deals were metered first: the key shares only what they left.
            (uint256 imported, uint256 exported) = dealtWord & (1 << (memberId & 0xff)) == 0
                ? (ledger.importWh(), ledger.exportWh())
                : _leftByDeals(ledger, memberId, interval);
            if (profile & CONSUMER_BIT != 0) s.demand[i] = imported;
            if (profile & PRODUCER_BIT != 0 && exported != 0) {
                s.supply[i] = exported;
                s.production += exported;
                s.lastProducer = i;
            }
            if (s.key == AllocationKey.PRIORITY) keyInput[i] = (profile >> PRIORITY_SHIFT) & 0xf;
            else keyInput[i] = profile & COEFFICIENT_MASK;
        }
        if (s.key == AllocationKey.SCHEDULED) _scheduledShares(interval, s.demand, keyInput);
        uint256[] memory allocated = _allocate(s.key, s.production, s.demand, keyInput);

        // What each consumer pays: its allocation at the local price, up to its prepaid balance.
        s.payment = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            if (allocated[i] == 0) continue;
            s.allocated += allocated[i];
            uint256 cost = (allocated[i] * params.pricePerKWh) / WH_PER_KWH;
            uint256 balance = s.ledgers[i].balance();
            uint256 pays = cost < balance ? cost : balance;
            s.payment[i] = pays;
            s.paid += pays;
            s.unpaid += cost - pays;
        }
        _book(s, allocated);
        emit IntervalSettled(interval, s.production, s.allocated, s.paid, s.unpaid, s.key);
    }

    /// @dev Writes balances and surplus. Producers share the payment pro rata to the energy taken from
    ///      each (production is taken in proportion to exports); the last producer gets the rounding
    ///      remainder so that credits are conserved exactly. Surplus is rounded down, so certificates
    ///      never cover more than was exported and not taken.
    function _book(Settlement memory s, uint256[] memory allocated) private {
        uint256 distributed;
        for (uint256 i; i < allocated.length; ++i) {
            uint256 ledger = s.ledgers[i];
            if (ledger.readingInterval() != s.interval) continue;
            uint256 earned;
            uint256 surplus = ledger.surplusWh();
            if (s.supply[i] != 0) {
                earned = i == s.lastProducer ? s.paid - distributed : (s.paid * s.supply[i]) / s.production;
                distributed += earned;
                surplus += s.supply[i] - _ceilDiv(s.allocated * s.supply[i], s.production);
            }
            uint256 updated = ledger.withAccount(ledger.balance() + earned - s.payment[i], surplus);
            if (updated != ledger) _ledgers[i + 1] = updated;
            emit MemberSettled(s.interval, i + 1, allocated[i], int256(earned) - int256(s.payment[i]));
        }
    }

    function _allocate(AllocationKey key, uint256 production, uint256[] memory demand, uint256[] memory keyInput)
        private
        pure
        returns (uint256[] memory)
    {
        if (key == AllocationKey.STATIC_ROUNDS) return Allocation.staticRounds(production, demand, keyInput);
        if (key == AllocationKey.PRIORITY) return Allocation.priority(production, demand, keyInput);
        if (key == AllocationKey.PRORATA) return Allocation.prorata(production, demand);
        return Allocation.fixedShares(production, demand, keyInput);
    }

    /// @dev Replaces the coefficients in `shares` by the scheduled share set's, for the consumers with demand.
    function _scheduledShares(uint256 interval, uint256[] memory demand, uint256[] memory shares) private view {
        uint256 shareSet = _shareSetAt(interval);
        for (uint256 i; i < demand.length; ++i) {
            shares[i] = demand[i] == 0 ? 0 : _shareOf(shareSet, i + 1);
        }
    }

    function _setAllocationKey(AllocationKey key, uint256 fromInterval) private {
        uint256 change = (fromInterval << 8) | uint256(key);
        if (fromInterval == _params.keyFrom) _keyChanges[_keyChanges.length - 1] = change;
        else _keyChanges.push(change);
        _params.key = key;
        _params.keyFrom = uint32(fromInterval);
        emit AllocationKeyChanged(key, fromInterval);
    }

    /// @dev The key in force for `interval`: the latest change at or before it.
    function _keyAt(uint256 interval, Parameters memory params) private view returns (AllocationKey) {
        if (interval >= params.keyFrom) return params.key;
        for (uint256 i = _keyChanges.length - 1; i > 0; --i) {
            uint256 change = _keyChanges[i - 1];
            if (change >> 8 <= interval) return AllocationKey(uint8(change));
        }
        return AllocationKey(uint8(_keyChanges[0]));
    }

    /// @dev Slot of an interval's start: its quarter-hour of the UTC day, plus 96 on Saturdays and
    ///      Sundays (day 0 of Unix time was a Thursday).
    function _shareSetAt(uint256 interval) private view returns (uint256) {
        uint256 start = interval * intervalLength;
        uint256 slot = (start % DAY) / QUARTER_HOUR;
        if ((start / DAY + 3) % 7 >= 5) slot += 96;
        return (_scheduleWords[slot / 64] >> ((slot % 64) * 4)) & 0xf;
    }

    function _shareOf(uint256 shareSet, uint256 memberId) private view returns (uint256) {
        uint256 shift = (memberId % SHARES_PER_WORD) * SHARE_BITS;
        return (_shareWords[shareSet][memberId / SHARES_PER_WORD] >> shift) & MASK_32;
    }

    function _writeShare(uint256 shareSet, uint256 memberId, uint256 sharePpm) private {
        uint256 shift = (memberId % SHARES_PER_WORD) * SHARE_BITS;
        mapping(uint256 => uint256) storage words = _shareWords[shareSet];
        uint256 word = memberId / SHARES_PER_WORD;
        words[word] = (words[word] & ~(MASK_32 << shift)) | (sharePpm << shift);
    }

    function _bookDelivery(uint256 interval, uint256 producerId, uint256 consumerId, uint256 wh) private {
        _dealt[producerId] = _dealtAt(producerId, interval) + wh;
        _dealt[consumerId] = _dealtAt(consumerId, interval) + (wh << 32);
        _dealtMembers[interval][producerId >> 8] |= 1 << (producerId & 0xff);
        _dealtMembers[interval][consumerId >> 8] |= 1 << (consumerId & 0xff);
    }

    /// @dev A reading's import and export less what deals booked of them.
    function _leftByDeals(uint256 ledger, uint256 memberId, uint256 interval)
        private
        view
        returns (uint256 importWh, uint256 exportWh)
    {
        uint256 booked = _dealtAt(memberId, interval);
        importWh = ledger.importWh() - ((booked >> 32) & MASK_32);
        exportWh = ledger.exportWh() - (booked & MASK_32);
    }

    /// @dev A member's latest reading interval and what of its import and export deals left free.
    function _dealRoom(uint256 memberId) private view returns (uint256 interval, uint256 importWh, uint256 exportWh) {
        uint256 ledger = _ledgers[memberId];
        interval = ledger.readingInterval();
        (importWh, exportWh) = _leftByDeals(ledger, memberId, interval);
    }

    /// @dev The deal bookings of a member, tagged with `interval`; a record of another interval counts as none.
    function _dealtAt(uint256 memberId, uint256 interval) private view returns (uint256) {
        uint256 word = _dealt[memberId];
        return word >> 64 == interval ? word : interval << 64;
    }

    function _deposit(uint256 memberId, uint256 amount) private {
        if (token.balanceOf(address(this)) + amount > type(uint96).max) revert CommunityAmountTooLarge(amount);
        uint256 ledger = _ledgers[memberId];
        _ledgers[memberId] = ledger.withAccount(ledger.balance() + amount, ledger.surplusWh());
        emit Deposited(memberId, msg.sender, amount);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    function _setProfile(
        uint256 memberId,
        bool producer,
        bool consumer,
        uint32 coefficientPpm,
        uint8 priority,
        bool active
    ) private {
        if (priority > Allocation.MAX_PRIORITY) revert CommunityPriorityOutOfRange(priority);
        uint256 previous = _profileOf(memberId);
        uint256 sum = _coefficientSumPpm - (previous & COEFFICIENT_MASK) + coefficientPpm;
        if (sum > Allocation.FULL_SHARE_PPM) revert CommunityCoefficientsOverflow(sum);
        _coefficientSumPpm = sum;
        uint256 limits = previous & (LIMIT_MASK << IMPORT_LIMIT_SHIFT | LIMIT_MASK << EXPORT_LIMIT_SHIFT);
        uint256 profile = uint256(coefficientPpm) | (uint256(priority) << PRIORITY_SHIFT) | (active ? limits : 0);
        if (producer) profile |= PRODUCER_BIT;
        if (consumer) profile |= CONSUMER_BIT;
        if (active) profile |= ACTIVE_BIT;
        _writeProfile(memberId, profile);
        _emitProfile(memberId);
    }

    /// @dev Limits are kept in 10 W units, rounded up, so a limit never refuses what the admin allowed.
    function _setLimits(uint256 memberId, uint256 importLimitW, uint256 exportLimitW) private {
        uint256 importUnits = _ceilDiv(importLimitW, LIMIT_UNIT_W);
        uint256 exportUnits = _ceilDiv(exportLimitW, LIMIT_UNIT_W);
        if (importUnits > LIMIT_MASK || exportUnits > LIMIT_MASK) {
            revert CommunityLimitOutOfRange(importLimitW, exportLimitW, LIMIT_MASK * LIMIT_UNIT_W);
        }
        uint256 profile = _profileOf(memberId) & ~(LIMIT_MASK << IMPORT_LIMIT_SHIFT | LIMIT_MASK << EXPORT_LIMIT_SHIFT);
        _writeProfile(memberId, profile | importUnits << IMPORT_LIMIT_SHIFT | exportUnits << EXPORT_LIMIT_SHIFT);
        emit MemberLimitsChanged(memberId, importUnits * LIMIT_UNIT_W, exportUnits * LIMIT_UNIT_W);
    }

    /// @dev The most Wh a limit in 10 W units allows in one interval, rounded up.
    function _limitWh(uint256 units) private view returns (uint256) {
        return _ceilDiv(units * LIMIT_UNIT_W * intervalLength, SECONDS_PER_HOUR);
    }

    function _emitProfile(uint256 memberId) private {
        uint256 bits = _profileOf(memberId);
        emit MemberProfileChanged(
            memberId,
            bits & PRODUCER_BIT != 0,
            bits & CONSUMER_BIT != 0,
            uint32(bits & COEFFICIENT_MASK),
            uint8((bits >> PRIORITY_SHIFT) & 0xf)
        );
    }

    function _profileOf(uint256 memberId) private view returns (uint256) {
        uint256 shift = (memberId % PROFILES_PER_WORD) * PROFILE_BITS;
        return (_profileWords[memberId / PROFILES_PER_WORD] >> shift) & PROFILE_MASK;
    }

    function _writeProfile(uint256 memberId, uint256 profile) private {
        uint256 shift = (memberId % PROFILES_PER_WORD) * PROFILE_BITS;
        uint256 word = memberId / PROFILES_PER_WORD;
        _profileWords[word] = (_profileWords[word] & ~(PROFILE_MASK << shift)) | (profile << shift);
    }

    function _knownMemberId(address account) private view returns (uint256 memberId) {
        memberId = _memberIds[account];
        if (memberId == 0) revert CommunityUnknownMember(account);
    }

    function _activeMemberId(address account) private view returns (uint256 memberId) {
        memberId = _knownMemberId(account);
        if (_profileOf(memberId) & ACTIVE_BIT == 0) revert CommunityMemberInactive(account);
    }

    function _isSettled(uint256 interval) private view returns (bool) {
        return _settledWords[interval >> 8] & (1 << (interval & 0xff)) != 0;
    }

    function _toUint96(uint256 value) private pure returns (uint96) {
        if (value > type(uint96).max) revert CommunityAmountTooLarge(value);
        return uint96(value);
    }

    function _ceilDiv(uint256 a, uint256 b) private pure returns (uint256) {
        return a == 0 ? 0 : (a - 1) / b + 1;
    }
}
