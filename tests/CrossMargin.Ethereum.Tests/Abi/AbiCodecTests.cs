using System.Numerics;
using CrossMargin.Ethereum.Abi;
using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Ethereum.Tests.Abi;

public class AbiCodecTests
{
    private static AbiType[] T(params string[] types) => types.Select(AbiType.Parse).ToArray();

    private static byte[] Words(params string[] hexWords) => Hex.Decode("0x" + string.Concat(hexWords.Select(w => w.PadLeft(64, '0'))));

    private static AbiDecodingException Rejects(string[] types, byte[] data, AbiDecodingError reason)
    {
        var e = Assert.Throws<AbiDecodingException>(() => AbiDecoder.Decode(T(types), data));
        Assert.Equal(reason, e.Reason);
        return e;
    }

    // ------------------------------------------------------------------ per type, edge values

    [Theory]
    [InlineData("uint8", "0", "00")]
    [InlineData("uint8", "255", "ff")]
    [InlineData("uint16", "65535", "ffff")]
    [InlineData("uint64", "18446744073709551615", "ffffffffffffffff")]
    [InlineData("uint256", "115792089237316195423570985008687907853269984665640564039457584007913129639935", "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")]
    public void Unsigned_edges_round_trip(string type, string value, string hex)
    {
        var t = AbiType.Parse(type);
        var v = UInt256.Parse(value);
        byte[] enc = AbiEncoder.Encode(t, v);
        Assert.Equal(Words(hex), enc);
        Assert.Equal(v, (UInt256)AbiDecoder.Decode(t, enc)!);
        Assert.Equal(enc, AbiEncoder.Encode(t, BigInteger.Parse(value, System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Theory]
    [InlineData("int8", -128, "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff80")]
    [InlineData("int8", 127, "7f")]
    [InlineData("int8", -1, "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")]
    [InlineData("int16", -32768, "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff8000")]
    [InlineData("int64", long.MinValue, "ffffffffffffffffffffffffffffffffffffffffffffffff8000000000000000")]
    [InlineData("int256", 0L, "00")]
    public void Signed_edges_round_trip(string type, long value, string hex)
    {
        var t = AbiType.Parse(type);
        byte[] enc = AbiEncoder.Encode(t, value);
        Assert.Equal(Words(hex), enc);
        Assert.Equal(new Int256(value), (Int256)AbiDecoder.Decode(t, enc)!);
        Assert.Equal(enc, AbiEncoder.Encode(t, new Int256(value)));
        Assert.Equal(enc, AbiEncoder.Encode(t, new BigInteger(value)));
    }

    [Fact]
    public void Int256_extremes()
    {
        var min = Int256.MinValue;
        var max = Int256.MaxValue;
        Assert.Equal(Words("8" + new string('0', 63)), AbiEncoder.Encode(AbiType.Int256, min));
        Assert.Equal(Words("7" + new string('f', 63)), AbiEncoder.Encode(AbiType.Int256, max));
        Assert.Equal(min, AbiDecoder.Decode(AbiType.Int256, AbiEncoder.Encode(AbiType.Int256, min)));
        Assert.Throws<AbiEncodingException>(() => AbiEncoder.Encode(AbiType.Int256, UInt256.MaxValue));
        Assert.Throws<AbiEncodingException>(() => AbiEncoder.Encode(AbiType.Int256, BigInteger.One << 255));
        Assert.Throws<AbiEncodingException>(() => AbiEncoder.Encode(AbiType.Int256, -(BigInteger.One << 255) - 1));
    }

    [Theory]
    [InlineData("uint8", 256L)]
    [InlineData("uint8", -1L)]
    [InlineData("uint32", 4294967296L)]
    [InlineData("uint256", -1L)]
    [InlineData("int8", 128L)]
    [InlineData("int8", -129L)]
    [InlineData("int16", 32768L)]
    public void Encoder_rejects_out_of_range(string type, long value)
    {
        Assert.Throws<AbiEncodingException>(() => AbiEncoder.Encode(AbiType.Parse(type), value));
        Assert.Throws<AbiEncodingException>(() => AbiEncoder.Encode(AbiType.Parse(type), new BigInteger(value)));
    }

    [Fact]
    public void Encoder_rejects_wrong_shapes()
    {
        Assert.Throws<AbiEncodingException>(() => AbiEncoder.Encode(AbiType.Address, "0x0000000000000000000000000000000000000000"));
        Assert.Throws<AbiEncodingException>(() => AbiEncoder.Encode(AbiType.Bool, 1));
        Assert.Throws<AbiEncodingException>(() => AbiEncoder.Encode(AbiType.Parse("bytes4"), new byte[3]));
        Assert.Throws<AbiEncodingException>(() => AbiEncoder.Encode(AbiType.Parse("uint256[2]"), new object[] { UInt256.One }));
        Assert.Throws<AbiEncodingException>(() => AbiEncoder.Encode(AbiType.Parse("(uint256,bool)"), new object[] { UInt256.One }));
        Assert.Throws<AbiEncodingException>(() => AbiEncoder.Encode(AbiType.Parse("uint8[]"), new byte[2]));
        Assert.Throws<AbiEncodingException>(() => AbiEncoder.Encode(AbiType.String, "\ud800"));
        Assert.Throws<AbiEncodingException>(() => AbiEncoder.Encode(T("uint256", "bool"), [UInt256.One]));
        Assert.Throws<AbiEncodingException>(() => AbiEncoder.Encode(AbiType.String, null));
    }

    [Fact]
    public void Address_bool_and_fixed_bytes()
    {
        var a = Address.Parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
        byte[] enc = AbiEncoder.Encode(T("address", "bool", "bool", "bytes3", "bytes32"), [a, true, false, new byte[] { 1, 2, 3 }, Hash32.Parse("0x" + new string('a', 64))]);
        Assert.Equal(Words("5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed".ToLowerInvariant(), "1", "0", "010203" + new string('0', 58), new string('a', 64)), enc);
        var d = AbiDecoder.Decode(T("address", "bool", "bool", "bytes3", "bytes32"), enc);
        Assert.Equal(a, d[0]);
        Assert.Equal(true, d[1]);
        Assert.Equal(false, d[2]);
        Assert.Equal(new byte[] { 1, 2, 3 }, d[3]);
    }

    [Fact]
    public void Dynamic_bytes_string_and_empty_values()
    {
        var types = T("bytes", "string", "bytes", "uint256[]", "string");
        byte[] b32 = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        var values = new object?[] { Array.Empty<byte>(), "", b32, Array.Empty<object>(), "héllo 🌍" };
        byte[] enc = AbiEncoder.Encode(types, values);
        // heads 5*32, bytes(empty)=32, string(empty)=32, bytes(32)=64, uint[] empty=32, string(11 bytes)=64
        Assert.Equal(160 + 32 + 32 + 64 + 32 + 64, enc.Length);
        Assert.Equal(AbiTestValues.Canonical(types, values), AbiTestValues.Canonical(types, AbiDecoder.Decode(types, enc)));
    }

    [Fact]
    public void Nested_dynamic_types_round_trip()
    {
        var types = T("(uint256,bytes)[2]", "string[][]", "(bool,(address,string[])[])");
        var values = new object?[]
        {
            new object?[] { new object?[] { UInt256.One, new byte[] { 9 } }, new object?[] { UInt256.MaxValue, new byte[40] } },
            new object?[] { new object?[] { "a", "bb" }, Array.Empty<object>(), new object?[] { "ccc" } },
            new object?[] { true, new object?[] { new object?[] { Address.Zero, new object?[] { "x" } } } },
        };
        byte[] enc = AbiEncoder.Encode(types, values);
        Assert.Equal(AbiTestValues.Canonical(types, values), AbiTestValues.Canonical(types, AbiDecoder.Decode(types, enc)));
    }

    // ------------------------------------------------------------------ strictness

    [Fact]
    public void Rejects_dirty_address_bits()
    {
        var e = Rejects(["address"], Words("01" + new string('0', 22) + new string('1', 40)), AbiDecodingError.DirtyHighBits);
        Assert.Equal(0, e.Position);
        Rejects(["address"], Words("100" + new string('1', 40)), AbiDecodingError.DirtyHighBits);
    }

    [Theory]
    [InlineData("2")]
    [InlineData("ff")]
    [InlineData("100")]
    [InlineData("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")]
    public void Rejects_bool_other_than_0_or_1(string word) => Rejects(["bool"], Words(word), AbiDecodingError.BadBool);

    [Theory]
    [InlineData("uint8", "100")]
    [InlineData("uint8", "ff00")]
    [InlineData("uint32", "100000000")]
    [InlineData("uint248", "0100000000000000000000000000000000000000000000000000000000000000")]
    public void Rejects_out_of_range_uint(string type, string word) => Rejects([type], Words(word), AbiDecodingError.DirtyHighBits);

    [Theory]
    [InlineData("int8", "80")] // +128 not sign-extended
    [InlineData("int8", "ff")] // +255
    [InlineData("int8", "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")] // negative high, positive low
    [InlineData("int16", "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe8000")]
    [InlineData("int128", "0000000000000000000000000000000180000000000000000000000000000000")]
    public void Rejects_bad_sign_extension(string type, string word) => Rejects([type], Words(word), AbiDecodingError.BadSignExtension);

    [Fact]
    public void Accepts_properly_sign_extended_ints()
    {
        Assert.Equal(new Int256(-128L), AbiDecoder.Decode(AbiType.Parse("int8"), Words(new string('f', 62) + "80")));
        Assert.Equal(new Int256(127L), AbiDecoder.Decode(AbiType.Parse("int8"), Words("7f")));
    }

    [Fact]
    public void Rejects_dirty_fixed_bytes_padding() =>
        Rejects(["bytes3"], Words("01020304" + new string('0', 56)), AbiDecodingError.DirtyPadding);

    [Fact]
    public void Rejects_dirty_bytes_and_string_padding()
    {
        // bytes of length 1 with a non-zero byte in the padding
        Rejects(["bytes"], Words("20", "1", "aa" + new string('0', 60) + "01"), AbiDecodingError.DirtyPadding);
        Rejects(["string"], Words("20", "1", "41" + new string('0', 60) + "01"), AbiDecodingError.DirtyPadding);
    }

    [Fact]
    public void Rejects_invalid_utf8() =>
        Rejects(["string"], Words("20", "2", "c328" + new string('0', 60)), AbiDecodingError.InvalidUtf8);

    [Theory]
    [InlineData("0")]      // points into the head
    [InlineData("40")]     // skips a word
    [InlineData("21")]     // unaligned
    [InlineData("1000")]   // beyond the data
    [InlineData("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe0")]
    [InlineData("10000000000000020")] // high bits set
    public void Rejects_bad_offsets(string offset) =>
        Rejects(["bytes"], Words(offset, "1", "aa" + new string('0', 62), "0"), AbiDecodingError.BadOffset);

    [Fact]
    public void Rejects_overlapping_and_looping_offsets()
    {
        // two strings sharing one tail: valid for a lax decoder, not canonical
        Rejects(["string", "string"], Words("40", "40", "1", "41" + new string('0', 62)), AbiDecodingError.BadOffset);
        // nested array whose inner offset points back to the outer array (a loop)
        Rejects(["uint256[][]"], Words("20", "1", "0", "0"), AbiDecodingError.BadOffset);
        Rejects(["uint256[][]"], Words("20", "1", "ffffffffffffffe0"), AbiDecodingError.BadOffset);
    }

    [Fact]
    public void Rejects_huge_lengths_fast()
    {
        // an array claiming 2^60 elements with 64 bytes of input
        Rejects(["uint256[]"], Words("20", "1000000000000000"), AbiDecodingError.BadLength);
        Rejects(["uint256[]"], Words("20", "ffffffff"), AbiDecodingError.BadLength);
        Rejects(["uint256[]"], Words("20", "2", "1"), AbiDecodingError.BadLength);
        Rejects(["bytes"], Words("20", "21", "0"), AbiDecodingError.BadLength);
        Rejects(["string"], Words("20", new string('f', 64)), AbiDecodingError.BadLength);
        // tuple elements of 96 bytes: 2 elements need 192 bytes, only 160 there
        Rejects(["(uint256,uint256,uint256)[]"], Words("20", "2", "1", "2", "3", "4", "5"), AbiDecodingError.BadLength);
    }

    [Fact]
    public void Rejects_truncated_data()
    {
        var types = T("uint256", "bytes", "address");
        byte[] enc = AbiEncoder.Encode(types, [UInt256.One, new byte[33], Address.Zero]);
        for (int n = 0; n < enc.Length; n++)
            Assert.Throws<AbiDecodingException>(() => AbiDecoder.Decode(types, enc.AsSpan(0, n)));
        Rejects(["uint256"], new byte[31], AbiDecodingError.Truncated);
        Rejects(["bytes"], Words("20"), AbiDecodingError.Truncated);
    }

    [Fact]
    public void Rejects_trailing_data_unless_allowed()
    {
        byte[] data = Words("1", "0");
        Rejects(["uint256"], data, AbiDecodingError.TrailingData);
        Assert.Equal(UInt256.One, AbiDecoder.Decode(AbiType.UInt256, data, allowTrailingData: true));
    }

    [Fact]
    public void Rejects_static_fixed_array_too_large_for_input()
    {
        Rejects(["uint256[100000]"], Words("1"), AbiDecodingError.Truncated);
        Rejects(["string[100000]"], Words("20"), AbiDecodingError.Truncated);
    }

    // ------------------------------------------------------------------ fast path

    [Fact]
    public void Writer_and_reader_match_generic_path()
    {
        var a = Address.Parse("0x8617E340B3D01FA5F11F306F4090FD50E238070D");
        var h = Hash32.Parse("0x" + new string('1', 64));
        var items = new (Address, UInt256, UInt256)[] { (a, UInt256.One, new UInt256(2UL)), (Address.Zero, UInt256.MaxValue, UInt256.Zero) };
        byte[] payload = [1, 2, 3, 4, 5];

        // f(address,uint256,int256,bytes32,bool,bytes,(address,uint256,uint256)[],string)
        int size = 8 * 32 + AbiWriter.BytesTailSize(payload.Length) + AbiWriter.StaticArrayTailSize(items.Length, 96) + AbiWriter.StringTailSize("hé");
        var buf = new byte[size];
        var w = new AbiWriter(buf, 8 * 32);
        w.WriteAddress(a);
        w.WriteUInt256(new UInt256(12345UL));
        w.WriteInt256(new Int256(-7L));
        w.WriteBytes32(h);
        w.WriteBool(true);
        w.WriteBytes(payload);
        var arr = w.BeginArray(items.Length, 96);
        foreach (var (x, y, z) in items)
        {
            arr.WriteAddress(x);
            arr.WriteUInt256(y);
            arr.WriteUInt256(z);
        }
        w.End(arr);
        w.WriteString("hé");
        Assert.Equal(size, w.Finish());

        var types = T("address", "uint256", "int256", "bytes32", "bool", "bytes", "(address,uint256,uint256)[]", "string");
        var values = new object?[]
        {
            a, new UInt256(12345UL), new Int256(-7L), h.ToArray(), true, payload,
            items.Select(i => new object?[] { i.Item1, i.Item2, i.Item3 }).ToArray<object?>(), "hé",
        };
        Assert.Equal(AbiEncoder.Encode(types, values), buf);

        var r = new AbiReader(buf, 8 * 32);
        Assert.Equal(a, r.ReadAddress());
        Assert.Equal(12345UL, r.ReadUInt64());
        Assert.Equal(-7L, r.ReadInt64());
        Assert.Equal(h, r.ReadBytes32());
        Assert.True(r.ReadBool());
        Assert.Equal(payload, r.ReadBytes().ToArray());
        var ar = r.BeginArray(96, out int count);
        Assert.Equal(2, count);
        Assert.Equal(a, ar.ReadAddress());
        Assert.Equal(UInt256.One, ar.ReadUInt256());
        Assert.Equal(new UInt256(2UL), ar.ReadUIntN(256));
        Assert.Equal(Address.Zero, ar.ReadAddress());
        Assert.Equal(UInt256.MaxValue, ar.ReadUInt256());
        Assert.Equal(UInt256.Zero, ar.ReadUInt256());
        r.End(ar);
        Assert.Equal("hé", r.ReadString());
        Assert.Equal(size, r.Finish());
    }

    [Fact]
    public void Reader_range_checks_small_ints()
    {
        byte[] data = Words("100", "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff80");
        var r = new AbiReader(data, 64);
        Assert.Equal(256UL, r.ReadUInt64(16));
        Assert.Equal(-128L, r.ReadInt64(8));
        var ex = Assert.Throws<AbiDecodingException>(() =>
        {
            var r2 = new AbiReader(data, 64);
            r2.ReadUInt8();
        });
        Assert.Equal(AbiDecodingError.DirtyHighBits, ex.Reason);
        Assert.Throws<AbiDecodingException>(() =>
        {
            var r3 = new AbiReader(data, 64);
            r3.ReadUInt64();
            r3.ReadUInt64(); // 0xff..80 does not fit uint64
        });
    }

    [Fact]
    public void Writer_detects_misuse()
    {
        var buf = new byte[64];
        Assert.Throws<InvalidOperationException>(() =>
        {
            var w = new AbiWriter(buf, 32);
            w.WriteBool(true);
            w.WriteBool(true);
        });
        Assert.Throws<InvalidOperationException>(() =>
        {
            var w = new AbiWriter(buf, 64);
            w.WriteBool(true);
            w.Finish();
        });
    }
}
