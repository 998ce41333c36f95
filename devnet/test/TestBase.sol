// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Vm} from "forge-std/Vm.sol";

/// @notice Minimal test base over forge-std's Vm cheatcodes (the npm forge-std has no ds-test).
abstract contract TestBase {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    bool public IS_TEST = true;

    error AssertionFailed(string what);

    // ---- invariant-testing hooks read by forge (subset of forge-std's StdInvariant)
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address[] private _targetedContracts;
    FuzzSelector[] private _targetedSelectors;

    function targetContract(address a) internal {
        _targetedContracts.push(a);
    }

    function targetSelector(FuzzSelector memory s) internal {
        _targetedSelectors.push(s);
    }

    function targetContracts() public view returns (address[] memory) {
        return _targetedContracts;
    }

    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetedSelectors;
    }

    function fail(string memory what) internal pure {
        revert AssertionFailed(what);
    }

    function assertTrue(bool c) internal pure {
        if (!c) fail("assertTrue");
    }

    function assertTrue(bool c, string memory what) internal pure {
        if (!c) fail(what);
    }

    function assertEq(uint256 a, uint256 b) internal pure {
        if (a != b) fail(string.concat("assertEq(uint): ", _u(a), " != ", _u(b)));
    }

    function assertEq(uint256 a, uint256 b, string memory what) internal pure {
        if (a != b) fail(string.concat(what, ": ", _u(a), " != ", _u(b)));
    }

    function assertEq(int256 a, int256 b) internal pure {
        if (a != b) fail(string.concat("assertEq(int): ", _i(a), " != ", _i(b)));
    }

    function assertEq(int256 a, int256 b, string memory what) internal pure {
        if (a != b) fail(string.concat(what, ": ", _i(a), " != ", _i(b)));
    }

    function assertEq(address a, address b) internal pure {
        if (a != b) fail("assertEq(address)");
    }

    function assertEq(bool a, bool b) internal pure {
        if (a != b) fail("assertEq(bool)");
    }

    function assertGe(uint256 a, uint256 b, string memory what) internal pure {
        if (a < b) fail(string.concat(what, ": ", _u(a), " < ", _u(b)));
    }

    function assertGe(int256 a, int256 b, string memory what) internal pure {
        if (a < b) fail(string.concat(what, ": ", _i(a), " < ", _i(b)));
    }

    function assertLe(uint256 a, uint256 b, string memory what) internal pure {
        if (a > b) fail(string.concat(what, ": ", _u(a), " > ", _u(b)));
    }

    function assertLt(int256 a, int256 b, string memory what) internal pure {
        if (a >= b) fail(string.concat(what, ": ", _i(a), " >= ", _i(b)));
    }

    /// @dev Maps x into [lo, hi] without discarding fuzz runs.
    function bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        require(lo <= hi, "bound: lo > hi");
        if (x >= lo && x <= hi) return x;
        uint256 size = hi - lo;
        if (size == type(uint256).max) return x;
        return lo + (x % (size + 1));
    }

    function _u(uint256 v) private pure returns (string memory) {
        if (v == 0) return "0";
        bytes memory b = new bytes(78);
        uint256 n;
        while (v > 0) {
            b[77 - n++] = bytes1(uint8(48 + v % 10));
            v /= 10;
        }
        bytes memory o = new bytes(n);
        for (uint256 i; i < n; i++) o[i] = b[78 - n + i];
        return string(o);
    }

    function _i(int256 v) private pure returns (string memory) {
        if (v >= 0) return _u(uint256(v));
        return string.concat("-", _u(v == type(int256).min ? uint256(type(int256).max) + 1 : uint256(-v)));
    }
}
