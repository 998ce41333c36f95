using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Oracle.OnChain;

namespace CrossMargin.Keeper.Oracle.Push;

/// <summary>Why an asset is (or is not) pushed this round.</summary>
public enum PushReason
{
    /// <summary>Within the thresholds: nothing to do.</summary>
    None,
    /// <summary>The feed has no round yet.</summary>
    NoRound,
    /// <summary>Deviation reached the asset's threshold.</summary>
    Deviation,
    /// <summary>The on-chain round reached the heartbeat age.</summary>
    Heartbeat,
    /// <summary>Below the threshold but at or above the early threshold, and another push goes out anyway.</summary>
    RideAlong,
    /// <summary>The asset is Halted: never pushed.</summary>
    Halted,
    /// <summary>The aggregator has no price for the asset.</summary>
    NoPrice,
    /// <summary>The on-chain round is not older than the time we would push (a newer round is already there).</summary>
    NotNewer,
    /// <summary>The answer does not fit the feed (zero after scaling, or too large).</summary>
    Unrepresentable,
}

/// <summary>The decision for one asset.</summary>
/// <param name="Asset">Asset symbol.</param>
/// <param name="Reason">Why.</param>
/// <param name="DeviationBps">floor(|aggregate − on-chain| × 10 000 / on-chain); null without an on-chain round or aggregate.</param>
/// <param name="AggregateWad">The aggregate price.</param>
/// <param name="Answer">The answer to push, in the feed's decimals (zero when not pushed).</param>
public sealed record PushDecision(string Asset, PushReason Reason, long? DeviationBps, UInt256 AggregateWad, Int256 Answer)
{
    /// <summary>True when the asset goes into this round's transaction.</summary>
    public bool Push => Reason is PushReason.NoRound or PushReason.Deviation or PushReason.Heartbeat or PushReason.RideAlong;
}

/// <summary>Pure push decisions (integer bps math only).</summary>
public static class PushPolicy
{
    /// <summary>floor(|aggregate − onChain| × 10 000 / onChain); <see cref="long.MaxValue"/> when onChain is zero and aggregate is not.</summary>
    public static long DeviationBps(UInt256 aggregateWad, UInt256 onChainWad) => Bps.Deviation(aggregateWad, onChainWad);

    /// <summary>The on-chain answer of a feed as WAD (zero for non-positive answers).</summary>
    public static UInt256 AnswerToWad(Int256 answer, byte decimals) =>
        answer.IsPositive ? WadDecimal.FromDecimals(answer.Bits, decimals) : UInt256.Zero;

    /// <summary>
    /// Decides every asset: a push is due on deviation ≥ threshold, heartbeat age, or a missing round; if any push
    /// is due, assets with deviation ≥ their early threshold ride along. Halted assets and assets without a price
    /// never push; neither do assets whose on-chain round is not older than <paramref name="pushTime"/>.
    /// </summary>
    /// <param name="assets">Configured assets.</param>
    /// <param name="aggregates">This round's aggregates per asset.</param>
    /// <param name="onChain">Latest on-chain round per asset (null: no round yet).</param>
    /// <param name="now">The bot's clock.</param>
    /// <param name="pushTime">The updatedAt the push would carry (unix seconds).</param>
    public static IReadOnlyList<PushDecision> Plan(IReadOnlyList<AssetPushConfig> assets, IReadOnlyDictionary<string, AggregatePrice> aggregates,
        IReadOnlyDictionary<string, FeedRound?> onChain, DateTimeOffset now, ulong pushTime)
    {
        ArgumentNullException.ThrowIfNull(assets);
        ArgumentNullException.ThrowIfNull(aggregates);
        ArgumentNullException.ThrowIfNull(onChain);
        var decisions = new PushDecision[assets.Count];
        var early = new List<int>();
        bool anyDue = false;
        for (int i = 0; i < assets.Count; i++)
        {
            AssetPushConfig cfg = assets[i];
            aggregates.TryGetValue(cfg.Asset, out AggregatePrice? agg);
            FeedRound? round = onChain.TryGetValue(cfg.Asset, out FeedRound? r) ? r : null;
            if (agg is null || !agg.HasPrice)
            {
                decisions[i] = new PushDecision(cfg.Asset, PushReason.NoPrice, null, UInt256.Zero, Int256.Zero);
                continue;
            }
            UInt256 onChainWad = round is { } rr ? AnswerToWad(rr.Answer, cfg.FeedDecimals) : UInt256.Zero;
            long? dev = round is null ? null : DeviationBps(agg.PriceWad, onChainWad);
            if (agg.State == OracleState.Halted)
            {
                decisions[i] = new PushDecision(cfg.Asset, PushReason.Halted, dev, agg.PriceWad, Int256.Zero);
                continue;
            }
            UInt256 scaled = WadDecimal.ToDecimals(agg.PriceWad, cfg.FeedDecimals);
            if (scaled.IsZero || scaled.BitLength > 255)
            {
                decisions[i] = new PushDecision(cfg.Asset, PushReason.Unrepresentable, dev, agg.PriceWad, Int256.Zero);
                continue;
            }
            var answer = (Int256)scaled;
            if (round is { } existing && existing.UpdatedAt >= pushTime)
            {
                decisions[i] = new PushDecision(cfg.Asset, PushReason.NotNewer, dev, agg.PriceWad, Int256.Zero);
                continue;
            }
            PushReason reason;
            if (round is not { } cur) reason = PushReason.NoRound;
            else if (dev >= cfg.DeviationBps) reason = PushReason.Deviation;
            else if (now.ToUnixTimeSeconds() - (long)Math.Min(cur.UpdatedAt, long.MaxValue) >= cfg.Heartbeat.Ticks / TimeSpan.TicksPerSecond) reason = PushReason.Heartbeat;
            else
            {
                reason = PushReason.None;
                if (dev >= cfg.EarlyBps) early.Add(i);
            }
            anyDue |= reason != PushReason.None;
            decisions[i] = new PushDecision(cfg.Asset, reason, dev, agg.PriceWad, reason == PushReason.None ? Int256.Zero : answer);
        }
        if (anyDue)
        {
            foreach (int i in early)
            {
                PushDecision d = decisions[i];
                decisions[i] = d with { Reason = PushReason.RideAlong, Answer = (Int256)WadDecimal.ToDecimals(d.AggregateWad, assets[i].FeedDecimals) };
            }
        }
        return decisions;
    }

    /// <summary>
    /// Whether a Pyth update is due for one asset: the Hermes sample must be newer than the on-chain publish time,
    /// and the on-chain price missing, deviating by ≥ <paramref name="deviationBps"/>, or at least
    /// <paramref name="heartbeat"/> old. Never for a Halted asset.
    /// </summary>
    public static PushReason PythDue(OracleState state, PriceSample? hermes, PythOnChainPrice? onChain, DateTimeOffset now, long deviationBps, TimeSpan heartbeat)
    {
        if (state == OracleState.Halted) return PushReason.Halted;
        if (hermes is null) return PushReason.NoPrice;
        if (onChain is not { } oc) return PushReason.NoRound;
        if (hermes.PublishTime.ToUnixTimeSeconds() <= (long)Math.Min(oc.PublishTime, long.MaxValue)) return PushReason.NotNewer;
        if (DeviationBps(hermes.PriceWad, oc.PriceWad) >= deviationBps) return PushReason.Deviation;
        if (now.ToUnixTimeSeconds() - (long)Math.Min(oc.PublishTime, long.MaxValue) >= heartbeat.Ticks / TimeSpan.TicksPerSecond) return PushReason.Heartbeat;
        return PushReason.None;
    }
}
