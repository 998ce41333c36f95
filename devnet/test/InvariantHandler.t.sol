// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Fixture} from "./Fixture.sol";
import {Handler} from "./Invariant.t.sol";
import {CrossMarginEngine} from "../src/CrossMarginEngine.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

/// @notice Deterministic checks of the invariant handler's keeper step (price move + cleanup). The random
///         campaign reaches these paths only for some seeds; these pin them down.
contract InvariantHandlerTest is Fixture {
    Handler internal handler;
    address internal actor0;

    function setUp() public {
        _deploy();
        handler = new Handler(engine, usdc, weth, ethFeed, btcFeed, solFeed);
        ethFeed.grantRole(ethFeed.UPDATER_ROLE(), address(handler));
        btcFeed.grantRole(btcFeed.UPDATER_ROLE(), address(handler));
        solFeed.grantRole(solFeed.UPDATER_ROLE(), address(handler));
        engine.grantRole(engine.RISK_ROLE(), address(handler));
        actor0 = handler.actors(0);
    }

    /// @dev Handler inputs are mapped with lo + x % (hi - lo + 1); these invert that for in-range values.
    function _movePrices(uint256 eth8, uint256 dtSeconds) internal {
        handler.movePrices(eth8 - 1000e8, 50_000e8 - 30_000e8, 100e8 - 50e8, dtSeconds - 1);
    }

    /// @dev actor0: 1 WETH collateral, long 5 ETH at 2000 (taker fee 5 USD).
    function _openLeveragedLong() internal {
        handler.deposit(0, 1e18 - 1, true);
        handler.trade(0, ETH_MKT, 5e18 - 1, true);
        assertEq(handler.trades(), 1, "trade opened");
        assertEq(engine.getPosition(actor0, ETH_MKT).size, 5e18);
    }

    /// The premise of the handler's clock restore: a vm.warp made inside a call that reverts stays in effect
    /// although the call's state changes are rolled back (the block environment is not journaled).
    function test_warp_in_a_reverted_call_survives_the_revert() public {
        uint256 t0 = block.timestamp;
        try this.warpThenRevert(t0 + 5000) {
            fail("expected revert");
        } catch {}
        assertEq(block.timestamp, t0 + 5000, "warp kept after revert");
    }

    function warpThenRevert(uint256 t) external {
        vm.warp(t);
        revert("rolled back");
    }

    /// At ETH 1725 the long is deep underwater (0 < equity < MM/2) and is closed in full; the 1.5% penalty
    /// leaves equity > 0, so the flat account keeps its WETH. The old cleanup then called
    /// liquidateCollateral on it, which reverts NotLiquidatable and rolled back the whole price move.
    function test_cleanup_leaves_a_solvent_flat_account_alone() public {
        _openLeveragedLong();
        uint256 t0 = block.timestamp;
        _movePrices(1725e8, 60);

        assertEq(handler.keeperError().length, 0, "keeper step reverted");
        assertEq(handler.priceMoves(), 1);
        assertEq(block.timestamp, t0 + 60);
        assertEq(handler.liquidations(), 1);
        assertEq(handler.collateralSales(), 0);
        assertEq(engine.getPosition(actor0, ETH_MKT).size, 0);
        assertEq(engine.collateralOf(actor0, WETH_ID), 1e18, "collateral kept");
        (int256 eq,, uint256 mm) = engine.health(actor0);
        assertEq(mm, 0);
        assertTrue(eq > 0, "solvent after the penalty");
        assertTrue(!engine.isLiquidatable(actor0));

        // What the old cleanup did next:
        try engine.liquidateCollateral(actor0, WETH_ID, 0) {
            fail("collateral sale of a solvent account");
        } catch (bytes memory err) {
            assertEq(uint256(uint32(bytes4(err))), uint256(uint32(CrossMarginEngine.NotLiquidatable.selector)));
        }
    }

    /// At ETH 1500 the closed long leaves equity < 0: the keeper sells all WETH (not enough), and the rest is
    /// settled as bad debt (insurance first).
    function test_cleanup_sells_collateral_of_an_underwater_flat_account() public {
        _openLeveragedLong();
        uint256 insurance0 = engine.insuranceFund();
        _movePrices(1500e8, 60);

        assertEq(handler.keeperError().length, 0, "keeper step reverted");
        assertEq(handler.liquidations(), 1);
        assertEq(handler.collateralSales(), 1);
        assertEq(engine.getPosition(actor0, ETH_MKT).size, 0);
        assertEq(engine.collateralOf(actor0, WETH_ID), 0, "collateral sold");
        assertEq(engine.cashOf(actor0), 0, "bad debt settled");
        (uint64 pm, uint64 cm) = engine.accountMasks(actor0);
        assertEq(uint256(pm) + uint256(cm), 0);
        assertTrue(engine.insuranceFund() < insurance0, "insurance covered the debt");
        assertTrue(!engine.isLiquidatable(actor0));
    }

    /// A keeper step that reverts is recorded and the clock is put back, so the feeds stay fresh.
    function test_reverted_keeper_step_restores_the_clock_and_is_recorded() public {
        solFeed.revokeRole(solFeed.UPDATER_ROLE(), address(handler));
        uint256 t0 = block.timestamp;
        uint80 ethRound = ethFeed.latestRound();

        _movePrices(2100e8, 3000);

        assertEq(block.timestamp, t0, "clock restored");
        assertEq(handler.priceMoves(), 0);
        assertEq(uint256(ethFeed.latestRound()), uint256(ethRound), "feed update rolled back");
        bytes memory err = handler.keeperError();
        assertEq(uint256(uint32(bytes4(err))), uint256(uint32(IAccessControl.AccessControlUnauthorizedAccount.selector)));

        // Repeated reverted moves cannot accumulate past the 3600 s staleness limit.
        _movePrices(2100e8, 3000);
        _movePrices(2100e8, 3000);
        assertEq(block.timestamp, t0);
        assertEq(hub.getPrice(ETH_ID), 2000e18);
        assertEq(hub.getPrice(SOL_ID), 100e18);
    }
}
