// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Fixture} from "./Fixture.sol";
import {TestBase} from "./TestBase.sol";
import {CrossMarginEngine} from "../src/CrossMarginEngine.sol";
import {KeeperPriceFeed} from "../src/KeeperPriceFeed.sol";
import {MockERC20} from "../src/mocks/MockERC20.sol";
import {Vm} from "forge-std/Vm.sol";

/// @notice Random actions of a few actors; after every price move the handler (acting as keeper) liquidates
///         everything liquidatable, sells collateral of underwater flat accounts and settles bad debt.
/// @dev Time: forge commits cheatcode changes to the block environment (vm.warp) even when the handler call
///      that made them reverts, while the EVM state (the fresh feed answers) rolls back, and it drops reverted
///      calls from the recorded counterexample. A reverted price move would therefore advance the clock
///      invisibly and let the feeds go stale (OracleUnavailable in later views) in a way no replay
///      reproduces. The keeper step runs in a self-call: on a revert the clock is put back to match the
///      rolled-back state and the revert is recorded for `invariant_keeper_never_reverts`.
contract Handler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant WAD = 1e18;

    CrossMarginEngine public engine;
    MockERC20 public usdc;
    MockERC20 public weth;
    KeeperPriceFeed public ethFeed;
    KeeperPriceFeed public btcFeed;
    KeeperPriceFeed public solFeed;
    address[] public actors;
    uint256 public liquidations;
    uint256 public collateralSales;
    uint256 public badDebtSettlements;
    uint256 public trades;
    uint256 public priceMoves;
    /// @notice Revert data of the first keeper step that reverted (empty: none did).
    bytes public keeperError;

    constructor(
        CrossMarginEngine e,
        MockERC20 u,
        MockERC20 w,
        KeeperPriceFeed f1,
        KeeperPriceFeed f2,
        KeeperPriceFeed f3
    ) {
        engine = e;
        usdc = u;
        weth = w;
        ethFeed = f1;
        btcFeed = f2;
        solFeed = f3;
        actors.push(address(0x1001));
        actors.push(address(0x1002));
        actors.push(address(0x1003));
        actors.push(address(0x1004));
        usdc.approve(address(e), type(uint256).max);
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function _actor(uint256 seed) internal view returns (address) {
        return actors[seed % actors.length];
    }

    function _b(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        return lo + x % (hi - lo + 1);
    }

    function deposit(uint256 seed, uint256 amount, bool isWeth) external {
        address a = _actor(seed);
        vm.startPrank(a);
        if (isWeth) {
            amount = _b(amount, 1, 50e18);
            weth.mint(a, amount);
            weth.approve(address(engine), amount);
            engine.deposit(1, amount);
        } else {
            amount = _b(amount, 1, 100_000e6);
            usdc.mint(a, amount);
            usdc.approve(address(engine), amount);
            engine.deposit(0, amount);
        }
        vm.stopPrank();
    }

    function withdraw(uint256 seed, uint256 amount, bool isWeth) external {
        address a = _actor(seed);
        vm.prank(a);
        if (isWeth) {
            try engine.withdraw(1, _b(amount, 1, 50e18)) {} catch {}
        } else {
            try engine.withdraw(0, _b(amount, 1, 100_000e6)) {} catch {}
        }
    }

    function trade(uint256 seed, uint256 market, uint256 size, bool long) external {
        address a = _actor(seed);
        market = market % 3;
        uint256 maxSize = market == 0 ? 50e18 : market == 1 ? 2e18 : 1000e18;
        int256 s = int256(_b(size, 1, maxSize));
        if (!long) s = -s;
        vm.prank(a);
        try engine.trade(market, s, 0) {
            ++trades;
        } catch {}
    }

    /// @notice Oracle bot + keeper: advance the clock (never past the feeds' 3600 s staleness limit), push
    ///         fresh answers for all three feeds, then clean up. Reverts are recorded, never swallowed silently.
    function movePrices(uint256 eth, uint256 btc, uint256 sol, uint256 dt) external {
        uint256 before = block.timestamp;
        try this.keeperStep(eth, btc, sol, dt) {
            ++priceMoves;
        } catch (bytes memory err) {
            vm.warp(before); // the warp survives the revert, the feed updates do not
            if (keeperError.length == 0) keeperError = err.length == 0 ? bytes("empty revert") : err;
        }
    }

    /// @dev Only reachable through movePrices (not a fuzz target selector).
    function keeperStep(uint256 eth, uint256 btc, uint256 sol, uint256 dt) external {
        require(msg.sender == address(this), "self only");
        vm.warp(block.timestamp + _b(dt, 1, 3000));
        ethFeed.updateAnswer(int256(_b(eth, 1000e8, 3000e8)), block.timestamp);
        btcFeed.updateAnswer(int256(_b(btc, 30_000e8, 70_000e8)), block.timestamp);
        solFeed.updateAnswer(int256(_b(sol, 50e8, 150e8)), block.timestamp);
        _cleanup();
    }

    function setFunding(uint256 market, uint256 rate) external {
        int256 r = int256(_b(rate, 0, 2e12)) - 1e12;
        engine.setFundingRate(market % 3, r);
    }

    function fundInsurance(uint256 amount) external {
        amount = _b(amount, 1, 5_000e6);
        usdc.mint(address(this), amount);
        engine.fundInsurance(amount);
    }

    /// @dev Each step acts on the account's current state: a position is liquidated first; a flat account that
    ///      is still liquidatable has equity < 0 (its maintenance margin is 0), so its collateral is sold, and
    ///      once it holds neither positions nor collateral its negative cash is settled as bad debt.
    ///      (Selling collateral of a flat account whose equity is >= 0 reverts NotLiquidatable.)
    function _cleanup() internal {
        for (uint256 i; i < actors.length; ++i) {
            address a = actors[i];
            for (uint256 k; k < 20 && engine.isLiquidatable(a); ++k) {
                (uint64 pm, uint64 cm) = engine.accountMasks(a);
                if (pm != 0) {
                    engine.liquidate(a, _lowestBit(pm), 0);
                    ++liquidations;
                } else if (cm != 0) {
                    usdc.mint(address(this), 10_000_000e6); // the handler buys the collateral
                    engine.liquidateCollateral(a, _lowestBit(cm), 0);
                    ++collateralSales;
                } else {
                    engine.settleBadDebt(a);
                    ++badDebtSettlements;
                }
            }
        }
    }

    function _lowestBit(uint64 mask) internal pure returns (uint256 i) {
        while ((mask >> i) & 1 == 0) ++i;
    }
}

