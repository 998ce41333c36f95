using System.Numerics;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Oracle;

namespace CrossMargin.Keeper.Tests.Oracle;

public class WadDecimalTests
{
    [Theory]
    [InlineData("0", "0")]
    [InlineData("1", "1000000000000000000")]
    [InlineData("3521.45000000", "3521450000000000000000")]
    [InlineData("3521.45", "3521450000000000000000")]
    [InlineData("0.000000000000000001", "1")]
    [InlineData("0.0000000000000000019", "1")] // 19th digit truncated
    [InlineData("0.0000000000000000009", "0")]
    [InlineData("1.999999999999999999999", "1999999999999999999")] // truncation, never rounds up
    [InlineData("007.50", "7500000000000000000")]
    [InlineData("67012.34000000", "67012340000000000000000")]
    [InlineData("12345678901234567890.123456789012345678", "12345678901234567890123456789012345678")]
    public void Parses_exactly(string text, string expectedWad)
    {
        Assert.Equal(UInt256.Parse(expectedWad), WadDecimal.Parse(text));
        Assert.True(WadDecimal.TryParse(text, out UInt256 w, out _));
        Assert.Equal(UInt256.Parse(expectedWad), w);
    }

    [Fact]
    public void Parses_the_largest_value_and_rejects_one_more()
    {
        // floor(max / 1e18) whole units with 18 fractional digits = the largest representable WAD.
        BigInteger max = (BigInteger.One << 256) - 1;
        BigInteger whole = max / BigInteger.Pow(10, 18), frac = max % BigInteger.Pow(10, 18);
        string text = whole + "." + frac.ToString().PadLeft(18, '0');
        Assert.Equal(UInt256.MaxValue, WadDecimal.Parse(text));
        string over = (whole + 1) + ".0";
        var e = Assert.Throws<WadFormatException>(() => WadDecimal.Parse(over));
        Assert.Equal(DecimalFormatError.Overflow, e.Error);
        Assert.Equal(DecimalFormatError.Overflow, Assert.Throws<WadFormatException>(() => WadDecimal.Parse(new string('9', 80))).Error);
    }

    [Theory]
    [InlineData("", DecimalFormatError.Empty)]
    [InlineData("-1", DecimalFormatError.Negative)]
    [InlineData("-0.5", DecimalFormatError.Negative)]
    [InlineData("+1", DecimalFormatError.Sign)]
    [InlineData("1e5", DecimalFormatError.Exponent)]
    [InlineData("1.5E-3", DecimalFormatError.Exponent)]
    [InlineData(" 1", DecimalFormatError.InvalidCharacter)]
    [InlineData("1 ", DecimalFormatError.InvalidCharacter)]
    [InlineData("1,5", DecimalFormatError.InvalidCharacter)]
    [InlineData("1.2.3", DecimalFormatError.InvalidCharacter)]
    [InlineData(".5", DecimalFormatError.InvalidCharacter)]
    [InlineData("5.", DecimalFormatError.InvalidCharacter)]
    [InlineData(".", DecimalFormatError.InvalidCharacter)]
    [InlineData("0x10", DecimalFormatError.InvalidCharacter)]
    [InlineData("NaN", DecimalFormatError.InvalidCharacter)]
    [InlineData("Infinity", DecimalFormatError.InvalidCharacter)]
    [InlineData("١٢", DecimalFormatError.InvalidCharacter)] // non-ASCII digits
    public void Rejects_with_typed_error(string text, DecimalFormatError expected)
    {
        var e = Assert.Throws<WadFormatException>(() => WadDecimal.Parse(text));
        Assert.Equal(expected, e.Error);
        Assert.False(WadDecimal.TryParse(text, out _, out DecimalFormatError err));
        Assert.Equal(expected, err);
    }

    [Fact]
    public void Random_decimals_match_BigInteger_reference()
    {
        const int seed = 20240601;
        var rng = new Random(seed);
        for (int i = 0; i < 2000; i++)
        {
            int intDigits = rng.Next(1, 40), fracDigits = rng.Next(0, 30);
            string ip = string.Concat(Enumerable.Range(0, intDigits).Select(_ => (char)('0' + rng.Next(10))));
            string fp = string.Concat(Enumerable.Range(0, fracDigits).Select(_ => (char)('0' + rng.Next(10))));
            string text = fracDigits == 0 ? ip : ip + "." + fp;
            string kept = fp.Length > 18 ? fp[..18] : fp.PadRight(18, '0');
            BigInteger expected = BigInteger.Parse(ip + kept);
            Assert.True(WadDecimal.Parse(text).ToBigInteger() == expected, $"seed {seed}: {text}");
        }
    }

    [Theory]
    [InlineData(352145000000L, -8, "3521450000000000000000")]
    [InlineData(12345L, -8, "123450000000000")]
    [InlineData(1L, -18, "1")]
    [InlineData(19L, -19, "1")] // truncated toward zero
    [InlineData(5L, 0, "5000000000000000000")]
    [InlineData(7L, 3, "7000000000000000000000")]
    public void Scaled_integers_to_wad(long mantissa, int expo, string expected) =>
        Assert.Equal(UInt256.Parse(expected), WadDecimal.FromScaled((ulong)mantissa, expo));

    [Fact]
    public void Scaled_overflow_throws() =>
        Assert.Throws<OverflowException>(() => WadDecimal.FromScaled(UInt256.MaxValue, -17));

    [Theory]
    [InlineData("3521450000000000000000", 8, "3521.45000000")]
    [InlineData("3521459999999999999999", 2, "3521.45")]
    [InlineData("1", 18, "0.000000000000000001")]
    [InlineData("1", 0, "0")]
    public void Formats_truncating(string wad, int digits, string expected) =>
        Assert.Equal(expected, WadDecimal.Format(UInt256.Parse(wad), digits));

    [Fact]
    public void ToDecimals_truncates_to_pyth_mantissa() =>
        Assert.Equal((UInt256)352145000000UL, WadDecimal.ToDecimals(UInt256.Parse("3521450000009999999999"), 8));

    [Fact]
    public void Bps_helpers()
    {
        UInt256 p = WadDecimal.Parse("100");
        Assert.Equal(100, Bps.Deviation(WadDecimal.Parse("101"), p));
        Assert.Equal(100, Bps.Deviation(WadDecimal.Parse("99"), p));
        Assert.Equal(99, Bps.Deviation(WadDecimal.Parse("100.999"), p)); // floor
        Assert.Equal(long.MaxValue, Bps.Deviation(p, UInt256.Zero));
        Assert.Equal(WadDecimal.Parse("130"), Bps.Apply(p, 3000));
        Assert.Equal(WadDecimal.Parse("75"), Bps.Apply(p, -2500));
        Assert.Equal(UInt256.MaxValue - UInt256.One, Bps.Midpoint(UInt256.MaxValue, UInt256.MaxValue - 2));
        Assert.Equal((UInt256)2UL, Bps.Midpoint(2UL, 3UL)); // rounded down
    }
}
