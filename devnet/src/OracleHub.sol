// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IPyth} from "@pythnetwork/pyth-sdk-solidity/IPyth.sol";
import {PythStructs} from "@pythnetwork/pyth-sdk-solidity/PythStructs.sol";
import {AggregatorV3Interface} from "./interfaces/AggregatorV3Interface.sol";
import {KeeperPriceFeed} from "./KeeperPriceFeed.sol";

/// @title OracleHub
/// @notice Aggregates up to MAX_SOURCES price sources per asset id into one WAD price.
///         Valid sources: n = 0 -> OracleUnavailable; n = 1 -> that price; n = 2 -> mean (floor) if their
///         relative difference is within maxDeviation, else OracleDivergence; n >= 3 -> median
///         (even n: floor of the mean of the two middle values).
contract OracleHub is AccessControl {
    bytes32 public constant PRICE_PUSHER_ROLE = keccak256("PRICE_PUSHER_ROLE");
    uint256 public constant MAX_SOURCES = 8;
    uint256 internal constant WAD = 1e18;

    uint8 public constant KIND_PUSH_FEED = 1;
    uint8 public constant KIND_PYTH = 2;

    struct Source {
        address source; // AggregatorV3 feed or IPyth contract
        uint8 kind; // KIND_PUSH_FEED or KIND_PYTH
        uint8 decimals; // push feeds: feed decimals (read when added); pyth: unused (expo is per price)
        uint32 maxStaleness; // seconds
        bytes32 pythId; // pyth price id (kind == KIND_PYTH)
    }

    error OracleUnavailable(bytes32 assetId);
    error OracleDivergence(bytes32 assetId, uint256 priceA, uint256 priceB);
    error TooManySources(bytes32 assetId);
    error InvalidSource();
    error SourceIndexOutOfRange(bytes32 assetId, uint256 index);
    error LengthMismatch();

    event SourceAdded(bytes32 indexed assetId, uint256 index, uint8 kind, address source, bytes32 pythId, uint32 maxStaleness);
    event SourceRemoved(bytes32 indexed assetId, uint256 index);
    event MaxDeviationUpdated(bytes32 indexed assetId, uint256 maxDeviation);

    mapping(bytes32 => Source[]) private _sources;
    mapping(bytes32 => uint256) public maxDeviation; // WAD fraction, used only with exactly two valid sources

    constructor(address admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PRICE_PUSHER_ROLE, admin);
    }

    // ------------------------------------------------------------------ admin

    function addSource(bytes32 assetId, uint8 kind, address source, bytes32 pythId, uint32 maxStaleness)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
        returns (uint256 index)
    {
        if (source == address(0) || maxStaleness == 0) revert InvalidSource();
        Source[] storage list = _sources[assetId];
        if (list.length >= MAX_SOURCES) revert TooManySources(assetId);
        uint8 dec;
        if (kind == KIND_PUSH_FEED) {
            dec = AggregatorV3Interface(source).decimals();
            if (dec > 18) revert InvalidSource();
        } else if (kind != KIND_PYTH) {
            revert InvalidSource();
        }
        index = list.length;
        list.push(Source(source, kind, dec, maxStaleness, pythId));
        emit SourceAdded(assetId, index, kind, source, pythId, maxStaleness);
    }

    /// @notice Removes a source by swapping the last one into its index.
    function removeSource(bytes32 assetId, uint256 index) external onlyRole(DEFAULT_ADMIN_ROLE) {
        Source[] storage list = _sources[assetId];
        if (index >= list.length) revert SourceIndexOutOfRange(assetId, index);
        list[index] = list[list.length - 1];
        list.pop();
        emit SourceRemoved(assetId, index);
    }

    function setMaxDeviation(bytes32 assetId, uint256 maxDeviation_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        maxDeviation[assetId] = maxDeviation_;
        emit MaxDeviationUpdated(assetId, maxDeviation_);
    }

    /// @notice Pushes answers to several KeeperPriceFeeds in one tx (the hub must hold their UPDATER_ROLE).
    ///         Atomic: any rejected answer reverts the whole call with the feed's error.
    function pushPrices(address[] calldata feeds, int256[] calldata answers, uint256[] calldata updatedAts)
        external
        onlyRole(PRICE_PUSHER_ROLE)
    {
        uint256 n = feeds.length;
        if (answers.length != n || updatedAts.length != n) revert LengthMismatch();
        for (uint256 i; i < n; ++i) {
            KeeperPriceFeed(feeds[i]).updateAnswer(answers[i], updatedAts[i]);
        }
    }

    // ------------------------------------------------------------------ views

    function sources(bytes32 assetId) external view returns (Source[] memory) {
        return _sources[assetId];
    }

    function sourceCount(bytes32 assetId) external view returns (uint256) {
        return _sources[assetId].length;
    }

    /// @notice Reads one source: (valid, price in WAD). Never reverts.
    function readSource(bytes32 assetId, uint256 index) public view returns (bool ok, uint256 price) {
        Source memory s = _sources[assetId][index];
        if (s.kind == KIND_PUSH_FEED) {
            try AggregatorV3Interface(s.source).latestRoundData() returns (
                uint80, int256 answer, uint256, uint256 updatedAt, uint80
            ) {
                if (answer <= 0 || updatedAt > block.timestamp || block.timestamp - updatedAt > s.maxStaleness) {
                    return (false, 0);
                }
                return (true, uint256(answer) * 10 ** (18 - uint256(s.decimals)));
            } catch {
                return (false, 0);
            }
        } else {
            try IPyth(s.source).getPriceUnsafe(s.pythId) returns (PythStructs.Price memory p) {
                if (p.price <= 0) return (false, 0);
                uint256 age = block.timestamp > p.publishTime ? block.timestamp - p.publishTime : 0;
                if (age > s.maxStaleness) return (false, 0);
                int256 e = int256(p.expo) + 18;
                if (e >= 0) {
                    if (e > 58) return (false, 0);
                    return (true, uint256(uint64(p.price)) * 10 ** uint256(e));
                }
                if (e < -58) return (false, 0);
                uint256 q = uint256(uint64(p.price)) / 10 ** uint256(-e);
                return (q == 0 ? false : true, q);
            } catch {
                return (false, 0);
            }
        }
    }

    function getPrice(bytes32 assetId) public view returns (uint256) {
        uint256 n = _sources[assetId].length;
        uint256[] memory v = new uint256[](n);
        uint256 k;
        for (uint256 i; i < n; ++i) {
            (bool ok, uint256 p) = readSource(assetId, i);
            if (!ok) continue;
            // insertion sort, ascending
            uint256 j = k;
            while (j > 0 && v[j - 1] > p) {
                v[j] = v[j - 1];
                --j;
            }
            v[j] = p;
            ++k;
        }
        if (k == 0) revert OracleUnavailable(assetId);
        if (k == 1) return v[0];
        if (k == 2) {
            uint256 lo = v[0];
            uint256 hi = v[1];
            if ((hi - lo) * WAD > maxDeviation[assetId] * lo) revert OracleDivergence(assetId, lo, hi);
            return (lo + hi) / 2;
        }
        if (k % 2 == 1) return v[k / 2];
        return (v[k / 2 - 1] + v[k / 2]) / 2;
    }

    function getPrices(bytes32[] calldata assetIds) external view returns (uint256[] memory prices) {
        prices = new uint256[](assetIds.length);
        for (uint256 i; i < assetIds.length; ++i) {
            prices[i] = getPrice(assetIds[i]);
        }
    }
}
