using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Risk;

/// <summary>Result of the pure position arithmetic of a fill (<c>_fill</c>, docs/protocol.md §7.3).</summary>
public readonly record struct FillResult(Int256 Realized, Int256 DeltaOpenNotional, Int256 NewSize, Int256 NewOpenNotional);

/// <summary>Reason codes of <c>LiquidationSkipped</c> (the contract's SKIP_* constants); 0 = executed.</summary>
public enum SkipReason : byte
{
    /// <summary>Executed.</summary>
    None = 0,
    /// <summary>equity ≥ MM.</summary>
    NotLiquidatable = 1,
    /// <summary>No position in the market.</summary>
    NoPosition = 2,
    /// <summary>Market id out of range.</summary>
    UnknownMarket = 3,
    /// <summary>The account is the liquidator.</summary>
    SelfLiquidation = 4,
}

/// <summary>One liquidation request (the contract's <c>LiquidationRequest</c>).</summary>
public readonly record struct LiquidationRequest(Address Account, int MarketId, UInt256 MaxSize);

/// <summary>
/// The predicted outcome of one liquidation: the <c>Liquidated</c> event fields (size, price, reward, fee) or the
/// skip reason, plus the settlement details and the account's health before and after.
/// </summary>
public readonly record struct LiquidationOutcome(
    Address Account,
    int MarketId,
    SkipReason Skip,
    UInt256 SizeClosed,
    UInt256 Price,
    UInt256 KeeperReward,
    UInt256 InsuranceFee,
    Int256 FundingSettled,
    Int256 RealizedPnl,
    Health HealthBefore,
    Health HealthAfter,
    UInt256 BadDebtCovered,
    UInt256 BadDebtSocialized)
{
    /// <summary>True when a <c>Liquidated</c> event would be emitted.</summary>
    public bool Executed => Skip == SkipReason.None;
}

/// <summary>Liquidation sizing, penalty split and fills: exact mirrors of the engine's internals.</summary>
public static class Liquidation
{
    /// <summary>
    /// <c>_liquidationSize</c>: deep accounts (equity ≤ 0 or 2·equity &lt; MM) close fully; otherwise
    /// q = ceil(ceil(deficit·WAD/denom)·WAD/p) with target = ceil(MM(1+b)), deficit = target − equity,
    /// denom = floor(MMF(1+b)) − π, capped at ceil(|S|·maxFraction), and a dust remainder (its maintenance
    /// requirement below minPositionMargin) closes fully. The caller's maxSize (0 = none) caps last.
    /// </summary>
    public static UInt256 Size(in MarketParams m, in Health h, UInt256 absS, UInt256 price, UInt256 maxSize)
    {
        UInt256 q;
        if (!h.Equity.IsPositive || (h.Equity.Bits << 1) < h.MaintenanceMargin)
        {
            q = absS;
        }
        else
        {
            UInt256 wad = RiskMath.Wad;
            UInt256 onePlusBuffer = checked(wad + m.LiquidationBuffer);
            UInt256 target = RiskMath.MulDivUp(h.MaintenanceMargin, onePlusBuffer, wad);
            UInt256 deficit = checked(target - h.Equity.Bits);
            UInt256 mmf = m.MaintenanceMarginFraction;
            UInt256 denom = checked(RiskMath.MulDivDown(mmf, onePlusBuffer, wad) - m.LiquidationPenalty);
            UInt256 notional = RiskMath.MulDivUp(deficit, wad, denom);
            q = RiskMath.MulDivUp(notional, wad, price);
            UInt256 cap = RiskMath.MulDivUp(absS, m.MaxLiquidationFraction, wad);
            if (q > cap) q = cap;
            if (q >= absS)
            {
                q = absS;
            }
            else if (RiskMath.MarginRequirement(checked(absS - q), price, mmf) < (UInt256)m.MinPositionMargin)
            {
                q = absS;
            }
        }
        if (!maxSize.IsZero && q > maxSize) q = maxSize;
        return q;
    }

    /// <summary>penalty = ceil(ceil(q·p/WAD)·π/WAD); reward = floor(penalty·keeperShare/WAD); fee = penalty − reward.</summary>
    public static (UInt256 Penalty, UInt256 KeeperReward, UInt256 InsuranceFee) Penalty(in MarketParams m, UInt256 q, UInt256 price)
    {
        UInt256 penalty = RiskMath.MulDivUp(RiskMath.NotionalUp(q, price), m.LiquidationPenalty, RiskMath.Wad);
        UInt256 reward = RiskMath.MulDivDown(penalty, m.KeeperShare, RiskMath.Wad);
        return (penalty, reward, penalty - reward);
    }

