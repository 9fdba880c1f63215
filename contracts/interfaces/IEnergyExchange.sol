// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.24;

/// @title IEnergyExchange
/// @notice Bilateral energy deals between members: a producer offers Wh for a delivery window, a
///         consumer accepts and escrows the price, both nodes' interval readings meter the delivery,
///         and the escrow is released to the producer in proportion to the Wh delivered.
interface IEnergyExchange {
    /// @notice Where an offer is in its life.
    /// @dev OPEN: posted, not accepted. ACCEPTED: tokens in escrow, delivery metered interval by interval.
    ///      COMPLETED: every Wh delivered and paid. EXPIRED: closed after its window; what was not
    ///      delivered went back to the consumer. CANCELLED: withdrawn before its window started, with
    ///      a full refund if it had been accepted.
    enum Status {
        OPEN,
        ACCEPTED,
        COMPLETED,
        EXPIRED,
        CANCELLED
    }

    /// @notice An offer, its deal and its delivery so far.
    /// @dev `consumer` is the zero address until the offer is accepted. The window runs from the start
    ///      of interval `firstInterval` to the end of `lastInterval`, in the Community's interval
    ///      numbers. `cost` = ⌊wh · pricePerKWh / 1000⌋ is what the consumer escrows; `released` is
    ///      what the producer has been paid so far, ⌊cost · deliveredWh / wh⌋; `escrowed` is what the
    ///      contract still holds for the deal. Once EXPIRED or CANCELLED, the consumer got `cost − released`
    ///      back. `lastMeteredInterval` is 0 until the first interval is metered.
    struct Offer {
        address producer;
        address consumer;
        uint64 wh;
        uint64 deliveredWh;
        uint128 pricePerKWh;
        uint32 firstInterval;
        uint32 lastInterval;
        uint32 lastMeteredInterval;
        Status status;
        uint256 cost;
        uint256 released;
        uint256 escrowed;
    }

    error ExchangeZeroAddress();
    error ExchangeNotProducer(address account);
    error ExchangeNotMember(address account);
    error ExchangeZeroAmount();
    error ExchangeAmountTooLarge(uint256 wh, uint256 pricePerKWh);
    error ExchangeInvalidWindow(uint256 firstInterval, uint256 lastInterval, uint256 currentInterval);
    error ExchangeUnknownOffer(uint256 offerId);
    error ExchangeOfferNotOpen(uint256 offerId, Status status);
    error ExchangeOwnOffer(uint256 offerId, address account);
    error ExchangeWindowStarted(uint256 offerId, uint256 firstInterval, uint256 currentInterval);
    error ExchangeNotParty(uint256 offerId, address account);
    error ExchangeNotAccepted(uint256 offerId, Status status);
    error ExchangeReadingsNotAligned(uint256 offerId, uint256 producerInterval, uint256 consumerInterval);
    error ExchangeIntervalOutsideWindow(uint256 offerId, uint256 interval, uint256 firstInterval, uint256 lastInterval);
    error ExchangeIntervalAlreadyMetered(uint256 offerId, uint256 interval, uint256 lastMeteredInterval);
    error ExchangeWindowNotSettled(uint256 offerId, uint256 lastInterval);
    error ExchangeIntervalSettled(uint256 offerId, uint256 interval);
    error ExchangeFinished(uint256 offerId, Status status);

    event OfferPosted(
        uint256 indexed offerId,
        address indexed producer,
        uint256 wh,
        uint256 pricePerKWh,
        uint256 firstInterval,
        uint256 lastInterval
    );
    /// @notice The consumer escrowed `cost` token units.
    event OfferAccepted(uint256 indexed offerId, address indexed producer, address indexed consumer, uint256 cost);
    /// @notice `wh` delivered in `interval`, and `tokens` released to the producer for them.
    event DeliveryRecorded(
        uint256 indexed offerId,
        address indexed producer,
        address indexed consumer,
        uint256 interval,
        uint256 wh,
        uint256 tokens
    );
    /// @notice Every Wh was delivered; the producer received the whole `cost`.
    event ExchangeCompleted(
        uint256 indexed offerId, address indexed producer, address indexed consumer, uint256 wh, uint256 cost
    );
    /// @notice Closed after its window with `deliveredWh` delivered; `refunded` went back to the consumer.
    ///         For an offer nobody accepted, `consumer` is the zero address and both figures are 0.
    event ExchangeExpired(
        uint256 indexed offerId, address indexed producer, address indexed consumer, uint256 deliveredWh, uint256 refunded
    );
    /// @notice The producer withdrew an offer nobody had accepted.
    event OfferCancelled(uint256 indexed offerId, address indexed producer);
    /// @notice An accepted deal was called off before its window by `cancelledBy`; the consumer got
    ///         `refunded` (the whole cost) back.
    event ExchangeCancelled(
        uint256 indexed offerId, address indexed producer, address indexed consumer, address cancelledBy, uint256 refunded
    );

    /// @notice An offer, its deal and its delivery so far.
    function offer(uint256 offerId) external view returns (Offer memory);

    /// @notice Whether energy should flow for this deal now: accepted, not complete, and the current
    ///         interval inside its window. Nodes' relays follow it.
    function isActive(uint256 offerId) external view returns (bool);

    /// @notice What `recordDelivery` would record now: the interval, its Wh, and whether it can run.
    function pendingDelivery(uint256 offerId) external view returns (uint256 interval, uint256 wh, bool ready);
}
