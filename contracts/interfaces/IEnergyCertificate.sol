// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.24;

/// @title IEnergyCertificate
/// @notice Certificates of locally produced energy that the community did not consume: minted from a
///         producer's settled surplus, sold to members for tokens, and retired to claim green consumption.
interface IEnergyCertificate {
    /// @notice One issuance: who produced it, how many Wh, when it was minted, and the community's
    ///         last settled interval at that moment (the surplus covers intervals up to that one).
    struct Certificate {
        address producer;
        uint64 issuedAt;
        uint32 settledInterval;
        uint64 wh;
    }

    /// @notice Who retired a certificate, when, and on whose behalf. `beneficiary` is who claims the
    ///         green consumption (the retirer unless another was named); `claimHash` is the keccak256 of
    ///         the claim note, whose text is in `CertificateRetired` (0 without a note).
    struct Retirement {
        address retiredBy;
        uint64 retiredAt;
        address beneficiary;
        bytes32 claimHash;
    }

    error EnergyCertificateZeroAddress();
    error EnergyCertificateNotProducer(address account);
    error EnergyCertificateNotMember(address account);
    error EnergyCertificateZeroAmount();
    error EnergyCertificateInsufficientSurplus(address producer, uint256 surplusWh, uint256 requestedWh);
    error EnergyCertificateUnknown(uint256 tokenId);
    error EnergyCertificateNotOwner(uint256 tokenId, address caller);
    error EnergyCertificateZeroPrice(uint256 tokenId);
    error EnergyCertificateNotListed(uint256 tokenId);
    error EnergyCertificateOwnListing(uint256 tokenId, address buyer);
    error EnergyCertificatePriceAboveLimit(uint256 tokenId, uint256 price, uint256 maxPrice);
    error EnergyCertificateNotRetired(uint256 tokenId);

    event CertificateMinted(
        uint256 indexed tokenId, address indexed producer, uint256 wh, uint256 settledInterval
    );
    event CertificateListed(uint256 indexed tokenId, address indexed seller, uint256 price);
    /// @notice A listing ended without a sale: unlisted by its owner, or cancelled by a transfer or burn.
    event CertificateUnlisted(uint256 indexed tokenId);
    event CertificateSold(uint256 indexed tokenId, address indexed seller, address indexed buyer, uint256 price);
    event CertificateRetired(
        uint256 indexed tokenId, address indexed retiredBy, address indexed beneficiary, uint256 wh, string claim
    );

    /// @notice A certificate's issuance record; retired certificates keep theirs.
    function certificate(uint256 tokenId) external view returns (Certificate memory);

    /// @notice The price a certificate is listed at, or 0 when it is not listed.
    function listingPrice(uint256 tokenId) external view returns (uint256);
}
