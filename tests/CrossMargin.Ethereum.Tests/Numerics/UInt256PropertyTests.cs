using System.Globalization;
using System.Numerics;
using CrossMargin.Ethereum.Numerics;
using FsCheck.Fluent;
using static CrossMargin.Ethereum.Tests.Numerics.NumericsGen;

namespace CrossMargin.Ethereum.Tests.Numerics;

/// <summary>UInt256 against a BigInteger oracle (reduced mod 2^256 or range-checked).</summary>
public class UInt256PropertyTests
{
    [Fact]
    public void Add_matches_oracle() => Check(U2, t =>
    {
        var (a, b) = t;
        BigInteger exact = B(a) + B(b);
        Assert.Equal(WrapU(exact), B(a + b));
        UInt256 c = ThrowsIff<OverflowException, UInt256>(!InU(exact), () => checked(a + b));
        if (InU(exact)) Assert.Equal(exact, B(c));
        Assert.Equal(InU(exact), UInt256.TryAdd(a, b, out _));
    });

    [Fact]
    public void Sub_matches_oracle() => Check(U2, t =>
    {
        var (a, b) = t;
        BigInteger exact = B(a) - B(b);
        Assert.Equal(WrapU(exact), B(a - b));
        UInt256 c = ThrowsIff<OverflowException, UInt256>(!InU(exact), () => UInt256.CheckedSub(a, b));
        if (InU(exact)) Assert.Equal(exact, B(c));
        Assert.Equal(exact.Sign < 0 ? BigInteger.Zero : exact, B(UInt256.SaturatingSub(a, b)));
    });

    [Fact]
    public void Mul_matches_oracle() => Check(U2, t =>
    {
        var (a, b) = t;
        BigInteger exact = B(a) * B(b);
        Assert.Equal(WrapU(exact), B(a * b));
        UInt256 c = ThrowsIff<OverflowException, UInt256>(!InU(exact), () => checked(a * b));
        if (InU(exact)) Assert.Equal(exact, B(c));
        Assert.Equal(InU(exact), UInt256.TryMul(a, b, out _));
    }, 10_000);

    [Fact]
    public void Div_and_mod_match_oracle() => Check(U2, t =>
    {
        var (a, b) = t;
        if (b.IsZero)
        {
            Assert.Throws<DivideByZeroException>(() => a / b);
            Assert.Throws<DivideByZeroException>(() => a % b);
            return;
        }
        BigInteger q = BigInteger.DivRem(B(a), B(b), out BigInteger r);
        Assert.Equal(q, B(a / b));
        Assert.Equal(r, B(a % b));
        Assert.Equal(q, B(UInt256.DivRem(a, b, out UInt256 rr)));
        Assert.Equal(r, B(rr));
        Assert.Equal(r.IsZero ? q : q + 1, B(UInt256.DivUp(a, b)));
    }, 20_000);

    [Fact]
    public void Div_by_64bit_matches_oracle() => Check(Arb(Any.Zip(RandomLimbNonZero)), t =>
    {
        var (a, d) = t;
        BigInteger q = BigInteger.DivRem(B(a), d, out BigInteger r);
        Assert.Equal(q, B(UInt256.DivRem64(a, d, out ulong r64)));
        Assert.Equal(r, (BigInteger)r64);
    });

    [Fact]
    public void MulDiv_matches_oracle() => Check(U3, t =>
    {
        var (x, y, d) = t;
        if (d.IsZero)
        {
            Assert.Throws<DivideByZeroException>(() => UInt256.MulDiv(x, y, d));
            Assert.Throws<DivideByZeroException>(() => UInt256.MulDivUp(x, y, d));
            return;
        }
        BigInteger q = BigInteger.DivRem(B(x) * B(y), B(d), out BigInteger r);
        BigInteger up = r.IsZero ? q : q + 1;
        UInt256 down = ThrowsIff<OverflowException, UInt256>(!InU(q), () => UInt256.MulDiv(x, y, d));
        if (InU(q)) Assert.Equal(q, B(down));
        UInt256 ceil = ThrowsIff<OverflowException, UInt256>(!InU(up), () => UInt256.MulDivUp(x, y, d));
        if (InU(up)) Assert.Equal(up, B(ceil));
        Assert.Equal(BigInteger.Remainder(B(x) * B(y), B(d)), B(UInt256.MulMod(x, y, d)));
        Assert.Equal(BigInteger.Remainder(B(x) + B(y), B(d)), B(UInt256.AddMod(x, y, d)));
    }, 10_000);

    /// <summary>MulDiv where the 512-bit product is large and the quotient still fits (the long-division path).</summary>
    [Fact]
    public void MulDiv_wide_product_matches_oracle() => Check(U3, t =>
    {
        var (x, y, d0) = t;
        UInt256 d = d0 | (UInt256.One << 200) | UInt256.One;
        BigInteger q = BigInteger.DivRem(B(x) * B(y), B(d), out BigInteger r);
        if (!InU(q))
        {
            Assert.Throws<OverflowException>(() => UInt256.MulDiv(x, y, d));
            return;
        }
        Assert.Equal(q, B(UInt256.MulDiv(x, y, d)));
        if (InU(r.IsZero ? q : q + 1)) Assert.Equal(r.IsZero ? q : q + 1, B(UInt256.MulDivUp(x, y, d)));
    }, 10_000);

