// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.24;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ICommunity} from "./interfaces/ICommunity.sol";
import {IEnergyCertificate} from "./interfaces/IEnergyCertificate.sol";

/// @title EnergyCertificate
/// @notice Certificates for surplus a producer exported and the community did not take. A producer
///         mints them from its settled surplus, lists them at a token price, another member buys
///         them, and the owner retires (burns) them to claim green consumption.
/// @dev ERC-721, not ERC-1155: each certificate is one issuance with its own producer, Wh, issuance
///      time and settled interval, and it is listed, bought and retired whole. Under ERC-1155 every
///      issuance would be its own id holding a supply of one anyway, with the batch and fungibility
///      machinery unused; ERC-721 keeps one owner per certificate, which makes a listing's seller
///      simply the owner and lets wallets and explorers show each certificate as a distinct item.
///
///      Minting draws the Wh down from the producer's settled surplus in the Community (this contract
///      holds its CERTIFIER_ROLE), so a certificate never covers more than was measured, settled and
///      not taken, and the same Wh are never certified twice. A listing lives in this contract, not
///      in an approval: any transfer or burn cancels it, so a sale always pays the current owner.
contract EnergyCertificate is IEnergyCertificate, ERC721 {
    using SafeERC20 for IERC20;

    /// @notice The community whose settled surplus certificates are minted from.
    ICommunity public immutable community;
    /// @notice The token certificates are sold for.
    IERC20 public immutable token;

    /// @notice Wh certified so far.
    uint256 public totalIssuedWh;
    /// @notice Wh retired so far.
    uint256 public totalRetiredWh;

    uint256 private _lastTokenId;
    mapping(uint256 tokenId => Certificate) private _certificates;
    mapping(uint256 tokenId => Retirement) private _retirements;
    mapping(uint256 tokenId => uint256) private _prices;

    /// @param community_ The community whose settled surplus certificates are minted from.
    /// @param token_ The token certificates are sold for (the community's credit).
    /// @param name_ Collection name, e.g. "Sunny Street Energy Certificate".
    /// @param symbol_ Collection symbol, e.g. "SSGC".
    constructor(ICommunity community_, IERC20 token_, string memory name_, string memory symbol_)
        ERC721(name_, symbol_)
    {
        if (address(community_) == address(0) || address(token_) == address(0)) {
            revert EnergyCertificateZeroAddress();
        }
        community = community_;
        token = token_;
    }

    // ------------------------------------------------------------------ producer

    /// @notice Mints a certificate for `wh` of the caller's settled, uncertified surplus; only producers.
    /// @return tokenId The new certificate's id, counted from 1.
    function mint(uint256 wh) external returns (uint256 tokenId) {
        if (!community.isProducer(msg.sender)) revert EnergyCertificateNotProducer(msg.sender);
        if (wh == 0) revert EnergyCertificateZeroAmount();
        uint256 surplus = community.surplusOf(msg.sender);
        if (wh > surplus) revert EnergyCertificateInsufficientSurplus(msg.sender, surplus, wh);
        tokenId = _mintCertificate(msg.sender, wh);
    }

    // ------------------------------------------------------------------ market

    /// @notice Lists a certificate at `price` token units, or changes its price; only its owner.
    function list(uint256 tokenId, uint256 price) external {
        _checkOwner(tokenId);
        if (price == 0) revert EnergyCertificateZeroPrice(tokenId);
        _list(tokenId, price);
    }

    /// @notice Withdraws a certificate's listing; only its owner.
    function unlist(uint256 tokenId) external {
        _checkOwner(tokenId);
        if (_prices[tokenId] == 0) revert EnergyCertificateNotListed(tokenId);
        _unlist(tokenId);
    }

    /// @notice Buys a listed certificate: its price is pulled from the caller (approve first) and paid
    ///         to the owner. Only members; not one's own listing.
    /// @param maxPrice The most the caller will pay, so a price raised in the meantime cannot surprise it.
    function buy(uint256 tokenId, uint256 maxPrice) external {
        (address seller, uint256 price) = _checkPurchase(tokenId, maxPrice);
        _buy(tokenId, seller, price);
    }

    /// @notice Buys with an EIP-2612 permit for `maxPrice` instead of an approve transaction.
    /// @dev The permit is tried, not required: if someone front-ran it, the allowance is already there.
    function buyWithPermit(uint256 tokenId, uint256 maxPrice, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
    {
        (address seller, uint256 price) = _checkPurchase(tokenId, maxPrice);
        try IERC20Permit(address(token)).permit(msg.sender, address(this), maxPrice, deadline, v, r, s) {} catch {}
        _buy(tokenId, seller, price);
    }

    // ------------------------------------------------------------------ owner

    /// @notice Retires (burns) a certificate to claim its green energy; only its owner. The record of
    ///         who retired it, when and for whom stays readable through `retirement`.
    /// @param beneficiary Who claims the consumption; the zero address means the caller.
    /// @param claim An optional note, e.g. the period or site the claim covers; emitted, and hashed into storage.
    function retire(uint256 tokenId, address beneficiary, string calldata claim) external {
        _checkOwner(tokenId);
        _retire(tokenId, beneficiary == address(0) ? msg.sender : beneficiary, claim);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IEnergyCertificate
    function certificate(uint256 tokenId) external view returns (Certificate memory) {
        Certificate memory c = _certificates[tokenId];
        if (c.producer == address(0)) revert EnergyCertificateUnknown(tokenId);
        return c;
    }

    /// @notice Who retired a certificate, when and for whom.
    function retirement(uint256 tokenId) external view returns (Retirement memory) {
        Retirement memory r = _retirements[tokenId];
        if (r.retiredAt == 0) revert EnergyCertificateNotRetired(tokenId);
        return r;
    }

    /// @inheritdoc IEnergyCertificate
    function listingPrice(uint256 tokenId) external view returns (uint256) {
        return _prices[tokenId];
    }

    /// @notice The number of certificates ever minted; ids run from 1 to this.
    function certificateCount() external view returns (uint256) {
        return _lastTokenId;
    }

    // ------------------------------------------------------------------ internals

    /// @dev Records and mints the certificate, then draws the surplus down in the Community, which
    ///      checks the amount again and reverts the whole mint if it is not there.
    function _mintCertificate(address producer, uint256 wh) internal returns (uint256 tokenId) {
        uint256 settledInterval = community.lastSettledInterval();
        tokenId = ++_lastTokenId;
        _certificates[tokenId] = Certificate({
            producer: producer,
            issuedAt: uint64(block.timestamp),
            settledInterval: uint32(settledInterval),
            wh: uint64(wh)
        });
        totalIssuedWh += wh;
        _mint(producer, tokenId);
        emit CertificateMinted(tokenId, producer, wh, settledInterval);
        community.consumeSurplus(producer, wh);
    }

    function _list(uint256 tokenId, uint256 price) internal {
        _prices[tokenId] = price;
        emit CertificateListed(tokenId, msg.sender, price);
    }

    function _unlist(uint256 tokenId) internal {
        delete _prices[tokenId];
        emit CertificateUnlisted(tokenId);
    }

    /// @dev Checks a purchase and returns the seller and price.
    function _checkPurchase(uint256 tokenId, uint256 maxPrice) internal view returns (address seller, uint256 price) {
        if (!community.isMember(msg.sender)) revert EnergyCertificateNotMember(msg.sender);
        price = _prices[tokenId];
        if (price == 0) revert EnergyCertificateNotListed(tokenId);
        seller = _ownerOf(tokenId);
        if (seller == msg.sender) revert EnergyCertificateOwnListing(tokenId, msg.sender);
        if (price > maxPrice) revert EnergyCertificatePriceAboveLimit(tokenId, price, maxPrice);
    }

    /// @dev The listing ends before the transfer, so the transfer hook does not report it as unlisted.
    function _buy(uint256 tokenId, address seller, uint256 price) internal {
        delete _prices[tokenId];
        _transfer(seller, msg.sender, tokenId);
        emit CertificateSold(tokenId, seller, msg.sender, price);
        token.safeTransferFrom(msg.sender, seller, price);
    }

    function _retire(uint256 tokenId, address beneficiary, string calldata claim) internal {
        uint256 wh = _certificates[tokenId].wh;
        _retirements[tokenId] = Retirement({
            retiredBy: msg.sender,
            retiredAt: uint64(block.timestamp),
            beneficiary: beneficiary,
            claimHash: bytes(claim).length == 0 ? bytes32(0) : keccak256(bytes(claim))
        });
        totalRetiredWh += wh;
        _burn(tokenId);
        emit CertificateRetired(tokenId, msg.sender, beneficiary, wh, claim);
    }

    /// @dev Every transfer and burn cancels the certificate's listing.
    function _update(address to, uint256 tokenId, address auth) internal override returns (address) {
        if (_prices[tokenId] != 0) _unlist(tokenId);
        return super._update(to, tokenId, auth);
    }

    /// @dev Reverts unless the caller owns `tokenId` (ERC721NonexistentToken if it does not exist).
    function _checkOwner(uint256 tokenId) internal view {
        if (_requireOwned(tokenId) != msg.sender) revert EnergyCertificateNotOwner(tokenId, msg.sender);
    }
}
