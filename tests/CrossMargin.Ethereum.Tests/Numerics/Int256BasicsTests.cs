using System.Numerics;
using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Ethereum.Tests.Numerics;

public class Int256BasicsTests
{
    private static readonly BigInteger Two255 = BigInteger.One << 255;

    [Fact]
    public void Constants()
    {
        Assert.Equal(-Two255, (BigInteger)Int256.MinValue);
        Assert.Equal(Two255 - 1, (BigInteger)Int256.MaxValue);
        Assert.Equal(BigInteger.MinusOne, (BigInteger)Int256.MinusOne);
        Assert.Equal(BigInteger.One, (BigInteger)Int256.One);
        Assert.True(Int256.Zero.IsZero);
        Assert.True(Int256.MinusOne.IsNegative);
        Assert.Equal(-1, Int256.MinValue.Sign);
        Assert.Equal(0, Int256.Zero.Sign);
        Assert.Equal(1, Int256.MaxValue.Sign);
    }

    [Fact]
    public void Constructors_and_implicit_conversions()
    {
        Int256 a = -5;
        Int256 b = -5L;
        Int256 c = (Int128)(-5);
        Assert.Equal(a, b);
        Assert.Equal(a, c);
        Assert.Equal(new BigInteger(-5), (BigInteger)a);
        Assert.Equal(new BigInteger(long.MinValue), (BigInteger)new Int256(long.MinValue));
        Assert.Equal((BigInteger)Int128.MinValue, (BigInteger)new Int256(Int128.MinValue));
        Assert.Equal((BigInteger)UInt128.MaxValue, (BigInteger)new Int256(UInt128.MaxValue));
        Assert.Equal((BigInteger)ulong.MaxValue, (BigInteger)(Int256)ulong.MaxValue);
    }

    [Fact]
    public void Reinterpreting_and_checked_casts()
    {
        Assert.Equal(UInt256.MaxValue, (UInt256)Int256.MinusOne);
        Assert.Equal(Int256.MinusOne, (Int256)UInt256.MaxValue);
        Assert.Equal(Int256.MinValue, (Int256)(UInt256.One << 255));
        Assert.Throws<OverflowException>(() => checked((Int256)UInt256.MaxValue));
        Assert.Throws<OverflowException>(() => checked((UInt256)Int256.MinusOne));
        Assert.Throws<OverflowException>(() => Int256.FromUInt256Checked(UInt256.One << 255));
        Assert.Equal(Int256.MaxValue, Int256.FromUInt256Checked((UInt256.One << 255) - UInt256.One));
        Assert.Equal((UInt256)7UL, ((Int256)7).ToUInt256Checked());
    }

    [Fact]
    public void BigEndian_round_trip_negative()
    {
        byte[] buf = new byte[32];
        Int256.MinusOne.WriteBigEndian(buf);
        Assert.All(buf, x => Assert.Equal(0xFF, x));
        Assert.Equal(Int256.MinusOne, Int256.ReadBigEndian(buf));
        Assert.True(Int256.TryReadBigEndianSignExtended(new byte[] { 0xFF, 0x38 }, out Int256 v));
        Assert.Equal((Int256)(-200), v);
    }

    [Theory]
    [InlineData("0", "0x0")]
    [InlineData("-1", "-0x1")]
    [InlineData("255", "0xff")]
    [InlineData("-255", "-0xff")]
    [InlineData("57896044618658097711785492504343953926634992332820282019728792003956564819967", "0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")]
    [InlineData("-57896044618658097711785492504343953926634992332820282019728792003956564819968", "-0x8000000000000000000000000000000000000000000000000000000000000000")]
    public void Parse_and_format(string dec, string hex)
    {
        Int256 v = Int256.Parse(dec);
        Assert.Equal(dec, v.ToString());
        Assert.Equal(hex, v.ToHexString());
        Assert.Equal(v, Int256.Parse(hex));
        Assert.Equal(BigInteger.Parse(dec), (BigInteger)v);
    }

    [Theory]
    [InlineData("57896044618658097711785492504343953926634992332820282019728792003956564819968")]
    [InlineData("-57896044618658097711785492504343953926634992332820282019728792003956564819969")]
    [InlineData("0x8000000000000000000000000000000000000000000000000000000000000000")]
    public void Parse_overflow(string s)
    {
        Assert.Throws<OverflowException>(() => Int256.Parse(s));
        Assert.False(Int256.TryParse(s, out _));
    }

    [Fact]
    public void BigInteger_conversion_range()
    {
        Assert.Throws<OverflowException>(() => (Int256)Two255);
        Assert.Throws<OverflowException>(() => (Int256)(-Two255 - 1));
        Assert.Equal(Int256.MinValue, (Int256)(-Two255));
        Assert.Equal(Int256.MaxValue, (Int256)(Two255 - 1));
    }

    [Fact]
    public void Ordering_is_signed()
    {
        Assert.True(Int256.MinValue < Int256.MinusOne);
        Assert.True(Int256.MinusOne < Int256.Zero);
        Assert.True(Int256.Zero < Int256.MaxValue);
        Assert.True((Int256)(-2) < (Int256)(-1));
        Assert.Equal(Int256.MinValue, Int256.Min(Int256.MinValue, Int256.MaxValue));
        Assert.Equal(-1, Int256.MinValue.CompareTo(Int256.MaxValue));
    }

    [Fact]
    public void Narrowing_conversions()
    {
        Assert.Equal(long.MinValue, checked((long)new Int256(long.MinValue)));
        Assert.Throws<OverflowException>(() => checked((long)(Int256)((Int128)long.MaxValue + 1)));
        Assert.Equal(-1L, (long)Int256.MinusOne);
        Assert.Equal(-3.0, (double)(Int256)(-3));
    }
}
