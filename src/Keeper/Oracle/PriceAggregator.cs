using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Keeper.Oracle;

/// <summary>Trust state of an asset's price.</summary>
public enum OracleState
{
    /// <summary>Enough sources agree, and have for <see cref="OracleOptions.RecoveryRounds"/> rounds after any trouble.</summary>
    Healthy,
    /// <summary>A price exists but rests on one source, disagreeing sources, or a recovery still in progress.</summary>
    Degraded,
    /// <summary>No usable sample (or no way to choose between two disagreeing ones): the last good price is kept, not trusted.</summary>
    Halted,
}

/// <summary>The outcome of one round for one asset.</summary>
/// <param name="Asset">Asset symbol.</param>
/// <param name="PriceWad">The aggregate, or in a Halted round the last good price (zero if there never was one).</param>
/// <param name="LowWad">Lowest valid sample of the round (equals <paramref name="PriceWad"/> when there was none).</param>
/// <param name="HighWad">Highest valid sample of the round (equals <paramref name="PriceWad"/> when there was none).</param>
/// <param name="State">State after this round (with hysteresis).</param>
/// <param name="ValidSources">Sources whose samples were used, in price order.</param>
/// <param name="RoundTime">Clock time of the round.</param>
/// <param name="Rejections">Samples of this asset rejected in this round, with reasons.</param>
/// <param name="AgreeingRounds">Consecutive agreeing rounds up to and including this one.</param>
/// <param name="Note">How the price was chosen (for logs).</param>
public sealed record AggregatePrice(
    string Asset,
    UInt256 PriceWad,
    UInt256 LowWad,
    UInt256 HighWad,
    OracleState State,
    IReadOnlyList<string> ValidSources,
    DateTimeOffset RoundTime,
    IReadOnlyList<SampleRejection> Rejections,
    int AgreeingRounds,
    string Note)
{
    /// <summary>False when the asset never had a usable price.</summary>
    public bool HasPrice => !PriceWad.IsZero;
}

/// <summary>
/// Validates and aggregates samples per asset per round, and keeps the per-asset state machine.
/// </summary>
/// <remarks>
/// <para>Aggregation of the valid samples of a round:</para>
/// <list type="bullet">
/// <item>3 or more: the median; for an even count the mean of the two middle values, rounded down. The round
/// "agrees" when at least two samples lie within <see cref="OracleOptions.MaxDeviationBps"/> of the median.</item>
/// <item>2: if |high - low| / low is within <see cref="OracleOptions.MaxDeviationBps"/>, their midpoint (rounded down)
/// and the round agrees. Otherwise the median of three with the last good price as tiebreaker: the sample
/// closer to the last good price (the lower one on an exact tie), state Degraded; with no last good price there
/// is nothing to break the tie with: Halted.</item>
/// <item>1: that sample, Degraded.</item>
/// <item>0: the last good price is kept, Halted.</item>
/// </list>
/// <para>State machine (hysteresis): a Halted or Degraded round sets that state at once and resets the agreement
/// counter; an agreeing round keeps Healthy, and leads back to Healthy from Degraded/Halted only once
/// <see cref="OracleOptions.RecoveryRounds"/> consecutive rounds agreed (until then Degraded). An asset starts
/// Halted with no price, so it also needs <see cref="OracleOptions.RecoveryRounds"/> agreeing rounds at start-up.</para>
/// <para>The "last good price" is the most recent aggregate computed from at least one valid sample.</para>
/// Thread-safe: rounds and reads are serialised by a lock.
/// </remarks>
public sealed class PriceAggregator
{
    private readonly OracleOptions _options;
    private readonly TimeProvider _time;
    private readonly SampleValidator _validator;
    private readonly Dictionary<string, AssetTrack> _assets = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public PriceAggregator(OracleOptions? options = null, TimeProvider? timeProvider = null)
    {
        _options = options ?? new OracleOptions();
        _options.Validate();
        _time = timeProvider ?? TimeProvider.System;
        _validator = new SampleValidator(_options, _time);
    }

    /// <summary>Options in use.</summary>
    public OracleOptions Options => _options;

    private sealed class AssetTrack
    {
        public OracleState State = OracleState.Halted;
        public int Agreeing;
        public UInt256 LastGood;
        public AggregatePrice? Latest;
    }

    /// <summary>
    /// Runs one round: validates all samples, then aggregates each of <paramref name="assets"/> (samples of other
    /// assets are ignored). Every listed asset gets a result, Halted if it had no valid sample.
    /// </summary>
    public IReadOnlyDictionary<string, AggregatePrice> ProcessRound(IReadOnlyList<string> assets, IReadOnlyList<PriceSample> samples)
    {
        ArgumentNullException.ThrowIfNull(assets);
        ArgumentNullException.ThrowIfNull(samples);
        var wanted = new HashSet<string>(assets, StringComparer.Ordinal);
        lock (_lock)
        {
            DateTimeOffset now = _time.GetUtcNow();
            ValidationResult v = _validator.ValidateRound([.. samples.Where(s => wanted.Contains(s.Asset))]);
            var results = new Dictionary<string, AggregatePrice>(StringComparer.Ordinal);
            foreach (string asset in wanted)
            {
                List<PriceSample> valid = [.. v.Accepted.Where(s => s.Asset == asset)];
                List<SampleRejection> rejections = [.. v.Rejected.Where(r => r.Sample.Asset == asset)];
                results[asset] = Aggregate(asset, valid, rejections, now);
            }
            return results;
        }
    }

