using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace CrossMargin.Ethereum;

/// <summary>A 32-byte value: a Keccak hash, a block or transaction hash, a log topic, a storage word.</summary>
[StructLayout(LayoutKind.Sequential)]
public readonly struct Hash32 : IEquatable<Hash32>, ISpanFormattable
{
    public const int Size = 32;

    // big-endian words: _w0 holds bytes 0..7
    private readonly ulong _w0, _w1, _w2, _w3;

    public static readonly Hash32 Zero;

    public Hash32(ReadOnlySpan<byte> bytes32)
    {
        if (bytes32.Length != Size) throw new ArgumentException($"A Hash32 needs exactly 32 bytes, got {bytes32.Length}.", nameof(bytes32));
        _w0 = BinaryPrimitives.ReadUInt64BigEndian(bytes32);
        _w1 = BinaryPrimitives.ReadUInt64BigEndian(bytes32[8..]);
        _w2 = BinaryPrimitives.ReadUInt64BigEndian(bytes32[16..]);
        _w3 = BinaryPrimitives.ReadUInt64BigEndian(bytes32[24..]);
    }

    public bool IsZero => (_w0 | _w1 | _w2 | _w3) == 0;

    public void CopyTo(Span<byte> destination)
    {
        if (destination.Length < Size) throw new ArgumentException("Destination needs 32 bytes.", nameof(destination));
        BinaryPrimitives.WriteUInt64BigEndian(destination, _w0);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _w1);
        BinaryPrimitives.WriteUInt64BigEndian(destination[16..], _w2);
        BinaryPrimitives.WriteUInt64BigEndian(destination[24..], _w3);
    }

    public byte[] ToArray()
    {
        var a = new byte[Size];
        CopyTo(a);
        return a;
    }

    public static Hash32 Parse(ReadOnlySpan<char> hex)
    {
        Span<byte> b = stackalloc byte[Size];
        Hex.DecodeExact(hex, b);
        return new Hash32(b);
    }

    public static bool TryParse(ReadOnlySpan<char> hex, out Hash32 hash)
    {
        Span<byte> b = stackalloc byte[Size];
        if (!Hex.TryDecodeExact(hex, b))
        {
            hash = default;
            return false;
        }
        hash = new Hash32(b);
        return true;
    }

    public bool Equals(Hash32 other) => _w0 == other._w0 && _w1 == other._w1 && _w2 == other._w2 && _w3 == other._w3;

    public override bool Equals(object? obj) => obj is Hash32 h && Equals(h);

    public override int GetHashCode() => HashCode.Combine(_w0, _w1, _w2, _w3);

    public static bool operator ==(Hash32 a, Hash32 b) => a.Equals(b);

    public static bool operator !=(Hash32 a, Hash32 b) => !a.Equals(b);

    public override string ToString()
    {
        Span<byte> b = stackalloc byte[Size];
        CopyTo(b);
        return Hex.Encode(b);
    }

    public string ToString(string? format, IFormatProvider? formatProvider) => ToString();

    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
    {
        if (destination.Length < 66)
        {
            charsWritten = 0;
            return false;
        }
        Span<byte> b = stackalloc byte[Size];
        CopyTo(b);
        charsWritten = Hex.Encode(b, destination);
        return true;
    }
}
