// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Fixture} from "./Fixture.sol";
import {CrossMarginEngine} from "../src/CrossMarginEngine.sol";

interface VmCool {
    function cool(address target) external;
}

/// @notice Gas measurements recorded in docs/protocol.md. Storage of the touched contracts is cooled before each
///         measured call so numbers approximate a fresh transaction (execution gas, excluding the 21000 intrinsic
///         gas and calldata).
contract GasTest is Fixture {
    VmCool internal constant vmc = VmCool(address(uint160(uint256(keccak256("hevm cheat code")))));

    function _log(string memory what, uint256 v) internal view {
        address c = address(0x000000000000000000636F6e736F6c652e6c6f67);
        (bool ok,) = c.staticcall(abi.encodeWithSignature("log(string,uint256)", what, v));
        ok;
    }

    function setUp() public {
        _deploy();
    }

    function _cool() internal {
        vmc.cool(address(engine));
        vmc.cool(address(hub));
        vmc.cool(address(ethFeed));
        vmc.cool(address(btcFeed));
        vmc.cool(address(solFeed));
        vmc.cool(address(usdc));
        vmc.cool(address(weth));
    }

    function _acct(uint256 i) internal pure returns (address) {
        return address(uint160(0x100000 + i));
    }

    /// @dev n accounts, each: 1000 USDC + 0.1 WETH, long 4 ETH and short 10 SOL.
    function _accounts(uint256 n) internal {
        for (uint256 i; i < n; ++i) {
            address a = _acct(i);
            _fund(a, 1000e6, 0.1e18);
            _trade(a, ETH_MKT, 4e18);
            _trade(a, SOL_MKT, -10e18);
        }
    }

    function test_gas_single_ops() public {
        usdc.mint(alice, 10_000e6);
        weth.mint(alice, 1e18);
        vm.startPrank(alice);
        usdc.approve(address(engine), type(uint256).max);
        weth.approve(address(engine), type(uint256).max);
        _cool();
        uint256 g = gasleft();
        engine.deposit(USDC_ID, 10_000e6);
        _log("gas deposit USDC (first)", g - gasleft());
        _cool();
        g = gasleft();
        engine.deposit(WETH_ID, 1e18);
        _log("gas deposit WETH (first)", g - gasleft());
        _cool();
        g = gasleft();
        engine.trade(ETH_MKT, 1e18, 0);
        _log("gas trade open (1 collateral, 1 position)", g - gasleft());
        _cool();
        g = gasleft();
        engine.trade(SOL_MKT, -5e18, 0);
        _log("gas trade open 2nd market (1 collateral, 2 positions)", g - gasleft());
        _cool();
        g = gasleft();
        engine.trade(ETH_MKT, -0.5e18, 0);
        _log("gas trade reduce (1 collateral, 2 positions)", g - gasleft());
        vm.stopPrank();

        _accounts(1);
        _setEth(1760e8);
        vm.prank(keeper);
        _cool();
        g = gasleft();
        engine.liquidate(_acct(0), ETH_MKT, 0);
        _log("gas liquidate (1 collateral, 2 positions)", g - gasleft());
    }

    function _batch(uint256 n) internal {
        _accounts(n);
        _setEth(1800e8);
        CrossMarginEngine.LiquidationRequest[] memory r = new CrossMarginEngine.LiquidationRequest[](n);
        for (uint256 i; i < n; ++i) {
            r[i] = CrossMarginEngine.LiquidationRequest(_acct(i), ETH_MKT, 0);
        }
        _cool();
        vm.prank(keeper);
        uint256 g = gasleft();
        uint256[] memory out = engine.batchLiquidate(r);
        g -= gasleft();
        for (uint256 i; i < n; ++i) {
            assertTrue(out[i] > 0, "not liquidated");
        }
        _log("gas batchLiquidate total", g);
        _log("gas batchLiquidate per account", g / n);
    }

    function test_gas_batch_10() public {
        _batch(10);
    }

    function test_gas_batch_50() public {
        _batch(50);
    }

    function test_gas_batch_50_all_skipped() public {
        _accounts(50);
        CrossMarginEngine.LiquidationRequest[] memory r = new CrossMarginEngine.LiquidationRequest[](50);
        for (uint256 i; i < 50; ++i) {
            r[i] = CrossMarginEngine.LiquidationRequest(_acct(i), ETH_MKT, 0);
        }
        _cool();
        vm.prank(keeper);
        uint256 g = gasleft();
        engine.batchLiquidate(r);
        g -= gasleft();
        _log("gas batchLiquidate 50 healthy (skipped) per account", g / 50);
    }
}
