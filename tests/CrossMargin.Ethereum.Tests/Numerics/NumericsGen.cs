using System.Numerics;
using CrossMargin.Ethereum.Numerics;
using FsCheck;
using FsCheck.Fluent;

namespace CrossMargin.Ethereum.Tests.Numerics;

/// <summary>FsCheck generators for 256-bit values: uniform and edge-heavy, plus BigInteger oracles.</summary>
internal static class NumericsGen
{
    public static readonly BigInteger Two256 = BigInteger.One << 256;
    public static readonly BigInteger Two255 = BigInteger.One << 255;
    public static readonly BigInteger UMax = Two256 - 1;
    public static readonly BigInteger IMax = Two255 - 1;
    public static readonly BigInteger IMin = -Two255;

    /// <summary>Number of cases for the cheap properties; the whole suite should stay well under 20 s.</summary>
    public const int Cases = 5_000;

    /// <summary>A full-range 64-bit value from 22 + 22 + 20 random bits.</summary>
    public static readonly Gen<ulong> RandomLimb =
        Gen.Choose(0, (1 << 22) - 1).Three().Select(t => ((ulong)(uint)t.Item1 << 42) | ((ulong)(uint)t.Item2 << 20) | ((ulong)(uint)t.Item3 & 0xFFFFF));

    /// <summary>Limbs that exercise carries and borrows.</summary>
    public static readonly Gen<ulong> EdgeLimb = Gen.Frequency(
        (6, Gen.Elements(0UL, 1UL, 2UL, ulong.MaxValue, ulong.MaxValue - 1, 1UL << 63, (1UL << 63) - 1, (1UL << 63) + 1,
            1UL << 32, (1UL << 32) - 1, 0xFFFF_FFFF_0000_0000UL, 10_000_000_000_000_000_000UL, 1_000_000_000_000_000_000UL)),
        (2, Gen.Choose(0, 1000).Select(i => (ulong)i)),
        (3, RandomLimb));

    public static readonly Gen<UInt256> Uniform =
        RandomLimb.Four().Select(t => new UInt256(t.Item1, t.Item2, t.Item3, t.Item4));

    public static readonly Gen<UInt256> EdgeLimbs =
        EdgeLimb.Four().Select(t => new UInt256(t.Item1, t.Item2, t.Item3, t.Item4));

    /// <summary>2^k - 1, 2^k, 2^k + 1.</summary>
    public static readonly Gen<UInt256> PowersOfTwo =
        Gen.Choose(0, 255).Zip(Gen.Choose(-1, 1)).Select(t => (UInt256.One << t.Item1) + (UInt256)(ulong)(long)t.Item2);

    public static readonly Gen<UInt256> Small = Gen.Choose(0, 1000).Select(i => (UInt256)(uint)i);

    public static readonly Gen<UInt256> NearMax = Gen.Choose(0, 1000).Select(i => UInt256.MaxValue - (UInt256)(uint)i);

    /// <summary>Uniform value truncated to a random bit length, so every divisor/dividend size shows up.</summary>
    public static readonly Gen<UInt256> RandomBitLength =
        Uniform.Zip(Gen.Choose(0, 256)).Select(t => t.Item2 == 256 ? t.Item1 : t.Item1 >> t.Item2);

    /// <summary>Values of the form 10^k * small, typical of 18-decimal fixed point amounts.</summary>
    public static readonly Gen<UInt256> Decimalish =
        Gen.Choose(0, 60).Zip(Gen.Choose(1, 1_000_000)).Select(t => UInt256.Pow10(t.Item1) * (UInt256)(uint)t.Item2);

    public static readonly Gen<UInt256> Any = Gen.Frequency(
        (3, Uniform),
        (3, EdgeLimbs),
        (2, PowersOfTwo),
        (1, Small),
        (1, NearMax),
        (4, RandomBitLength),
        (1, Decimalish));

    public static readonly Gen<Int256> AnySigned = Gen.Frequency(
        (6, Any.Select(u => (Int256)u)),
        (2, Any.Select(u => -(Int256)(u >> 1))),
        (1, Gen.Choose(0, 1000).Select(i => Int256.MinValue + (Int256)i)),
        (1, Gen.Choose(-1000, 1000).Select(i => (Int256)i)));

    public static Arbitrary<UInt256> U => Arb.From(Any);

    public static Arbitrary<(UInt256, UInt256)> U2 => Arb.From(Any.Two());

    public static Arbitrary<(UInt256, UInt256, UInt256)> U3 => Arb.From(Any.Three());

    public static Arbitrary<Int256> I => Arb.From(AnySigned);

    public static Arbitrary<(Int256, Int256)> I2 => Arb.From(AnySigned.Two());

    public static Arbitrary<(Int256, Int256, Int256)> I3 => Arb.From(AnySigned.Three());

    public static BigInteger B(UInt256 v) => (BigInteger)v;

    public static BigInteger B(Int256 v) => (BigInteger)v;

    /// <summary>Reduces modulo 2^256 into [0, 2^256).</summary>
    public static BigInteger WrapU(BigInteger v)
    {
        BigInteger r = BigInteger.Remainder(v, Two256);
        return r.Sign < 0 ? r + Two256 : r;
    }

    /// <summary>Reduces modulo 2^256 into [-2^255, 2^255).</summary>
    public static BigInteger WrapI(BigInteger v)
    {
        BigInteger r = WrapU(v);
        return r > IMax ? r - Two256 : r;
    }

    public static bool InU(BigInteger v) => v.Sign >= 0 && v <= UMax;

    public static bool InI(BigInteger v) => v >= IMin && v <= IMax;

    /// <summary>Runs a property with <paramref name="cases"/> cases and throws on the first failure.</summary>
    public static void Check<T>(Arbitrary<T> arb, Action<T> body, int cases = Cases) =>
        Prop.ForAll(arb, body).Check(Config.QuickThrowOnFailure.WithMaxTest(cases));

    /// <summary>Asserts that <paramref name="f"/> throws <typeparamref name="TEx"/> exactly when <paramref name="shouldThrow"/>; otherwise returns its value.</summary>
    public static TR? ThrowsIff<TEx, TR>(bool shouldThrow, Func<TR> f)
        where TEx : Exception
    {
        if (shouldThrow)
        {
            Assert.Throws<TEx>(() => f());
            return default;
        }
        return f();
    }
}
