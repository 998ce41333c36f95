// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {AggregatorV3Interface} from "./interfaces/AggregatorV3Interface.sol";

/// @title KeeperPriceFeed
/// @notice AggregatorV3-compatible push feed (8 decimals) written by authorized updater keys.
contract KeeperPriceFeed is AggregatorV3Interface, AccessControl {
    bytes32 public constant UPDATER_ROLE = keccak256("UPDATER_ROLE");
    uint8 public constant DECIMALS = 8;

    struct Round {
        int256 answer;
        uint256 updatedAt;
    }

    error InvalidAnswer(int256 answer);
    error AnswerOutOfBounds(int256 answer, int256 minAnswer, int256 maxAnswer);
    error FutureTimestamp(uint256 updatedAt, uint256 nowTs);
    error OutOfOrderRound(uint256 updatedAt, uint256 lastUpdatedAt);
    error NoSuchRound(uint80 roundId);
    error InvalidBounds();

    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);
    event BoundsUpdated(int256 minAnswer, int256 maxAnswer);

    string private _description;
    int256 public minAnswer;
    int256 public maxAnswer;
    uint80 public latestRound;
    mapping(uint80 => Round) private _rounds;

    constructor(address admin, string memory description_, int256 minAnswer_, int256 maxAnswer_) {
        if (minAnswer_ <= 0 || maxAnswer_ < minAnswer_) revert InvalidBounds();
        _description = description_;
        minAnswer = minAnswer_;
        maxAnswer = maxAnswer_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(UPDATER_ROLE, admin);
    }

    function decimals() external pure returns (uint8) {
        return DECIMALS;
    }

    function description() external view returns (string memory) {
        return _description;
    }

    function version() external pure returns (uint256) {
        return 1;
    }

    function setBounds(int256 minAnswer_, int256 maxAnswer_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (minAnswer_ <= 0 || maxAnswer_ < minAnswer_) revert InvalidBounds();
        minAnswer = minAnswer_;
        maxAnswer = maxAnswer_;
        emit BoundsUpdated(minAnswer_, maxAnswer_);
    }

    /// @notice Pushes a new round. Reverts on zero/negative, out-of-bounds, future or out-of-order answers.
    function updateAnswer(int256 answer, uint256 updatedAt) external onlyRole(UPDATER_ROLE) returns (uint80 roundId) {
        if (answer <= 0) revert InvalidAnswer(answer);
        if (answer < minAnswer || answer > maxAnswer) revert AnswerOutOfBounds(answer, minAnswer, maxAnswer);
        if (updatedAt > block.timestamp) revert FutureTimestamp(updatedAt, block.timestamp);
        uint80 last = latestRound;
        uint256 lastTs = _rounds[last].updatedAt;
        if (updatedAt <= lastTs) revert OutOfOrderRound(updatedAt, lastTs);
        roundId = last + 1;
        latestRound = roundId;
        _rounds[roundId] = Round(answer, updatedAt);
        emit AnswerUpdated(answer, roundId, updatedAt);
    }

    function getRoundData(uint80 roundId) external view returns (uint80, int256, uint256, uint256, uint80) {
        Round memory r = _rounds[roundId];
        if (roundId == 0 || r.updatedAt == 0) revert NoSuchRound(roundId);
        return (roundId, r.answer, r.updatedAt, r.updatedAt, roundId);
    }

    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80) {
        uint80 id = latestRound;
        if (id == 0) revert NoSuchRound(0);
        Round memory r = _rounds[id];
        return (id, r.answer, r.updatedAt, r.updatedAt, id);
    }
}
