// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title MarginMath
/// @notice All fixed-point arithmetic of the cross-margin engine. Every product/quotient goes through ONE
///         full-precision primitive (OpenZeppelin Math.mulDiv with an explicit rounding) so an off-chain mirror
///         only needs `floor(a*b/d)` and `ceil(a*b/d)` on 512-bit intermediates plus the sign rules below.
/// @dev Rounding policy: requirements and charges round UP, values and PnL round DOWN (toward -infinity),
///      funding owed rounds UP (toward +infinity).
library MarginMath {
    uint256 internal constant WAD = 1e18;

    /// @dev floor(a * b / d)
    function mulDivDown(uint256 a, uint256 b, uint256 d) internal pure returns (uint256) {
        return Math.mulDiv(a, b, d, Math.Rounding.Floor);
    }

    /// @dev ceil(a * b / d)
    function mulDivUp(uint256 a, uint256 b, uint256 d) internal pure returns (uint256) {
        return Math.mulDiv(a, b, d, Math.Rounding.Ceil);
    }

    function abs(int256 x) internal pure returns (uint256) {
        return x >= 0 ? uint256(x) : uint256(-x);
    }

    /// @dev floor(a * b / d) for signed a (rounds toward -infinity).
    function sMulDivFloor(int256 a, uint256 b, uint256 d) internal pure returns (int256) {
        if (a >= 0) return SafeCast.toInt256(Math.mulDiv(uint256(a), b, d, Math.Rounding.Floor));
        return -SafeCast.toInt256(Math.mulDiv(uint256(-a), b, d, Math.Rounding.Ceil));
    }

    /// @dev ceil(a * b / d) for signed a (rounds toward +infinity).
    function sMulDivCeil(int256 a, uint256 b, uint256 d) internal pure returns (int256) {
        if (a >= 0) return SafeCast.toInt256(Math.mulDiv(uint256(a), b, d, Math.Rounding.Ceil));
        return -SafeCast.toInt256(Math.mulDiv(uint256(-a), b, d, Math.Rounding.Floor));
    }

    /// @notice Signed value of a position: floor(size * price / WAD).
    function positionValue(int256 size, uint256 price) internal pure returns (int256) {
        return sMulDivFloor(size, price, WAD);
    }

    /// @notice Absolute notional rounded up: ceil(|size| * price / WAD).
    function notionalUp(uint256 absSize, uint256 price) internal pure returns (uint256) {
        return mulDivUp(absSize, price, WAD);
    }

    /// @notice Margin requirement of one position: ceil(ceil(|size| * price / WAD) * fraction / WAD).
    function marginRequirement(uint256 absSize, uint256 price, uint256 fraction) internal pure returns (uint256) {
        return mulDivUp(mulDivUp(absSize, price, WAD), fraction, WAD);
    }

    /// @notice Weighted collateral value: floor(floor(balance * price / WAD) * weight / WAD).
    function collateralValue(uint256 balance, uint256 price, uint256 weight) internal pure returns (uint256) {
        return mulDivDown(mulDivDown(balance, price, WAD), weight, WAD);
    }

    /// @notice Funding owed by a position since its snapshot: ceil(size * (index - snapshot) / WAD).
    ///         Positive = the account pays, negative = the account receives.
    function fundingOwed(int256 size, int256 index, int256 snapshot) internal pure returns (int256) {
        int256 delta = index - snapshot;
        if (delta >= 0) return sMulDivCeil(size, uint256(delta), WAD);
        return sMulDivCeil(-size, uint256(-delta), WAD);
    }

    /// @notice Funding index increment over dt seconds: floor(rate * (price * dt) / WAD).
    function fundingIndexDelta(int256 ratePerSecond, uint256 price, uint256 dt) internal pure returns (int256) {
        return sMulDivFloor(ratePerSecond, price * dt, WAD);
    }

    /// @notice Scales a token amount to WAD: amount * 10^(18 - decimals).
    function toWad(uint256 amount, uint8 decimals) internal pure returns (uint256) {
        return amount * 10 ** (18 - uint256(decimals));
    }
}
