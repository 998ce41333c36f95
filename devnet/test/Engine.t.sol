// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Fixture} from "./Fixture.sol";
import {CrossMarginEngine} from "../src/CrossMarginEngine.sol";

contract EngineTest is Fixture {
    function setUp() public {
        _deploy();
    }

    // ------------------------------------------------------------ deposits / withdrawals

    function test_deposit_usdc_and_weth() public {
        _fund(alice, 10_000e6, 1e18);
        assertEq(engine.cashOf(alice), int256(10_000e18));
        assertEq(engine.collateralOf(alice, WETH_ID), 1e18);
        assertEq(engine.totalCollateral(WETH_ID), 1e18);
        (int256 eq, uint256 im, uint256 mm) = engine.health(alice);
        assertEq(eq, int256(10_000e18 + 1800e18)); // 2000 * 0.9
        assertEq(im, 0);
        assertEq(mm, 0);
        CrossMarginEngine.Health memory h = engine.healthDetail(alice);
        assertEq(h.initialEquity, int256(10_000e18 + 1600e18)); // 2000 * 0.8
    }

    function test_deposit_wbtc_scaled_to_wad() public {
        vm.startPrank(bob);
        wbtc.mint(bob, 1e8);
        wbtc.approve(address(engine), 1e8);
        engine.deposit(WBTC_ID, 0.5e8);
        vm.stopPrank();
        assertEq(engine.collateralOf(bob, WBTC_ID), 0.5e18);
        assertEq(_eq(bob), int256(22_500e18)); // 0.5 * 50000 * 0.9
    }

    function test_deposit_cap() public {
        engine.setAssetParams(WETH_ID, 0.8e18, 0.9e18, 0.05e18, 2e18);
        _fund(alice, 0, 2e18);
        vm.startPrank(bob);
        weth.mint(bob, 1);
        weth.approve(address(engine), 1);
        vm.expectRevert(abi.encodeWithSelector(CrossMarginEngine.DepositCapExceeded.selector, WETH_ID, 2e18 + 1, 2e18));
        engine.deposit(WETH_ID, 1);
        vm.stopPrank();
    }

    function test_deposit_unknown_asset_and_zero() public {
        vm.expectRevert(abi.encodeWithSelector(CrossMarginEngine.UnknownAsset.selector, 7));
        engine.deposit(7, 1);
        vm.expectRevert(abi.encodeWithSelector(CrossMarginEngine.ZeroAmount.selector));
        engine.deposit(0, 0);
    }

    function test_withdraw_usdc_limits() public {
        _fund(alice, 1000e6, 0);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(CrossMarginEngine.InsufficientCash.selector, int256(1000e18), 1001e6));
        engine.withdraw(USDC_ID, 1001e6);
        vm.prank(alice);
        engine.withdraw(USDC_ID, 400e6);
        assertEq(usdc.balanceOf(alice), 400e6);
        assertEq(engine.cashOf(alice), int256(600e18));
    }

    function test_withdraw_blocked_by_initial_health() public {
        _fund(alice, 1000e6, 1e18);
        _trade(alice, ETH_MKT, 10e18); // notional 20000, IM = 2000 + 10, fee 10
        // initial equity = 990 + 1600 = 2590 ; IM = 2010 -> can withdraw at most 580 of USDC
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(CrossMarginEngine.InsufficientMargin.selector, int256(1989e18), uint256(2010e18))
        );
        engine.withdraw(USDC_ID, 601e6);
        vm.prank(alice);
        engine.withdraw(USDC_ID, 580e6);
        CrossMarginEngine.Health memory h = engine.healthDetail(alice);
        assertEq(h.initialEquity, int256(2010e18));
        // WETH withdraw of 0.01 would remove 16 of initial equity
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(CrossMarginEngine.InsufficientMargin.selector, int256(1994e18), uint256(2010e18))
        );
        engine.withdraw(WETH_ID, 0.01e18);
    }

    function test_withdraw_weth() public {
        _fund(alice, 0, 2e18);
        vm.prank(alice);
        engine.withdraw(WETH_ID, 2e18);
        assertEq(weth.balanceOf(alice), 2e18);
        (, uint64 cm) = engine.accountMasks(alice);
        assertEq(uint256(cm), 0);
        assertEq(engine.totalCollateral(WETH_ID), 0);
    }

    // ------------------------------------------------------------ trading

    function test_trade_open_fee_and_health() public {
        _fund(alice, 10_000e6, 1e18);
        _trade(alice, ETH_MKT, 5e18);
        CrossMarginEngine.Position memory p = engine.getPosition(alice, ETH_MKT);
        assertEq(p.size, int256(5e18));
        assertEq(p.openNotional, int256(10_000e18));
        assertEq(engine.cashOf(alice), int256(9995e18)); // fee 10000 * 5bps
        (int256 eq, uint256 im, uint256 mm) = engine.health(alice);
        assertEq(eq, int256(9995e18 + 1800e18));
        assertEq(im, 1010e18);
        assertEq(mm, 510e18);
        CrossMarginEngine.VaultPosition memory v = engine.getVaultPosition(ETH_MKT);
        assertEq(v.size, -int256(5e18));
        assertEq(v.openNotional, -int256(10_000e18));
        assertEq(engine.vaultCash(), int256(1_000_005e18));

        _setEth(2100e8);
        (eq, im, mm) = engine.health(alice);
        assertEq(eq, int256(9995e18 + 1890e18 + 500e18));
        assertEq(mm, 535e18);
        assertEq(im, 1060e18);
    }

    function test_trade_partial_close_realizes_pnl() public {
        _fund(alice, 10_000e6, 0);
        _trade(alice, ETH_MKT, 5e18);
        _setEth(2100e8);
        _trade(alice, ETH_MKT, -2e18);
        CrossMarginEngine.Position memory p = engine.getPosition(alice, ETH_MKT);
        assertEq(p.size, int256(3e18));
        assertEq(p.openNotional, int256(6000e18));
        // 9995 + (4200 - 4000) - 2.1
        assertEq(engine.cashOf(alice), int256(10_192.9e18));
    }

    function test_trade_flip_and_full_close() public {
        _fund(alice, 10_000e6, 0);
        _trade(alice, ETH_MKT, 3e18); // fee 3
        _setEth(2100e8);
        _trade(alice, ETH_MKT, -5e18); // realize 300, fee 5.25, short 2 @ 2100
        CrossMarginEngine.Position memory p = engine.getPosition(alice, ETH_MKT);
        assertEq(p.size, -int256(2e18));
        assertEq(p.openNotional, -int256(4200e18));
        assertEq(engine.cashOf(alice), int256(10_000e18 - 3e18 + 300e18 - 5.25e18));
        _setEth(2000e8);
        _trade(alice, ETH_MKT, 2e18); // realize +200, fee 2
        p = engine.getPosition(alice, ETH_MKT);
        assertEq(p.size, 0);
        assertEq(p.openNotional, 0);
        assertEq(engine.cashOf(alice), int256(10_000e18 - 3e18 + 300e18 - 5.25e18 + 200e18 - 2e18));
        (uint64 pm,) = engine.accountMasks(alice);
        assertEq(uint256(pm), 0);
        // vault mirrors exactly
        CrossMarginEngine.VaultPosition memory v = engine.getVaultPosition(ETH_MKT);
        assertEq(v.size, 0);
        assertEq(v.openNotional, 0);
    }

    function test_trade_rounding_against_account() public {
        _fund(alice, 10_000e6, 0);
        _setEth(1234.56789012e8);
        _trade(alice, ETH_MKT, 3); // 3 wei of ETH
        CrossMarginEngine.Position memory p = engine.getPosition(alice, ETH_MKT);
        // openNotional = ceil(3 * 1234.56789012e18 / 1e18) = ceil(3703.70367036) = 3704 ; fee = ceil(3704 * 5e14 / 1e18) = 2
        assertEq(p.openNotional, 3704);
        assertEq(engine.cashOf(alice), int256(10_000e18) - 2);
        // closedON = ceil(3704 / 3) = 1235 ; realized = floor(1234.56789012) - 1235 = -1 ; fee = ceil(1235 * 5e14 / 1e18) = 1
        _trade(alice, ETH_MKT, -1);
        p = engine.getPosition(alice, ETH_MKT);
        assertEq(p.openNotional, 2469);
        assertEq(engine.cashOf(alice), int256(10_000e18) - 4);
    }

    function test_trade_price_limit() public {
        _fund(alice, 10_000e6, 0);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(CrossMarginEngine.PriceLimitExceeded.selector, 2000e18, 1999e18));
        engine.trade(ETH_MKT, 1e18, 1999e18);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(CrossMarginEngine.PriceLimitExceeded.selector, 2000e18, 2001e18));
        engine.trade(ETH_MKT, -1e18, 2001e18);
        vm.prank(alice);
        engine.trade(ETH_MKT, 1e18, 2000e18);
    }

    function test_trade_insufficient_margin() public {
        _fund(alice, 1000e6, 0);
        // 5 ETH: IM = 1000 + 10, initial equity = 1000 - 5 -> fails
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(CrossMarginEngine.InsufficientMargin.selector, int256(995e18), uint256(1010e18))
        );
        engine.trade(ETH_MKT, 5e18, 0);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(CrossMarginEngine.UnknownMarket.selector, 9));
        engine.trade(9, 1e18, 0);
    }

    function test_reduction_allowed_below_initial_but_not_below_maintenance() public {
        _fund(bob, 1000e6, 0);
        _trade(bob, ETH_MKT, 4e18); // cash 996, IM 810
        _setEth(1880e8); // pnl -480: equity 516, IM 762 (below initial), MM 386
        _trade(bob, ETH_MKT, -1e18); // reduction allowed
        // cannot increase while below initial
        vm.prank(bob);
        vm.expectRevert();
        engine.trade(ETH_MKT, 0.1e18, 0);
        _setEth(1700e8); // equity far below maintenance
        assertTrue(engine.isLiquidatable(bob));
        vm.prank(bob);
        vm.expectRevert();
        engine.trade(ETH_MKT, -0.1e18, 0);
    }

    // ------------------------------------------------------------ funding

    function test_funding_accrual_and_settlement() public {
        _fund(alice, 10_000e6, 0);
        _fund(bob, 10_000e6, 0);
        _trade(alice, ETH_MKT, 5e18);
        _trade(bob, ETH_MKT, -1e18);
        int256 eqA = _eq(alice);
        int256 eqB = _eq(bob);
        engine.setFundingRate(ETH_MKT, 1e12); // per second
        vm.warp(block.timestamp + 1000);
        // index += 1e12 * (2000e18 * 1000) / 1e18 = 2e18
        assertEq(engine.fundingIndex(ETH_MKT), int256(2e18));
        assertEq(_eq(alice), eqA - 10e18); // long 5 pays 10
        assertEq(_eq(bob), eqB + 2e18); // short 1 receives 2
        CrossMarginEngine.AccountState memory s = engine.accountState(alice);
        assertEq(s.positions[0].pendingFunding, int256(10e18));
        int256 vault0 = engine.vaultCash();
        _trade(alice, ETH_MKT, -1e18); // settles 10 funding
        CrossMarginEngine.Position memory p = engine.getPosition(alice, ETH_MKT);
        assertEq(p.fundingSnapshot, int256(2e18));
        assertEq(engine.vaultCash(), vault0 + 10e18 + 1e18); // funding + fee 1
        CrossMarginEngine.Market memory m = engine.getMarket(ETH_MKT);
        assertEq(int256(m.fundingIndex), int256(2e18));
        assertEq(uint256(m.lastFundingTime), block.timestamp);
    }

    function test_funding_rounds_up_for_payer() public {
        _fund(alice, 10_000e6, 0);
        _trade(alice, ETH_MKT, 3);
        _trade(alice, ETH_MKT, -6); // short 3 wei
        engine.setFundingRate(ETH_MKT, -1); // shorts pay
        vm.warp(block.timestamp + 1);
        // index delta = floor(-1 * 2000e18 / 1e18) = -2000
        assertEq(engine.fundingIndex(ETH_MKT), -2000);
        CrossMarginEngine.AccountState memory s = engine.accountState(alice);
        // owed = ceil(-3 * -2000 / 1e18) = ceil(6000/1e18) = 1
        assertEq(s.positions[0].pendingFunding, 1);
    }

    // ------------------------------------------------------------ liquidation

    function _bobLong4() internal {
        _fund(bob, 1000e6, 0);
        _trade(bob, ETH_MKT, 4e18); // cash 996, ON 8000
    }

    function test_not_liquidatable_reverts() public {
        _bobLong4();
        _setEth(1850e8); // equity 396 >= MM 380
        vm.prank(keeper);
        vm.expectRevert(
            abi.encodeWithSelector(CrossMarginEngine.NotLiquidatable.selector, bob, int256(396e18), uint256(380e18))
        );
        engine.liquidate(bob, ETH_MKT, 0);
    }

    function test_partial_liquidation_exact_size() public {
        _bobLong4();
        _setEth(1840e8); // equity 356 < MM 378
        assertEq(_eq(bob), int256(356e18));
        assertEq(_mm(bob), 378e18);
        uint256 ins0 = engine.insuranceFund();
        vm.prank(keeper);
        uint256 q = engine.liquidate(bob, ETH_MKT, 0);
        // target 415.8, deficit 59.8, denom 0.05*1.1-0.015 = 0.04, notional 1495, q = 1495/1840 = 0.8125
        assertEq(q, 0.8125e18);
        CrossMarginEngine.Position memory p = engine.getPosition(bob, ETH_MKT);
        assertEq(p.size, int256(3.1875e18));
        assertEq(p.openNotional, int256(6375e18));
        // penalty = 1495 * 1.5% = 22.425 ; keeper 50%
        assertEq(engine.cashOf(keeper), int256(11.2125e18));
        assertEq(engine.insuranceFund(), ins0 + 11.2125e18);
        assertEq(engine.cashOf(bob), int256(843.575e18));
        // equity lands exactly on maintenance * 1.1
        assertEq(_eq(bob), int256(333.575e18));
        assertEq(_mm(bob), 303.25e18);
        assertTrue(!engine.isLiquidatable(bob));
    }

    function test_liquidation_emits_event() public {
        _bobLong4();
        _setEth(1840e8);
        vm.expectEmit(true, true, true, true, address(engine));
        emit CrossMarginEngine.Liquidated(bob, ETH_MKT, keeper, 0.8125e18, 1840e18, 11.2125e18, 11.2125e18);
        vm.prank(keeper);
        engine.liquidate(bob, ETH_MKT, 0);
    }

    function test_liquidation_capped_by_max_size_and_fraction() public {
        _bobLong4();
        _setEth(1840e8);
        vm.prank(keeper);
        assertEq(engine.liquidate(bob, ETH_MKT, 0.1e18), 0.1e18);
        // fraction cap: make the buffer huge so the target exceeds 50%
        CrossMarginEngine.MarketParams memory mp = _params(0.1e18, 0.05e18, 10e18, 0.0005e18, 0.015e18);
        mp.liquidationBuffer = 1e18;
        mp.maxLiquidationFraction = 0.25e18;
        engine.setMarketParams(ETH_MKT, mp);
        vm.prank(keeper);
        assertEq(engine.liquidate(bob, ETH_MKT, 0), 0.975e18); // ceil(3.9 * 0.25)
    }

    function test_liquidation_dust_remainder_closes_fully() public {
        _fund(bob, 40e6, 0);
        _trade(bob, ETH_MKT, 0.1e18); // cash 39.9
        _setEth(1700e8); // equity 9.9, MM 18.5 (not deep: 19.8 >= 18.5)
        vm.prank(keeper);
        assertEq(engine.liquidate(bob, ETH_MKT, 0), 0.1e18);
        assertEq(engine.getPosition(bob, ETH_MKT).size, 0);
    }

    function test_deep_liquidation_full_close_and_bad_debt_insurance() public {
        _bobLong4();
        _setEth(1760e8); // equity 36, MM 362 -> deep
        uint256 ins0 = engine.insuranceFund();
        vm.prank(keeper);
        assertEq(engine.liquidate(bob, ETH_MKT, 0), 4e18);
        // penalty 7040 * 1.5% = 105.6 ; cash = 996 - 960 - 105.6 = -69.6 -> covered by insurance
        assertEq(engine.cashOf(bob), 0);
        assertEq(engine.cashOf(keeper), int256(52.8e18));
        assertEq(engine.insuranceFund(), ins0 + 52.8e18 - 69.6e18);
    }

    function test_bad_debt_socialized_to_vault() public {
        engine.withdrawInsurance(address(this), 10_000e6);
        assertEq(engine.insuranceFund(), 0);
        _bobLong4();
        _setEth(1760e8);
        int256 v0 = engine.vaultCash();
        vm.expectEmit(true, false, false, true, address(engine));
        emit CrossMarginEngine.BadDebt(bob, 52.8e18, 16.8e18);
        vm.prank(keeper);
        engine.liquidate(bob, ETH_MKT, 0);
        // vault: -realized(-960) ... = v0 + 960 - 16.8
        assertEq(engine.vaultCash(), v0 + 960e18 - 16.8e18);
        assertEq(engine.insuranceFund(), 0);
    }

    function test_self_liquidation_and_no_position() public {
        _bobLong4();
        _setEth(1760e8);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(CrossMarginEngine.SelfLiquidation.selector));
        engine.liquidate(bob, ETH_MKT, 0);
        vm.prank(keeper);
        vm.expectRevert(abi.encodeWithSelector(CrossMarginEngine.NoPosition.selector, bob, BTC_MKT));
        engine.liquidate(bob, BTC_MKT, 0);
    }

    function test_batch_liquidate_skips() public {
        _bobLong4();
        _fund(alice, 10_000e6, 0);
        _trade(alice, ETH_MKT, 1e18);
        _setEth(1760e8);
        CrossMarginEngine.LiquidationRequest[] memory r = new CrossMarginEngine.LiquidationRequest[](5);
        r[0] = CrossMarginEngine.LiquidationRequest(alice, ETH_MKT, 0); // healthy
        r[1] = CrossMarginEngine.LiquidationRequest(bob, ETH_MKT, 0); // liquidatable
        r[2] = CrossMarginEngine.LiquidationRequest(bob, ETH_MKT, 0); // now flat
        r[3] = CrossMarginEngine.LiquidationRequest(bob, 42, 0); // unknown market
        r[4] = CrossMarginEngine.LiquidationRequest(keeper, ETH_MKT, 0); // self
        vm.expectEmit(true, true, false, true, address(engine));
        emit CrossMarginEngine.LiquidationSkipped(alice, ETH_MKT, 1);
        vm.prank(keeper);
        uint256[] memory out = engine.batchLiquidate(r);
        assertEq(out[0], 0);
        assertEq(out[1], 4e18);
        assertEq(out[2], 0);
        assertEq(out[3], 0);
        assertEq(out[4], 0);
        assertEq(engine.cashOf(keeper), int256(52.8e18));
    }

    function test_liquidate_collateral() public {
        _fund(carol, 0, 1e18);
        _trade(carol, ETH_MKT, 5e18); // cash -5
        _setEth(1700e8); // equity -5 -1500 + 1530 = 25 ; MM 435 -> deep
        vm.prank(keeper);
        engine.liquidate(carol, ETH_MKT, 0);
        // cash = -5 - 1500 - 127.5
        assertEq(engine.cashOf(carol), -int256(1632.5e18));
        assertEq(_eq(carol), -int256(102.5e18));

        _fund(keeper, 2000e6, 0);
        vm.prank(keeper);
        usdc.mint(keeper, 2000e6);
        vm.prank(keeper);
        vm.expectRevert(abi.encodeWithSelector(CrossMarginEngine.SelfLiquidation.selector));
        engine.liquidateCollateral(keeper, WETH_ID, 0);

        uint256 ins0 = engine.insuranceFund();
        vm.prank(keeper);
        (uint256 amount, uint256 payment) = engine.liquidateCollateral(carol, WETH_ID, 0.5e18);
        assertEq(amount, 0.5e18);
        assertEq(payment, 807.5e6); // 0.5 * 1700 * 0.95
        assertEq(engine.cashOf(carol), -int256(825e18));
        assertEq(weth.balanceOf(keeper), 0.5e18);
        vm.prank(keeper);
        (amount, payment) = engine.liquidateCollateral(carol, WETH_ID, 0);
        assertEq(amount, 0.5e18);
        assertEq(payment, 807.5e6);
        // remaining -17.5 covered by insurance
        assertEq(engine.cashOf(carol), 0);
        assertEq(engine.insuranceFund(), ins0 - 17.5e18);
        assertEq(engine.collateralOf(carol, WETH_ID), 0);
    }

    function test_liquidate_collateral_requires_conditions() public {
        _fund(carol, 0, 1e18);
        vm.prank(keeper);
        vm.expectRevert(abi.encodeWithSelector(CrossMarginEngine.CollateralNotLiquidatable.selector, carol));
        engine.liquidateCollateral(carol, WETH_ID, 0);
        vm.expectRevert(abi.encodeWithSelector(CrossMarginEngine.NoBadDebt.selector, carol));
        engine.settleBadDebt(carol);
    }

    // ------------------------------------------------------------ pause

    function test_pause_semantics() public {
        _bobLong4();
        _fund(alice, 10_000e6, 0);
        _trade(alice, ETH_MKT, 1e18);
        engine.setPaused(true);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(CrossMarginEngine.EnginePaused.selector));
        engine.trade(ETH_MKT, 1e18, 0);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(CrossMarginEngine.EnginePaused.selector));
        engine.trade(ETH_MKT, -2e18, 0); // flip increases risk
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(CrossMarginEngine.EnginePaused.selector));
        engine.withdraw(USDC_ID, 1e6);
        _trade(alice, ETH_MKT, -0.5e18); // reduction ok
        _fund(alice, 1e6, 0); // deposit ok
        _setEth(1760e8);
        vm.prank(keeper);
        engine.liquidate(bob, ETH_MKT, 0); // liquidation ok
        engine.setPaused(false);
        vm.prank(alice);
        engine.withdraw(USDC_ID, 1e6);
    }

    function test_roles() public {
        vm.prank(alice);
        vm.expectRevert();
        engine.setFundingRate(ETH_MKT, 1);
        vm.prank(alice);
        vm.expectRevert();
        engine.setPaused(true);
        vm.prank(alice);
        vm.expectRevert();
        engine.addMarket(ETH_ID, _params(0.1e18, 0.05e18, 0, 0, 0));
    }

    function test_invalid_market_params() public {
        vm.expectRevert(abi.encodeWithSelector(CrossMarginEngine.InvalidParams.selector));
        engine.addMarket(ETH_ID, _params(0.1e18, 0.05e18, 0, 0, 0.03e18)); // penalty > mmf/2
        vm.expectRevert(abi.encodeWithSelector(CrossMarginEngine.InvalidParams.selector));
        engine.addMarket(ETH_ID, _params(0.05e18, 0.05e18, 0, 0, 0)); // mmf == imf
        vm.expectRevert(abi.encodeWithSelector(CrossMarginEngine.InvalidParams.selector));
        engine.setAssetParams(WETH_ID, 0.9e18, 0.8e18, 0.05e18, 1); // initial weight > maintenance
    }

    function test_views() public {
        _fund(alice, 10_000e6, 1e18);
        _trade(alice, ETH_MKT, 1e18);
        _trade(alice, SOL_MKT, -10e18);
        CrossMarginEngine.AccountState memory s = engine.accountState(alice);
        assertEq(s.collateral.length, 3);
        assertEq(s.collateral[WETH_ID], 1e18);
        assertEq(s.positions.length, 2);
        assertEq(s.positions[0].marketId, ETH_MKT);
        assertEq(s.positions[1].marketId, SOL_MKT);
        assertEq(s.positions[1].size, -int256(10e18));
        // MM = 2000*5% + 10 + 1000*10% + 10 = 220 ; IM = 200+10+200+10 = 420
        assertEq(s.maintenanceMargin, 220e18);
        assertEq(s.initialMargin, 420e18);
        address[] memory a = new address[](2);
        a[0] = alice;
        a[1] = bob;
        CrossMarginEngine.Health[] memory hs = engine.healthBatch(a);
        assertEq(hs[0].equity, s.equity);
        assertEq(hs[1].equity, 0);
        assertEq(engine.marketCount(), 3);
        assertEq(engine.assetCount(), 3);
        assertEq(engine.getAsset(WBTC_ID).decimals, 8);
        assertEq(engine.fundingIndices().length, 3);
    }
}
