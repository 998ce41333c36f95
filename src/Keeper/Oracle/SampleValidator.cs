using System.Numerics;
using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Keeper.Oracle;

/// <summary>Why a sample was not used.</summary>
public enum RejectionReason
{
    /// <summary>Price is zero (prices are unsigned; negatives never get this far).</summary>
    NonPositive,
    /// <summary>Published more than <see cref="OracleOptions.MaxFutureSkew"/> ahead of our clock.</summary>
    FromFuture,
    /// <summary>Older than the source's maximum age.</summary>
    Stale,
    /// <summary>Confidence / price above <see cref="OracleOptions.MaxConfidenceBps"/>.</summary>
    ConfidenceTooWide,
    /// <summary>Moved more than <see cref="OracleOptions.MaxJumpBps"/> from the same source's last accepted sample, and no other source confirmed it.</summary>
    UnconfirmedJump,
    /// <summary>The same source delivered the asset more than once in a round; only its newest sample counts.</summary>
    Duplicate,
}

/// <summary>A rejected sample and the reason.</summary>
public sealed record SampleRejection(PriceSample Sample, RejectionReason Reason, string Detail);

/// <summary>Outcome of validating one round of samples.</summary>
public sealed record ValidationResult(IReadOnlyList<PriceSample> Accepted, IReadOnlyList<SampleRejection> Rejected);

/// <summary>
/// Per-sample validation against the clock (an injected <see cref="TimeProvider"/>) and each source's history.
/// Remembers the last accepted price per (source, asset) for the jump rule. Not thread-safe; callers serialise rounds.
/// </summary>
public sealed class SampleValidator
{
    private readonly OracleOptions _options;
    private readonly TimeProvider _time;
    private readonly Dictionary<(string Source, string Asset), UInt256> _lastAccepted = [];

    public SampleValidator(OracleOptions? options = null, TimeProvider? timeProvider = null)
    {
        _options = options ?? new OracleOptions();
        _options.Validate();
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The last accepted price of <paramref name="asset"/> from <paramref name="source"/>.</summary>
    public UInt256? LastAccepted(string source, string asset) =>
        _lastAccepted.TryGetValue((source, asset), out UInt256 p) ? p : null;

    /// <summary>Validates one round (any mix of assets and sources) and records the accepted samples.</summary>
    public ValidationResult ValidateRound(IReadOnlyList<PriceSample> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        DateTimeOffset now = _time.GetUtcNow();
        var rejected = new List<SampleRejection>();

        // Stage 0: one sample per (source, asset): the newest publish time wins, the first of equals.
        var newest = new Dictionary<(string, string), PriceSample>();
        foreach (PriceSample s in samples)
        {
            var key = (s.Source, s.Asset);
            if (!newest.TryGetValue(key, out PriceSample? kept)) { newest[key] = s; continue; }
            if (s.PublishTime > kept.PublishTime)
            {
                rejected.Add(new SampleRejection(kept, RejectionReason.Duplicate, $"superseded by a newer sample from {s.Source}"));
                newest[key] = s;
            }
            else
            {
                rejected.Add(new SampleRejection(s, RejectionReason.Duplicate, $"{s.Source} already delivered {s.Asset} this round"));
            }
        }

        // Stage 1: checks that need only the sample and the clock.
        var candidates = new List<PriceSample>();
        foreach (PriceSample s in samples)
        {
            if (!ReferenceEquals(newest[(s.Source, s.Asset)], s)) continue;
            SampleRejection? r = CheckStatic(s, now);
            if (r is null) candidates.Add(s); else rejected.Add(r);
        }

        // Stage 2: jumps against the same source's history, confirmable by any other stage-1 candidate.
        var accepted = new List<PriceSample>(candidates.Count);
        foreach (PriceSample s in candidates)
        {
            if (_lastAccepted.TryGetValue((s.Source, s.Asset), out UInt256 last))
            {
                long jump = Bps.Deviation(s.PriceWad, last);
                if (jump > _options.MaxJumpBps)
                {
                    PriceSample? confirmer = candidates.FirstOrDefault(o =>
                        o.Asset == s.Asset && o.Source != s.Source && Bps.Deviation(o.PriceWad, s.PriceWad) <= _options.MaxDeviationBps);
                    if (confirmer is null)
                    {
                        rejected.Add(new SampleRejection(s, RejectionReason.UnconfirmedJump,
                            $"moved {jump} bps from {s.Source}'s last accepted price (limit {_options.MaxJumpBps}) and no other source confirms it"));
                        continue;
                    }
                }
            }
            accepted.Add(s);
        }

        foreach (PriceSample s in accepted) _lastAccepted[(s.Source, s.Asset)] = s.PriceWad;
        return new ValidationResult(accepted, rejected);
    }

    private SampleRejection? CheckStatic(PriceSample s, DateTimeOffset now)
    {
        if (s.PriceWad.IsZero) return new SampleRejection(s, RejectionReason.NonPositive, "price is zero");
        TimeSpan ahead = s.PublishTime - now;
        if (ahead > _options.MaxFutureSkew)
            return new SampleRejection(s, RejectionReason.FromFuture, $"published {ahead.TotalSeconds:0.###} s in the future (limit {_options.MaxFutureSkew.TotalSeconds:0.###} s)");
        TimeSpan age = now - s.PublishTime;
        TimeSpan maxAge = _options.MaxAgeFor(s.Source);
        if (age > maxAge)
            return new SampleRejection(s, RejectionReason.Stale, $"{age.TotalSeconds:0.###} s old (limit {maxAge.TotalSeconds:0.###} s for {s.Source})");
        // confidence / price > cap  <=>  confidence * 10 000 > cap * price (exact).
        if (!s.ConfidenceWad.IsZero
            && s.ConfidenceWad.ToBigInteger() * Bps.Scale > new BigInteger(_options.MaxConfidenceBps) * s.PriceWad.ToBigInteger())
        {
            return new SampleRejection(s, RejectionReason.ConfidenceTooWide,
                $"confidence is {s.ConfidenceWad.ToBigInteger() * Bps.Scale / s.PriceWad.ToBigInteger()} bps of the price (limit {_options.MaxConfidenceBps})");
        }
        return null;
    }
}
