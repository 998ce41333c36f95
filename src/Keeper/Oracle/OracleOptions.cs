namespace CrossMargin.Keeper.Oracle;

/// <summary>Thresholds of sample validation, aggregation and the sanity gate. All bps are basis points (1/10 000).</summary>
public sealed class OracleOptions
{
    /// <summary>Samples published further than this in the future (clock skew) are rejected.</summary>
    public TimeSpan MaxFutureSkew { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Maximum sample age for sources without an entry in <see cref="SourceMaxAge"/>.</summary>
    public TimeSpan DefaultMaxAge { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>Maximum sample age per source id (e.g. on-chain feeds with heartbeats update less often).</summary>
    public Dictionary<string, TimeSpan> SourceMaxAge { get; } = new(StringComparer.Ordinal);

    /// <summary>Confidence / price above this cap rejects the sample (sources without confidence report 0).</summary>
    public long MaxConfidenceBps { get; set; } = 200;

    /// <summary>A move larger than this from the same source's last accepted sample needs confirmation by another source.</summary>
    public long MaxJumpBps { get; set; } = 5_000;

    /// <summary>
    /// Two prices "agree" when they are within this deviation: confirmation of a jump, agreement of two sources,
    /// and the quorum of agreeing rounds.
    /// </summary>
    public long MaxDeviationBps { get; set; } = 100;

    /// <summary>Consecutive agreeing rounds needed to return to Healthy from Degraded or Halted.</summary>
    public int RecoveryRounds { get; set; } = 3;

    /// <summary>Largest on-chain vs aggregate deviation the sanity gate lets through.</summary>
    public long SanityBandBps { get; set; } = 200;

    /// <summary>The sanity gate blocks when the asset's latest round is older than this.</summary>
    public TimeSpan SanityMaxRoundAge { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>Maximum age for samples from <paramref name="source"/>.</summary>
    public TimeSpan MaxAgeFor(string source) => SourceMaxAge.TryGetValue(source, out TimeSpan t) ? t : DefaultMaxAge;

    /// <summary>Throws on inconsistent settings.</summary>
    public void Validate()
    {
        if (MaxFutureSkew < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(MaxFutureSkew));
        if (DefaultMaxAge <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(DefaultMaxAge));
        if (MaxConfidenceBps < 0) throw new ArgumentOutOfRangeException(nameof(MaxConfidenceBps));
        if (MaxJumpBps <= 0) throw new ArgumentOutOfRangeException(nameof(MaxJumpBps));
        if (MaxDeviationBps < 0) throw new ArgumentOutOfRangeException(nameof(MaxDeviationBps));
        if (RecoveryRounds < 1) throw new ArgumentOutOfRangeException(nameof(RecoveryRounds));
        if (SanityBandBps < 0) throw new ArgumentOutOfRangeException(nameof(SanityBandBps));
    }
}
