// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {TestBase} from "./TestBase.sol";
import {OracleHub} from "../src/OracleHub.sol";
import {KeeperPriceFeed} from "../src/KeeperPriceFeed.sol";
import {MockPyth} from "@pythnetwork/pyth-sdk-solidity/MockPyth.sol";

contract OracleTest is TestBase {
    bytes32 internal constant ID = keccak256("ETH/USD");
    bytes32 internal constant PYTH_ETH = bytes32(uint256(0xe7));
    OracleHub internal hub;
    KeeperPriceFeed internal f1;
    KeeperPriceFeed internal f2;
    KeeperPriceFeed internal f3;
    KeeperPriceFeed internal f4;
    MockPyth internal pyth;

    function setUp() public {
        vm.warp(1_700_000_000);
        hub = new OracleHub(address(this));
        f1 = new KeeperPriceFeed(address(this), "a", 1, 1e15);
        f2 = new KeeperPriceFeed(address(this), "b", 1, 1e15);
        f3 = new KeeperPriceFeed(address(this), "c", 1, 1e15);
        f4 = new KeeperPriceFeed(address(this), "d", 1, 1e15);
        pyth = new MockPyth(60, 0);
    }

    function _pyth(int64 price, int32 expo, uint64 t) internal {
        bytes[] memory u = new bytes[](1);
        u[0] = pyth.createPriceFeedUpdateData(PYTH_ETH, price, 1, expo, price, 1, t, 0);
        pyth.updatePriceFeeds(u);
    }

    // ------------------------------------------------------------ feed

    function test_feed_rejections() public {
        vm.expectRevert(abi.encodeWithSelector(KeeperPriceFeed.InvalidAnswer.selector, int256(0)));
        f1.updateAnswer(0, block.timestamp);
        vm.expectRevert(abi.encodeWithSelector(KeeperPriceFeed.InvalidAnswer.selector, int256(-5)));
        f1.updateAnswer(-5, block.timestamp);
        vm.expectRevert(
            abi.encodeWithSelector(KeeperPriceFeed.AnswerOutOfBounds.selector, int256(1e15 + 1), int256(1), int256(1e15))
        );
        f1.updateAnswer(1e15 + 1, block.timestamp);
        vm.expectRevert(
            abi.encodeWithSelector(KeeperPriceFeed.FutureTimestamp.selector, block.timestamp + 1, block.timestamp)
        );
        f1.updateAnswer(2000e8, block.timestamp + 1);
        f1.updateAnswer(2000e8, block.timestamp);
        vm.expectRevert(
            abi.encodeWithSelector(KeeperPriceFeed.OutOfOrderRound.selector, block.timestamp, block.timestamp)
        );
        f1.updateAnswer(2001e8, block.timestamp);
        vm.prank(address(0xBAD));
        vm.expectRevert();
        f1.updateAnswer(2001e8, block.timestamp);
    }

    function test_feed_rounds() public {
        vm.expectRevert(abi.encodeWithSelector(KeeperPriceFeed.NoSuchRound.selector, uint80(0)));
        f1.latestRoundData();
        f1.updateAnswer(2000e8, block.timestamp - 10);
        f1.updateAnswer(2100e8, block.timestamp);
        (uint80 r, int256 a,, uint256 t, uint80 ar) = f1.latestRoundData();
        assertEq(uint256(r), 2);
        assertEq(a, int256(2100e8));
        assertEq(t, block.timestamp);
        assertEq(uint256(ar), 2);
        (, a,, t,) = f1.getRoundData(1);
        assertEq(a, int256(2000e8));
        assertEq(t, block.timestamp - 10);
        vm.expectRevert(abi.encodeWithSelector(KeeperPriceFeed.NoSuchRound.selector, uint80(3)));
        f1.getRoundData(3);
        assertEq(uint256(f1.decimals()), 8);
    }

    // ------------------------------------------------------------ hub aggregation

    function _add(KeeperPriceFeed f, int256 answer) internal {
        hub.addSource(ID, 1, address(f), bytes32(0), 60);
        f.updateAnswer(answer, block.timestamp);
    }

    function test_single_source() public {
        _add(f1, 2000.12345678e8);
        assertEq(hub.getPrice(ID), 2000.12345678e18);
    }

    function test_none_valid_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(OracleHub.OracleUnavailable.selector, ID));
        hub.getPrice(ID);
        hub.addSource(ID, 1, address(f1), bytes32(0), 60); // no rounds yet
        vm.expectRevert(abi.encodeWithSelector(OracleHub.OracleUnavailable.selector, ID));
        hub.getPrice(ID);
    }

    function test_two_sources_mean_and_divergence() public {
        hub.setMaxDeviation(ID, 0.01e18);
        _add(f1, 2000e8);
        _add(f2, 2019e8);
        assertEq(hub.getPrice(ID), 2009.5e18);
        // exactly 1% apart is still accepted: (2020 - 2000) * WAD == 0.01 * 2000
        vm.warp(block.timestamp + 1);
        f2.updateAnswer(2020e8, block.timestamp);
        assertEq(hub.getPrice(ID), 2010e18);
    }

    function test_two_sources_divergence() public {
        hub.setMaxDeviation(ID, 0.01e18);
        _add(f1, 2000e8);
        _add(f2, 2020.00000001e8); // just above 1%
        vm.expectRevert(
            abi.encodeWithSelector(OracleHub.OracleDivergence.selector, ID, uint256(2000e18), uint256(2020.00000001e18))
        );
        hub.getPrice(ID);
    }

    function test_median_odd_and_even() public {
        _add(f1, 2000e8);
        _add(f2, 3000e8);
        _add(f3, 1000e8);
        assertEq(hub.getPrice(ID), 2000e18);
        _add(f4, 2001e8);
        // sorted 1000, 2000, 2001, 3000 -> floor((2000 + 2001) / 2)
        assertEq(hub.getPrice(ID), 2000.5e18);
    }

    function test_staleness_excludes_source() public {
        hub.setMaxDeviation(ID, 0.01e18);
        _add(f1, 2000e8);
        hub.addSource(ID, 1, address(f2), bytes32(0), 600);
        f2.updateAnswer(2500e8, block.timestamp);
        vm.warp(block.timestamp + 61); // f1 (60s) stale, f2 (600s) fresh
        assertEq(hub.getPrice(ID), 2500e18);
        vm.warp(block.timestamp + 600);
        vm.expectRevert(abi.encodeWithSelector(OracleHub.OracleUnavailable.selector, ID));
        hub.getPrice(ID);
    }

    function test_pyth_source() public {
        hub.addSource(ID, 2, address(pyth), PYTH_ETH, 60);
        _pyth(200012345678, -8, uint64(block.timestamp));
        assertEq(hub.getPrice(ID), 2000.12345678e18);
        _add(f1, 2000e8);
        _add(f2, 1990e8);
        assertEq(hub.getPrice(ID), 2000e18); // median of 1990, 2000, 2000.12
        vm.warp(block.timestamp + 61);
        vm.expectRevert(abi.encodeWithSelector(OracleHub.OracleUnavailable.selector, ID));
        hub.getPrice(ID);
        _pyth(-1, -8, uint64(block.timestamp));
        vm.expectRevert(abi.encodeWithSelector(OracleHub.OracleUnavailable.selector, ID));
        hub.getPrice(ID);
    }

    function test_push_prices_batch() public {
        f1.grantRole(f1.UPDATER_ROLE(), address(hub));
        f2.grantRole(f2.UPDATER_ROLE(), address(hub));
        hub.addSource(ID, 1, address(f1), bytes32(0), 60);
        bytes32 id2 = keccak256("BTC/USD");
        hub.addSource(id2, 1, address(f2), bytes32(0), 60);
        address[] memory feeds = new address[](2);
        feeds[0] = address(f1);
        feeds[1] = address(f2);
        int256[] memory ans = new int256[](2);
        ans[0] = 2000e8;
        ans[1] = 50_000e8;
        uint256[] memory ts = new uint256[](2);
        ts[0] = block.timestamp;
        ts[1] = block.timestamp;
        hub.pushPrices(feeds, ans, ts);
        bytes32[] memory ids = new bytes32[](2);
        ids[0] = ID;
        ids[1] = id2;
        uint256[] memory p = hub.getPrices(ids);
        assertEq(p[0], 2000e18);
        assertEq(p[1], 50_000e18);
        // out of order inside the batch reverts the whole batch
        vm.expectRevert(abi.encodeWithSelector(KeeperPriceFeed.OutOfOrderRound.selector, block.timestamp, block.timestamp));
        hub.pushPrices(feeds, ans, ts);
        vm.prank(address(0xBAD));
        vm.expectRevert();
        hub.pushPrices(feeds, ans, ts);
    }

    function test_remove_source_and_limits() public {
        _add(f1, 2000e8);
        _add(f2, 3000e8);
        hub.removeSource(ID, 0);
        assertEq(hub.sourceCount(ID), 1);
        assertEq(hub.getPrice(ID), 3000e18);
        vm.expectRevert(abi.encodeWithSelector(OracleHub.InvalidSource.selector));
        hub.addSource(ID, 3, address(f1), bytes32(0), 60);
    }
}
