using System.Numerics;
using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Ethereum.Rlp;

/// <summary>
/// Length helpers for the two-pass RLP encoder: compute the exact encoded size first, allocate once,
/// then fill with <see cref="RlpWriter"/>. All lengths are full encoded lengths (prefix included)
/// unless the name says payload.
/// </summary>
public static class RlpEncoding
{
    /// <summary>The encoding of the empty string (also integer zero).</summary>
    public const byte EmptyString = 0x80;

    /// <summary>The encoding of the empty list.</summary>
    public const byte EmptyList = 0xc0;

    /// <summary>Default maximum list nesting accepted by tree decoding and validation.</summary>
    public const int DefaultMaxDepth = 64;

    /// <summary>Number of bytes needed to write <paramref name="length"/> big-endian without leading zeros.</summary>
    public static int LengthOfLength(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        return length < 0x100 ? 1 : length < 0x10000 ? 2 : length < 0x1000000 ? 3 : 4;
    }

    /// <summary>Size of a string or list header for a payload of <paramref name="payloadLength"/> bytes.</summary>
    public static int LengthOfHeader(int payloadLength) => payloadLength < 56 ? 1 : 1 + LengthOfLength(payloadLength);

    /// <summary>Encoded length of a byte string.</summary>
    public static int LengthOf(ReadOnlySpan<byte> bytes) =>
        bytes.Length == 1 && bytes[0] < 0x80 ? 1 : LengthOfHeader(bytes.Length) + bytes.Length;

    /// <summary>Encoded length of a byte string of <paramref name="length"/> bytes whose first byte (if length is 1) is <paramref name="firstByte"/>.</summary>
    public static int LengthOfString(int length, byte firstByte) =>
        length == 1 && firstByte < 0x80 ? 1 : LengthOfHeader(length) + length;

    /// <summary>Encoded length of an unsigned integer (minimal big-endian; zero is 0x80).</summary>
    public static int LengthOf(ulong value)
    {
        if (value < 0x80) return 1;
        int bytes = (71 - BitOperations.LeadingZeroCount(value)) / 8;
        return 1 + bytes;
    }

    /// <summary>Encoded length of a 256-bit unsigned integer (minimal big-endian; zero is 0x80).</summary>
    public static int LengthOf(in UInt256 value)
    {
        if (value.FitsInUInt64) return LengthOf(value.u0);
        return 1 + value.ByteLength;
    }

    /// <summary>Encoded length of an unsigned big-endian integer given in any width (leading zeros are dropped).</summary>
    public static int LengthOfUnsigned(ReadOnlySpan<byte> bigEndian)
    {
        int i = 0;
        while (i < bigEndian.Length && bigEndian[i] == 0) i++;
        return LengthOf(bigEndian[i..]);
    }

    /// <summary>Encoded length of a 20-byte address.</summary>
    public const int AddressLength = 21;

    /// <summary>Encoded length of a 32-byte hash.</summary>
    public const int Hash32Length = 33;

    /// <summary>Encoded length of a list with a payload of <paramref name="payloadLength"/> bytes.</summary>
    public static int LengthOfList(int payloadLength) => LengthOfHeader(payloadLength) + payloadLength;

    /// <summary>Encodes a byte string into a new array.</summary>
    public static byte[] Encode(ReadOnlySpan<byte> bytes)
    {
        var result = new byte[LengthOf(bytes)];
        var w = new RlpWriter(result);
        w.WriteBytes(bytes);
        w.EnsureComplete();
        return result;
    }

    /// <summary>Encodes an unsigned integer into a new array.</summary>
    public static byte[] Encode(ulong value)
    {
        var result = new byte[LengthOf(value)];
        var w = new RlpWriter(result);
        w.WriteULong(value);
        w.EnsureComplete();
        return result;
    }

    /// <summary>
    /// Checks that <paramref name="data"/> is exactly one canonical RLP item (lists walked recursively
    /// up to <paramref name="maxDepth"/>); throws <see cref="RlpDecodingException"/> otherwise.
    /// </summary>
    public static void Validate(ReadOnlySpan<byte> data, int maxDepth = DefaultMaxDepth)
    {
        var reader = new RlpReader(data);
        ValidateItem(ref reader, maxDepth);
        reader.EnsureEnd();
    }

    private static void ValidateItem(ref RlpReader reader, int depthLeft)
    {
        if (!reader.PeekIsList())
        {
            reader.ReadBytes();
            return;
        }
        if (depthLeft <= 0) throw new RlpDecodingException(RlpErrorReason.NestingTooDeep, reader.Position, "Lists nested too deeply.");
        var inner = reader.ReadList();
        while (inner.HasMore) ValidateItem(ref inner, depthLeft - 1);
    }
}
