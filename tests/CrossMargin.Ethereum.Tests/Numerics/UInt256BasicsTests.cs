using System.Numerics;
using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Ethereum.Tests.Numerics;

public class UInt256BasicsTests
{
    private static readonly BigInteger Two256 = BigInteger.One << 256;

    [Fact]
    public void Constants()
    {
        Assert.True(UInt256.Zero.IsZero);
        Assert.Equal(1UL, UInt256.One.u0);
        Assert.Equal(Two256 - 1, (BigInteger)UInt256.MaxValue);
        Assert.Equal(256, UInt256.MaxValue.BitLength);
        Assert.Equal(32, UInt256.MaxValue.ByteLength);
        Assert.Equal(0, UInt256.Zero.BitLength);
        Assert.Equal(0, UInt256.Zero.ByteLength);
        Assert.Equal(1, UInt256.One.BitLength);
        Assert.Equal(65, new UInt256(0, 1, 0, 0).BitLength);
        Assert.Equal(9, new UInt256(0, 1, 0, 0).ByteLength);
    }

    [Fact]
    public void Constructors_and_implicit_conversions()
    {
        UInt256 a = 5;
        UInt256 b = 5u;
        UInt256 c = ulong.MaxValue;
        UInt256 d = UInt128.MaxValue;
        Assert.Equal(a, b);
        Assert.Equal(ulong.MaxValue, c.u0);
        Assert.Equal(new UInt256(ulong.MaxValue, ulong.MaxValue, 0, 0), d);
        Assert.Equal(new UInt256(7UL), new UInt256(7L));
        Assert.Equal(new UInt256((UInt128)7), new UInt256((Int128)7));
        Assert.Throws<OverflowException>(() => new UInt256(-1L));
        Assert.Throws<OverflowException>(() => new UInt256((Int128)(-1)));
    }

    [Fact]
    public void BigEndian_round_trip()
    {
        byte[] bytes = new byte[32];
        for (int i = 0; i < 32; i++) bytes[i] = (byte)(i + 1);
        UInt256 v = UInt256.ReadBigEndian(bytes);
        Assert.Equal(0x191A1B1C1D1E1F20UL, v.u0);
        Assert.Equal(0x0102030405060708UL, v.u3);
        byte[] back = new byte[32];
        v.WriteBigEndian(back);
        Assert.Equal(bytes, back);
        Assert.Equal(new BigInteger(bytes, isUnsigned: true, isBigEndian: true), (BigInteger)v);
        Assert.Throws<ArgumentException>(() => UInt256.ReadBigEndian(new byte[31]));
    }

    [Fact]
    public void TryReadBigEndian_variable_length()
    {
        Assert.True(UInt256.TryReadBigEndian(ReadOnlySpan<byte>.Empty, out UInt256 z));
        Assert.True(z.IsZero);
        Assert.True(UInt256.TryReadBigEndian(new byte[] { 0x01, 0x00 }, out UInt256 v));
        Assert.Equal((UInt256)256UL, v);
        Assert.False(UInt256.TryReadBigEndian(new byte[33], out _));
        Assert.Equal(new byte[] { 0x01, 0x00 }, v.ToBigEndianBytesMinimal());
        Assert.Empty(UInt256.Zero.ToBigEndianBytesMinimal());
    }

    [Theory]
    [InlineData("0", "0x0")]
    [InlineData("1", "0x1")]
    [InlineData("255", "0xff")]
    [InlineData("18446744073709551615", "0xffffffffffffffff")]
    [InlineData("18446744073709551616", "0x10000000000000000")]
    [InlineData("340282366920938463463374607431768211456", "0x100000000000000000000000000000000")]
    [InlineData("115792089237316195423570985008687907853269984665640564039457584007913129639935", "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")]
    public void Decimal_and_hex_formatting(string dec, string hex)
    {
        UInt256 v = UInt256.Parse(dec);
        Assert.Equal(dec, v.ToString());
        Assert.Equal(hex, v.ToHexString());
        Assert.Equal(v, UInt256.Parse(hex));
        Assert.Equal(v, UInt256.Parse(hex.ToUpperInvariant().Replace("0X", "0x", StringComparison.Ordinal)));
        Assert.Equal(BigInteger.Parse(dec), (BigInteger)v);
    }

