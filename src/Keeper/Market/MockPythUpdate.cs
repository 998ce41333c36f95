using System.Buffers.Binary;

namespace CrossMargin.Keeper.Market;

/// <summary>One Pyth price as stored by <c>PythStructs.Price</c>.</summary>
public readonly record struct PythPrice(long Price, ulong Conf, int Expo, ulong PublishTime);

/// <summary>A decoded MockPyth update.</summary>
public readonly record struct MockPythPriceFeed(byte[] Id, PythPrice Price, PythPrice EmaPrice, ulong PrevPublishTime);

/// <summary>An update blob that is not a canonical MockPyth encoding.</summary>
public sealed class MockPythFormatException : FormatException
{
    public MockPythFormatException(string message) : base(message) { }

    public MockPythFormatException() { }

    public MockPythFormatException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// Update data for MockPyth's <c>updatePriceFeeds(bytes[])</c>: each entry is
/// <c>abi.encode(PythStructs.PriceFeed(bytes32 id, Price price, Price emaPrice), uint64 prevPublishTime)</c>, as
/// produced by MockPyth's <c>createPriceFeedUpdateData</c>. All members are static, so this is ten 32-byte words:
/// id, price.price (int64), price.conf (uint64), price.expo (int32), price.publishTime (uint256),
/// the same four for emaPrice, then prevPublishTime. Signed values are sign-extended big-endian two's complement.
/// (<c>updatePriceFeeds</c> decodes only the leading PriceFeed; the trailing word is what the <c>parsePriceFeedUpdates</c>
/// family reads.)
/// </summary>
public static class MockPythUpdate
{
    /// <summary>Encoded size in bytes.</summary>
    public const int Size = 10 * 32;

    /// <summary>Encodes one update.</summary>
    public static byte[] Encode(ReadOnlySpan<byte> id32, PythPrice price, PythPrice emaPrice, ulong prevPublishTime)
    {
        byte[] r = new byte[Size];
        Encode(id32, price, emaPrice, prevPublishTime, r);
        return r;
    }

    /// <summary>Encodes one update into <paramref name="destination"/> (exactly <see cref="Size"/> bytes).</summary>
    public static void Encode(ReadOnlySpan<byte> id32, PythPrice price, PythPrice emaPrice, ulong prevPublishTime, Span<byte> destination)
    {
        if (id32.Length != 32) throw new ArgumentException("Feed id must be 32 bytes.", nameof(id32));
        if (destination.Length != Size) throw new ArgumentException($"Destination must be {Size} bytes.", nameof(destination));
        id32.CopyTo(destination);
        WritePrice(price, destination.Slice(32, 128));
        WritePrice(emaPrice, destination.Slice(160, 128));
        WriteUnsigned(prevPublishTime, destination.Slice(288, 32));
    }

    private static void WritePrice(PythPrice p, Span<byte> dst128)
    {
        WriteSigned(p.Price, dst128[..32]);
        WriteUnsigned(p.Conf, dst128.Slice(32, 32));
        WriteSigned(p.Expo, dst128.Slice(64, 32));
        WriteUnsigned(p.PublishTime, dst128.Slice(96, 32));
    }

    private static void WriteUnsigned(ulong v, Span<byte> word)
    {
        word[..24].Clear();
        BinaryPrimitives.WriteUInt64BigEndian(word[24..], v);
    }

    private static void WriteSigned(long v, Span<byte> word)
    {
        word[..24].Fill(v < 0 ? (byte)0xFF : (byte)0);
        BinaryPrimitives.WriteInt64BigEndian(word[24..], v);
    }

    /// <summary>Strictly decodes one update (exact size, canonical padding and sign extension).</summary>
    public static MockPythPriceFeed Decode(ReadOnlySpan<byte> data)
    {
        if (data.Length != Size) throw new MockPythFormatException($"Update must be {Size} bytes, got {data.Length}.");
        byte[] id = data[..32].ToArray();
        PythPrice price = ReadPrice(data.Slice(32, 128));
        PythPrice ema = ReadPrice(data.Slice(160, 128));
        ulong prev = ReadUnsigned(data.Slice(288, 32), 64);
        return new MockPythPriceFeed(id, price, ema, prev);
    }

    private static PythPrice ReadPrice(ReadOnlySpan<byte> w) =>
        new(ReadSigned(w[..32], 64), ReadUnsigned(w.Slice(32, 32), 64), (int)ReadSigned(w.Slice(64, 32), 32), ReadUnsigned(w.Slice(96, 32), 64));

    private static ulong ReadUnsigned(ReadOnlySpan<byte> word, int bits)
    {
        int padBytes = 32 - (bits / 8);
        foreach (byte b in word[..padBytes]) if (b != 0) throw new MockPythFormatException($"uint{bits} word has non-zero high bytes.");
        return BinaryPrimitives.ReadUInt64BigEndian(word[24..]);
    }

    private static long ReadSigned(ReadOnlySpan<byte> word, int bits)
    {
        long v = BinaryPrimitives.ReadInt64BigEndian(word[24..]);
        if (bits == 32 && v != (int)v) throw new MockPythFormatException("int32 word out of range.");
        byte pad = v < 0 ? (byte)0xFF : (byte)0;
        foreach (byte b in word[..24]) if (b != pad) throw new MockPythFormatException($"int{bits} word is not sign-extended.");
        return v;
    }
}
