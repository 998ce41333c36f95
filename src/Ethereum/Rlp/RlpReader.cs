using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Ethereum.Rlp;

/// <summary>
/// Strict, allocation-free RLP reader over a span. Every read checks canonical form and bounds; declared
/// lengths are compared with the bytes actually present before anything is sliced, so a hostile length
/// can never cause an allocation. Reading a list returns a reader confined to that list's payload.
/// </summary>
public ref struct RlpReader
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly int _base;
    private readonly bool _isListPayload;
    private int _position;

    public RlpReader(ReadOnlySpan<byte> data) : this(data, 0, false) { }

    /// <summary>A reader whose reported positions are offset by <paramref name="baseOffset"/> (e.g. past a transaction type byte).</summary>
    public RlpReader(ReadOnlySpan<byte> data, int baseOffset) : this(data, baseOffset, false) { }

    private RlpReader(ReadOnlySpan<byte> data, int baseOffset, bool isListPayload)
    {
        _data = data;
        _base = baseOffset;
        _isListPayload = isListPayload;
        _position = 0;
    }

    /// <summary>Offset of the next item from the start of the top-level input.</summary>
    public readonly int Position => _base + _position;

    /// <summary>Whether items remain (in the input, or in this list's payload).</summary>
    public readonly bool HasMore => _position < _data.Length;

    /// <summary>Bytes not yet read.</summary>
    public readonly int Remaining => _data.Length - _position;

    /// <summary>Throws unless everything has been read: trailing bytes at top level, or a list with extra payload.</summary>
    public readonly void EnsureEnd()
    {
        if (_position != _data.Length)
        {
            throw _isListPayload
                ? new RlpDecodingException(RlpErrorReason.ListPayloadMismatch, Position, "List payload holds more than its items.")
                : new RlpDecodingException(RlpErrorReason.TrailingBytes, Position, "Trailing bytes after the RLP item.");
        }
    }

    /// <summary>Whether the next item is a list (throws at end of input).</summary>
    public readonly bool PeekIsList()
    {
        if (_position >= _data.Length) throw End();
        return _data[_position] >= 0xc0;
    }

    private readonly RlpDecodingException End() => _isListPayload
        ? new RlpDecodingException(RlpErrorReason.ListPayloadMismatch, Position, "List payload ends inside an item.")
        : new RlpDecodingException(RlpErrorReason.UnexpectedEnd, Position, "Unexpected end of RLP input.");

    private readonly RlpDecodingException Beyond() => _isListPayload
        ? new RlpDecodingException(RlpErrorReason.ListPayloadMismatch, Position, "An item runs past the end of its list.")
        : new RlpDecodingException(RlpErrorReason.LengthBeyondInput, Position, "Declared length runs past the end of the input.");

    /// <summary>
    /// Reads the next header: whether it is a list, where the payload starts (relative to this reader)
    /// and its length. Validates canonical form; does not move.
    /// </summary>
    private readonly (bool IsList, int PayloadOffset, int PayloadLength) PeekHeader()
    {
        int pos = _position;
        if (pos >= _data.Length) throw End();
        byte prefix = _data[pos];
        int remaining = _data.Length - pos - 1;
        if (prefix < 0x80) return (false, pos, 1);
        if (prefix <= 0xb7)
        {
            int len = prefix - 0x80;
            if (len > remaining) throw Beyond();
            if (len == 1 && _data[pos + 1] < 0x80)
                throw new RlpDecodingException(RlpErrorReason.SingleByteWrapped, Position, "A single byte below 0x80 must encode as itself.");
            return (false, pos + 1, len);
        }
        if (prefix <= 0xbf) return (false, pos + 1 + (prefix - 0xb7), ReadLongLength(prefix - 0xb7, remaining));
        if (prefix <= 0xf7)
        {
            int len = prefix - 0xc0;
            if (len > remaining) throw Beyond();
            return (true, pos + 1, len);
        }
        return (true, pos + 1 + (prefix - 0xf7), ReadLongLength(prefix - 0xf7, remaining));
    }

    private readonly int ReadLongLength(int lenOfLen, int remaining)
    {
        if (lenOfLen > remaining) throw Beyond();
        var lenBytes = _data.Slice(_position + 1, lenOfLen);
        if (lenBytes[0] == 0)
            throw new RlpDecodingException(RlpErrorReason.LeadingZeroInLength, Position, "Long-form length has leading zero bytes.");
        ulong len = 0;
        foreach (byte b in lenBytes) len = (len << 8) | b;
        // lenOfLen <= 8 and the first byte is non-zero, so len fits in 64 bits; compare before narrowing.
        if (len < 56)
            throw new RlpDecodingException(RlpErrorReason.NonCanonicalLongForm, Position, "Payload shorter than 56 bytes in long form.");
        if (len > (ulong)(remaining - lenOfLen)) throw Beyond();
        return (int)len;
    }

    /// <summary>Reads a byte string item and returns its payload (a slice of the input).</summary>
    public ReadOnlySpan<byte> ReadBytes()
    {
        var (isList, offset, length) = PeekHeader();
        if (isList) throw new RlpDecodingException(RlpErrorReason.ExpectedString, Position, "Expected a string, found a list.");
        _position = offset + length;
        return _data.Slice(offset, length);
    }

    /// <summary>Reads a list header and returns a reader over exactly its payload; this reader moves past the list.</summary>
    public RlpReader ReadList()
    {
        var (isList, offset, length) = PeekHeader();
        if (!isList) throw new RlpDecodingException(RlpErrorReason.ExpectedList, Position, "Expected a list, found a string.");
        _position = offset + length;
        return new RlpReader(_data.Slice(offset, length), _base + offset, isListPayload: true);
    }

    /// <summary>Returns the next item's full encoding (header included) after validating its header; moves past it.</summary>
    public ReadOnlySpan<byte> ReadEncodedItem()
    {
        int start = _position;
        var (_, offset, length) = PeekHeader();
        _position = offset + length;
        return _data[start.._position];
    }

    /// <summary>Reads a canonical unsigned integer of at most 8 bytes.</summary>
    public ulong ReadULong()
    {
        int at = Position;
        var bytes = ReadBytes();
        CheckCanonicalInteger(bytes, 8, at);
        ulong v = 0;
        foreach (byte b in bytes) v = (v << 8) | b;
        return v;
    }

    /// <summary>Reads a canonical unsigned integer of at most 32 bytes.</summary>
    public UInt256 ReadUInt256()
    {
        var bytes = ReadUnsignedBytes(32);
        UInt256.TryReadBigEndian(bytes, out var value);
        return value;
    }

    /// <summary>Reads a canonical unsigned integer and returns its minimal big-endian bytes (at most <paramref name="maxBytes"/>).</summary>
    public ReadOnlySpan<byte> ReadUnsignedBytes(int maxBytes)
    {
        int at = Position;
        var bytes = ReadBytes();
        CheckCanonicalInteger(bytes, maxBytes, at);
        return bytes;
    }

    private static void CheckCanonicalInteger(ReadOnlySpan<byte> bytes, int maxBytes, int at)
    {
        if (bytes.Length > 0 && bytes[0] == 0)
            throw new RlpDecodingException(RlpErrorReason.NonCanonicalInteger, at, "Integer has leading zero bytes.");
        if (bytes.Length > maxBytes)
            throw new RlpDecodingException(RlpErrorReason.IntegerOverflow, at, $"Integer wider than {maxBytes} bytes.");
    }

    /// <summary>Reads a string of exactly 20 bytes.</summary>
    public Address ReadAddress()
    {
        int at = Position;
        var bytes = ReadBytes();
        if (bytes.Length != Address.Size)
            throw new RlpDecodingException(RlpErrorReason.UnexpectedLength, at, $"Expected a 20-byte address, found {bytes.Length} bytes.");
        return new Address(bytes);
    }

    /// <summary>Reads an address or the empty string (null, contract creation).</summary>
    public Address? ReadOptionalAddress()
    {
        int at = Position;
        var bytes = ReadBytes();
        if (bytes.Length == 0) return null;
        if (bytes.Length != Address.Size)
            throw new RlpDecodingException(RlpErrorReason.UnexpectedLength, at, $"Expected a 20-byte address or empty, found {bytes.Length} bytes.");
        return new Address(bytes);
    }

    /// <summary>Reads a string of exactly 32 bytes.</summary>
    public Hash32 ReadHash32()
    {
        int at = Position;
        var bytes = ReadBytes();
        if (bytes.Length != Hash32.Size)
            throw new RlpDecodingException(RlpErrorReason.UnexpectedLength, at, $"Expected 32 bytes, found {bytes.Length} bytes.");
        return new Hash32(bytes);
    }

    /// <summary>Skips the next item (validating its header only).</summary>
    public void SkipItem() => ReadEncodedItem();
}
