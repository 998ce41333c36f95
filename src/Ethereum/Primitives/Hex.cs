using System.Runtime.CompilerServices;

namespace CrossMargin.Ethereum;

/// <summary>A hex string that is not strict 0x-prefixed hex of the expected shape.</summary>
public sealed class HexFormatException : FormatException
{
    public HexFormatException(string message) : base(message) { }

    public HexFormatException() { }

    public HexFormatException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// Strict 0x-prefixed hex. Data ("0x" + an even number of digits, either case) and quantities
/// (JSON-RPC: "0x0" or "0x" + digits without leading zeros) are different shapes and parsed separately.
/// </summary>
public static class Hex
{
    private const string LowerDigits = "0123456789abcdef";

    /// <summary>Number of characters <see cref="Encode(ReadOnlySpan{byte}, Span{char})"/> writes.</summary>
    public static int EncodedLength(int byteCount) => 2 + (2 * byteCount);

    /// <summary>Writes "0x" and lower-case digits; returns the characters written.</summary>
    public static int Encode(ReadOnlySpan<byte> data, Span<char> destination)
    {
        int len = EncodedLength(data.Length);
        if (destination.Length < len) throw new ArgumentException("Destination too short.", nameof(destination));
        destination[0] = '0';
        destination[1] = 'x';
        for (int i = 0; i < data.Length; i++)
        {
            byte b = data[i];
            destination[2 + (2 * i)] = LowerDigits[b >> 4];
            destination[3 + (2 * i)] = LowerDigits[b & 0xF];
        }
        return len;
    }

    /// <summary>"0x" followed by the bytes as lower-case hex.</summary>
    public static string Encode(ReadOnlySpan<byte> data)
    {
        return string.Create(EncodedLength(data.Length), data, static (chars, d) => Encode(d, chars));
    }

    /// <summary>Decodes strict 0x-prefixed hex data into a new array.</summary>
    public static byte[] Decode(ReadOnlySpan<char> hex)
    {
        var digits = StripPrefix(hex);
        if ((digits.Length & 1) != 0) throw new HexFormatException($"Hex data has an odd number of digits ({digits.Length}).");
        var result = new byte[digits.Length / 2];
        DecodeDigits(digits, result);
        return result;
    }

    /// <summary>Decodes strict 0x-prefixed hex of exactly <c>destination.Length</c> bytes.</summary>
    public static void DecodeExact(ReadOnlySpan<char> hex, Span<byte> destination)
    {
        var digits = StripPrefix(hex);
        if (digits.Length != 2 * destination.Length)
            throw new HexFormatException($"Expected {destination.Length} bytes of hex, got {digits.Length} digits.");
        DecodeDigits(digits, destination);
    }

    /// <summary>Tries to decode strict 0x-prefixed hex of exactly <c>destination.Length</c> bytes.</summary>
    public static bool TryDecodeExact(ReadOnlySpan<char> hex, Span<byte> destination)
    {
        if (hex.Length != 2 + (2 * destination.Length) || hex[0] != '0' || hex[1] != 'x') return false;
        var digits = hex[2..];
        for (int i = 0; i < destination.Length; i++)
        {
            int hi = Nibble(digits[2 * i]);
            int lo = Nibble(digits[(2 * i) + 1]);
            if ((hi | lo) < 0) return false;
            destination[i] = (byte)((hi << 4) | lo);
        }
        return true;
    }

    /// <summary>Parses a JSON-RPC quantity ("0x0", "0x1a"; no leading zeros, no empty) into a ulong.</summary>
    public static ulong ParseQuantity(ReadOnlySpan<char> hex)
    {
        var digits = QuantityDigits(hex);
        if (digits.Length > 16) throw new HexFormatException("Quantity does not fit in 64 bits.");
        ulong v = 0;
        foreach (char c in digits) v = (v << 4) | (uint)Nibble(c);
        return v;
    }

    /// <summary>Validates a JSON-RPC quantity and returns its digits (no prefix, no leading zeros).</summary>
    public static ReadOnlySpan<char> QuantityDigits(ReadOnlySpan<char> hex)
    {
        var digits = StripPrefix(hex);
        if (digits.Length == 0) throw new HexFormatException("Quantity has no digits.");
        if (digits.Length > 1 && digits[0] == '0') throw new HexFormatException("Quantity has a leading zero.");
        foreach (char c in digits)
        {
            if (Nibble(c) < 0) throw new HexFormatException($"Invalid hex digit '{c}'.");
        }
        return digits;
    }

    /// <summary>Formats a ulong as a JSON-RPC quantity.</summary>
    public static string EncodeQuantity(ulong value) => "0x" + value.ToString("x", System.Globalization.CultureInfo.InvariantCulture);

    private static ReadOnlySpan<char> StripPrefix(ReadOnlySpan<char> hex)
    {
        if (hex.Length < 2 || hex[0] != '0' || hex[1] != 'x') throw new HexFormatException("Hex must start with 0x.");
        return hex[2..];
    }

    private static void DecodeDigits(ReadOnlySpan<char> digits, Span<byte> destination)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            int hi = Nibble(digits[2 * i]);
            int lo = Nibble(digits[(2 * i) + 1]);
            if ((hi | lo) < 0) throw new HexFormatException($"Invalid hex digit at position {2 + (2 * i)}.");
            destination[i] = (byte)((hi << 4) | lo);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int Nibble(char c)
    {
        if ((uint)(c - '0') <= 9) return c - '0';
        if ((uint)(c - 'a') <= 5) return c - 'a' + 10;
        if ((uint)(c - 'A') <= 5) return c - 'A' + 10;
        return -1;
    }
}
