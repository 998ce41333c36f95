using System.Buffers.Binary;
using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Ethereum.Rlp;

/// <summary>
/// Writes RLP into a span sized beforehand with the <see cref="RlpEncoding"/> length helpers. Writing past the
/// end throws; <see cref="EnsureComplete"/> checks that the span was filled exactly.
/// </summary>
public ref struct RlpWriter
{
    private readonly Span<byte> _buffer;
    private int _position;

    public RlpWriter(Span<byte> destination)
    {
        _buffer = destination;
        _position = 0;
    }

    /// <summary>Bytes written so far.</summary>
    public readonly int Position => _position;

    /// <summary>The part of the destination written so far.</summary>
    public readonly ReadOnlySpan<byte> Written => _buffer[.._position];

    /// <summary>Throws unless the destination has been filled exactly (a length pass disagreed with the write pass).</summary>
    public readonly void EnsureComplete()
    {
        if (_position != _buffer.Length)
            throw new InvalidOperationException($"RLP writer filled {_position} of {_buffer.Length} bytes; the length pass and the write pass disagree.");
    }

    private Span<byte> Take(int count)
    {
        if (count > _buffer.Length - _position)
            throw new InvalidOperationException("RLP writer ran past its destination; the length pass and the write pass disagree.");
        var span = _buffer.Slice(_position, count);
        _position += count;
        return span;
    }

    private void WriteHeader(int payloadLength, byte shortBase)
    {
        if (payloadLength < 56)
        {
            Take(1)[0] = (byte)(shortBase + payloadLength);
            return;
        }
        int lenOfLen = RlpEncoding.LengthOfLength(payloadLength);
        var span = Take(1 + lenOfLen);
        span[0] = (byte)(shortBase + 55 + lenOfLen);
        for (int i = lenOfLen; i >= 1; i--)
        {
            span[i] = (byte)payloadLength;
            payloadLength >>= 8;
        }
    }

    /// <summary>Writes a byte string (a single byte below 0x80 stands for itself).</summary>
    public void WriteBytes(scoped ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 1 && bytes[0] < 0x80)
        {
            Take(1)[0] = bytes[0];
            return;
        }
        WriteHeader(bytes.Length, 0x80);
        bytes.CopyTo(Take(bytes.Length));
    }

    /// <summary>Writes an unsigned integer, minimal big-endian (zero is the empty string).</summary>
    public void WriteULong(ulong value)
    {
        if (value == 0)
        {
            Take(1)[0] = RlpEncoding.EmptyString;
            return;
        }
        if (value < 0x80)
        {
            Take(1)[0] = (byte)value;
            return;
        }
        Span<byte> tmp = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(tmp, value);
        int skip = System.Numerics.BitOperations.LeadingZeroCount(value) / 8;
        WriteBytes(tmp[skip..]);
    }

    /// <summary>Writes a 256-bit unsigned integer, minimal big-endian (zero is the empty string).</summary>
    public void WriteUInt256(in UInt256 value)
    {
        if (value.FitsInUInt64)
        {
            WriteULong(value.u0);
            return;
        }
        Span<byte> tmp = stackalloc byte[32];
        value.WriteBigEndian(tmp);
        int n = value.ByteLength;
        var span = Take(1 + n);
        span[0] = (byte)(0x80 + n);
        tmp[(32 - n)..].CopyTo(span[1..]);
    }

    /// <summary>Writes an unsigned big-endian integer given in any width; leading zero bytes are dropped.</summary>
    public void WriteUnsigned(scoped ReadOnlySpan<byte> bigEndian)
    {
        int i = 0;
        while (i < bigEndian.Length && bigEndian[i] == 0) i++;
        WriteBytes(bigEndian[i..]);
    }

    /// <summary>Writes a 20-byte address as a string.</summary>
    public void WriteAddress(Address address)
    {
        var span = Take(RlpEncoding.AddressLength);
        span[0] = 0x80 + Address.Size;
        address.CopyTo(span[1..]);
    }

    /// <summary>Writes an optional address: the empty string for null (contract creation).</summary>
    public void WriteOptionalAddress(Address? address)
    {
        if (address is { } a) WriteAddress(a);
        else Take(1)[0] = RlpEncoding.EmptyString;
    }

    /// <summary>Writes a 32-byte hash as a string.</summary>
    public void WriteHash32(Hash32 hash)
    {
        var span = Take(RlpEncoding.Hash32Length);
        span[0] = 0x80 + Hash32.Size;
        hash.CopyTo(span[1..]);
    }

    /// <summary>Writes a list header; the caller then writes exactly <paramref name="payloadLength"/> bytes of items.</summary>
    public void WriteListHeader(int payloadLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(payloadLength);
        WriteHeader(payloadLength, 0xc0);
    }

    /// <summary>Copies already-encoded RLP (or a non-RLP prefix such as a transaction type byte).</summary>
    public void WriteRaw(scoped ReadOnlySpan<byte> encoded) => encoded.CopyTo(Take(encoded.Length));
}
