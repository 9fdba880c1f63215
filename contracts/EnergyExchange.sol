// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Community} from "./Community.sol";
import {ICommunity} from "./interfaces/ICommunity.sol";
import {IEnergyExchange} from "./interfaces/IEnergyExchange.sol";

/// @title EnergyExchange
/// @notice Bilateral energy deals between neighbours, as in the DAISEE prototype: a household whose
///         battery runs low buys energy from a producer, tokens settle the deal and the nodes' relays
///         switch the power source while the deal is active. A producer posts an offer (Wh, price per
///         kWh, delivery window); a member accepts it and the price goes into escrow; both nodes'
///         interval readings meter the delivery, and the escrow is released to the producer in
///         proportion to the Wh delivered. What is not delivered goes back to the consumer once the
///         window is over; either side can call the deal off before the window starts.
/// @dev Metering. The Community keeps one reading per member, its latest. `recordDelivery` (open to
///      anyone) meters interval t when the producer's and the consumer's latest readings are both for
///      t, t lies in the window, t is later than the last interval metered for the deal, and t is not
///      settled yet: it books min(producer's export, consumer's import, Wh still due), less what other
///      deals already booked of the same readings. Both readings of t are there from the later of the
///      two submissions until t is settled (a member's reading for t+1 is refused until t is settled,
///      and a reading for t once it is); each node calls `recordDelivery` right after submitting its
///      own reading (checking `pendingDelivery` first), and the second call succeeds. An interval that
///      nobody metered before it was settled counts as not delivered: the community's key shared it.
///
///      One Wh, one payment. Every metered delivery is booked in the Community (`bookDelivery`), and
///      the Community's settlement of the interval shares with its allocation key only the import and
///      export that deals left. So energy a deal delivered is paid once, through the deal's escrow;
///      and one interval's energy is sold once across deals too: a producer or consumer with several
///      overlapping deals is metered from what earlier deals of the interval left, first come first
///      served.
///
///      Closing. `close` waits until the window's last interval is settled in the Community, when no
///      delivery in the window can be metered any more, and refunds what was not delivered.
///
///      Arithmetic. cost = ⌊wh · pricePerKWh / 1000⌋ (rounded down, like the Community's settlement).
///      Payment to the producer is cumulative, released(d) = ⌊cost · d / wh⌋ for d Wh delivered, and
///      each transfer is the difference from what was already released, so rounding never drifts:
///      a completed deal pays exactly `cost`, and an expired one refunds cost − released(delivered),
///      which adds up to `cost` exactly.
///
///      Payment design. The consumer's tokens come from its wallet (`accept` after an approve, or
///      `acceptWithPermit`), not from its Community balance, which only settlement can move. Every
///      function writes its state and emits its events before any transfer, and the token is the
///      community's own ERC-20, fixed at deployment and without transfer hooks, so no reentrancy guard
///      is needed (as in the Community, the ConsentRegistry and the EnergyCertificate).
contract EnergyExchange is IEnergyExchange {
    using SafeERC20 for IERC20;

    /// @notice The longest delivery window, in intervals (a day of 15-minute intervals).
    uint256 public constant MAX_WINDOW_INTERVALS = 96;

    uint256 private constant WH_PER_KWH = 1000;

    /// @notice The community whose members trade and whose readings meter delivery.
    Community public immutable community;
    /// @notice The token deals are priced and escrowed in.
    IERC20 public immutable token;

    uint256 private immutable _intervalLength;

    /// @dev An offer in three slots: who sells and when; who buys and how far metering got; how much.
    ///      Member ids are cached because metering reads the Community's ledgers by id.
    struct StoredOffer {
        address producer;
        uint32 producerId;
        uint32 firstInterval;
        uint32 lastInterval;
        address consumer;
        uint32 consumerId;
        uint32 lastMeteredInterval;
        Status status;
        uint64 wh;
        uint64 deliveredWh;
        uint128 pricePerKWh;
    }

    uint256 private _offerCount;
    mapping(uint256 offerId => StoredOffer) private _offers;

    /// @param community_ The community whose members trade and whose readings meter delivery.
    /// @param token_ The token deals are priced and escrowed in (the community's credit).
    constructor(Community community_, IERC20 token_) {
        if (address(community_) == address(0) || address(token_) == address(0)) revert ExchangeZeroAddress();
        community = community_;
        token = token_;
        _intervalLength = community_.intervalLength();
    }

    // ------------------------------------------------------------------ producer

    /// @notice Offers `wh` Wh at `pricePerKWh` token units per kWh, delivered from the start of
    ///         interval `firstInterval` to the end of `lastInterval`; only producers.
    /// @dev The window is in the Community's interval numbers (timestamp / intervalLength), starts
    ///      after the current interval and spans at most `MAX_WINDOW_INTERVALS`. A price of 0 gives the
    ///      energy away.
    /// @return offerId The new offer's id, counted from 1.
    function postOffer(uint256 wh, uint256 pricePerKWh, uint256 firstInterval, uint256 lastInterval)
        external
        returns (uint256 offerId)
    {
        if (!community.isProducer(msg.sender)) revert ExchangeNotProducer(msg.sender);
        if (wh == 0) revert ExchangeZeroAmount();
        if (wh > type(uint64).max || pricePerKWh > type(uint128).max) revert ExchangeAmountTooLarge(wh, pricePerKWh);
        uint256 current = _currentInterval();
        if (
            firstInterval <= current || lastInterval < firstInterval
                || lastInterval - firstInterval >= MAX_WINDOW_INTERVALS || lastInterval > type(uint32).max
        ) revert ExchangeInvalidWindow(firstInterval, lastInterval, current);
        offerId = _post(wh, pricePerKWh, firstInterval, lastInterval);
    }

    /// @notice Calls a deal off. The producer can withdraw an offer nobody accepted at any time; once
    ///         accepted, the producer or the consumer can cancel until the window starts, and the
    ///         consumer gets the whole escrow back.
    function cancel(uint256 offerId) external {
        StoredOffer storage o = _knownOffer(offerId);
        Status status = o.status;
        if (status == Status.OPEN) {
            if (msg.sender != o.producer) revert ExchangeNotParty(offerId, msg.sender);
        } else if (status == Status.ACCEPTED) {
            if (msg.sender != o.producer && msg.sender != o.consumer) revert ExchangeNotParty(offerId, msg.sender);
            uint256 current = _currentInterval();
            if (current >= o.firstInterval) revert ExchangeWindowStarted(offerId, o.firstInterval, current);
        } else {
            revert ExchangeFinished(offerId, status);
        }
        _cancel(offerId, o, status);
    }

    // ------------------------------------------------------------------ consumer

    /// @notice Accepts an open offer: its cost is pulled from the caller (approve first) into escrow.
    ///         Only active members, not the producer itself, and only before the window starts.
    function accept(uint256 offerId) external {
        uint256 cost = _checkAcceptance(offerId);
        _accept(offerId, cost);
    }

    /// @notice Accepts with an EIP-2612 permit for the offer's cost instead of an approve transaction.
    /// @dev The permit is tried, not required: if someone front-ran it, the allowance is already there.
    function acceptWithPermit(uint256 offerId, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external {
        uint256 cost = _checkAcceptance(offerId);
        try IERC20Permit(address(token)).permit(msg.sender, address(this), cost, deadline, v, r, s) {} catch {}
        _accept(offerId, cost);
    }

    // ------------------------------------------------------------------ anyone

    /// @notice Meters the interval that both parties' latest readings are for, and pays the producer
    ///         for what was delivered in it. Anyone may call it; the nodes do after their readings.
    /// @dev Books min(producer's export, consumer's import, Wh still due), less what other deals have
    ///      already booked from the same readings. Completes the deal when every Wh is delivered.
    function recordDelivery(uint256 offerId) external {
        StoredOffer storage o = _knownOffer(offerId);
        if (o.status != Status.ACCEPTED) revert ExchangeNotAccepted(offerId, o.status);
        (uint256 interval, uint256 wh) = _checkDelivery(offerId, o);
        uint256 tokens = _recordDelivery(offerId, o, interval, wh);
        if (tokens != 0) token.safeTransfer(o.producer, tokens);
    }

    /// @notice Ends a deal whose window is over and refunds what was not delivered to the consumer.
    ///         Anyone may call it once the window's last interval is settled in the Community. An offer
    ///         nobody accepted simply expires.
    function close(uint256 offerId) external {
        StoredOffer storage o = _knownOffer(offerId);
        Status status = o.status;
        if (status != Status.OPEN && status != Status.ACCEPTED) revert ExchangeFinished(offerId, status);
        if (!community.isSettled(o.lastInterval)) revert ExchangeWindowNotSettled(offerId, o.lastInterval);
        _close(offerId, o);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IEnergyExchange
    function offer(uint256 offerId) external view returns (Offer memory) {
        StoredOffer storage o = _knownOffer(offerId);
        uint256 cost = _cost(o.wh, o.pricePerKWh);
        uint256 released = _released(cost, o.deliveredWh, o.wh);
        return Offer({
            producer: o.producer,
            consumer: o.consumer,
            wh: o.wh,
            deliveredWh: o.deliveredWh,
            pricePerKWh: o.pricePerKWh,
            firstInterval: o.firstInterval,
            lastInterval: o.lastInterval,
            lastMeteredInterval: o.lastMeteredInterval,
            status: o.status,
            cost: cost,
            released: released,
            escrowed: o.status == Status.ACCEPTED ? cost - released : 0
        });
    }

    /// @inheritdoc IEnergyExchange
    function isActive(uint256 offerId) external view returns (bool) {
        StoredOffer storage o = _knownOffer(offerId);
        uint256 current = _currentInterval();
        return o.status == Status.ACCEPTED && current >= o.firstInterval && current <= o.lastInterval;
    }

    /// @inheritdoc IEnergyExchange
    /// @dev `ready` is false (with interval and wh 0) while the deal is not accepted, the two latest
    ///      readings are for different intervals, their interval is outside the window, or it was
    ///      metered already. `wh` may be 0 when ready: the interval is then metered as delivering nothing.
    function pendingDelivery(uint256 offerId) external view returns (uint256 interval, uint256 wh, bool ready) {
        StoredOffer storage o = _knownOffer(offerId);
        if (o.status != Status.ACCEPTED) return (0, 0, false);
        return _pendingDelivery(o);
    }

    /// @notice The number of offers ever posted; ids run from 1 to this.
    function offerCount() external view returns (uint256) {
        return _offerCount;
    }

    // ------------------------------------------------------------------ internals

    function _post(uint256 wh, uint256 pricePerKWh, uint256 firstInterval, uint256 lastInterval)
        internal
        returns (uint256 offerId)
    {
        offerId = ++_offerCount;
        StoredOffer storage o = _offers[offerId];
        o.producer = msg.sender;
        o.producerId = uint32(community.memberIdOf(msg.sender));
        o.firstInterval = uint32(firstInterval);
        o.lastInterval = uint32(lastInterval);
        o.wh = uint64(wh);
        o.pricePerKWh = uint128(pricePerKWh);
        emit OfferPosted(offerId, msg.sender, wh, pricePerKWh, firstInterval, lastInterval);
    }

    /// @dev Checks an acceptance and returns the offer's cost.
    function _checkAcceptance(uint256 offerId) internal view returns (uint256 cost) {
        StoredOffer storage o = _knownOffer(offerId);
        if (o.status != Status.OPEN) revert ExchangeOfferNotOpen(offerId, o.status);
        if (!community.isMember(msg.sender)) revert ExchangeNotMember(msg.sender);
        address producer = o.producer;
        if (msg.sender == producer) revert ExchangeOwnOffer(offerId, msg.sender);
        uint256 current = _currentInterval();
        if (current >= o.firstInterval) revert ExchangeWindowStarted(offerId, o.firstInterval, current);
        if (!community.isProducer(producer)) revert ExchangeNotProducer(producer);
        cost = _cost(o.wh, o.pricePerKWh);
    }

    function _accept(uint256 offerId, uint256 cost) internal {
        StoredOffer storage o = _offers[offerId];
        o.consumer = msg.sender;
        o.consumerId = uint32(community.memberIdOf(msg.sender));
        o.status = Status.ACCEPTED;
        emit OfferAccepted(offerId, o.producer, msg.sender, cost);
        if (cost != 0) token.safeTransferFrom(msg.sender, address(this), cost);
    }

    function _cancel(uint256 offerId, StoredOffer storage o, Status status) internal {
        o.status = Status.CANCELLED;
        if (status == Status.OPEN) {
            emit OfferCancelled(offerId, o.producer);
            return;
        }
        uint256 refund = _cost(o.wh, o.pricePerKWh);
        address consumer = o.consumer;
        emit ExchangeCancelled(offerId, o.producer, consumer, msg.sender, refund);
        if (refund != 0) token.safeTransfer(consumer, refund);
    }

    /// @dev Expires the deal and refunds what was not delivered; state and event before the transfer.
    function _close(uint256 offerId, StoredOffer storage o) internal {
        uint256 refund;
        if (o.status == Status.ACCEPTED) {
            uint256 cost = _cost(o.wh, o.pricePerKWh);
            refund = cost - _released(cost, o.deliveredWh, o.wh);
        }
        o.status = Status.EXPIRED;
        emit ExchangeExpired(offerId, o.producer, o.consumer, o.deliveredWh, refund);
        if (refund != 0) token.safeTransfer(o.consumer, refund);
    }

    /// @dev The interval and Wh `recordDelivery` meters; reverts with why when there is none.
    function _checkDelivery(uint256 offerId, StoredOffer storage o)
        internal
        view
        returns (uint256 interval, uint256 wh)
    {
        uint256 producerInterval;
        uint256 consumerInterval;
        (producerInterval, consumerInterval, wh) = _readings(o);
        if (producerInterval != consumerInterval) {
            revert ExchangeReadingsNotAligned(offerId, producerInterval, consumerInterval);
        }
        interval = producerInterval;
        if (interval < o.firstInterval || interval > o.lastInterval) {
            revert ExchangeIntervalOutsideWindow(offerId, interval, o.firstInterval, o.lastInterval);
        }
        if (interval <= o.lastMeteredInterval) {
            revert ExchangeIntervalAlreadyMetered(offerId, interval, o.lastMeteredInterval);
        }
        if (community.isSettled(interval)) revert ExchangeIntervalSettled(offerId, interval);
    }

    /// @dev Like `_checkDelivery`, without reverting.
    function _pendingDelivery(StoredOffer storage o) internal view returns (uint256 interval, uint256 wh, bool ready) {
        (uint256 producerInterval, uint256 consumerInterval, uint256 available) = _readings(o);
        ready = producerInterval == consumerInterval && producerInterval >= o.firstInterval
            && producerInterval <= o.lastInterval && producerInterval > o.lastMeteredInterval
            && !community.isSettled(producerInterval);
        if (ready) (interval, wh) = (producerInterval, available);
    }

    /// @dev Both parties' latest reading intervals, and the Wh the deal could book from them: the
    ///      producer's export and the consumer's import not yet booked by any deal, capped at what is
    ///      still due. Only meaningful when the two intervals are equal.
    function _readings(StoredOffer storage o)
        internal
        view
        returns (uint256 producerInterval, uint256 consumerInterval, uint256 wh)
    {
        uint256 exported;
        uint256 imported;
        (producerInterval,, exported) = community.dealRoom(o.producerId);
        (consumerInterval, imported,) = community.dealRoom(o.consumerId);
        wh = o.wh - o.deliveredWh;
        if (exported < wh) wh = exported;
        if (imported < wh) wh = imported;
    }

    /// @dev Books `wh` for interval `interval`; returns the tokens to pay the producer (not yet sent).
    function _recordDelivery(uint256 offerId, StoredOffer storage o, uint256 interval, uint256 wh)
        internal
        returns (uint256 tokens)
    {
        uint256 total = o.wh;
        uint256 before = o.deliveredWh;
        uint256 delivered = before + wh;
        uint256 cost = _cost(total, o.pricePerKWh);
        tokens = _released(cost, delivered, total) - _released(cost, before, total);
        o.deliveredWh = uint64(delivered);
        o.lastMeteredInterval = uint32(interval);
        // The Community is this deployment's own contract (no callback into us): booking it here keeps
        // the settlement of `interval` from charging these Wh a second time.
        if (wh != 0) community.bookDelivery(interval, o.producerId, o.consumerId, wh);
        address producer = o.producer;
        address consumer = o.consumer;
        emit DeliveryRecorded(offerId, producer, consumer, interval, wh, tokens);
        if (delivered == total) {
            o.status = Status.COMPLETED;
            emit ExchangeCompleted(offerId, producer, consumer, total, cost);
        }
    }

    function _knownOffer(uint256 offerId) internal view returns (StoredOffer storage o) {
        o = _offers[offerId];
        if (o.producer == address(0)) revert ExchangeUnknownOffer(offerId);
    }

    function _currentInterval() internal view returns (uint256) {
        return block.timestamp / _intervalLength;
    }

    function _cost(uint256 wh, uint256 pricePerKWh) internal pure returns (uint256) {
        return (wh * pricePerKWh) / WH_PER_KWH;
    }

    /// @dev Cumulative payment for `delivered` of `wh` Wh, rounded down.
    function _released(uint256 cost, uint256 delivered, uint256 wh) internal pure returns (uint256) {
        return (cost * delivered) / wh;
    }
}
