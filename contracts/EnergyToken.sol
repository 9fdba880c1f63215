// SPDX-License-Identifier: AGPL-3.0-or-later
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/// @title EnergyToken
/// @notice The community's energy credit: an ERC-20 with EIP-2612 permit, minted by the treasury
///         when a member buys credits off-chain.
contract EnergyToken is ERC20, ERC20Permit, AccessControl {
    /// @notice Role allowed to mint credits.
    bytes32 public constant TREASURY_ROLE = keccak256("TREASURY_ROLE");

    /// @notice Emitted when the treasury mints credits, with the off-chain payment reference.
    event CreditsIssued(address indexed to, uint256 amount, bytes32 indexed paymentRef);

    /// @param name_ Token name, e.g. "Sunny Street Energy Credit".
    /// @param symbol_ Token symbol, e.g. "SSEC".
    /// @param admin Account that administers roles; it also receives the treasury role.
    constructor(string memory name_, string memory symbol_, address admin)
        ERC20(name_, symbol_)
        ERC20Permit(name_)
    {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(TREASURY_ROLE, admin);
    }

    /// @notice Mints `amount` credits to `to`, e.g. after a member paid for them off-chain.
    /// @dev Only the treasury role. `paymentRef` ties the mint to the off-chain payment.
    function issue(address to, uint256 amount, bytes32 paymentRef) external onlyRole(TREASURY_ROLE) {
        _mint(to, amount);
        emit CreditsIssued(to, amount, paymentRef);
    }
}
