// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {TestBase} from "./TestBase.sol";
import {Counter} from "../src/Counter.sol";

contract CounterTest is TestBase {
    Counter internal counter;

    function setUp() public {
        counter = new Counter(5);
    }

    function test_add() public {
        assertEq(counter.add(7, "x"), 12);
        assertEq(counter.value(), 12);
    }

    function test_add_overLimit_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(Counter.TooLarge.selector, 1_000_005, 1_000_000));
        counter.add(1_000_000, "too much");
    }

    function testFuzz_add(uint256 amount) public {
        amount = bound(amount, 0, 999_995);
        assertEq(counter.add(amount, ""), 5 + amount);
    }
}