    private enum Outcome { Agreeing, Degraded, Halted }

    private AggregatePrice Aggregate(string asset, List<PriceSample> valid, List<SampleRejection> rejections, DateTimeOffset now)
    {
        if (!_assets.TryGetValue(asset, out AssetTrack? track)) _assets[asset] = track = new AssetTrack();
        valid.Sort((a, b) => a.PriceWad.CompareTo(b.PriceWad) is var c && c != 0 ? c : string.CompareOrdinal(a.Source, b.Source));

        Outcome outcome;
        UInt256 price;
        string note;
        long maxDev = _options.MaxDeviationBps;
        switch (valid.Count)
        {
            case 0:
                outcome = Outcome.Halted;
                price = track.LastGood;
                note = "no valid sample: last good price kept";
                break;
            case 1:
                outcome = Outcome.Degraded;
                price = valid[0].PriceWad;
                note = $"single source {valid[0].Source}";
                break;
            case 2:
            {
                UInt256 lo = valid[0].PriceWad, hi = valid[1].PriceWad;
                long dev = Bps.Deviation(hi, lo);
                if (dev <= maxDev)
                {
                    outcome = Outcome.Agreeing;
                    price = Bps.Midpoint(lo, hi);
                    note = $"midpoint of two sources {dev} bps apart";
                }
                else if (track.LastGood.IsZero)
                {
                    outcome = Outcome.Halted;
                    price = UInt256.Zero;
                    note = $"two sources {dev} bps apart and no last good price to break the tie";
                }
                else
                {
                    outcome = Outcome.Degraded;
                    UInt256 dLo = Distance(lo, track.LastGood), dHi = Distance(hi, track.LastGood);
                    PriceSample pick = dHi < dLo ? valid[1] : valid[0];
                    price = pick.PriceWad;
                    note = $"two sources {dev} bps apart: {pick.Source} is closer to the last good price";
                }
                break;
            }
            default:
            {
                int n = valid.Count;
                price = (n & 1) == 1 ? valid[n / 2].PriceWad : Bps.Midpoint(valid[(n / 2) - 1].PriceWad, valid[n / 2].PriceWad);
                UInt256 median = price;
                int near = valid.Count(s => Bps.Deviation(s.PriceWad, median) <= maxDev);
                outcome = near >= 2 ? Outcome.Agreeing : Outcome.Degraded;
                note = $"median of {n}; {near} within {maxDev} bps";
                break;
            }
        }

        switch (outcome)
        {
            case Outcome.Halted:
                track.State = OracleState.Halted;
                track.Agreeing = 0;
                break;
            case Outcome.Degraded:
                track.State = OracleState.Degraded;
                track.Agreeing = 0;
                break;
            default:
                track.Agreeing++;
                track.State = track.State == OracleState.Healthy || track.Agreeing >= _options.RecoveryRounds
                    ? OracleState.Healthy
                    : OracleState.Degraded;
                break;
        }
        if (valid.Count > 0 && !price.IsZero) track.LastGood = price;
        if (outcome == Outcome.Halted && price.IsZero) price = track.LastGood;

        UInt256 low = valid.Count > 0 ? valid[0].PriceWad : price;
        UInt256 high = valid.Count > 0 ? valid[^1].PriceWad : price;
        var result = new AggregatePrice(asset, price, low, high, track.State, [.. valid.Select(s => s.Source)], now, rejections, track.Agreeing, note);
        track.Latest = result;
        return result;
    }

    private static UInt256 Distance(UInt256 a, UInt256 b) => a >= b ? a - b : b - a;

    /// <summary>The latest round's result for <paramref name="asset"/>, if any.</summary>
    public AggregatePrice? Latest(string asset)
    {
        lock (_lock) return _assets.TryGetValue(asset, out AssetTrack? t) ? t.Latest : null;
    }

    /// <summary>Current state of <paramref name="asset"/> (Halted if never seen).</summary>
    public OracleState StateOf(string asset)
    {
        lock (_lock) return _assets.TryGetValue(asset, out AssetTrack? t) ? t.State : OracleState.Halted;
    }

    /// <summary>
    /// floor(|onChain - aggregate| x 10 000 / aggregate) against the latest aggregate; null when the asset has no price.
    /// </summary>
    public long? DeviationBps(string asset, UInt256 onChainPriceWad)
    {
        AggregatePrice? a = Latest(asset);
        return a is { HasPrice: true } ? Bps.Deviation(onChainPriceWad, a.PriceWad) : null;
    }
}