contract InvariantTest is Fixture {
    Handler internal handler;

    function setUp() public {
        _deploy();
        handler = new Handler(engine, usdc, weth, ethFeed, btcFeed, solFeed);
        ethFeed.grantRole(ethFeed.UPDATER_ROLE(), address(handler));
        btcFeed.grantRole(btcFeed.UPDATER_ROLE(), address(handler));
        solFeed.grantRole(solFeed.UPDATER_ROLE(), address(handler));
        engine.grantRole(engine.RISK_ROLE(), address(handler));
        targetContract(address(handler));
        bytes4[] memory sel = new bytes4[](6);
        sel[0] = Handler.deposit.selector;
        sel[1] = Handler.withdraw.selector;
        sel[2] = Handler.trade.selector;
        sel[3] = Handler.movePrices.selector;
        sel[4] = Handler.setFunding.selector;
        sel[5] = Handler.fundInsurance.selector;
        targetSelector(FuzzSelector(address(handler), sel));
    }

    function _sumCash() internal view returns (int256 s) {
        uint256 n = handler.actorCount();
        for (uint256 i; i < n; ++i) {
            s += engine.cashOf(handler.actors(i));
        }
        s += engine.cashOf(address(handler)); // keeper rewards
        s += engine.vaultCash();
        s += int256(engine.insuranceFund());
    }

    function invariant_token_conservation() public view {
        uint256 n = handler.actorCount();
        uint256 sumWeth;
        for (uint256 i; i < n; ++i) {
            sumWeth += engine.collateralOf(handler.actors(i), WETH_ID);
        }
        assertEq(sumWeth, engine.totalCollateral(WETH_ID), "weth total");
        assertEq(weth.balanceOf(address(engine)), sumWeth, "weth balance");
        assertEq(wbtc.balanceOf(address(engine)) * 1e10, engine.totalCollateral(WBTC_ID), "wbtc balance");
        assertEq(int256(usdc.balanceOf(address(engine)) * 1e12), _sumCash(), "usdc identity");
    }

    /// @dev The handler is the only oracle bot: every price it pushed must still be usable. An unavailable
    ///      price is reported as such here instead of surfacing as an opaque revert inside engine.health.
    function _assertOraclesAvailable() internal view {
        bytes32[3] memory ids = [ETH_ID, BTC_ID, SOL_ID];
        string[3] memory names = ["ETH/USD", "BTC/USD", "SOL/USD"];
        for (uint256 i; i < 3; ++i) {
            try hub.getPrice(ids[i]) returns (uint256 p) {
                assertTrue(p > 0, string.concat(names[i], ": zero price"));
            } catch (bytes memory err) {
                fail(string.concat(names[i], " unavailable: ", _hex(err)));
            }
        }
    }

    function _assertKeeperNeverReverted() internal view {
        bytes memory err = handler.keeperError();
        if (err.length != 0) fail(string.concat("keeper step (price move + cleanup) reverted: ", _hex(err)));
    }

    function _hex(bytes memory b) internal pure returns (string memory) {
        bytes memory digits = "0123456789abcdef";
        bytes memory o = new bytes(2 + 2 * b.length);
        o[0] = "0";
        o[1] = "x";
        for (uint256 i; i < b.length; ++i) {
            o[2 + 2 * i] = digits[uint8(b[i]) >> 4];
            o[3 + 2 * i] = digits[uint8(b[i]) & 15];
        }
        return string(o);
    }

    /// @notice The keeper (liquidations, collateral sales, bad-debt settlement) never reverts, so neither the
    ///         clock nor the feeds can drift from what the handler's oracle bot pushed.
    function invariant_keeper_never_reverts() public view {
        _assertKeeperNeverReverted();
        _assertOraclesAvailable();
    }

    function invariant_no_negative_equity_after_cleanup() public view {
        _assertKeeperNeverReverted();
        _assertOraclesAvailable();
        uint256 n = handler.actorCount();
        for (uint256 i; i < n; ++i) {
            address a = handler.actors(i);
            (int256 eq,, uint256 mm) = engine.health(a);
            assertGe(eq, int256(mm), "liquidatable account left after cleanup");
            assertGe(eq, 0, "negative equity");
        }
    }

    function invariant_vault_mirrors_positions() public view {
        uint256 n = handler.actorCount();
        for (uint256 m; m < 3; ++m) {
            int256 size;
            int256 on;
            for (uint256 i; i < n; ++i) {
                CrossMarginEngine.Position memory p = engine.getPosition(handler.actors(i), m);
                size += p.size;
                on += p.openNotional;
            }
            CrossMarginEngine.VaultPosition memory v = engine.getVaultPosition(m);
            assertEq(v.size, -size, "vault size");
            assertEq(v.openNotional, -on, "vault open notional");
        }
    }
}
