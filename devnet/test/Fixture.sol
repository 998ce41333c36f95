// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {TestBase} from "./TestBase.sol";
import {CrossMarginEngine} from "../src/CrossMarginEngine.sol";
import {OracleHub} from "../src/OracleHub.sol";
import {KeeperPriceFeed} from "../src/KeeperPriceFeed.sol";
import {MockERC20} from "../src/mocks/MockERC20.sol";

/// @notice Devnet deployment used by the engine tests (same parameters as docs/protocol.md "Devnet defaults").
abstract contract Fixture is TestBase {
    bytes32 internal constant ETH_ID = keccak256("ETH/USD");
    bytes32 internal constant BTC_ID = keccak256("BTC/USD");
    bytes32 internal constant SOL_ID = keccak256("SOL/USD");
    uint256 internal constant WAD = 1e18;
    uint256 internal constant ETH_MKT = 0;
    uint256 internal constant BTC_MKT = 1;
    uint256 internal constant SOL_MKT = 2;
    uint256 internal constant USDC_ID = 0;
    uint256 internal constant WETH_ID = 1;
    uint256 internal constant WBTC_ID = 2;

    MockERC20 internal usdc;
    MockERC20 internal weth;
    MockERC20 internal wbtc;
    KeeperPriceFeed internal ethFeed;
    KeeperPriceFeed internal btcFeed;
    KeeperPriceFeed internal solFeed;
    OracleHub internal hub;
    CrossMarginEngine internal engine;

    address internal alice = address(0xA11CE);
    address internal bob = address(0xB0B);
    address internal carol = address(0xCA401);
    address internal keeper = address(0x4EE9E4);

    function _deploy() internal {
        vm.warp(1_700_000_000);
        usdc = new MockERC20("USD Coin", "USDC", 6);
        weth = new MockERC20("Wrapped Ether", "WETH", 18);
        wbtc = new MockERC20("Wrapped BTC", "WBTC", 8);
        ethFeed = new KeeperPriceFeed(address(this), "ETH / USD", 1e8, 1e15);
        btcFeed = new KeeperPriceFeed(address(this), "BTC / USD", 1e8, 1e15);
        solFeed = new KeeperPriceFeed(address(this), "SOL / USD", 1e6, 1e15);
        hub = new OracleHub(address(this));
        hub.addSource(ETH_ID, 1, address(ethFeed), bytes32(0), 3600);
        hub.addSource(BTC_ID, 1, address(btcFeed), bytes32(0), 3600);
        hub.addSource(SOL_ID, 1, address(solFeed), bytes32(0), 3600);
        ethFeed.updateAnswer(2000e8, block.timestamp);
        btcFeed.updateAnswer(50_000e8, block.timestamp);
        solFeed.updateAnswer(100e8, block.timestamp);

        engine = new CrossMarginEngine(address(this), address(usdc), address(hub));
        engine.addAsset(address(weth), ETH_ID, 0.8e18, 0.9e18, 0.05e18, 10_000e18);
        engine.addAsset(address(wbtc), BTC_ID, 0.8e18, 0.9e18, 0.05e18, 1_000e18);
        engine.addMarket(ETH_ID, _params(0.1e18, 0.05e18, 10e18, 0.0005e18, 0.015e18));
        engine.addMarket(BTC_ID, _params(0.1e18, 0.05e18, 10e18, 0.0005e18, 0.015e18));
        engine.addMarket(SOL_ID, _params(0.2e18, 0.1e18, 10e18, 0.001e18, 0.03e18));

        usdc.mint(address(this), 2_000_000e6);
        usdc.approve(address(engine), type(uint256).max);
        engine.depositVault(1_000_000e6);
        engine.fundInsurance(10_000e6);
    }

    function _params(uint256 imf, uint256 mmf, uint256 minMargin, uint256 fee, uint256 penalty)
        internal
        pure
        returns (CrossMarginEngine.MarketParams memory p)
    {
        p.initialMarginFraction = imf;
        p.maintenanceMarginFraction = mmf;
        p.minPositionMargin = minMargin;
        p.takerFee = fee;
        p.liquidationPenalty = penalty;
        p.keeperShare = 0.5e18;
        p.maxLiquidationFraction = 0.5e18;
        p.liquidationBuffer = 0.1e18;
    }

    /// @dev Moves time forward 1s and pushes all three prices (8 decimals).
    function _setPrices(int256 eth8, int256 btc8, int256 sol8) internal {
        vm.warp(block.timestamp + 1);
        ethFeed.updateAnswer(eth8, block.timestamp);
        btcFeed.updateAnswer(btc8, block.timestamp);
        solFeed.updateAnswer(sol8, block.timestamp);
    }

    function _setEth(int256 eth8) internal {
        _setPrices(eth8, 50_000e8, 100e8);
    }

    function _fund(address who, uint256 usdc6, uint256 wethWad) internal {
        vm.startPrank(who);
        if (usdc6 > 0) {
            usdc.mint(who, usdc6);
            usdc.approve(address(engine), type(uint256).max);
            engine.deposit(USDC_ID, usdc6);
        }
        if (wethWad > 0) {
            weth.mint(who, wethWad);
            weth.approve(address(engine), type(uint256).max);
            engine.deposit(WETH_ID, wethWad);
        }
        vm.stopPrank();
    }

    function _trade(address who, uint256 market, int256 size) internal {
        vm.prank(who);
        engine.trade(market, size, 0);
    }

    function _eq(address who) internal view returns (int256 e) {
        (e,,) = engine.health(who);
    }

    function _mm(address who) internal view returns (uint256 mm) {
        (,, mm) = engine.health(who);
    }
}
