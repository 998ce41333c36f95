using CrossMargin.Keeper.Oracle.OnChain;

namespace CrossMargin.Keeper.Oracle.Push;

/// <summary>Per-asset answer of the <see cref="LiquidationPriceGate"/>.</summary>
public enum LiquidationGateVerdict
{
    /// <summary>The hub's price agrees with the bot's own sources: liquidations may use it.</summary>
    Allowed,
    /// <summary>Do not liquidate on this asset's price now.</summary>
    Blocked,
}

/// <summary>The gate's answer for one asset at one block.</summary>
/// <param name="Asset">Asset symbol.</param>
/// <param name="BlockNumber">Block of the hub price.</param>
/// <param name="Verdict">Allowed or Blocked.</param>
/// <param name="Decision">The sanity gate's decision (with the reason when blocked).</param>
public sealed record LiquidationGateResult(string Asset, ulong BlockNumber, LiquidationGateVerdict Verdict, SanityDecision Decision)
{
    /// <summary>True when allowed.</summary>
    public bool IsAllowed => Verdict == LiquidationGateVerdict.Allowed;
}

/// <summary>
/// What the keeper asks before sending a liquidation: given the hub's prices at a block (<see cref="HubPriceReader"/>)
/// and the aggregator's latest state, is each asset's on-chain price one the bot's own sources agree with
/// (<see cref="SanityGate"/>)? A hub without a price for the asset blocks too. Every block raises the
/// <c>crossmargin.oracle.liquidation_blocked</c> alert counter.
/// </summary>
public sealed class LiquidationPriceGate
{
    private readonly SanityGate _gate;
    private readonly OracleMetrics _metrics;

    public LiquidationPriceGate(SanityGate gate, OracleMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(gate);
        _gate = gate;
        _metrics = metrics ?? new OracleMetrics();
    }

    /// <summary>Checks one asset.</summary>
    public LiquidationGateResult Check(HubPriceSnapshot snapshot, string asset)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(asset);
        SanityDecision decision = snapshot.For(asset) switch
        {
            null => new SanityDecision.Blocked(SanityBlockReason.NoPrice, $"{asset} was not read from the hub", null),
            { PriceWad: null } p => new SanityDecision.Blocked(SanityBlockReason.NoPrice, $"hub has no price for {asset}: {p.Error}", null),
            { PriceWad: { } price } => _gate.Check(asset, price),
        };
        if (decision is SanityDecision.Blocked b) _metrics.LiquidationBlocked(asset, b.Reason);
        return new LiquidationGateResult(asset, snapshot.BlockNumber,
            decision.IsAllowed ? LiquidationGateVerdict.Allowed : LiquidationGateVerdict.Blocked, decision);
    }

    /// <summary>Checks every asset of the snapshot.</summary>
    public IReadOnlyDictionary<string, LiquidationGateResult> CheckAll(HubPriceSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        return snapshot.Prices.Keys.ToDictionary(a => a, a => Check(snapshot, a), StringComparer.Ordinal);
    }
}
