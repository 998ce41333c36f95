using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Oracle;

namespace CrossMargin.Keeper.Market;

/// <summary>What a simulated source says about one asset right now.</summary>
/// <param name="Asset">Asset symbol.</param>
/// <param name="PriceWad">Quoted price (zero when down).</param>
/// <param name="PublishTime">Publish time of the quote (old when frozen).</param>
/// <param name="Step">The scenario step the quote belongs to.</param>
/// <param name="DownStatus">HTTP status when the source is down, else null.</param>
public sealed record SourceQuote(string Asset, UInt256 PriceWad, DateTimeOffset PublishTime, int Step, int? DownStatus)
{
    /// <summary>The source answers with an error status.</summary>
    public bool IsDown => DownStatus is not null;
}

/// <summary>
/// The deterministic scenario engine: true prices per step (seeded random walk times the scenario path) and what
/// each source quotes, given the clock of an injected <see cref="TimeProvider"/>. Thread-safe.
/// </summary>
public sealed class MarketSimulation
{
    private readonly TimeProvider _time;
    private readonly Dictionary<string, ScenarioAsset> _assets;
    private readonly Dictionary<string, List<UInt256>> _walk = new(StringComparer.Ordinal); // walk factor (WAD) per step
    private readonly Dictionary<string, Random> _rng = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <param name="scenario">The scenario.</param>
    /// <param name="timeProvider">Clock (tests advance a manual one; the CLI uses the system clock).</param>
    /// <param name="start">Time of step 0; defaults to now, truncated to whole seconds.</param>
    public MarketSimulation(MarketScenario scenario, TimeProvider? timeProvider = null, DateTimeOffset? start = null)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        Scenario = scenario;
        _time = timeProvider ?? TimeProvider.System;
        DateTimeOffset s = start ?? _time.GetUtcNow();
        Start = DateTimeOffset.FromUnixTimeSeconds(s.ToUnixTimeSeconds());
        _assets = scenario.Assets.ToDictionary(a => a.Symbol, StringComparer.Ordinal);
        for (int i = 0; i < scenario.Assets.Count; i++)
        {
            ScenarioAsset a = scenario.Assets[i];
            _walk[a.Symbol] = [WadDecimal.One];
            _rng[a.Symbol] = new Random(HashCode.Combine(scenario.Seed, i) & int.MaxValue);
        }
    }

    /// <summary>The scenario.</summary>
    public MarketScenario Scenario { get; }

    /// <summary>Time of step 0 (whole seconds).</summary>
    public DateTimeOffset Start { get; }

    /// <summary>Current time of the injected clock.</summary>
    public DateTimeOffset Now => _time.GetUtcNow();

    /// <summary>Current step: floor((now - start) / interval), 0 before the start.</summary>
    public int CurrentStep
    {
        get
        {
            TimeSpan elapsed = _time.GetUtcNow() - Start;
            return elapsed <= TimeSpan.Zero ? 0 : (int)Math.Min(int.MaxValue, elapsed.Ticks / Scenario.StepInterval.Ticks);
        }
    }

    /// <summary>Start time of <paramref name="step"/> (whole seconds, used as publish time).</summary>
    public DateTimeOffset StepTime(int step) =>
        DateTimeOffset.FromUnixTimeSeconds(Start.ToUnixTimeSeconds() + (long)Math.Floor(step * Scenario.StepInterval.TotalSeconds));

    /// <summary>Whether the scenario has <paramref name="asset"/>.</summary>
    public bool HasAsset(string asset) => _assets.ContainsKey(asset);

    /// <summary>The scenario asset (throws for unknown symbols).</summary>
    public ScenarioAsset Asset(string asset) => _assets[asset];

    /// <summary>True market price of <paramref name="asset"/> at <paramref name="step"/>.</summary>
    public UInt256 TruePrice(string asset, int step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        ScenarioAsset a = _assets[asset];
        UInt256 walk;
        lock (_lock)
        {
            List<UInt256> w = _walk[asset];
            Random rng = _rng[asset];
            while (w.Count <= step)
            {
                int move = a.VolatilityBps == 0 ? 0 : rng.Next(-a.VolatilityBps, a.VolatilityBps + 1);
                w.Add(Bps.Apply(w[^1], move));
            }
            walk = w[step];
        }
        int pathBps = a.PathBps.Count == 0 ? 0 : a.PathBps[Math.Min(step, a.PathBps.Count - 1)];
        UInt256 pathed = Bps.Apply(a.StartPriceWad, pathBps);
        return (UInt256)(pathed.ToBigInteger() * walk.ToBigInteger() / WadDecimal.One.ToBigInteger());
    }

    /// <summary>What <paramref name="source"/> quotes for <paramref name="asset"/> at the current step.</summary>
    public SourceQuote Quote(string source, string asset) => QuoteAt(source, asset, CurrentStep);

    /// <summary>Whether <paramref name="source"/> is down at the current step (for all assets), and with which status.</summary>
    public int? DownStatus(string source)
    {
        int step = CurrentStep;
        foreach (SourceOverride o in Scenario.Overrides)
            if (o.Source == source && o.Mode == SourceMode.Down && o.AppliesTo(step, null)) return o.Status;
        return null;
    }

    /// <summary>What <paramref name="source"/> quotes for <paramref name="asset"/> at <paramref name="step"/>.</summary>
    public SourceQuote QuoteAt(string source, string asset, int step)
    {
        int priceStep = step;
        long offset = 0;
        foreach (SourceOverride o in Scenario.Overrides)
        {
            if (o.Source != source || !o.AppliesTo(step, asset)) continue;
            switch (o.Mode)
            {
                case SourceMode.Down:
                    return new SourceQuote(asset, UInt256.Zero, StepTime(step), step, o.Status);
                case SourceMode.Frozen:
                    priceStep = Math.Min(priceStep, o.FromStep);
                    break;
                case SourceMode.Outlier:
                    offset += o.OffsetBps;
                    break;
            }
        }
        UInt256 price = TruePrice(asset, priceStep);
        if (offset != 0) price = Bps.Apply(price, Math.Max(offset, -9_999));
        return new SourceQuote(asset, price, StepTime(priceStep), priceStep, null);
    }
}
