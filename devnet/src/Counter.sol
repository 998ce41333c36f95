// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @notice Small contract used by the Ethereum-layer devnet tests: state, events and a custom error.
contract Counter {
    error TooLarge(uint256 value, uint256 limit);

    event Incremented(address indexed by, uint256 indexed newValue, string note);

    uint256 public constant LIMIT = 1_000_000;
    uint256 public value;
    address public immutable owner;

    constructor(uint256 initial) {
        owner = msg.sender;
        value = initial;
    }

    function add(uint256 amount, string calldata note) external returns (uint256) {
        uint256 next = value + amount;
        if (next > LIMIT) revert TooLarge(next, LIMIT);
        value = next;
        emit Incremented(msg.sender, next, note);
        return next;
    }

    function fail(string calldata reason) external pure {
        revert(reason);
    }

    function divide(uint256 a, uint256 b) external pure returns (uint256) {
        return a / b;
    }
}
