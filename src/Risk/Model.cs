using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Risk;

/// <summary>
/// Mirror of the contract's <c>Asset</c> struct (the fields that enter the math). Asset 0 is the settlement asset
/// (held as cash, valued at par); collateral assets are 1..n-1.
/// </summary>
/// <param name="Decimals">Token decimals (&lt;= 18).</param>
/// <param name="PriceSlot">Index into the price set (one slot per distinct oracle id).</param>
/// <param name="InitialWeight">WAD multiplier used for initial equity.</param>
/// <param name="MaintenanceWeight">WAD multiplier used for (maintenance) equity.</param>
/// <param name="LiquidationDiscount">WAD discount of <c>liquidateCollateral</c>.</param>
/// <param name="DepositCap">WAD cap on the total of all balances.</param>
public readonly record struct AssetParams(
    byte Decimals,
    ushort PriceSlot,
    ulong InitialWeight,
    ulong MaintenanceWeight,
    ulong LiquidationDiscount,
    UInt256 DepositCap);

/// <summary>Mirror of the static part of the contract's <c>Market</c> struct. All fractions are WAD.</summary>
public readonly record struct MarketParams(
    ushort PriceSlot,
    ulong InitialMarginFraction,
    ulong MaintenanceMarginFraction,
    ulong TakerFee,
    ulong LiquidationPenalty,
    ulong KeeperShare,
    ulong MaxLiquidationFraction,
    ulong LiquidationBuffer,
    UInt128 MinPositionMargin);

/// <summary>
/// Funding state of one market as stored on chain: <c>fundingIndex</c> (int192) at <c>lastFundingTime</c> and
/// <c>fundingRatePerSecond</c> (int128). Take it from storage (<c>getMarket</c>) or from <c>FundingIndexUpdated</c>.
/// </summary>
public readonly record struct FundingState(Int256 Index, Int256 RatePerSecond, ulong LastFundingTime);

/// <summary>One position: size (WAD base units, signed), open notional (WAD USD, same sign) and funding snapshot.</summary>
public readonly record struct Position(Int256 Size, Int256 OpenNotional, Int256 FundingSnapshot)
{
    /// <summary>True when the position is open (the contract's mask bit).</summary>
    public bool IsOpen => !Size.IsZero;
}

/// <summary>Protocol configuration: assets (index = asset id, entry 0 = settlement) and markets (index = market id).</summary>
public sealed class RiskConfig
{
    /// <summary>Creates a configuration; validates ids and slots against the contract's limits.</summary>
    public RiskConfig(IReadOnlyList<AssetParams> assets, IReadOnlyList<MarketParams> markets, int priceSlotCount)
    {
        ArgumentNullException.ThrowIfNull(assets);
        ArgumentNullException.ThrowIfNull(markets);
        if (assets.Count is < 1 or > 64) throw new ArgumentException("1..64 assets (asset 0 = settlement)", nameof(assets));
        if (markets.Count > 64) throw new ArgumentException("at most 64 markets", nameof(markets));
        if (priceSlotCount is < 0 or > 128) throw new ArgumentOutOfRangeException(nameof(priceSlotCount));
        Assets = [.. assets];
        Markets = [.. markets];
        PriceSlotCount = priceSlotCount;
        for (int i = 1; i < Assets.Length; i++)
        {
            if (Assets[i].PriceSlot >= priceSlotCount) throw new ArgumentException($"asset {i}: price slot out of range");
        }
        for (int i = 0; i < Markets.Length; i++)
        {
            if (Markets[i].PriceSlot >= priceSlotCount) throw new ArgumentException($"market {i}: price slot out of range");
        }
    }

    /// <summary>Assets by id (0 = settlement asset, not read by the health math).</summary>
    public AssetParams[] Assets { get; }

    /// <summary>Markets by id.</summary>
    public MarketParams[] Markets { get; }

    /// <summary>Number of oracle price slots.</summary>
    public int PriceSlotCount { get; }

    /// <summary>Number of assets including the settlement asset.</summary>
    public int AssetCount => Assets.Length;

    /// <summary>Number of markets.</summary>
    public int MarketCount => Markets.Length;
}

/// <summary>
/// One account as stored on chain: signed cash, WAD collateral balances by asset id (index 0 unused) and
/// positions by market id. The contract's masks are implied (bit set ⇔ value non-zero), which is the contract's
/// own invariant.
/// </summary>
public sealed class AccountState
{
    /// <summary>Creates an empty account sized for <paramref name="config"/>.</summary>
    public AccountState(RiskConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        Collateral = new UInt256[config.AssetCount];
        Positions = new Position[config.MarketCount];
    }

    private AccountState(Int256 cash, UInt256[] collateral, Position[] positions)
    {
        Cash = cash;
        Collateral = collateral;
        Positions = positions;
    }

    /// <summary>Signed settlement cash (WAD USD).</summary>
    public Int256 Cash { get; set; }

    /// <summary>Collateral balances (WAD) by asset id; entry 0 is ignored (settlement is cash).</summary>
    public UInt256[] Collateral { get; }

    /// <summary>Positions by market id; a zero size means no position.</summary>
    public Position[] Positions { get; }

    /// <summary>The contract's <c>positionMask</c>.</summary>
    public ulong PositionMask
    {
        get
        {
            ulong m = 0;
            for (int i = 0; i < Positions.Length; i++) if (Positions[i].IsOpen) m |= 1UL << i;
            return m;
        }
    }

