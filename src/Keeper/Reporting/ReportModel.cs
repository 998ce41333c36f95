using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Execution;

namespace CrossMargin.Keeper.Reporting;

/// <summary>Everything <c>crossmargin report</c> shows, computed from one journal. Amounts are exact integers.</summary>
public sealed record KeeperReport
{
    /// <summary>The journal file the report was built from.</summary>
    public required string JournalPath { get; init; }
    public required int SchemaVersion { get; init; }
    public required DateTimeOffset GeneratedAt { get; init; }
    public required ReportSummary Summary { get; init; }
    /// <summary>Liquidation intents (<see cref="ReportBuilder.IsLiquidation"/>): detection to the first send acknowledged by a node, in ms.</summary>
    public required LatencyDistribution DetectionToSend { get; init; }
    /// <summary>Mined liquidation intents: first send to the receipt being recorded, in ms.</summary>
    public required LatencyDistribution SendToInclusion { get; init; }
    /// <summary>Mined liquidation intents: inclusion block minus detection block.</summary>
    public required LatencyDistribution BlocksToInclusion { get; init; }
    /// <summary>Every mined transaction (included or reverted, any kind), by block.</summary>
    public required IReadOnlyList<MinedTransaction> MinedTransactions { get; init; }
    /// <summary>Blocks with liquidations won, lost or rewards, ascending.</summary>
    public required IReadOnlyList<BlockActivity> Blocks { get; init; }
    public required OutcomeBreakdown Outcomes { get; init; }
    /// <summary>One series per asset, by asset name.</summary>
    public required IReadOnlyList<OracleDeviationSeries> OracleDeviation { get; init; }
    /// <summary>Observation counts by kind (all kinds, rendered or not).</summary>
    public required IReadOnlyDictionary<string, long> ObservationCounts { get; init; }
}

/// <summary>The headline numbers.</summary>
public sealed record ReportSummary
{
    /// <summary>Intents of every kind.</summary>
    public required int Intents { get; init; }
    /// <summary>Intents that are liquidations: position liquidations and collateral sales.</summary>
    public required int LiquidationIntents { get; init; }
    /// <summary>Intents (every kind) whose transaction was mined and succeeded.</summary>
    public required int Included { get; init; }
    /// <summary>Intents (every kind) whose transaction was mined and reverted.</summary>
    public required int Reverted { get; init; }
    public required int Attempts { get; init; }
    public required int MinedTransactions { get; init; }
    /// <summary>Sum of gasUsed over mined transactions.</summary>
    public required UInt256 GasUsedTotal { get; init; }
    /// <summary>Sum of gasUsed * effectiveGasPrice over mined transactions, in wei.</summary>
    public required UInt256 FeesPaidTotalWei { get; init; }
    /// <summary>Sum of expected rewards of liquidation intents, in wei.</summary>
    public required UInt256 RewardsExpectedWei { get; init; }
    /// <summary>Sum of expected rewards of included liquidation intents, in wei.</summary>
    public required UInt256 RewardsExpectedIncludedWei { get; init; }
    /// <summary>Sum of <see cref="ObservationKinds.RewardWei"/> observations, in wei.</summary>
    public required UInt256 RewardsRealisedWei { get; init; }
    /// <summary>Liquidation targets of included liquidation intents.</summary>
    public required int AccountsWon { get; init; }
    /// <summary><see cref="ObservationKinds.LiquidationWon"/> observations.</summary>
    public required int AccountsWonObserved { get; init; }
    /// <summary><see cref="ObservationKinds.LiquidationLost"/> observations.</summary>
    public required int AccountsLost { get; init; }
    public DateTimeOffset? From { get; init; }
    public DateTimeOffset? To { get; init; }
    public ulong? FirstBlock { get; init; }
    public ulong? LastBlock { get; init; }
}

/// <summary>One histogram bin: values in [<see cref="From"/>, <see cref="To"/>).</summary>
public sealed record HistogramBin(long From, long To, int Count);

/// <summary>Integer samples (sorted) with nearest-rank percentiles.</summary>
public sealed class LatencyDistribution
{
    public LatencyDistribution(IEnumerable<long> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        long[] sorted = samples.ToArray();
        Array.Sort(sorted);
        Samples = sorted;
    }

    /// <summary>The samples, ascending.</summary>
    public IReadOnlyList<long> Samples { get; }

    public int Count => Samples.Count;
    public long? Min => Count == 0 ? null : Samples[0];
    public long? Max => Count == 0 ? null : Samples[^1];
    public long? P50 => Percentile(50);
    public long? P90 => Percentile(90);
    public long? P99 => Percentile(99);

