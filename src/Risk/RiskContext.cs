using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Risk;

/// <summary>Thrown where the contract's oracle read would revert (no valid price for the slot).</summary>
public sealed class PriceUnavailableException : InvalidOperationException
{
    /// <summary>Creates the exception for a price slot.</summary>
    public PriceUnavailableException(int slot) : base($"no price for oracle slot {slot}") => Slot = slot;

    /// <summary>The slot that had no price.</summary>
    public int Slot { get; }
}

/// <summary>
/// The contract's per-call context (<c>Ctx</c>): the prices of every oracle slot and the funding index of every
/// market at one timestamp (the block the call would run in). Indices include pending accrual up to
/// <see cref="Timestamp"/> valued at the current price, exactly like the engine's <c>_index</c>:
/// <c>index = fundingIndex + (rate != 0 &amp;&amp; now &gt; last ? floor(rate*(price*(now-last))/WAD) : 0)</c>.
/// A market whose index computation would revert (price missing, overflow) only throws when it is used,
/// as on chain, where the index is computed lazily.
/// </summary>
public sealed class RiskContext
{
    private readonly UInt256[] _prices;
    private readonly Int256[] _index;
    private readonly Exception?[] _indexError;

    /// <summary>Builds a context; <paramref name="prices"/> are WAD per slot (0 = unavailable).</summary>
    public RiskContext(RiskConfig config, ReadOnlySpan<FundingState> funding, ReadOnlySpan<UInt256> prices, ulong timestamp)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (funding.Length != config.MarketCount) throw new ArgumentException("one funding state per market", nameof(funding));
        if (prices.Length != config.PriceSlotCount) throw new ArgumentException("one price per slot", nameof(prices));
        Config = config;
        Timestamp = timestamp;
        _prices = prices.ToArray();
        Funding = funding.ToArray();
        _index = new Int256[config.MarketCount];
        _indexError = new Exception?[config.MarketCount];
        for (int m = 0; m < config.MarketCount; m++)
        {
            try
            {
                _index[m] = IndexAt(Funding[m], config.Markets[m].PriceSlot, timestamp);
            }
            catch (ArithmeticException e)
            {
                _indexError[m] = e;
            }
            catch (PriceUnavailableException e)
            {
                _indexError[m] = e;
            }
        }
    }

    /// <summary>The configuration.</summary>
    public RiskConfig Config { get; }

    /// <summary>block.timestamp of the simulated call.</summary>
    public ulong Timestamp { get; }

    /// <summary>Stored funding state per market (before the pending accrual).</summary>
    public FundingState[] Funding { get; }

    /// <summary>The raw price array (0 = unavailable).</summary>
    public ReadOnlySpan<UInt256> Prices => _prices;

    /// <summary>The price of a slot; throws <see cref="PriceUnavailableException"/> as the oracle would revert.</summary>
    public UInt256 Price(int slot)
    {
        UInt256 p = _prices[slot];
        if (p.IsZero) throw new PriceUnavailableException(slot);
        return p;
    }

    /// <summary>The funding index of a market at <see cref="Timestamp"/> (throws if the contract would revert).</summary>
    public Int256 Index(int marketId)
    {
        Exception? e = _indexError[marketId];
        if (e is not null) throw e is PriceUnavailableException pu ? new PriceUnavailableException(pu.Slot) : new OverflowException(e.Message, e);
        return _index[marketId];
    }

    /// <summary>True when <see cref="Index"/> would not throw.</summary>
    public bool IndexAvailable(int marketId) => _indexError[marketId] is null;

    private Int256 IndexAt(FundingState f, int slot, ulong now)
    {
        if (f.RatePerSecond.IsZero || now <= f.LastFundingTime) return f.Index;
        return checked(f.Index + RiskMath.FundingIndexDelta(f.RatePerSecond, Price(slot), now - f.LastFundingTime));
    }

    /// <summary>
    /// The contract's <c>_index</c> for a single market, as a pure function: the stored index plus the pending
    /// accrual to <paramref name="now"/> at <paramref name="price"/>.
    /// </summary>
    public static Int256 FundingIndexAt(FundingState f, UInt256 price, ulong now)
    {
        if (f.RatePerSecond.IsZero || now <= f.LastFundingTime) return f.Index;
        if (price.IsZero) throw new PriceUnavailableException(-1);
        return checked(f.Index + RiskMath.FundingIndexDelta(f.RatePerSecond, price, now - f.LastFundingTime));
    }
}

