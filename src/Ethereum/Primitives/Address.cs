using System.Buffers.Binary;
using CrossMargin.Ethereum.Crypto;

namespace CrossMargin.Ethereum;

/// <summary>An address string that is malformed or whose mixed-case EIP-55 checksum is wrong.</summary>
public sealed class AddressFormatException : FormatException
{
    public AddressFormatException(string message) : base(message) { }

    public AddressFormatException() { }

    public AddressFormatException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A 20-byte Ethereum account address. Formats with the EIP-55 checksum.</summary>
public readonly struct Address : IEquatable<Address>, IComparable<Address>, ISpanFormattable
{
    public const int Size = 20;

    // big-endian: _hi = bytes 0..7, _mid = bytes 8..15, _lo = bytes 16..19
    private readonly ulong _hi, _mid;
    private readonly uint _lo;

    public static readonly Address Zero;

    public Address(ReadOnlySpan<byte> bytes20)
    {
        if (bytes20.Length != Size) throw new ArgumentException($"An address needs exactly 20 bytes, got {bytes20.Length}.", nameof(bytes20));
        _hi = BinaryPrimitives.ReadUInt64BigEndian(bytes20);
        _mid = BinaryPrimitives.ReadUInt64BigEndian(bytes20[8..]);
        _lo = BinaryPrimitives.ReadUInt32BigEndian(bytes20[16..]);
    }

    public bool IsZero => (_hi | _mid | _lo) == 0;

    public void CopyTo(Span<byte> destination)
    {
        if (destination.Length < Size) throw new ArgumentException("Destination needs 20 bytes.", nameof(destination));
        BinaryPrimitives.WriteUInt64BigEndian(destination, _hi);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _mid);
        BinaryPrimitives.WriteUInt32BigEndian(destination[16..], _lo);
    }

    public byte[] ToArray()
    {
        var a = new byte[Size];
        CopyTo(a);
        return a;
    }

    /// <summary>The address of the account behind a 64-byte uncompressed public key (x || y).</summary>
    public static Address FromPublicKey(ReadOnlySpan<byte> publicKey64)
    {
        if (publicKey64.Length != 64) throw new ArgumentException("Public key must be 64 bytes (x || y).", nameof(publicKey64));
        Span<byte> h = stackalloc byte[32];
        Keccak256.Hash(publicKey64, h);
        return new Address(h[12..]);
    }

    /// <summary>
    /// Parses "0x" + 40 hex digits. All-lower and all-upper digits are accepted as unchecksummed;
    /// mixed case must match the EIP-55 checksum.
    /// </summary>
    public static Address Parse(ReadOnlySpan<char> text)
    {
        if (!TryParseCore(text, out var address, out string? error)) throw new AddressFormatException(error!);
        return address;
    }

    public static bool TryParse(ReadOnlySpan<char> text, out Address address) => TryParseCore(text, out address, out _);

    private static bool TryParseCore(ReadOnlySpan<char> text, out Address address, out string? error)
    {
        address = default;
        Span<byte> b = stackalloc byte[Size];
        if (text.Length != 42 || text[0] != '0' || text[1] != 'x' || !Hex.TryDecodeExact(text, b))
        {
            error = "An address is 0x followed by 40 hex digits.";
            return false;
        }
        bool hasLower = false, hasUpper = false;
        foreach (char c in text[2..])
        {
            if (c is >= 'a' and <= 'f') hasLower = true;
            else if (c is >= 'A' and <= 'F') hasUpper = true;
        }
        address = new Address(b);
        if (hasLower && hasUpper)
        {
            Span<char> expected = stackalloc char[42];
            address.FormatChecksummed(expected);
            if (!text.SequenceEqual(expected))
            {
                address = default;
                error = "Mixed-case address with an invalid EIP-55 checksum.";
                return false;
            }
        }
        error = null;
        return true;
    }

    /// <summary>Writes the EIP-55 checksummed form (42 chars).</summary>
    public void FormatChecksummed(Span<char> destination)
    {
        if (destination.Length < 42) throw new ArgumentException("Destination needs 42 chars.", nameof(destination));
        Span<byte> b = stackalloc byte[Size];
        CopyTo(b);
        Hex.Encode(b, destination);
        Span<byte> lowerAscii = stackalloc byte[40];
        for (int i = 0; i < 40; i++) lowerAscii[i] = (byte)destination[2 + i];
        Span<byte> h = stackalloc byte[32];
        Keccak256.Hash(lowerAscii, h);
        for (int i = 0; i < 40; i++)
        {
            char c = destination[2 + i];
            if (c >= 'a')
            {
                int nibble = (i & 1) == 0 ? h[i >> 1] >> 4 : h[i >> 1] & 0xF;
                if (nibble >= 8) destination[2 + i] = (char)(c - 32);
            }
        }
    }

    /// <summary>Lower-case hex, as JSON-RPC requests carry it.</summary>
    public string ToLowerHex()
    {
        Span<byte> b = stackalloc byte[Size];
        CopyTo(b);
        return Hex.Encode(b);
    }

    /// <summary>The EIP-55 checksummed form.</summary>
    public override string ToString()
    {
        return string.Create(42, this, static (chars, a) => a.FormatChecksummed(chars));
    }

    public string ToString(string? format, IFormatProvider? formatProvider) => ToString();

    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
    {
        if (destination.Length < 42)
        {
            charsWritten = 0;
            return false;
        }
        FormatChecksummed(destination);
        charsWritten = 42;
        return true;
    }

    public bool Equals(Address other) => _hi == other._hi && _mid == other._mid && _lo == other._lo;

    public override bool Equals(object? obj) => obj is Address a && Equals(a);

    public override int GetHashCode() => HashCode.Combine(_hi, _mid, _lo);

    public int CompareTo(Address other)
    {
        int c = _hi.CompareTo(other._hi);
        if (c != 0) return c;
        c = _mid.CompareTo(other._mid);
        return c != 0 ? c : _lo.CompareTo(other._lo);
    }

    public static bool operator ==(Address a, Address b) => a.Equals(b);

    public static bool operator !=(Address a, Address b) => !a.Equals(b);

    public static bool operator <(Address a, Address b) => a.CompareTo(b) < 0;

    public static bool operator >(Address a, Address b) => a.CompareTo(b) > 0;

    public static bool operator <=(Address a, Address b) => a.CompareTo(b) <= 0;

    public static bool operator >=(Address a, Address b) => a.CompareTo(b) >= 0;
}