    /// <summary>The engine's <c>_fill</c>: increase, partial reduction, or full close / flip.</summary>
    public static FillResult Fill(Int256 size, Int256 openNotional, Int256 d, UInt256 p)
    {
        Int256 newSize = checked(size + d);
        if (size.IsZero || size.IsPositive == d.IsPositive)
        {
            Int256 dOn = RiskMath.SMulDivCeil(d, p, RiskMath.Wad);
            return new FillResult(Int256.Zero, dOn, newSize, checked(openNotional + dOn));
        }
        UInt256 absS = RiskMath.Abs(size);
        UInt256 absD = RiskMath.Abs(d);
        if (absD < absS)
        {
            Int256 closedOn = RiskMath.SMulDivCeil(openNotional, absD, absS);
            Int256 realized = checked(RiskMath.SMulDivFloor(checked(-d), p, RiskMath.Wad) - closedOn);
            return new FillResult(realized, checked(-closedOn), newSize, checked(openNotional - closedOn));
        }
        Int256 realizedFull = checked(RiskMath.SMulDivFloor(size, p, RiskMath.Wad) - openNotional);
        Int256 newOn = newSize.IsZero ? Int256.Zero : RiskMath.SMulDivCeil(newSize, p, RiskMath.Wad);
        return new FillResult(realizedFull, checked(newOn - openNotional), newSize, newOn);
    }
}

/// <summary>
/// Simulates one <c>liquidate</c> or <c>batchLiquidate</c> transaction (and trades) against a copy of the state,
/// with the contract's shared per-call cache: one price per slot and one funding index per market for the whole
/// call, each request seeing the effects of the previous ones, bad debt settled after a liquidation that leaves
/// negative cash with no positions and no collateral (insurance first, including fees earned earlier in the same
/// call, then the vault), and the keeper reward credited at the end.
/// Arithmetic failures throw, as they revert the whole transaction on chain.
/// </summary>
public sealed class LiquidationSimulator
{
    private readonly Dictionary<Address, AccountState> _accounts = [];
    private readonly Func<Address, AccountState?> _source;
    private readonly bool[] _accrued;

