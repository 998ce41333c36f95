// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {MarginMath} from "./MarginMath.sol";
import {OracleHub} from "./OracleHub.sol";

/// @title CrossMarginEngine
/// @notice Reference cross-margin perp engine: one multi-token collateral pool per account (with haircuts),
///         signed settlement cash (USDC at par), perp positions whose unrealized PnL and funding count toward
///         equity, partial keeper liquidations with an insurance fund and a protocol LP vault as counterparty.
///         The spec with every formula is docs/protocol.md.
contract CrossMarginEngine is AccessControl, ReentrancyGuard {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;
    using SafeCast for int256;

    // ------------------------------------------------------------------ constants

    bytes32 public constant RISK_ROLE = keccak256("RISK_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    uint256 internal constant WAD = 1e18;
    uint256 public constant MAX_ASSETS = 64;
    uint256 public constant MAX_MARKETS = 64;
    uint256 public constant SETTLEMENT_ASSET_ID = 0;

    uint8 public constant SKIP_NOT_LIQUIDATABLE = 1;
    uint8 public constant SKIP_NO_POSITION = 2;
    uint8 public constant SKIP_UNKNOWN_MARKET = 3;
    uint8 public constant SKIP_SELF_LIQUIDATION = 4;

    // ------------------------------------------------------------------ types

    struct Asset {
        address token;
        uint8 decimals;
        uint16 priceSlot; // index into the per-tx price cache (one slot per distinct oracle id)
        uint64 initialWeight; // WAD
        uint64 maintenanceWeight; // WAD
        uint64 liquidationDiscount; // WAD, discount granted to liquidateCollateral buyers
        bytes32 oracleId;
        uint256 depositCap; // WAD, total of all balances; not applied to the settlement asset
    }

    struct Market {
        bytes32 oracleId;
        uint16 priceSlot;
        uint64 initialMarginFraction; // WAD
        uint64 maintenanceMarginFraction; // WAD
        uint64 takerFee; // WAD fraction of traded notional
        uint64 liquidationPenalty; // WAD fraction of closed notional
        uint64 keeperShare; // WAD fraction of the penalty paid to the liquidator
        uint64 maxLiquidationFraction; // WAD fraction of |size| closable per non-deep call
        uint64 liquidationBuffer; // WAD, target equity = maintenance * (1 + buffer)
        uint128 minPositionMargin; // WAD USD added to IM and MM per open position
        int128 fundingRatePerSecond; // WAD, positive: longs pay shorts
        int192 fundingIndex; // WAD USD per WAD base unit, stored up to lastFundingTime
        uint64 lastFundingTime;
    }

    struct MarketParams {
        uint256 initialMarginFraction;
        uint256 maintenanceMarginFraction;
        uint256 minPositionMargin;
        uint256 takerFee;
        uint256 liquidationPenalty;
        uint256 keeperShare;
        uint256 maxLiquidationFraction;
        uint256 liquidationBuffer;
    }

    struct Position {
        int256 size; // WAD base units, + long / - short
        int256 openNotional; // WAD USD, same sign as size
        int256 fundingSnapshot; // funding index at last settlement
    }

    struct VaultPosition {
        int256 size;
        int256 openNotional;
    }

    struct AccountData {
        int256 cash; // WAD USD, signed
        uint64 positionMask; // bit i set <=> position in market i has size != 0
        uint64 collateralMask; // bit i set <=> collateral balance of asset i > 0 (bit 0 never set)
    }

    struct Health {
        int256 equity; // maintenance equity (maintenance weights)
        int256 initialEquity; // initial equity (initial weights)
        uint256 initialMargin;
        uint256 maintenanceMargin;
    }

    struct PositionState {
        uint256 marketId;
        int256 size;
        int256 openNotional;
        int256 fundingSnapshot;
        int256 unrealizedPnl; // floor(size*price/WAD) - openNotional
        int256 pendingFunding; // owed since snapshot (positive = pays)
    }

    struct AccountState {
        int256 cash;
        uint256[] collateral; // WAD balances indexed by assetId (index 0 always 0: settlement is cash)
        PositionState[] positions; // open positions only, ascending marketId
        int256 equity;
        int256 initialEquity;
        uint256 initialMargin;
        uint256 maintenanceMargin;
    }

    struct LiquidationRequest {
        address account;
        uint256 marketId;
        uint256 maxSize;
    }

    /// @dev Per-call memory cache: prices per oracle slot, funding indices per market, and pending globals.
    struct Ctx {
        uint256[] prices;
        int256[] index;
        uint8[] indexState; // 0 unknown, 1 computed, 2 written to storage this call
        int256 vaultCash;
        int256 vaultCash0;
        uint256 insurance;
        uint256 insurance0;
        uint256 keeperReward;
    }

    // ------------------------------------------------------------------ errors

    error ZeroAmount();
    error UnknownAsset(uint256 assetId);
    error UnknownMarket(uint256 marketId);
    error InvalidParams();
    error TooManyAssets();
    error TooManyMarkets();
    error DepositCapExceeded(uint256 assetId, uint256 newTotal, uint256 cap);
    error InsufficientCash(int256 cash, uint256 amount);
    error InsufficientCollateral(uint256 balance, uint256 amount);
    error InsufficientMargin(int256 initialEquity, uint256 initialMargin);
    error ReductionBelowMaintenance(int256 equity, uint256 maintenanceMargin);
    error PriceLimitExceeded(uint256 price, uint256 limit);
    error EnginePaused();
    error NotLiquidatable(address account, int256 equity, uint256 maintenanceMargin);
    error NoPosition(address account, uint256 marketId);
    error SelfLiquidation();
    error CollateralNotLiquidatable(address account);
    error NoBadDebt(address account);
    error InsufficientInsurance(uint256 balance, uint256 amount);
    error InsufficientVaultCash(int256 vaultCash, uint256 amount);

    // ------------------------------------------------------------------ events

    event Deposited(address indexed account, uint256 indexed assetId, uint256 amount);
    event Withdrawn(address indexed account, uint256 indexed assetId, uint256 amount);
    event CollateralUpdated(address indexed account, uint256 indexed assetId, uint256 newBalance);
    event CashUpdated(address indexed account, int256 newCash);
    event PositionUpdated(
        address indexed account, uint256 indexed marketId, int256 size, int256 openNotional, int256 fundingSnapshot
    );
    event FundingSettled(address indexed account, uint256 indexed marketId, int256 amountPaid);
    event FundingIndexUpdated(uint256 indexed marketId, int256 index, int256 ratePerSecond, uint256 timestamp);
    event Traded(
        address indexed account, uint256 indexed marketId, int256 sizeDelta, uint256 price, uint256 fee, int256 realizedPnl
    );
    event Liquidated(
        address indexed account,
        uint256 indexed marketId,
        address indexed liquidator,
        uint256 sizeClosed,
        uint256 price,
        uint256 keeperReward,
        uint256 insuranceFee
    );
    event LiquidationSkipped(address indexed account, uint256 indexed marketId, uint8 reason);
    event CollateralLiquidated(
        address indexed account,
        uint256 indexed assetId,
        address indexed liquidator,
        uint256 amount,
        uint256 price,
        uint256 payment
    );
    event BadDebt(address indexed account, uint256 coveredByInsurance, uint256 socialized);
    event InsuranceFundUpdated(uint256 newBalance);
    event VaultCashUpdated(int256 newCash);
    event VaultPositionUpdated(uint256 indexed marketId, int256 size, int256 openNotional);
    event AssetAdded(uint256 indexed assetId, address token, uint8 decimals, bytes32 oracleId);
    event AssetParamsUpdated(
        uint256 indexed assetId,
        uint256 initialWeight,
        uint256 maintenanceWeight,
        uint256 liquidationDiscount,
        uint256 depositCap
    );
    event MarketAdded(uint256 indexed marketId, bytes32 oracleId);
    event MarketParamsUpdated(uint256 indexed marketId, MarketParams params);
    event OracleUpdated(address oracle);
    event PauseChanged(bool paused);

    // ------------------------------------------------------------------ storage

    OracleHub public oracle;
    bool public paused;
    int256 public vaultCash;
    uint256 public insuranceFund;

    Asset[] private _assets;
    Market[] private _markets;
    bytes32[] private _priceSlots;
    mapping(bytes32 => uint256) private _slotPlusOne;

    mapping(address => AccountData) private _accounts;
    mapping(address => mapping(uint256 => uint256)) private _collateral;
    mapping(address => mapping(uint256 => Position)) private _positions;
    mapping(uint256 => VaultPosition) private _vaultPositions;
    mapping(uint256 => uint256) public totalCollateral; // WAD per asset

    constructor(address admin, address settlementToken, address oracleHub) {
        if (admin == address(0) || settlementToken == address(0) || oracleHub == address(0)) revert InvalidParams();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(RISK_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
        oracle = OracleHub(oracleHub);
        uint8 dec = IERC20Metadata(settlementToken).decimals();
        if (dec > 18) revert InvalidParams();
        _assets.push(Asset(settlementToken, dec, 0, uint64(WAD), uint64(WAD), 0, bytes32(0), type(uint256).max));
        emit AssetAdded(0, settlementToken, dec, bytes32(0));
    }

    // ================================================================== admin

    function setOracle(address oracleHub) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (oracleHub == address(0)) revert InvalidParams();
        oracle = OracleHub(oracleHub);
        emit OracleUpdated(oracleHub);
    }

    function setPaused(bool paused_) external onlyRole(PAUSER_ROLE) {
        paused = paused_;
        emit PauseChanged(paused_);
    }

    function addAsset(
        address token,
        bytes32 oracleId,
        uint256 initialWeight,
        uint256 maintenanceWeight,
        uint256 liquidationDiscount,
        uint256 depositCap
    ) external onlyRole(DEFAULT_ADMIN_ROLE) returns (uint256 assetId) {
        assetId = _assets.length;
        if (assetId >= MAX_ASSETS) revert TooManyAssets();
        if (token == address(0) || oracleId == bytes32(0)) revert InvalidParams();
        uint8 dec = IERC20Metadata(token).decimals();
        if (dec > 18) revert InvalidParams();
        _assets.push(Asset(token, dec, _slotFor(oracleId), 0, 0, 0, oracleId, 0));
        emit AssetAdded(assetId, token, dec, oracleId);
        _setAssetParams(assetId, initialWeight, maintenanceWeight, liquidationDiscount, depositCap);
    }

    function setAssetParams(
        uint256 assetId,
        uint256 initialWeight,
        uint256 maintenanceWeight,
        uint256 liquidationDiscount,
        uint256 depositCap
    ) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (assetId == 0 || assetId >= _assets.length) revert UnknownAsset(assetId);
        _setAssetParams(assetId, initialWeight, maintenanceWeight, liquidationDiscount, depositCap);
    }

    function _setAssetParams(uint256 assetId, uint256 iw, uint256 mw, uint256 disc, uint256 cap) internal {
        // initial haircut at least the maintenance haircut; a collateral sale at the discount must not lower
        // maintenance equity: (1 - discount) >= maintenanceWeight.
        if (iw > mw || mw > WAD || disc >= WAD || WAD - disc < mw) revert InvalidParams();
        Asset storage a = _assets[assetId];
        a.initialWeight = uint64(iw);
        a.maintenanceWeight = uint64(mw);
        a.liquidationDiscount = uint64(disc);
        a.depositCap = cap;
        emit AssetParamsUpdated(assetId, iw, mw, disc, cap);
    }

    function addMarket(bytes32 oracleId, MarketParams calldata p)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
        returns (uint256 marketId)
    {
        marketId = _markets.length;
        if (marketId >= MAX_MARKETS) revert TooManyMarkets();
        if (oracleId == bytes32(0)) revert InvalidParams();
        Market storage m = _markets.push();
        m.oracleId = oracleId;
        m.priceSlot = _slotFor(oracleId);
        m.lastFundingTime = uint64(block.timestamp);
        emit MarketAdded(marketId, oracleId);
        _setMarketParams(marketId, p);
        emit FundingIndexUpdated(marketId, 0, 0, block.timestamp);
    }

    function setMarketParams(uint256 marketId, MarketParams calldata p) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (marketId >= _markets.length) revert UnknownMarket(marketId);
        _setMarketParams(marketId, p);
    }

    function _setMarketParams(uint256 marketId, MarketParams calldata p) internal {
        // 0 < MMF < IMF <= 1; penalty <= MMF/2 so a partial liquidation never lowers equity/maintenance
        // above the deep-underwater threshold (equity >= maintenance/2).
        if (
            p.maintenanceMarginFraction == 0 || p.maintenanceMarginFraction >= p.initialMarginFraction
                || p.initialMarginFraction > WAD || p.liquidationPenalty * 2 > p.maintenanceMarginFraction
                || p.keeperShare > WAD || p.maxLiquidationFraction == 0 || p.maxLiquidationFraction > WAD
                || p.liquidationBuffer > WAD || p.takerFee > WAD / 10 || p.minPositionMargin > type(uint128).max
        ) revert InvalidParams();
        Market storage m = _markets[marketId];
        m.initialMarginFraction = uint64(p.initialMarginFraction);
        m.maintenanceMarginFraction = uint64(p.maintenanceMarginFraction);
        m.takerFee = uint64(p.takerFee);
        m.liquidationPenalty = uint64(p.liquidationPenalty);
        m.keeperShare = uint64(p.keeperShare);
        m.maxLiquidationFraction = uint64(p.maxLiquidationFraction);
        m.liquidationBuffer = uint64(p.liquidationBuffer);
        m.minPositionMargin = uint128(p.minPositionMargin);
        emit MarketParamsUpdated(marketId, p);
    }

    /// @notice Sets the funding rate (signed WAD per second). Accrues the index with the old rate first.
    function setFundingRate(uint256 marketId, int256 ratePerSecond) external onlyRole(RISK_ROLE) {
        if (marketId >= _markets.length) revert UnknownMarket(marketId);
        Ctx memory c = _ctx(false);
        int256 idx = _accrue(c, marketId);
        Market storage m = _markets[marketId];
        m.fundingRatePerSecond = ratePerSecond.toInt128();
        emit FundingIndexUpdated(marketId, idx, ratePerSecond, block.timestamp);
    }

    function _slotFor(bytes32 oracleId) internal returns (uint16) {
        uint256 s = _slotPlusOne[oracleId];
        if (s == 0) {
            _priceSlots.push(oracleId);
            s = _priceSlots.length;
            _slotPlusOne[oracleId] = s;
        }
        return uint16(s - 1);
    }

    // ================================================================== vault & insurance

    /// @notice Adds USDC to the protocol LP vault (the counterparty of every trade).
    function depositVault(uint256 amount) external nonReentrant {
        uint256 wad = _pullSettlement(amount);
        int256 v = vaultCash + wad.toInt256();
        vaultCash = v;
        emit VaultCashUpdated(v);
    }

    function withdrawVault(address to, uint256 amount) external onlyRole(DEFAULT_ADMIN_ROLE) nonReentrant {
        uint256 wad = _settlementWad(amount);
        int256 v = vaultCash;
        if (v < wad.toInt256()) revert InsufficientVaultCash(v, amount);
        v -= wad.toInt256();
        vaultCash = v;
        emit VaultCashUpdated(v);
        IERC20(_assets[0].token).safeTransfer(to, amount);
    }

    function fundInsurance(uint256 amount) external nonReentrant {
        uint256 wad = _pullSettlement(amount);
        uint256 ins = insuranceFund + wad;
        insuranceFund = ins;
        emit InsuranceFundUpdated(ins);
    }

    function withdrawInsurance(address to, uint256 amount) external onlyRole(DEFAULT_ADMIN_ROLE) nonReentrant {
        uint256 wad = _settlementWad(amount);
        uint256 ins = insuranceFund;
        if (ins < wad) revert InsufficientInsurance(ins, wad);
        ins -= wad;
        insuranceFund = ins;
        emit InsuranceFundUpdated(ins);
        IERC20(_assets[0].token).safeTransfer(to, amount);
    }

    // ================================================================== deposits & withdrawals

    /// @notice Deposits `amount` token units of asset `assetId` (0 = settlement USDC -> cash). Never paused.
    function deposit(uint256 assetId, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        if (assetId >= _assets.length) revert UnknownAsset(assetId);
        AccountData storage acc = _accounts[msg.sender];
        if (assetId == 0) {
            uint256 wad = _pullSettlement(amount);
            int256 cash = acc.cash + wad.toInt256();
            acc.cash = cash;
            emit CashUpdated(msg.sender, cash);
        } else {
            Asset storage a = _assets[assetId];
            uint256 wad = MarginMath.toWad(amount, a.decimals);
            uint256 total = totalCollateral[assetId] + wad;
            if (total > a.depositCap) revert DepositCapExceeded(assetId, total, a.depositCap);
            totalCollateral[assetId] = total;
            uint256 bal = _collateral[msg.sender][assetId] + wad;
            _collateral[msg.sender][assetId] = bal;
            acc.collateralMask |= uint64(1 << assetId);
            IERC20(a.token).safeTransferFrom(msg.sender, address(this), amount);
            emit CollateralUpdated(msg.sender, assetId, bal);
        }
        emit Deposited(msg.sender, assetId, amount);
    }

    /// @notice Withdraws `amount` token units; initial health must be >= 0 afterwards. Blocked while paused.
    function withdraw(uint256 assetId, uint256 amount) external nonReentrant {
        if (paused) revert EnginePaused();
        if (amount == 0) revert ZeroAmount();
        if (assetId >= _assets.length) revert UnknownAsset(assetId);
        AccountData storage acc = _accounts[msg.sender];
        Asset storage a = _assets[assetId];
        uint256 wad = MarginMath.toWad(amount, a.decimals);
        if (assetId == 0) {
            int256 cash = acc.cash;
            if (cash < wad.toInt256()) revert InsufficientCash(cash, amount);
            cash -= wad.toInt256();
            acc.cash = cash;
            emit CashUpdated(msg.sender, cash);
        } else {
            uint256 bal = _collateral[msg.sender][assetId];
            if (bal < wad) revert InsufficientCollateral(bal, wad);
            bal -= wad;
            _collateral[msg.sender][assetId] = bal;
            totalCollateral[assetId] -= wad;
            if (bal == 0) acc.collateralMask &= ~uint64(1 << assetId);
            emit CollateralUpdated(msg.sender, assetId, bal);
        }
        Ctx memory c = _ctx(false);
        Health memory h = _health(c, msg.sender);
        if (h.initialEquity < h.initialMargin.toInt256()) revert InsufficientMargin(h.initialEquity, h.initialMargin);
        IERC20(a.token).safeTransfer(msg.sender, amount);
        emit Withdrawn(msg.sender, assetId, amount);
    }

    // ================================================================== trading

    /// @notice Trades `sizeDelta` (WAD base units, + buy / - sell) at the oracle price against the LP vault.
    ///         priceLimit (WAD, 0 = none): buys need price <= limit, sells need price >= limit.
    function trade(uint256 marketId, int256 sizeDelta, uint256 priceLimit)
        external
        nonReentrant
        returns (uint256 price)
    {
        if (sizeDelta == 0) revert ZeroAmount();
        if (marketId >= _markets.length) revert UnknownMarket(marketId);
        Market storage m = _markets[marketId];
        Ctx memory c = _ctx(true);
        price = _price(c, m.priceSlot);
        if (priceLimit != 0 && (sizeDelta > 0 ? price > priceLimit : price < priceLimit)) {
            revert PriceLimitExceeded(price, priceLimit);
        }
        Position storage pos = _positions[msg.sender][marketId];
        int256 size = pos.size;
        bool reducing = size != 0 && (size > 0) != (sizeDelta > 0)
            && MarginMath.abs(sizeDelta) <= MarginMath.abs(size);
        if (!reducing && paused) revert EnginePaused();

        uint256 fee = MarginMath.mulDivUp(
            MarginMath.notionalUp(MarginMath.abs(sizeDelta), price), m.takerFee, WAD
        );
        (int256 realized,) = _applyFill(c, msg.sender, marketId, sizeDelta, price, fee);
        c.vaultCash += fee.toInt256();
        emit Traded(msg.sender, marketId, sizeDelta, price, fee, realized);
        _flush(c);

        Health memory h = _health(c, msg.sender);
        if (reducing) {
            if (h.equity < h.maintenanceMargin.toInt256()) {
                revert ReductionBelowMaintenance(h.equity, h.maintenanceMargin);
            }
        } else if (h.initialEquity < h.initialMargin.toInt256()) {
            revert InsufficientMargin(h.initialEquity, h.initialMargin);
        }
    }

    /// @dev Settles funding, fills `d` at `price` against the vault, charges `charge` (fee or penalty) to the
    ///      account. The vault receives funding, -realized PnL and (for trades) the fee via c.vaultCash.
    function _applyFill(Ctx memory c, address account, uint256 marketId, int256 d, uint256 price, uint256 charge)
        internal
        returns (int256 realized, int256 cash)
    {
        int256 owed;
        int256 dOn;
        (owed, realized, dOn) = _updatePosition(c, account, marketId, d, price);
        AccountData storage acc = _accounts[account];
        cash = acc.cash - owed + realized - charge.toInt256();
        acc.cash = cash;
        c.vaultCash += owed - realized;
        emit CashUpdated(account, cash);

        VaultPosition storage vp = _vaultPositions[marketId];
        int256 vs = vp.size - d;
        int256 von = vp.openNotional - dOn;
        vp.size = vs;
        vp.openNotional = von;
        emit VaultPositionUpdated(marketId, vs, von);
    }

    function _updatePosition(Ctx memory c, address account, uint256 marketId, int256 d, uint256 price)
        internal
        returns (int256 owed, int256 realized, int256 dOn)
    {
        int256 idx = _accrue(c, marketId);
        Position storage pos = _positions[account][marketId];
        int256 size = pos.size;
        owed = MarginMath.fundingOwed(size, idx, pos.fundingSnapshot);
        int256 newSize;
        int256 newOn;
        (realized, dOn, newSize, newOn) = _fill(size, pos.openNotional, d, price);
        pos.size = newSize;
        pos.openNotional = newOn;
        pos.fundingSnapshot = idx;
        // d != 0, so exactly one of (size == 0, newSize == 0) flips the open-position bit
        if (size == 0 || newSize == 0) _accounts[account].positionMask ^= uint64(1 << marketId);
        if (owed != 0) emit FundingSettled(account, marketId, owed);
        emit PositionUpdated(account, marketId, newSize, newOn, idx);
    }

    /// @dev Pure position arithmetic. Increase: openNotional += ceil(d*p/WAD). Reduction by |d| < |size|:
    ///      closedOn = ceil(on*|d|/|size|), realized = floor(-d*p/WAD) - closedOn. Full close / flip:
    ///      realized = floor(size*p/WAD) - on, remainder opened at ceil(newSize*p/WAD).
    function _fill(int256 size, int256 on, int256 d, uint256 p)
        internal
        pure
        returns (int256 realized, int256 dOn, int256 newSize, int256 newOn)
    {
        newSize = size + d;
        if (size == 0 || (size > 0) == (d > 0)) {
            dOn = MarginMath.sMulDivCeil(d, p, WAD);
            newOn = on + dOn;
        } else {
            uint256 absS = MarginMath.abs(size);
            uint256 absD = MarginMath.abs(d);
            if (absD < absS) {
                int256 closedOn = MarginMath.sMulDivCeil(on, absD, absS);
                realized = MarginMath.sMulDivFloor(-d, p, WAD) - closedOn;
                dOn = -closedOn;
                newOn = on - closedOn;
            } else {
                realized = MarginMath.sMulDivFloor(size, p, WAD) - on;
                newOn = newSize == 0 ? int256(0) : MarginMath.sMulDivCeil(newSize, p, WAD);
                dOn = newOn - on;
            }
        }
    }

    // ================================================================== liquidation

    /// @notice Liquidates part (or all) of `account`'s position in `marketId`. maxSize 0 = no caller cap.
    function liquidate(address account, uint256 marketId, uint256 maxSize)
        external
        nonReentrant
        returns (uint256 sizeClosed)
    {
        Ctx memory c = _ctx(true);
        sizeClosed = _liquidate(c, account, marketId, maxSize, true);
        _flush(c);
    }

    /// @notice Liquidates many accounts; requests that are not (or no longer) liquidatable are skipped with
    ///         LiquidationSkipped instead of reverting. Oracle failures still revert the whole batch.
    function batchLiquidate(LiquidationRequest[] calldata requests)
        external
        nonReentrant
        returns (uint256[] memory sizesClosed)
    {
        Ctx memory c = _ctx(true);
        uint256 n = requests.length;
        sizesClosed = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            LiquidationRequest calldata r = requests[i];
            sizesClosed[i] = _liquidate(c, r.account, r.marketId, r.maxSize, false);
        }
        _flush(c);
    }

    function _skip(bool strict, address account, uint256 marketId, uint8 reason, int256 eq, uint256 mm)
        internal
    {
        if (strict) {
            if (reason == SKIP_UNKNOWN_MARKET) revert UnknownMarket(marketId);
            if (reason == SKIP_SELF_LIQUIDATION) revert SelfLiquidation();
            if (reason == SKIP_NO_POSITION) revert NoPosition(account, marketId);
            revert NotLiquidatable(account, eq, mm);
        }
        emit LiquidationSkipped(account, marketId, reason);
    }

    function _liquidate(Ctx memory c, address account, uint256 marketId, uint256 maxSize, bool strict)
        internal
        returns (uint256 q)
    {
        if (marketId >= _markets.length) {
            _skip(strict, account, marketId, SKIP_UNKNOWN_MARKET, 0, 0);
            return 0;
        }
        if (account == msg.sender) {
            _skip(strict, account, marketId, SKIP_SELF_LIQUIDATION, 0, 0);
            return 0;
        }
        int256 size = _positions[account][marketId].size;
        if (size == 0) {
            _skip(strict, account, marketId, SKIP_NO_POSITION, 0, 0);
            return 0;
        }
        uint256 price;
        {
            Health memory h = _health(c, account);
            if (h.equity >= h.maintenanceMargin.toInt256()) {
                _skip(strict, account, marketId, SKIP_NOT_LIQUIDATABLE, h.equity, h.maintenanceMargin);
                return 0;
            }
            Market storage m = _markets[marketId];
            price = _price(c, m.priceSlot);
            q = _liquidationSize(m, h, MarginMath.abs(size), price, maxSize);
        }
        _executeLiquidation(c, account, marketId, size, q, price);
    }

    function _executeLiquidation(Ctx memory c, address account, uint256 marketId, int256 size, uint256 q, uint256 price)
        internal
    {
        (uint256 penalty, uint256 reward) = _penalty(marketId, q, price);
        int256 sq = q.toInt256();
        if (size > 0) sq = -sq;
        (, int256 cash) = _applyFill(c, account, marketId, sq, price, penalty);
        penalty -= reward; // insurance fee
        c.insurance += penalty;
        c.keeperReward += reward;
        emit Liquidated(account, marketId, msg.sender, q, price, reward, penalty);
        if (cash < 0) _maybeSettle(c, account, cash);
    }

    function _maybeSettle(Ctx memory c, address account, int256 cash) internal {
        AccountData storage acc = _accounts[account];
        if (cash < 0 && acc.positionMask == 0 && acc.collateralMask == 0) _settleBadDebt(c, account, cash);
    }

    /// @dev penalty = ceil(ceil(q*price/WAD) * liquidationPenalty / WAD); reward = floor(penalty * keeperShare / WAD).
    function _penalty(uint256 marketId, uint256 q, uint256 price) internal view returns (uint256 penalty, uint256 reward) {
        Market storage m = _markets[marketId];
        penalty = MarginMath.mulDivUp(MarginMath.notionalUp(q, price), m.liquidationPenalty, WAD);
        reward = MarginMath.mulDivDown(penalty, m.keeperShare, WAD);
    }

    /// @dev Exact sizing, see docs/protocol.md "Liquidation sizing".
    function _liquidationSize(Market storage m, Health memory h, uint256 absS, uint256 price, uint256 maxSize)
        internal
        view
        returns (uint256 q)
    {
        if (h.equity <= 0 || uint256(h.equity) * 2 < h.maintenanceMargin) {
            q = absS; // deep underwater: close fully
        } else {
            uint256 onePlusBuffer = WAD + m.liquidationBuffer;
            uint256 target = MarginMath.mulDivUp(h.maintenanceMargin, onePlusBuffer, WAD);
            uint256 deficit = target - uint256(h.equity);
            uint256 mmf = m.maintenanceMarginFraction;
            uint256 denom = MarginMath.mulDivDown(mmf, onePlusBuffer, WAD) - m.liquidationPenalty;
            uint256 notional = MarginMath.mulDivUp(deficit, WAD, denom);
            q = MarginMath.mulDivUp(notional, WAD, price);
            uint256 cap = MarginMath.mulDivUp(absS, m.maxLiquidationFraction, WAD);
            if (q > cap) q = cap;
            if (q >= absS) {
                q = absS;
            } else if (MarginMath.marginRequirement(absS - q, price, mmf) < m.minPositionMargin) {
                q = absS; // remainder would be dust
            }
        }
        if (maxSize != 0 && q > maxSize) q = maxSize;
    }

    /// @notice Buys collateral of an account with negative cash, no open positions and equity < 0 at a
    ///         discount; the liquidator pays USDC which is credited to the account's cash.
    ///         maxAmount (token units) 0 = no cap. Returns (amount seized in token units, USDC paid in token units).
    function liquidateCollateral(address account, uint256 assetId, uint256 maxAmount)
        external
        nonReentrant
        returns (uint256 amount, uint256 payment)
    {
        if (assetId == 0 || assetId >= _assets.length) revert UnknownAsset(assetId);
        if (account == msg.sender) revert SelfLiquidation();
        AccountData storage acc = _accounts[account];
        int256 cash = acc.cash;
        uint256 bal = _collateral[account][assetId];
        if (cash >= 0 || acc.positionMask != 0 || bal == 0) revert CollateralNotLiquidatable(account);
        Ctx memory c = _ctx(true);
        {
            Health memory h = _health(c, account);
            if (h.equity >= 0) revert NotLiquidatable(account, h.equity, h.maintenanceMargin);
        }
        uint256 price;
        uint256 amountWad;
        uint256 paymentWad;
        (amount, amountWad, payment, paymentWad, price) = _collateralSale(c, assetId, cash, bal, maxAmount);

        bal -= amountWad;
        _collateral[account][assetId] = bal;
        totalCollateral[assetId] -= amountWad;
        if (bal == 0) acc.collateralMask &= ~uint64(1 << assetId);
        cash += paymentWad.toInt256();
        acc.cash = cash;
        emit CollateralUpdated(account, assetId, bal);
        emit CashUpdated(account, cash);
        emit CollateralLiquidated(account, assetId, msg.sender, amount, price, payment);
        if (cash < 0 && acc.collateralMask == 0) _settleBadDebt(c, account, cash);
        _flush(c);

        IERC20(_assets[0].token).safeTransferFrom(msg.sender, address(this), payment);
        IERC20(_assets[assetId].token).safeTransfer(msg.sender, amount);
    }

    /// @dev Sizing of a collateral sale, see docs/protocol.md "Collateral liquidation".
    function _collateralSale(Ctx memory c, uint256 assetId, int256 cash, uint256 bal, uint256 maxAmount)
        internal
        view
        returns (uint256 amount, uint256 amountWad, uint256 payment, uint256 paymentWad, uint256 price)
    {
        Asset storage a = _assets[assetId];
        price = _price(c, a.priceSlot);
        uint256 discPrice = MarginMath.mulDivDown(price, WAD - a.liquidationDiscount, WAD);
        uint256 scale = 10 ** (18 - uint256(a.decimals));
        uint256 needed = MarginMath.mulDivUp(uint256(-cash), WAD, discPrice);
        amount = (needed + scale - 1) / scale;
        uint256 balUnits = bal / scale;
        if (amount > balUnits) amount = balUnits;
        if (maxAmount != 0 && amount > maxAmount) amount = maxAmount;
        if (amount == 0) revert ZeroAmount();
        amountWad = amount * scale;
        uint256 payWad = MarginMath.mulDivUp(amountWad, discPrice, WAD);
        uint256 sScale = 10 ** (18 - uint256(_assets[0].decimals));
        payment = (payWad + sScale - 1) / sScale;
        paymentWad = payment * sScale;
    }

    /// @notice Settles negative cash of an account with no positions and no collateral: insurance first,
    ///         the rest is socialized to the LP vault.
    function settleBadDebt(address account) external nonReentrant {
        AccountData storage acc = _accounts[account];
        int256 cash = acc.cash;
        if (cash >= 0 || acc.positionMask != 0 || acc.collateralMask != 0) revert NoBadDebt(account);
        Ctx memory c = _ctx(true);
        _settleBadDebt(c, account, cash);
        _flush(c);
    }

    function _settleBadDebt(Ctx memory c, address account, int256 cash) internal {
        uint256 debt = uint256(-cash);
        uint256 cover = debt < c.insurance ? debt : c.insurance;
        c.insurance -= cover;
        uint256 social = debt - cover;
        c.vaultCash -= social.toInt256();
        _accounts[account].cash = 0;
        emit CashUpdated(account, 0);
        emit BadDebt(account, cover, social);
    }

    // ================================================================== internals: context, prices, funding

    function _ctx(bool withGlobals) internal view returns (Ctx memory c) {
        c.prices = new uint256[](_priceSlots.length);
        uint256 nm = _markets.length;
        c.index = new int256[](nm);
        c.indexState = new uint8[](nm);
        if (withGlobals) {
            c.vaultCash = c.vaultCash0 = vaultCash;
            c.insurance = c.insurance0 = insuranceFund;
        }
    }

    function _flush(Ctx memory c) internal {
        if (c.vaultCash != c.vaultCash0) {
            vaultCash = c.vaultCash;
            c.vaultCash0 = c.vaultCash;
            emit VaultCashUpdated(c.vaultCash);
        }
        if (c.insurance != c.insurance0) {
            insuranceFund = c.insurance;
            c.insurance0 = c.insurance;
            emit InsuranceFundUpdated(c.insurance);
        }
        if (c.keeperReward != 0) {
            AccountData storage k = _accounts[msg.sender];
            int256 kc = k.cash + c.keeperReward.toInt256();
            k.cash = kc;
            c.keeperReward = 0;
            emit CashUpdated(msg.sender, kc);
        }
    }

    function _price(Ctx memory c, uint256 slot) internal view returns (uint256 p) {
        p = c.prices[slot];
        if (p == 0) {
            p = oracle.getPrice(_priceSlots[slot]);
            c.prices[slot] = p;
        }
    }

    /// @dev Current funding index including pending accrual up to block.timestamp (not written).
    function _index(Ctx memory c, uint256 marketId) internal view returns (int256 idx) {
        if (c.indexState[marketId] != 0) return c.index[marketId];
        Market storage m = _markets[marketId];
        idx = m.fundingIndex;
        uint256 last = m.lastFundingTime;
        int256 rate = m.fundingRatePerSecond;
        if (rate != 0 && block.timestamp > last) {
            idx += MarginMath.fundingIndexDelta(rate, _price(c, m.priceSlot), block.timestamp - last);
        }
        c.index[marketId] = idx;
        c.indexState[marketId] = 1;
    }

    /// @dev Writes the accrued index to storage (once per call per market).
    function _accrue(Ctx memory c, uint256 marketId) internal returns (int256 idx) {
        idx = _index(c, marketId);
        if (c.indexState[marketId] == 2) return idx;
        c.indexState[marketId] = 2;
        Market storage m = _markets[marketId];
        if (m.lastFundingTime != block.timestamp) {
            m.fundingIndex = idx.toInt192();
            m.lastFundingTime = uint64(block.timestamp);
            emit FundingIndexUpdated(marketId, idx, m.fundingRatePerSecond, block.timestamp);
        }
    }

    function _health(Ctx memory c, address account) internal view returns (Health memory h) {
        AccountData storage acc = _accounts[account];
        int256 cash = acc.cash;
        h.equity = cash;
        h.initialEquity = cash;
        uint256 mask = acc.collateralMask;
        for (uint256 i = 1; (mask >> i) != 0; ++i) {
            if ((mask >> i) & 1 == 0) continue;
            Asset storage a = _assets[i];
            uint256 bal = _collateral[account][i];
            uint256 valueRaw = MarginMath.mulDivDown(bal, _price(c, a.priceSlot), WAD);
            h.equity += MarginMath.mulDivDown(valueRaw, a.maintenanceWeight, WAD).toInt256();
            h.initialEquity += MarginMath.mulDivDown(valueRaw, a.initialWeight, WAD).toInt256();
        }
        mask = acc.positionMask;
        for (uint256 i; (mask >> i) != 0; ++i) {
            if ((mask >> i) & 1 == 0) continue;
            Market storage m = _markets[i];
            Position storage pos = _positions[account][i];
            int256 size = pos.size;
            uint256 p = _price(c, m.priceSlot);
            int256 pnl = MarginMath.positionValue(size, p) - pos.openNotional
                - MarginMath.fundingOwed(size, _index(c, i), pos.fundingSnapshot);
            h.equity += pnl;
            h.initialEquity += pnl;
            uint256 notional = MarginMath.notionalUp(MarginMath.abs(size), p);
            uint256 minMargin = m.minPositionMargin;
            h.maintenanceMargin += MarginMath.mulDivUp(notional, m.maintenanceMarginFraction, WAD) + minMargin;
            h.initialMargin += MarginMath.mulDivUp(notional, m.initialMarginFraction, WAD) + minMargin;
        }
    }

    function _settlementWad(uint256 amount) internal view returns (uint256) {
        if (amount == 0) revert ZeroAmount();
        return MarginMath.toWad(amount, _assets[0].decimals);
    }

    function _pullSettlement(uint256 amount) internal returns (uint256 wad) {
        wad = _settlementWad(amount);
        IERC20(_assets[0].token).safeTransferFrom(msg.sender, address(this), amount);
    }

    // ================================================================== views

    /// @notice Maintenance equity, initial margin and maintenance margin (liquidatable iff equity < MM).
    function health(address account)
        external
        view
        returns (int256 equity, uint256 initialMargin, uint256 maintenanceMargin)
    {
        Health memory h = _health(_ctx(false), account);
        return (h.equity, h.initialMargin, h.maintenanceMargin);
    }

    /// @notice Full health including initial equity (initial health = initialEquity - initialMargin).
    function healthDetail(address account) external view returns (Health memory) {
        return _health(_ctx(false), account);
    }

    function healthBatch(address[] calldata accounts) external view returns (Health[] memory out) {
        Ctx memory c = _ctx(false);
        out = new Health[](accounts.length);
        for (uint256 i; i < accounts.length; ++i) {
            out[i] = _health(c, accounts[i]);
        }
    }

    function isLiquidatable(address account) external view returns (bool) {
        Health memory h = _health(_ctx(false), account);
        return h.equity < h.maintenanceMargin.toInt256();
    }

    function accountState(address account) external view returns (AccountState memory s) {
        Ctx memory c = _ctx(false);
        AccountData storage acc = _accounts[account];
        s.cash = acc.cash;
        uint256 na = _assets.length;
        s.collateral = new uint256[](na);
        for (uint256 i = 1; i < na; ++i) {
            s.collateral[i] = _collateral[account][i];
        }
        uint256 mask = acc.positionMask;
        uint256 n;
        for (uint256 i; (mask >> i) != 0; ++i) {
            if ((mask >> i) & 1 != 0) ++n;
        }
        s.positions = new PositionState[](n);
        n = 0;
        for (uint256 i; (mask >> i) != 0; ++i) {
            if ((mask >> i) & 1 == 0) continue;
            Position storage pos = _positions[account][i];
            uint256 p = _price(c, _markets[i].priceSlot);
            s.positions[n++] = PositionState(
                i,
                pos.size,
                pos.openNotional,
                pos.fundingSnapshot,
                MarginMath.positionValue(pos.size, p) - pos.openNotional,
                MarginMath.fundingOwed(pos.size, _index(c, i), pos.fundingSnapshot)
            );
        }
        Health memory h = _health(c, account);
        s.equity = h.equity;
        s.initialEquity = h.initialEquity;
        s.initialMargin = h.initialMargin;
        s.maintenanceMargin = h.maintenanceMargin;
    }

    function assetCount() external view returns (uint256) {
        return _assets.length;
    }

    function marketCount() external view returns (uint256) {
        return _markets.length;
    }

    function getAsset(uint256 assetId) external view returns (Asset memory) {
        if (assetId >= _assets.length) revert UnknownAsset(assetId);
        return _assets[assetId];
    }

    function getMarket(uint256 marketId) external view returns (Market memory) {
        if (marketId >= _markets.length) revert UnknownMarket(marketId);
        return _markets[marketId];
    }

    /// @notice Funding index including pending accrual up to block.timestamp.
    function fundingIndex(uint256 marketId) external view returns (int256) {
        if (marketId >= _markets.length) revert UnknownMarket(marketId);
        return _index(_ctx(false), marketId);
    }

    function fundingIndices() external view returns (int256[] memory out) {
        Ctx memory c = _ctx(false);
        uint256 nm = _markets.length;
        out = new int256[](nm);
        for (uint256 i; i < nm; ++i) {
            out[i] = _index(c, i);
        }
    }

    function getPosition(address account, uint256 marketId) external view returns (Position memory) {
        return _positions[account][marketId];
    }

    function getVaultPosition(uint256 marketId) external view returns (VaultPosition memory) {
        return _vaultPositions[marketId];
    }

    function collateralOf(address account, uint256 assetId) external view returns (uint256) {
        return _collateral[account][assetId];
    }

    function cashOf(address account) external view returns (int256) {
        return _accounts[account].cash;
    }

    function accountMasks(address account) external view returns (uint64 positionMask, uint64 collateralMask) {
        AccountData storage acc = _accounts[account];
        return (acc.positionMask, acc.collateralMask);
    }
}