    /// <summary>The contract's <c>collateralMask</c> (bit 0 never set).</summary>
    public ulong CollateralMask
    {
        get
        {
            ulong m = 0;
            for (int i = 1; i < Collateral.Length; i++) if (!Collateral[i].IsZero) m |= 1UL << i;
            return m;
        }
    }

    /// <summary>Deep copy.</summary>
    public AccountState Clone() => new(Cash, (UInt256[])Collateral.Clone(), (Position[])Positions.Clone());
}

/// <summary>The contract's <c>Health</c> struct plus the derived classification.</summary>
public readonly record struct Health(Int256 Equity, Int256 InitialEquity, UInt256 InitialMargin, UInt256 MaintenanceMargin)
{
    /// <summary>Scale of <see cref="MarginRatio"/>: 1e9 means equity == maintenance margin.</summary>
    public const long RatioScale = 1_000_000_000L;

    /// <summary>
    /// The contract's <c>isLiquidatable</c>: <c>equity &lt; int256(MM)</c> (the cast reverts for MM &gt;= 2^255,
    /// which throws here).
    /// </summary>
    public bool IsLiquidatable => Equity < RiskMath.ToInt256(MaintenanceMargin);

    /// <summary>Initial health <c>initialEquity − IM</c> (what withdrawals and risk-increasing trades need ≥ 0).</summary>
    public Int256 InitialHealth => checked(InitialEquity - RiskMath.ToInt256(InitialMargin));

    /// <summary>
    /// Classification (most severe first):
    /// <see cref="AccountStatus.Insolvent"/> ⇔ equity &lt; 0;
    /// <see cref="AccountStatus.Deep"/> ⇔ liquidatable, equity ≥ 0 and the contract would close fully
    /// (equity == 0 or 2·equity &lt; MM);
    /// <see cref="AccountStatus.Liquidatable"/> ⇔ equity &lt; MM (partial sizing applies);
    /// <see cref="AccountStatus.Restricted"/> ⇔ initialEquity &lt; IM (no withdrawals or risk increases);
    /// otherwise <see cref="AccountStatus.Healthy"/>.
    /// </summary>
    public AccountStatus Status
    {
        get
        {
            if (Equity.IsNegative) return AccountStatus.Insolvent;
            if (IsLiquidatable)
            {
                return Equity.IsZero || (Equity.Bits << 1) < MaintenanceMargin ? AccountStatus.Deep : AccountStatus.Liquidatable;
            }
            return InitialEquity < RiskMath.ToInt256(InitialMargin) ? AccountStatus.Restricted : AccountStatus.Healthy;
        }
    }

    /// <summary>
    /// floor(equity·1e9 / MM), clamped to [−long.MaxValue, long.MaxValue]. With MM == 0 (no positions) it is
    /// long.MaxValue for equity ≥ 0 and −long.MaxValue for equity &lt; 0. Exact in all cases:
    /// <c>MarginRatio &lt; 1e9</c> ⇔ <see cref="IsLiquidatable"/>.
    /// </summary>
    public long MarginRatio => RatioOf(Equity, MaintenanceMargin);

    /// <summary>Shortfall to maintenance, max(0, MM − equity).</summary>
    public UInt256 MaintenanceShortfall
    {
        get
        {
            Int256 mm = RiskMath.ToInt256(MaintenanceMargin);
            return Equity < mm ? checked(mm - Equity).Bits : UInt256.Zero;
        }
    }

    internal static long RatioOf(Int256 equity, UInt256 mm)
    {
        if (mm.IsZero) return equity.IsNegative ? -long.MaxValue : long.MaxValue;
        UInt256 mag = equity.UnsignedAbs;
        // floor(mag/mm) >= 2^64 means the scaled ratio is far outside the long range (and mag·1e9/mm could exceed 2^256).
        if (!(mag / mm).FitsInUInt64) return equity.IsNegative ? -long.MaxValue : long.MaxValue;
        UInt256 scale = new((ulong)RatioScale);
        if (!equity.IsNegative)
        {
            UInt256 q = UInt256.MulDiv(mag, scale, mm);
            return q > new UInt256((ulong)long.MaxValue) ? long.MaxValue : (long)q.u0;
        }
        UInt256 qu = UInt256.MulDivUp(mag, scale, mm);
        return qu > new UInt256((ulong)long.MaxValue) ? -long.MaxValue : -(long)qu.u0;
    }
}

/// <summary>Account classification, by increasing severity. See <see cref="Health.Status"/>.</summary>
public enum AccountStatus : byte
{
    /// <summary>initialEquity ≥ IM and equity ≥ MM.</summary>
    Healthy = 0,
    /// <summary>Below initial margin but not liquidatable: only reductions and deposits are allowed.</summary>
    Restricted = 1,
    /// <summary>equity &lt; MM; the contract would close a partial, sized amount.</summary>
    Liquidatable = 2,
    /// <summary>Liquidatable with 0 ≤ equity and (equity == 0 or 2·equity &lt; MM): the contract closes fully.</summary>
    Deep = 3,
    /// <summary>equity &lt; 0: liquidatable if it has positions; bad debt if closed out at the oracle price.</summary>
    Insolvent = 4,
    /// <summary>The contract's health view itself would revert (overflow or missing price).</summary>
    Reverts = 5,
}
