using System.Globalization;
using System.Numerics;
using CrossMargin.Ethereum.Numerics;
using FsCheck.Fluent;
using static CrossMargin.Ethereum.Tests.Numerics.NumericsGen;

namespace CrossMargin.Ethereum.Tests.Numerics;

/// <summary>Int256 against a BigInteger oracle (wrapped into [-2^255, 2^255) or range-checked).</summary>
public class Int256PropertyTests
{
    [Fact]
    public void Add_sub_match_oracle() => Check(I2, t =>
    {
        var (a, b) = t;
        BigInteger sum = B(a) + B(b);
        BigInteger diff = B(a) - B(b);
        Assert.Equal(WrapI(sum), B(a + b));
        Assert.Equal(WrapI(diff), B(a - b));
        Int256 cs = ThrowsIff<OverflowException, Int256>(!InI(sum), () => checked(a + b));
        if (InI(sum)) Assert.Equal(sum, B(cs));
        Int256 cd = ThrowsIff<OverflowException, Int256>(!InI(diff), () => Int256.CheckedSub(a, b));
        if (InI(diff)) Assert.Equal(diff, B(cd));
    });

    [Fact]
    public void Mul_matches_oracle() => Check(I2, t =>
    {
        var (a, b) = t;
        BigInteger exact = B(a) * B(b);
        Assert.Equal(WrapI(exact), B(a * b));
        Int256 c = ThrowsIff<OverflowException, Int256>(!InI(exact), () => checked(a * b));
        if (InI(exact)) Assert.Equal(exact, B(c));
    }, 10_000);

    [Fact]
    public void Div_truncates_toward_zero_and_mod_takes_dividend_sign() => Check(I2, t =>
    {
        var (a, b) = t;
        if (b.IsZero)
        {
            Assert.Throws<DivideByZeroException>(() => a / b);
            Assert.Throws<DivideByZeroException>(() => a % b);
            return;
        }
        // BigInteger division truncates toward zero and its remainder has the dividend's sign: Solidity semantics.
        BigInteger q = BigInteger.DivRem(B(a), B(b), out BigInteger r);
        Assert.Equal(WrapI(q), B(a / b));
        Assert.Equal(r, B(a % b));
        Int256 cq = ThrowsIff<OverflowException, Int256>(!InI(q), () => checked(a / b));
        if (InI(q)) Assert.Equal(q, B(cq));
        if (InI(q))
        {
            Assert.Equal(q, B(Int256.DivRem(a, b, out Int256 rr)));
            Assert.Equal(r, B(rr));
        }
    }, 10_000);

    [Fact]
    public void MulDiv_matches_oracle() => Check(I3, t =>
    {
        var (x, y, d) = t;
        if (d.IsZero)
        {
            Assert.Throws<DivideByZeroException>(() => Int256.MulDiv(x, y, d));
            return;
        }
        BigInteger q = BigInteger.Divide(B(x) * B(y), B(d));
        Int256 got = ThrowsIff<OverflowException, Int256>(!InI(q), () => Int256.MulDiv(x, y, d));
        if (InI(q)) Assert.Equal(q, B(got));
    }, 10_000);

    [Fact]
    public void Negate_abs_sign_match_oracle() => Check(I, a =>
    {
        BigInteger v = B(a);
        Assert.Equal(WrapI(-v), B(-a));
        Int256 n = ThrowsIff<OverflowException, Int256>(!InI(-v), () => checked(-a));
        if (InI(-v)) Assert.Equal(-v, B(n));
        Int256 abs = ThrowsIff<OverflowException, Int256>(!InI(BigInteger.Abs(v)), () => Int256.Abs(a));
        if (InI(BigInteger.Abs(v))) Assert.Equal(BigInteger.Abs(v), B(abs));
        Assert.Equal(BigInteger.Abs(v), B(a.UnsignedAbs));
        Assert.Equal(v.Sign, a.Sign);
        Assert.Equal(v.Sign < 0, a.IsNegative);
    });

    [Fact]
    public void Shifts_match_oracle() => Check(Arb.From(AnySigned.Zip(Gen.Choose(0, 300))), t =>
    {
        var (a, k) = t;
        Assert.Equal(B(a) >> k, B(a >> k)); // arithmetic (floor) shift, like SAR
        Assert.Equal(WrapI(B(a) << k), B(a << k));
        Assert.Equal(WrapU(B(a)) >> k, WrapU(B(a >>> k)));
        Assert.Equal(-B(a) - 1, B(~a));
    });

    [Fact]
    public void Comparison_matches_oracle() => Check(I2, t =>
    {
        var (a, b) = t;
        int expected = B(a).CompareTo(B(b));
        Assert.Equal(expected, a.CompareTo(b));
        Assert.Equal(expected < 0, a < b);
        Assert.Equal(expected <= 0, a <= b);
        Assert.Equal(expected > 0, a > b);
        Assert.Equal(expected >= 0, a >= b);
        Assert.Equal(expected == 0, a == b);
        Assert.Equal(BigInteger.Min(B(a), B(b)), B(Int256.Min(a, b)));
        Assert.Equal(BigInteger.Max(B(a), B(b)), B(Int256.Max(a, b)));
    });

    [Fact]
    public void Conversions_and_round_trips() => Check(I, a =>
    {
        BigInteger v = B(a);
        Assert.Equal(a, (Int256)v);
        Assert.Equal(v.ToString(CultureInfo.InvariantCulture), a.ToString());
        Assert.Equal(a, Int256.Parse(a.ToString()));
        Assert.Equal(a, Int256.Parse(a.ToHexString()));
        Assert.Equal(WrapU(v), B((UInt256)a));
        Assert.Equal(a, (Int256)(UInt256)a);
        UInt256 cu = ThrowsIff<OverflowException, UInt256>(v.Sign < 0, () => checked((UInt256)a));
        if (v.Sign >= 0) Assert.Equal(v, B(cu));
        byte[] buf = new byte[32];
        a.WriteBigEndian(buf);
        Assert.Equal(a, Int256.ReadBigEndian(buf));
        Assert.Equal(v, new BigInteger(buf, isUnsigned: false, isBigEndian: true));
        bool fitsLong = v >= long.MinValue && v <= long.MaxValue;
        long l = ThrowsIff<OverflowException, long>(!fitsLong, () => checked((long)a));
        if (fitsLong) Assert.Equal(v, l);
        Assert.Equal((long)(ulong)(WrapU(v) & ulong.MaxValue), (long)a);
        Assert.Equal(Math.Sign((double)v), Math.Sign((double)a));
    });

    [Fact]
    public void UInt256_to_Int256_checked_cast() => Check(U, u =>
    {
        bool fits = B(u) <= IMax;
        Int256 i = ThrowsIff<OverflowException, Int256>(!fits, () => checked((Int256)u));
        if (fits) Assert.Equal(B(u), B(i));
        Assert.Equal(WrapI(B(u)), B((Int256)u));
    });
}