    /// <summary>Integer mean, rounded toward negative infinity.</summary>
    public long? Mean
    {
        get
        {
            if (Count == 0) return null;
            Int128 sum = 0;
            foreach (long s in Samples) sum += s;
            Int128 q = Int128.DivRem(sum, Count).Quotient;
            if (sum < 0 && q * Count != sum) q--;
            return (long)q;
        }
    }

    /// <summary>Nearest-rank percentile: the smallest sample with at least <paramref name="percent"/>% of samples at or below it.</summary>
    public long? Percentile(int percent)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(percent);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(percent, 100);
        if (Count == 0) return null;
        int rank = (int)(((long)percent * Count + 99) / 100);
        return Samples[rank - 1];
    }

    /// <summary>Equal-width bins with a 1-2-5 width, about <paramref name="targetBins"/> of them, covering every sample.</summary>
    public IReadOnlyList<HistogramBin> Histogram(int targetBins = 20)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(targetBins);
        if (Count == 0) return [];
        long min = Samples[0], max = Samples[^1];
        long width = NiceWidth((max - min) / (double)targetBins);
        long start = FloorTo(min, width);
        int bins = checked((int)((max - start) / width) + 1);
        var counts = new int[bins];
        foreach (long s in Samples) counts[(s - start) / width]++;
        return [.. counts.Select((c, i) => new HistogramBin(start + (i * width), start + ((i + 1) * width), c))];
    }

    private static long FloorTo(long value, long step)
    {
        long q = value / step;
        if (value < 0 && q * step != value) q--;
        return q * step;
    }

    /// <summary>The smallest 1, 2 or 5 times a power of ten that is at least <paramref name="raw"/> (at least 1).</summary>
    internal static long NiceWidth(double raw)
    {
        long width = 1;
        while (true)
        {
            foreach (long m in (ReadOnlySpan<long>)[1, 2, 5])
                if (width * m >= raw) return width * m;
            width *= 10;
        }
    }
}

/// <summary>One mined transaction of ours.</summary>
/// <param name="IntentKind">The intent's kind (liquidation, oracle-push), or null for transactions without an intent (gap fills).</param>
/// <param name="RecordedAt">When the keeper recorded the receipt.</param>
public sealed record MinedTransaction(
    Hash32 Hash,
    string? IntentId,
    string? IntentKind,
    AttemptKind AttemptKind,
    AttemptState State,
    ulong Block,
    DateTimeOffset RecordedAt,
    ulong GasUsed,
    UInt256 EffectiveGasPrice)
{
    /// <summary>gasUsed * effectiveGasPrice.</summary>
    public UInt256 FeeWei => checked((UInt256)GasUsed * EffectiveGasPrice);
}

/// <summary>Liquidations in one block.</summary>
/// <param name="AccountsWon">Targets of our included liquidation intents mined in this block.</param>
/// <param name="AccountsLost">Accounts lost to other liquidators in this block (observations).</param>
/// <param name="RewardsRealisedWei">Rewards observed for this block.</param>
public sealed record BlockActivity(ulong Block, int AccountsWon, int AccountsLost, UInt256 RewardsRealisedWei);

/// <summary>Intent outcomes.</summary>
public sealed record OutcomeBreakdown
{
    /// <summary>Intent counts by kind, then by state (every state present, zero when none).</summary>
    public required IReadOnlyList<KeyValuePair<string, IReadOnlyDictionary<IntentState, int>>> ByKind { get; init; }
    /// <summary>Liquidation intents included: won.</summary>
    public required int Won { get; init; }
    /// <summary>Liquidation intents mined but reverted (usually someone else was first).</summary>
    public required int Reverted { get; init; }
    /// <summary>Liquidation intents cancelled (the opportunity went away).</summary>
    public required int Cancelled { get; init; }
    /// <summary>Liquidation intents whose nonce a foreign transaction took.</summary>
    public required int Dropped { get; init; }
    /// <summary>Liquidation intents not sent: simulation reverted or not profitable.</summary>
    public required int Skipped { get; init; }
    /// <summary>Liquidation intents that failed to send.</summary>
    public required int Failed { get; init; }
    /// <summary>Liquidation intents still pending or in flight.</summary>
    public required int Open { get; init; }
    /// <summary>Accounts lost to other liquidators (observations).</summary>
    public required int LostToOthers { get; init; }
}

/// <summary>Oracle deviation measurements of one asset, oldest first.</summary>
public sealed record OracleDeviationSeries(string Asset, IReadOnlyList<OracleDeviationPoint> Points);

/// <summary>One deviation measurement.</summary>
public sealed record OracleDeviationPoint(DateTimeOffset At, ulong? Block, double Bps);