    [Theory]
    [InlineData("")]
    [InlineData("0x")]
    [InlineData("-1")]
    [InlineData("+1")]
    [InlineData(" 1")]
    [InlineData("1 ")]
    [InlineData("12a")]
    [InlineData("0xg")]
    [InlineData("1_000")]
    public void Parse_rejects_bad_input(string s)
    {
        Assert.False(UInt256.TryParse(s, out _));
        Assert.Throws<FormatException>(() => UInt256.Parse(s));
    }

    [Fact]
    public void Parse_overflow()
    {
        Assert.Throws<OverflowException>(() => UInt256.Parse("115792089237316195423570985008687907853269984665640564039457584007913129639936"));
        Assert.Throws<OverflowException>(() => UInt256.Parse("0x1" + new string('0', 64)));
        Assert.Equal(UInt256.One, UInt256.Parse("0x" + new string('0', 80) + "1"));
        Assert.Equal(UInt256.One, UInt256.Parse(new string('0', 100) + "1"));
        Assert.False(UInt256.TryParse((string?)null, out _));
    }

    [Fact]
    public void Format_specifiers()
    {
        UInt256 v = 255UL;
        Assert.Equal("ff", v.ToString("x", null));
        Assert.Equal("FF", v.ToString("X", null));
        Assert.Equal("00ff", v.ToString("x4", null));
        Assert.Equal("0xff", v.ToString("0x", null));
        Assert.Equal("00255", v.ToString("D5", null));
        Assert.Equal(new string('0', 62) + "ff", v.ToString("x64", null));
        Assert.Equal("255", $"{v}");
        Assert.Equal("0", UInt256.Zero.ToString("x", null));
    }

    [Fact]
    public void BigInteger_conversion_range()
    {
        Assert.Throws<OverflowException>(() => (UInt256)BigInteger.MinusOne);
        Assert.Throws<OverflowException>(() => (UInt256)Two256);
        Assert.Equal(UInt256.MaxValue, (UInt256)(Two256 - 1));
        Assert.Equal(UInt256.MaxValue, UInt256.FromBigIntegerWrapping(BigInteger.MinusOne));
    }

    [Fact]
    public void Ordering_and_equality()
    {
        UInt256 a = new(0, 0, 0, 1);
        UInt256 b = new(ulong.MaxValue, ulong.MaxValue, ulong.MaxValue, 0);
        Assert.True(a > b);
        Assert.True(b < a);
        UInt256 a2 = a;
        Assert.True(a >= a2);
        Assert.True(a <= a2);
        Assert.True(a != b);
        Assert.Equal(1, a.CompareTo(b));
        Assert.Equal(-1, b.CompareTo(a));
        Assert.Equal(0, a.CompareTo(a));
        Assert.Equal(a.GetHashCode(), new UInt256(0, 0, 0, 1).GetHashCode());
        Assert.Equal(a, UInt256.Max(a, b));
        Assert.Equal(b, UInt256.Min(a, b));
    }

    [Fact]
    public void Narrowing_conversions()
    {
        UInt256 big = new(5, 1, 0, 0);
        Assert.Equal(5UL, (ulong)big);
        Assert.Throws<OverflowException>(() => checked((ulong)big));
        Assert.Equal(5UL, checked((ulong)(UInt256)5UL));
        Assert.Equal(new UInt128(1, 5), checked((UInt128)big));
        Assert.Throws<OverflowException>(() => checked((UInt128)new UInt256(0, 0, 1, 0)));
        Assert.Equal(UInt256.MaxValue, (UInt256)(-1L));
        Assert.Throws<OverflowException>(() => checked((UInt256)(-1L)));
        Assert.Equal(Math.Pow(2, 255), (double)(UInt256.One << 255));
        Assert.Equal(Math.Pow(2, 256), (double)UInt256.MaxValue);
    }

    [Fact]
    public void Bit_queries()
    {
        UInt256 p = UInt256.One << 130;
        Assert.True(p.IsPowerOfTwo);
        Assert.False((p + UInt256.One).IsPowerOfTwo);
        Assert.Equal(130, p.TrailingZeroCount);
        Assert.Equal(125, p.LeadingZeroCount);
        Assert.Equal(256, UInt256.Zero.TrailingZeroCount);
        Assert.Equal(256, UInt256.MaxValue.PopCount);
        Assert.True(p.TestBit(130));
        Assert.False(p.TestBit(129));
        Assert.Throws<ArgumentOutOfRangeException>(() => p.TestBit(256));
        Assert.Equal(255, Int256.MaxValue.BitLength);
        Assert.Equal(255, Int256.MinValue.BitLength);
        Assert.Equal(0, Int256.MinusOne.BitLength);
    }
}