/// <summary>The health computation (<c>_health</c>, docs/protocol.md §6) on exact 256-bit integers.</summary>
public static class Margin
{
    /// <summary>
    /// Health of an account in a context, exactly as <c>healthDetail</c>/<c>healthBatch</c> return it. Throws
    /// where the contract would revert.
    /// </summary>
    public static Health ComputeHealth(RiskContext ctx, AccountState account)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(account);
        RiskConfig cfg = ctx.Config;
        Int256 equity = account.Cash;
        Int256 initialEquity = account.Cash;
        UInt256 im = UInt256.Zero, mm = UInt256.Zero;
        UInt256[] coll = account.Collateral;
        for (int i = 1; i < coll.Length; i++)
        {
            UInt256 bal = coll[i];
            if (bal.IsZero) continue;
            AssetParams a = cfg.Assets[i];
            UInt256 raw = RiskMath.MulDivDown(bal, ctx.Price(a.PriceSlot), RiskMath.Wad);
            equity = checked(equity + RiskMath.ToInt256(RiskMath.MulDivDown(raw, a.MaintenanceWeight, RiskMath.Wad)));
            initialEquity = checked(initialEquity + RiskMath.ToInt256(RiskMath.MulDivDown(raw, a.InitialWeight, RiskMath.Wad)));
        }
        Position[] pos = account.Positions;
        for (int m = 0; m < pos.Length; m++)
        {
            Position p = pos[m];
            if (p.Size.IsZero) continue;
            MarketParams mk = cfg.Markets[m];
            UInt256 price = ctx.Price(mk.PriceSlot);
            Int256 pnl = checked(checked(RiskMath.PositionValue(p.Size, price) - p.OpenNotional)
                - RiskMath.FundingOwed(p.Size, ctx.Index(m), p.FundingSnapshot));
            equity = checked(equity + pnl);
            initialEquity = checked(initialEquity + pnl);
            UInt256 notional = RiskMath.NotionalUp(RiskMath.Abs(p.Size), price);
            UInt256 minMargin = mk.MinPositionMargin;
            mm = checked(mm + checked(RiskMath.MulDivUp(notional, mk.MaintenanceMarginFraction, RiskMath.Wad) + minMargin));
            im = checked(im + checked(RiskMath.MulDivUp(notional, mk.InitialMarginFraction, RiskMath.Wad) + minMargin));
        }
        return new Health(equity, initialEquity, im, mm);
    }

    /// <summary>
    /// Per-position view of <c>accountState</c>: unrealized PnL floor(size*p/WAD) − openNotional and the pending
    /// funding owed.
    /// </summary>
    public static (Int256 UnrealizedPnl, Int256 PendingFunding) PositionPnl(RiskContext ctx, Position p, int marketId)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        UInt256 price = ctx.Price(ctx.Config.Markets[marketId].PriceSlot);
        return (checked(RiskMath.PositionValue(p.Size, price) - p.OpenNotional),
            RiskMath.FundingOwed(p.Size, ctx.Index(marketId), p.FundingSnapshot));
    }

    /// <summary>
    /// Isolated versus cross margin need of an account (information for risk reports, not a contract figure).
    /// For each open position i: IM_i = ceil(notional_i·IMF/WAD) + minPositionMargin and
    /// pnl_i = floor(size·p/WAD) − openNotional − fundingOwed. Isolated need = Σ_i max(0, IM_i − pnl_i): the
    /// initial-weighted collateral each position would need if it stood alone, where a position's own gain only
    /// offsets its own requirement. Cross need = max(0, Σ IM_i − Σ pnl_i): what the contract actually requires
    /// from cash plus initial-weighted collateral, because gains and losses net across positions. Cross ≤ isolated.
    /// </summary>
    public static (UInt256 Isolated, UInt256 Cross) IsolatedVersusCross(RiskContext ctx, AccountState account)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(account);
        UInt256 isolated = UInt256.Zero;
        Int256 totalIm = Int256.Zero, totalPnl = Int256.Zero;
        for (int m = 0; m < account.Positions.Length; m++)
        {
            Position p = account.Positions[m];
            if (p.Size.IsZero) continue;
            MarketParams mk = ctx.Config.Markets[m];
            (Int256 upnl, Int256 owed) = PositionPnl(ctx, p, m);
            Int256 pnl = checked(upnl - owed);
            UInt256 notional = RiskMath.NotionalUp(RiskMath.Abs(p.Size), ctx.Price(mk.PriceSlot));
            Int256 imI = RiskMath.ToInt256(checked(RiskMath.MulDivUp(notional, mk.InitialMarginFraction, RiskMath.Wad) + (UInt256)mk.MinPositionMargin));
            Int256 need = checked(imI - pnl);
            if (need.IsPositive) isolated = checked(isolated + need.Bits);
            totalIm = checked(totalIm + imI);
            totalPnl = checked(totalPnl + pnl);
        }
        Int256 cross = checked(totalIm - totalPnl);
        return (isolated, cross.IsPositive ? cross.Bits : UInt256.Zero);
    }
}
