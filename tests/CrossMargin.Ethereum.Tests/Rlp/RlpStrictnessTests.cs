using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rlp;

namespace CrossMargin.Ethereum.Tests.Rlp;

public class RlpStrictnessTests
{
    private static RlpErrorReason ReasonOf(string hex)
    {
        byte[] bytes = Hex.Decode(hex);
        return Assert.Throws<RlpDecodingException>(() => RlpItem.Decode(bytes)).Reason;
    }

    [Theory]
    [InlineData("0x8100", RlpErrorReason.SingleByteWrapped)]
    [InlineData("0x817f", RlpErrorReason.SingleByteWrapped)]
    [InlineData("0xb80100", RlpErrorReason.NonCanonicalLongForm)]
    [InlineData("0xf803112233", RlpErrorReason.NonCanonicalLongForm)]
    [InlineData("0xb90040", RlpErrorReason.LeadingZeroInLength)]
    [InlineData("0xf800", RlpErrorReason.LeadingZeroInLength)]
    [InlineData("0x83aabb", RlpErrorReason.LengthBeyondInput)]
    [InlineData("0xbfffffffffffffffff", RlpErrorReason.LengthBeyondInput)]
    [InlineData("0xff7fffffffffffffff00", RlpErrorReason.LengthBeyondInput)]
    [InlineData("0xb8", RlpErrorReason.LengthBeyondInput)]
    [InlineData("0x", RlpErrorReason.UnexpectedEnd)]
    [InlineData("0x8000", RlpErrorReason.TrailingBytes)]
    [InlineData("0xc0c0", RlpErrorReason.TrailingBytes)]
    [InlineData("0xc28300", RlpErrorReason.ListPayloadMismatch)]
    [InlineData("0xc1c2", RlpErrorReason.ListPayloadMismatch)]
    public void Rejects_with_the_right_reason(string hex, RlpErrorReason reason) => Assert.Equal(reason, ReasonOf(hex));

    [Theory]
    [InlineData("0x00", RlpErrorReason.NonCanonicalInteger)]
    [InlineData("0x820001", RlpErrorReason.NonCanonicalInteger)]
    [InlineData("0x89010000000000000000", RlpErrorReason.IntegerOverflow)]
    [InlineData("0xc0", RlpErrorReason.ExpectedString)]
    public void Integer_reads_are_canonical(string hex, RlpErrorReason reason)
    {
        byte[] bytes = Hex.Decode(hex);
        var ex = Assert.Throws<RlpDecodingException>(() => new RlpReader(bytes).ReadULong());
        Assert.Equal(reason, ex.Reason);
    }

    [Fact]
    public void UInt256_reads_reject_leading_zero_and_33_bytes()
    {
        byte[] leadingZero = Hex.Decode("0xa100" + new string('f', 64));
        Assert.Equal(RlpErrorReason.NonCanonicalInteger, Assert.Throws<RlpDecodingException>(() => new RlpReader(leadingZero).ReadUInt256()).Reason);
        byte[] max = Hex.Decode("0xa0" + new string('f', 64));
        Assert.Equal(UInt256.MaxValue, new RlpReader(max).ReadUInt256());
    }

    [Fact]
    public void Fixed_length_fields_are_checked()
    {
        byte[] nineteen = Hex.Decode("0x93" + new string('1', 38));
        Assert.Equal(RlpErrorReason.UnexpectedLength, Assert.Throws<RlpDecodingException>(() => new RlpReader(nineteen).ReadAddress()).Reason);
        Assert.Null(new RlpReader([0x80]).ReadOptionalAddress());
        Assert.Equal(RlpErrorReason.UnexpectedLength, Assert.Throws<RlpDecodingException>(() => new RlpReader(nineteen).ReadOptionalAddress()).Reason);
    }

    [Fact]
    public void Deep_nesting_is_refused_not_overflowed()
    {
        int depth = 200;
        var item = RlpItem.List();
        for (int i = 0; i < depth; i++) item = RlpItem.List(item);
        byte[] enc = item.Encode();
        Assert.Equal(RlpErrorReason.NestingTooDeep, Assert.Throws<RlpDecodingException>(() => RlpItem.Decode(enc)).Reason);
        RlpEncoding.Validate(enc, maxDepth: 1000);
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(1UL)]
    [InlineData(0x7fUL)]
    [InlineData(0x80UL)]
    [InlineData(0xffUL)]
    [InlineData(0x100UL)]
    [InlineData(0xffffffffUL)]
    [InlineData(ulong.MaxValue)]
    public void ULong_round_trips_with_exact_length(ulong value)
    {
        byte[] enc = RlpEncoding.Encode(value);
        Assert.Equal(RlpEncoding.LengthOf(value), enc.Length);
        var r = new RlpReader(enc);
        Assert.Equal(value, r.ReadULong());
        r.EnsureEnd();
        Assert.Equal(enc, RlpEncoding.Encode(value == 0 ? [] : UInt256Bytes(value)));
    }

    private static byte[] UInt256Bytes(ulong v) => new UInt256(v).ToBigEndianBytesMinimal();

    [Theory]
    [InlineData(0)]
    [InlineData(55)]
    [InlineData(56)]
    [InlineData(255)]
    [InlineData(256)]
    [InlineData(65535)]
    [InlineData(65536)]
    [InlineData(1 << 24)]
    public void String_and_list_headers_around_boundaries_round_trip(int size)
    {
        byte[] payload = new byte[size];
        for (int i = 0; i < size; i++) payload[i] = (byte)(i * 7 + 0x80);
        byte[] enc = RlpEncoding.Encode(payload);
        Assert.Equal(RlpEncoding.LengthOf(payload), enc.Length);
        Assert.Equal(payload, new RlpReader(enc).ReadBytes().ToArray());

        var list = new byte[RlpEncoding.LengthOfList(enc.Length)];
        var w = new RlpWriter(list);
        w.WriteListHeader(enc.Length);
        w.WriteRaw(enc);
        w.EnsureComplete();
        var reader = new RlpReader(list);
        var inner = reader.ReadList();
        Assert.Equal(payload, inner.ReadBytes().ToArray());
        inner.EnsureEnd();
        reader.EnsureEnd();
    }

    [Fact]
    public void Writer_detects_length_pass_mismatch()
    {
        var buf = new byte[3];
        Assert.Throws<InvalidOperationException>(() =>
        {
            var w = new RlpWriter(buf);
            w.WriteULong(0x1234); // 3 bytes: fine
            w.WriteULong(1);      // one more: past the end
        });
        Assert.Throws<InvalidOperationException>(() =>
        {
            var w = new RlpWriter(buf);
            w.WriteULong(1);
            w.EnsureComplete();
        });
    }
}