    [Fact]
    public void Shifts_and_bitwise_match_oracle() => Check(Arb(Any.Two().Zip(Gen.Choose(0, 300))), t =>
    {
        var ((a, b), k) = t;
        Assert.Equal(WrapU(B(a) << k), B(a << k));
        Assert.Equal(B(a) >> k, B(a >> k));
        Assert.Equal(B(a) & B(b), B(a & b));
        Assert.Equal(B(a) | B(b), B(a | b));
        Assert.Equal(B(a) ^ B(b), B(a ^ b));
        Assert.Equal(UMax - B(a), B(~a));
    });

    [Fact]
    public void Comparison_matches_oracle() => Check(U2, t =>
    {
        var (a, b) = t;
        int expected = B(a).CompareTo(B(b));
        Assert.Equal(expected, a.CompareTo(b));
        Assert.Equal(expected < 0, a < b);
        Assert.Equal(expected <= 0, a <= b);
        Assert.Equal(expected > 0, a > b);
        Assert.Equal(expected >= 0, a >= b);
        Assert.Equal(expected == 0, a == b);
        Assert.Equal(expected != 0, a != b);
        Assert.Equal(expected == 0, a.Equals(b));
        Assert.Equal(BigInteger.Min(B(a), B(b)), B(UInt256.Min(a, b)));
        Assert.Equal(BigInteger.Max(B(a), B(b)), B(UInt256.Max(a, b)));
    });

    [Fact]
    public void Text_and_byte_round_trips() => Check(U, a =>
    {
        BigInteger big = B(a);
        string dec = a.ToString();
        Assert.Equal(big.ToString(CultureInfo.InvariantCulture), dec);
        Assert.Equal(a, UInt256.Parse(dec));
        string hex = a.ToHexString();
        Assert.Equal("0x" + (big.IsZero ? "0" : big.ToString("x", CultureInfo.InvariantCulture).TrimStart('0')), hex);
        Assert.Equal(a, UInt256.Parse(hex));
        Assert.Equal(a, UInt256.Parse("0x" + a.ToString("X64", null)));
        Assert.Equal(a, (UInt256)big);

        byte[] be = a.ToBigEndianBytes();
        Assert.Equal(a, UInt256.ReadBigEndian(be));
        byte[] minimal = a.ToBigEndianBytesMinimal();
        Assert.Equal(a.ByteLength, minimal.Length);
        Assert.True(minimal.Length == 0 || minimal[0] != 0);
        Assert.True(UInt256.TryReadBigEndian(minimal, out UInt256 back));
        Assert.Equal(a, back);
        Assert.Equal(big.IsZero ? 0 : (int)big.GetBitLength(), a.BitLength);
    });

    [Fact]
    public void Double_conversion_is_correctly_rounded() => Check(U, a =>
    {
        double d = (double)a;
        // Oracle: the nearest double to the exact value; check |exact - d| <= |exact - neighbour| on both sides.
        BigInteger exact = B(a);
        BigInteger asBig = new(d);
        BigInteger err = BigInteger.Abs(exact - asBig);
        BigInteger up = new(Math.BitIncrement(d));
        BigInteger down = new(Math.BitDecrement(d));
        Assert.True(err <= BigInteger.Abs(exact - up));
        Assert.True(err <= BigInteger.Abs(exact - down));
    });

    [Fact]
    public void Sqrt_is_floor_root() => Check(U, a =>
    {
        BigInteger s = B(UInt256.Sqrt(a));
        Assert.True(s * s <= B(a));
        Assert.True((s + 1) * (s + 1) > B(a));
    });

    [Fact]
    public void Pow_matches_oracle() => Check(Arb(Any.Zip(Gen.Choose(0, 300))), t =>
    {
        var (a, e) = t;
        UInt256 small = a >> Math.Min(255, a.BitLength > 8 ? a.BitLength - 8 : 0);
        foreach (UInt256 b in new[] { a, small })
        {
            BigInteger exact = BigInteger.Pow(B(b), e);
            Assert.Equal(WrapU(exact), B(UInt256.Pow(b, (uint)e)));
            UInt256 c = ThrowsIff<OverflowException, UInt256>(!InU(exact), () => UInt256.CheckedPow(b, (uint)e));
            if (InU(exact)) Assert.Equal(exact, B(c));
        }
    }, 1_000);

    private static readonly FsCheck.Gen<ulong> RandomLimbNonZero = FsCheck.Fluent.Gen.Where(EdgeLimb, x => x != 0);

    private static FsCheck.Arbitrary<T> Arb<T>(FsCheck.Gen<T> g) => FsCheck.Fluent.Arb.From(g);
}
