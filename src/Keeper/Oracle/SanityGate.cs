using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Keeper.Oracle;

/// <summary>Why the sanity gate blocked an action.</summary>
public enum SanityBlockReason
{
    /// <summary>The bot has no aggregate for the asset.</summary>
    NoPrice,
    /// <summary>The asset is Halted: the bot's own sources cannot agree on a price.</summary>
    Halted,
    /// <summary>The latest round is older than <see cref="OracleOptions.SanityMaxRoundAge"/>.</summary>
    StaleAggregate,
    /// <summary>The on-chain price differs from the aggregate by more than <see cref="OracleOptions.SanityBandBps"/>.</summary>
    Deviation,
}

/// <summary>Decision of the sanity gate.</summary>
public abstract record SanityDecision
{
    private protected SanityDecision() { }

    /// <summary>True for <see cref="Allowed"/>.</summary>
    public bool IsAllowed => this is Allowed;

    /// <summary>The on-chain price is consistent with the bot's own sources.</summary>
    /// <param name="DeviationBps">On-chain vs aggregate, basis points (floor).</param>
    /// <param name="AggregateWad">The aggregate compared against.</param>
    /// <param name="State">State of the asset (Healthy or Degraded).</param>
    public sealed record Allowed(long DeviationBps, UInt256 AggregateWad, OracleState State) : SanityDecision;

    /// <summary>The action must not proceed on this price.</summary>
    public sealed record Blocked(SanityBlockReason Reason, string Detail, long? DeviationBps) : SanityDecision;
}

/// <summary>
/// Refuses to act (liquidate) on an on-chain price that the bot's own sources dispute: blocked when the asset is
/// Halted, has no recent aggregate, or the on-chain price deviates from the aggregate by more than the band.
/// Degraded assets pass if within the band.
/// </summary>
public sealed class SanityGate
{
    private readonly PriceAggregator _aggregator;
    private readonly TimeProvider _time;

    public SanityGate(PriceAggregator aggregator, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(aggregator);
        _aggregator = aggregator;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Checks <paramref name="onChainPriceWad"/> for <paramref name="asset"/> against the latest aggregate.</summary>
    public SanityDecision Check(string asset, UInt256 onChainPriceWad)
    {
        OracleOptions o = _aggregator.Options;
        AggregatePrice? a = _aggregator.Latest(asset);
        if (a is null || !a.HasPrice)
            return new SanityDecision.Blocked(SanityBlockReason.NoPrice, $"no aggregate price for {asset}", null);
        long dev = Bps.Deviation(onChainPriceWad, a.PriceWad);
        if (a.State == OracleState.Halted)
            return new SanityDecision.Blocked(SanityBlockReason.Halted, $"{asset} is halted: {a.Note}", dev);
        TimeSpan age = _time.GetUtcNow() - a.RoundTime;
        if (age > o.SanityMaxRoundAge)
            return new SanityDecision.Blocked(SanityBlockReason.StaleAggregate, $"{asset} aggregate is {age.TotalSeconds:0} s old", dev);
        if (dev > o.SanityBandBps)
            return new SanityDecision.Blocked(SanityBlockReason.Deviation, $"on-chain {asset} price deviates {dev} bps from the aggregate (band {o.SanityBandBps})", dev);
        return new SanityDecision.Allowed(dev, a.PriceWad, a.State);
    }
}
