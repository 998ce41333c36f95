namespace CrossMargin.Ethereum.Tests.Primitives;

public class AddressAndHexTests
{
    public static TheoryData<string> Checksummed()
    {
        var data = new TheoryData<string>();
        using var doc = SharedVectors.Load("eip55_addresses_selectors.json");
        foreach (var v in doc.RootElement.GetProperty("checksummed").EnumerateArray()) data.Add(v.GetString()!);
        return data;
    }

    [Theory]
    [MemberData(nameof(Checksummed))]
    public void Eip55_round_trips(string text)
    {
        var a = Address.Parse(text);
        Assert.Equal(text, a.ToString());
        Assert.Equal(a, Address.Parse(text.ToLowerInvariant()));
        Assert.Equal(a, Address.Parse("0x" + text[2..].ToUpperInvariant()));
        Assert.Equal(text.ToLowerInvariant(), a.ToLowerHex());
    }

    [Fact]
    public void Bad_checksum_is_rejected()
    {
        using var doc = SharedVectors.Load("eip55_addresses_selectors.json");
        foreach (var v in doc.RootElement.GetProperty("bad_checksum").EnumerateArray())
        {
            var ex = Assert.Throws<AddressFormatException>(() => Address.Parse(v.GetString()));
            Assert.Contains("checksum", ex.Message, StringComparison.OrdinalIgnoreCase);
            Assert.False(Address.TryParse(v.GetString(), out _));
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("0x")]
    [InlineData("52908400098527886E0F7030069857D2E4169EE7")]
    [InlineData("0x52908400098527886E0F7030069857D2E4169EE")]
    [InlineData("0x52908400098527886E0F7030069857D2E4169EE7a")]
    [InlineData("0X52908400098527886E0F7030069857D2E4169EE7")]
    [InlineData("0x52908400098527886E0F7030069857D2E4169EG7")]
    public void Malformed_addresses_are_rejected(string text)
    {
        Assert.Throws<AddressFormatException>(() => Address.Parse(text));
    }

    [Fact]
    public void Address_bytes_round_trip_and_order()
    {
        byte[] b = Enumerable.Range(1, 20).Select(i => (byte)i).ToArray();
        var a = new Address(b);
        Assert.Equal(b, a.ToArray());
        Assert.True(Address.Zero < a);
        Assert.True(Address.Zero.IsZero);
        Assert.Throws<ArgumentException>(() => new Address(new byte[19]));
    }

    [Theory]
    [InlineData("0x", new byte[0])]
    [InlineData("0x00ff10", new byte[] { 0, 255, 16 })]
    [InlineData("0xABcd", new byte[] { 0xab, 0xcd })]
    public void Hex_decodes(string hex, byte[] expected)
    {
        Assert.Equal(expected, Hex.Decode(hex));
    }

    [Theory]
    [InlineData("")]
    [InlineData("00")]
    [InlineData("0x0")]
    [InlineData("0xzz")]
    [InlineData("0X00")]
    [InlineData(" 0x00")]
    public void Hex_rejects_non_strict_input(string hex)
    {
        Assert.Throws<HexFormatException>(() => Hex.Decode(hex));
    }

    [Theory]
    [InlineData("0x0", 0UL)]
    [InlineData("0x1", 1UL)]
    [InlineData("0x1a", 26UL)]
    [InlineData("0xffffffffffffffff", ulong.MaxValue)]
    public void Quantities_parse(string hex, ulong expected)
    {
        Assert.Equal(expected, Hex.ParseQuantity(hex));
        Assert.Equal(hex, Hex.EncodeQuantity(expected));
    }

    [Theory]
    [InlineData("0x")]
    [InlineData("0x01")]
    [InlineData("0x10000000000000000")]
    [InlineData("1")]
    public void Bad_quantities_are_rejected(string hex)
    {
        Assert.Throws<HexFormatException>(() => Hex.ParseQuantity(hex));
    }

    [Fact]
    public void Hash32_parses_and_formats()
    {
        const string text = "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347";
        var h = Hash32.Parse(text);
        Assert.Equal(text, h.ToString());
        Assert.True(Hash32.TryParse(text, out var h2));
        Assert.Equal(h, h2);
        Assert.False(Hash32.TryParse(text.AsSpan(0, text.Length - 2), out _));
        Assert.True(Hash32.Zero.IsZero);
    }
}