    /// <summary>
    /// Creates a simulator for one transaction sent by <paramref name="liquidator"/>. Accounts are read through
    /// <paramref name="source"/> (null = an empty account) and copied on first use; the originals are not modified.
    /// </summary>
    public LiquidationSimulator(RiskContext ctx, Address liquidator, Func<Address, AccountState?> source, Int256 vaultCash, UInt256 insuranceFund)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(source);
        Context = ctx;
        Liquidator = liquidator;
        _source = source;
        VaultCash = vaultCash;
        InsuranceFund = insuranceFund;
        _accrued = new bool[ctx.Config.MarketCount];
    }

    /// <summary>Prices and indices of the call.</summary>
    public RiskContext Context { get; }

    /// <summary>msg.sender.</summary>
    public Address Liquidator { get; }

    /// <summary>The vault's cash after the simulated operations.</summary>
    public Int256 VaultCash { get; private set; }

    /// <summary>The insurance fund after the simulated operations.</summary>
    public UInt256 InsuranceFund { get; private set; }

    /// <summary>Keeper reward accumulated in this call (credited to the liquidator's cash at the end).</summary>
    public UInt256 KeeperRewardTotal { get; private set; }

    /// <summary>Every account read or changed by the simulated call (copies; the sources are untouched).</summary>
    public IReadOnlyDictionary<Address, AccountState> TouchedAccounts => _accounts;

    /// <summary>The (copied, updated) state of an account as seen by the simulated call.</summary>
    public AccountState Account(Address a)
    {
        if (!_accounts.TryGetValue(a, out AccountState? s))
        {
            s = _source(a)?.Clone() ?? new AccountState(Context.Config);
            _accounts[a] = s;
        }
        return s;
    }

    /// <summary>
    /// Funding states after the call: markets filled in this call have their index written at the call's timestamp
    /// (<c>_accrue</c>), others are unchanged.
    /// </summary>
    public FundingState[] FundingAfter()
    {
        FundingState[] f = (FundingState[])Context.Funding.Clone();
        for (int m = 0; m < f.Length; m++)
        {
            if (_accrued[m] && f[m].LastFundingTime != Context.Timestamp) f[m] = f[m] with { Index = Context.Index(m), LastFundingTime = Context.Timestamp };
        }
        return f;
    }

    /// <summary>
    /// One request of the call (<c>_liquidate</c>). Skips return an outcome with the reason; in a strict
    /// single <c>liquidate</c> call a skip is the corresponding revert instead.
    /// </summary>
    public LiquidationOutcome Liquidate(Address account, int marketId, UInt256 maxSize)
    {
        RiskConfig cfg = Context.Config;
        if ((uint)marketId >= (uint)cfg.MarketCount) return SkipOutcome(account, marketId, SkipReason.UnknownMarket, default);
        if (account == Liquidator) return SkipOutcome(account, marketId, SkipReason.SelfLiquidation, default);
        AccountState s = Account(account);
        Int256 size = s.Positions[marketId].Size;
        if (size.IsZero) return SkipOutcome(account, marketId, SkipReason.NoPosition, default);
        Health before = Margin.ComputeHealth(Context, s);
        if (!before.IsLiquidatable) return SkipOutcome(account, marketId, SkipReason.NotLiquidatable, before);
        MarketParams m = cfg.Markets[marketId];
        UInt256 price = Context.Price(m.PriceSlot);
        UInt256 q = Liquidation.Size(m, before, RiskMath.Abs(size), price, maxSize);
        (UInt256 penalty, UInt256 reward, UInt256 fee) = Liquidation.Penalty(m, q, price);
        Int256 sq = RiskMath.ToInt256(q);
        if (size.IsPositive) sq = -sq;
        (Int256 owed, Int256 realized) = ApplyFill(s, marketId, sq, price, penalty);
        InsuranceFund = checked(InsuranceFund + fee);
        KeeperRewardTotal = checked(KeeperRewardTotal + reward);
        UInt256 cover = UInt256.Zero, social = UInt256.Zero;
        if (s.Cash.IsNegative && s.PositionMask == 0 && s.CollateralMask == 0) (cover, social) = SettleBadDebt(s);
        Health after = Margin.ComputeHealth(Context, s);
        return new LiquidationOutcome(account, marketId, SkipReason.None, q, price, reward, fee, owed, realized, before, after, cover, social);
    }

    /// <summary>A whole <c>batchLiquidate</c>: requests in order, then the keeper credit.</summary>
    public LiquidationOutcome[] Batch(ReadOnlySpan<LiquidationRequest> requests)
    {
        var outcomes = new LiquidationOutcome[requests.Length];
        for (int i = 0; i < requests.Length; i++) outcomes[i] = Liquidate(requests[i].Account, requests[i].MarketId, requests[i].MaxSize);
        Finish();
        return outcomes;
    }

    /// <summary>The end-of-call flush: the keeper reward is credited to the liquidator's cash.</summary>
    public void Finish()
    {
        if (KeeperRewardTotal.IsZero) return;
        AccountState k = Account(Liquidator);
        k.Cash = checked(k.Cash + RiskMath.ToInt256(KeeperRewardTotal));
        KeeperRewardTotal = UInt256.Zero;
    }

    /// <summary>
    /// A trade by <paramref name="trader"/> (<c>trade</c>, without the price-limit and pause checks): fee, fill and
    /// the post-trade margin check. Returns the fee, the realized PnL and whether the contract would accept it.
    /// </summary>
    public (UInt256 Fee, Int256 Realized, bool Accepted) Trade(Address trader, int marketId, Int256 sizeDelta)
    {
        if (sizeDelta.IsZero) throw new ArgumentException("zero size", nameof(sizeDelta));
        MarketParams m = Context.Config.Markets[marketId];
        UInt256 price = Context.Price(m.PriceSlot);
        AccountState s = Account(trader);
        Int256 size = s.Positions[marketId].Size;
        bool reducing = !size.IsZero && size.IsPositive != sizeDelta.IsPositive && RiskMath.Abs(sizeDelta) <= RiskMath.Abs(size);
        UInt256 fee = RiskMath.MulDivUp(RiskMath.NotionalUp(RiskMath.Abs(sizeDelta), price), m.TakerFee, RiskMath.Wad);
        (_, Int256 realized) = ApplyFill(s, marketId, sizeDelta, price, fee);
        VaultCash = checked(VaultCash + RiskMath.ToInt256(fee));
        Health h = Margin.ComputeHealth(Context, s);
        bool ok = reducing ? !h.IsLiquidatable : h.InitialEquity >= RiskMath.ToInt256(h.InitialMargin);
        return (fee, realized, ok);
    }

    private (Int256 Owed, Int256 Realized) ApplyFill(AccountState s, int marketId, Int256 d, UInt256 price, UInt256 charge)
    {
        Int256 idx = Context.Index(marketId);
        if (!_accrued[marketId])
        {
            _accrued[marketId] = true;
            if (Context.Funding[marketId].LastFundingTime != Context.Timestamp) RiskMath.CheckInt192(idx);
        }
        Position p = s.Positions[marketId];
        Int256 owed = RiskMath.FundingOwed(p.Size, idx, p.FundingSnapshot);
        FillResult f = Liquidation.Fill(p.Size, p.OpenNotional, d, price);
        s.Positions[marketId] = new Position(f.NewSize, f.NewOpenNotional, idx);
        s.Cash = checked(checked(checked(s.Cash - owed) + f.Realized) - RiskMath.ToInt256(charge));
        VaultCash = checked(VaultCash + checked(owed - f.Realized));
        return (owed, f.Realized);
    }

    private (UInt256 Cover, UInt256 Social) SettleBadDebt(AccountState s)
    {
        UInt256 debt = checked(-s.Cash).Bits;
        UInt256 cover = debt < InsuranceFund ? debt : InsuranceFund;
        InsuranceFund -= cover;
        UInt256 social = debt - cover;
        VaultCash = checked(VaultCash - RiskMath.ToInt256(social));
        s.Cash = Int256.Zero;
        return (cover, social);
    }

    private static LiquidationOutcome SkipOutcome(Address a, int m, SkipReason r, Health h) =>
        new(a, m, r, default, default, default, default, default, default, h, h, default, default);
}
