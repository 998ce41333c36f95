using System.Numerics;
using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Keeper.Oracle;

/// <summary>One price observation of one asset from one source.</summary>
/// <param name="Asset">Asset symbol, e.g. "ETH".</param>
/// <param name="PriceWad">USD per one whole unit, x 10^18.</param>
/// <param name="ConfidenceWad">Confidence interval (same scale), 0 when the source does not publish one.</param>
/// <param name="PublishTime">When the source says the price was observed / published.</param>
/// <param name="ReceivedTime">When this bot received it.</param>
/// <param name="Source">Source id, e.g. "binance".</param>
public sealed record PriceSample(
    string Asset,
    UInt256 PriceWad,
    UInt256 ConfidenceWad,
    DateTimeOffset PublishTime,
    DateTimeOffset ReceivedTime,
    string Source);

/// <summary>Basis-point arithmetic on WAD prices (exact, integer, floor).</summary>
public static class Bps
{
    /// <summary>10 000 basis points = 100 %.</summary>
    public const long Scale = 10_000;

    /// <summary>
    /// floor(|value - reference| x 10 000 / reference); <see cref="long.MaxValue"/> when the reference is zero
    /// (and value is not) or the result does not fit.
    /// </summary>
    public static long Deviation(UInt256 value, UInt256 reference)
    {
        if (reference.IsZero) return value.IsZero ? 0 : long.MaxValue;
        UInt256 diff = value >= reference ? value - reference : reference - value;
        BigInteger q = diff.ToBigInteger() * Scale / reference.ToBigInteger();
        return q > long.MaxValue ? long.MaxValue : (long)q;
    }

    /// <summary>floor(value x (10 000 + bps) / 10 000); bps may be negative (down to -10 000).</summary>
    public static UInt256 Apply(UInt256 value, long bps)
    {
        if (bps < -Scale) throw new ArgumentOutOfRangeException(nameof(bps), "A move below -100% is not a price.");
        BigInteger r = value.ToBigInteger() * (Scale + bps) / Scale;
        return (UInt256)r;
    }

    /// <summary>floor(value x bps / 10 000) for non-negative bps.</summary>
    public static UInt256 Fraction(UInt256 value, long bps)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bps);
        return (UInt256)(value.ToBigInteger() * bps / Scale);
    }

    /// <summary>floor((a + b) / 2) without overflow.</summary>
    public static UInt256 Midpoint(UInt256 a, UInt256 b) => (a >> 1) + (b >> 1) + (a & b & UInt256.One);
}
