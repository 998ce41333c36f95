// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Fixture} from "./Fixture.sol";
import {CrossMarginEngine} from "../src/CrossMarginEngine.sol";

interface VmLogs {
    struct Log {
        bytes32[] topics;
        bytes data;
        address emitter;
    }

    function recordLogs() external;
    function getRecordedLogs() external returns (Log[] memory);
}

/// @notice Rebuilds account cash, positions, vault and insurance from the engine's absolute-value events
///         and compares with storage.
contract EventsTest is Fixture {
    VmLogs internal constant vml = VmLogs(address(uint160(uint256(keccak256("hevm cheat code")))));

    mapping(address => int256) internal cash;
    mapping(address => mapping(uint256 => int256)) internal size;
    mapping(address => mapping(uint256 => int256)) internal on;
    mapping(address => mapping(uint256 => int256)) internal snap;
    int256 internal vault;
    uint256 internal insurance;

    function setUp() public {
        vml.recordLogs();
        _deploy();
    }

    function test_rebuild_from_events() public {
        _fund(bob, 1000e6, 0.1e18);
        _fund(alice, 5000e6, 0);
        _trade(bob, ETH_MKT, 4e18);
        _trade(alice, SOL_MKT, -20e18);
        engine.setFundingRate(ETH_MKT, 1e11);
        vm.warp(block.timestamp + 500);
        _trade(bob, ETH_MKT, -0.5e18);
        _setEth(1740e8);
        CrossMarginEngine.LiquidationRequest[] memory r = new CrossMarginEngine.LiquidationRequest[](2);
        r[0] = CrossMarginEngine.LiquidationRequest(bob, ETH_MKT, 0);
        r[1] = CrossMarginEngine.LiquidationRequest(alice, SOL_MKT, 0);
        vm.prank(keeper);
        engine.batchLiquidate(r);

        VmLogs.Log[] memory logs = vml.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(engine)) continue;
            bytes32 t = logs[i].topics[0];
            if (t == CrossMarginEngine.CashUpdated.selector) {
                cash[address(uint160(uint256(logs[i].topics[1])))] = abi.decode(logs[i].data, (int256));
            } else if (t == CrossMarginEngine.PositionUpdated.selector) {
                address a = address(uint160(uint256(logs[i].topics[1])));
                uint256 m = uint256(logs[i].topics[2]);
                (size[a][m], on[a][m], snap[a][m]) = abi.decode(logs[i].data, (int256, int256, int256));
            } else if (t == CrossMarginEngine.VaultCashUpdated.selector) {
                vault = abi.decode(logs[i].data, (int256));
            } else if (t == CrossMarginEngine.InsuranceFundUpdated.selector) {
                insurance = abi.decode(logs[i].data, (uint256));
            }
        }
        address[3] memory who = [alice, bob, keeper];
        for (uint256 k; k < 3; ++k) {
            assertEq(cash[who[k]], engine.cashOf(who[k]), "cash");
            for (uint256 m; m < 3; ++m) {
                CrossMarginEngine.Position memory p = engine.getPosition(who[k], m);
                assertEq(size[who[k]][m], p.size, "size");
                assertEq(on[who[k]][m], p.openNotional, "openNotional");
                assertEq(snap[who[k]][m], p.fundingSnapshot, "snapshot");
            }
        }
        assertEq(vault, engine.vaultCash(), "vault");
        assertEq(insurance, engine.insuranceFund(), "insurance");
        assertTrue(engine.cashOf(keeper) > 0, "keeper rewarded");
    }
}
