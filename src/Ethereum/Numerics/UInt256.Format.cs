using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace CrossMargin.Ethereum.Numerics;

public readonly partial struct UInt256 : ISpanFormattable, ISpanParsable<UInt256>
{
    private const ulong TenPow19 = 10_000_000_000_000_000_000UL;
    private const string HexDigitsLower = "0123456789abcdef";
    private const string HexDigitsUpper = "0123456789ABCDEF";

    /// <summary>Maximum number of decimal digits of a 256-bit value (2^256 - 1 has 78 digits).</summary>
    internal const int MaxDecimalDigits = 78;

    /// <summary>Decimal representation.</summary>
    public override string ToString()
    {
        if ((u1 | u2 | u3) == 0) return u0.ToString(CultureInfo.InvariantCulture);
        Span<char> buf = stackalloc char[MaxDecimalDigits];
        int n = FormatDecimal(buf);
        return new string(buf.Slice(0, n));
    }

    /// <summary>
    /// Formats the value. Supported formats: null, "", "G", "D" (decimal, optional minimum digits);
    /// "x"/"X" (hex without prefix, optional minimum digits, e.g. "x64"); "0x" (same as <see cref="ToHexString"/>).
    /// </summary>
    public string ToString(string? format, IFormatProvider? formatProvider)
    {
        Span<char> buf = stackalloc char[2 + 256];
        if (!TryFormat(buf, out int n, format, formatProvider))
        {
            throw new FormatException($"Unsupported format '{format}'.");
        }
        return new string(buf.Slice(0, n));
    }

    /// <summary>Formats the value with <paramref name="format"/>; see <see cref="ToString(string?, IFormatProvider?)"/>.</summary>
    public string ToString(string? format) => ToString(format, null);

    /// <summary>Minimal 0x-prefixed lowercase hex ("0x0" for zero), as used by JSON-RPC quantities.</summary>
    public string ToHexString()
    {
        Span<char> buf = stackalloc char[66];
        int n = FormatHexPrefixed(buf);
        return new string(buf.Slice(0, n));
    }

    /// <summary>0x-prefixed lowercase hex padded to 64 digits.</summary>
    public string ToHexString64() => "0x" + ToString("x64", null);

    /// <inheritdoc/>
    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
    {
        charsWritten = 0;
        if (format.IsEmpty || format.Equals("G", StringComparison.OrdinalIgnoreCase))
        {
            return TryFormatDecimal(destination, 0, out charsWritten);
        }
        if (format.SequenceEqual("0x"))
        {
            if (destination.Length < 66)
            {
                Span<char> tmp = stackalloc char[66];
                int m = FormatHexPrefixed(tmp);
                if (m > destination.Length) return false;
                tmp.Slice(0, m).CopyTo(destination);
                charsWritten = m;
                return true;
            }
            charsWritten = FormatHexPrefixed(destination);
            return true;
        }
        char f = format[0];
        int minDigits = 0;
        if (format.Length > 1 && !int.TryParse(format.Slice(1), NumberStyles.None, CultureInfo.InvariantCulture, out minDigits))
        {
            return false;
        }
        if (minDigits > 256) return false;
        switch (f)
        {
            case 'D' or 'd':
                return TryFormatDecimal(destination, minDigits, out charsWritten);
            case 'x' or 'X':
                return TryFormatHex(destination, minDigits, f == 'X', out charsWritten);
            default:
                return false;
        }
    }

    private bool TryFormatDecimal(Span<char> destination, int minDigits, out int charsWritten)
    {
        Span<char> buf = stackalloc char[MaxDecimalDigits];
        int n = FormatDecimal(buf);
        int pad = Math.Max(0, minDigits - n);
        if (destination.Length < n + pad)
        {
            charsWritten = 0;
            return false;
        }
        destination.Slice(0, pad).Fill('0');
        buf.Slice(0, n).CopyTo(destination.Slice(pad));
        charsWritten = n + pad;
        return true;
    }

    private bool TryFormatHex(Span<char> destination, int minDigits, bool upper, out int charsWritten)
    {
        int digits = Math.Max(Math.Max(1, (BitLength + 3) >> 2), minDigits);
        if (destination.Length < digits)
        {
            charsWritten = 0;
            return false;
        }
        WriteHexDigits(destination.Slice(0, digits), upper);
        charsWritten = digits;
        return true;
    }

    /// <summary>Writes the low 4*dst.Length bits as hex digits (leading zeros where needed).</summary>
    private void WriteHexDigits(Span<char> dst, bool upper)
    {
        string table = upper ? HexDigitsUpper : HexDigitsLower;
        for (int i = 0; i < dst.Length; i++)
        {
            int nibble = dst.Length - 1 - i;
            int v = 0;
            if (nibble < 64)
            {
                ulong limb = (nibble >> 4) switch { 0 => u0, 1 => u1, 2 => u2, _ => u3 };
                v = (int)((limb >> ((nibble & 15) * 4)) & 0xF);
            }
            dst[i] = table[v];
        }
    }

    /// <summary>Writes "0x" plus minimal hex; destination must hold 66 chars.</summary>
    private int FormatHexPrefixed(Span<char> destination)
    {
        int digits = Math.Max(1, (BitLength + 3) >> 2);
        destination[0] = '0';
        destination[1] = 'x';
        WriteHexDigits(destination.Slice(2, digits), upper: false);
        return digits + 2;
    }

    /// <summary>Writes the decimal digits into <paramref name="buf"/> (78 chars) and returns the count (left-aligned).</summary>
    private int FormatDecimal(Span<char> buf)
    {
        // Split into base-10^19 chunks, least significant first (at most 5 chunks).
        Span<ulong> chunks = stackalloc ulong[5];
        int count = 0;
        UInt256 v = this;
        while (!v.FitsInUInt64)
        {
            v = DivRem64(v, TenPow19, out ulong rem);
            chunks[count++] = rem;
        }
        chunks[count++] = v.u0;

        int pos = 0;
        // Most significant chunk without padding.
        chunks[count - 1].TryFormat(buf, out int w, default, CultureInfo.InvariantCulture);
        pos += w;
        for (int i = count - 2; i >= 0; i--)
        {
            chunks[i].TryFormat(buf.Slice(pos), out w, "D19", CultureInfo.InvariantCulture);
            pos += w;
        }
        return pos;
    }

    // ---------------------------------------------------------------- parsing

    /// <summary>
    /// Parses a decimal string or a 0x/0X-prefixed hex string (no sign, no whitespace, no separators).
    /// Leading zeros are allowed. Throws <see cref="FormatException"/> or <see cref="OverflowException"/>.
    /// </summary>
    public static UInt256 Parse(ReadOnlySpan<char> s)
    {
        return ParseCore(s, out UInt256 value) switch
        {
            ParseStatus.Ok => value,
            ParseStatus.Overflow => throw new OverflowException("Value does not fit in 256 bits."),
            _ => throw new FormatException("Invalid UInt256 literal."),
        };
    }

    /// <summary>Parses a decimal or 0x-hex string; see <see cref="Parse(ReadOnlySpan{char})"/>.</summary>
    public static UInt256 Parse(string s)
    {
        ArgumentNullException.ThrowIfNull(s);
        return Parse(s.AsSpan());
    }

    /// <summary>Tries to parse a decimal or 0x-hex string.</summary>
    public static bool TryParse(ReadOnlySpan<char> s, out UInt256 result) => ParseCore(s, out result) == ParseStatus.Ok;

    /// <summary>Tries to parse a decimal or 0x-hex string.</summary>
    public static bool TryParse([NotNullWhen(true)] string? s, out UInt256 result)
    {
        if (s is null)
        {
            result = default;
            return false;
        }
        return TryParse(s.AsSpan(), out result);
    }

    /// <inheritdoc/>
    public static UInt256 Parse(string s, IFormatProvider? provider) => Parse(s);

    /// <inheritdoc/>
    public static UInt256 Parse(ReadOnlySpan<char> s, IFormatProvider? provider) => Parse(s);

    /// <inheritdoc/>
    public static bool TryParse([NotNullWhen(true)] string? s, IFormatProvider? provider, out UInt256 result) => TryParse(s, out result);

    /// <inheritdoc/>
    public static bool TryParse(ReadOnlySpan<char> s, IFormatProvider? provider, out UInt256 result) => TryParse(s, out result);

    internal enum ParseStatus
    {
        Ok,
        Format,
        Overflow,
    }

    internal static ParseStatus ParseCore(ReadOnlySpan<char> s, out UInt256 value)
    {
        value = default;
        if (s.Length >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        {
            return ParseHex(s.Slice(2), out value);
        }
        return ParseDecimal(s, out value);
    }

    private static ParseStatus ParseHex(ReadOnlySpan<char> s, out UInt256 value)
    {
        value = default;
        if (s.IsEmpty) return ParseStatus.Format;
        int start = 0;
        while (start < s.Length - 1 && s[start] == '0') start++;
        ReadOnlySpan<char> digits = s.Slice(start);
        Span<ulong> limbs = stackalloc ulong[4];
        limbs.Clear();
        bool overflow = digits.Length > 64;
        for (int i = 0; i < digits.Length; i++)
        {
            int v = HexVal(digits[i]);
            if (v < 0) return ParseStatus.Format;
            if (overflow) continue;
            int nibble = digits.Length - 1 - i;
            limbs[nibble >> 4] |= (ulong)v << ((nibble & 15) * 4);
        }
        if (overflow) return ParseStatus.Overflow;
        value = new UInt256(limbs[0], limbs[1], limbs[2], limbs[3]);
        return ParseStatus.Ok;
    }

    private static int HexVal(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };

    private static ParseStatus ParseDecimal(ReadOnlySpan<char> s, out UInt256 value)
    {
        value = default;
        if (s.IsEmpty) return ParseStatus.Format;
        foreach (char c in s)
        {
            if (c < '0' || c > '9') return ParseStatus.Format;
        }
        int start = 0;
        while (start < s.Length - 1 && s[start] == '0') start++;
        ReadOnlySpan<char> digits = s.Slice(start);
        if (digits.Length > MaxDecimalDigits) return ParseStatus.Overflow;

        // Consume chunks of up to 19 digits: acc = acc * 10^k + chunk.
        UInt256 acc = default;
        int first = digits.Length % 19;
        if (first == 0) first = 19;
        int pos = 0;
        int len = first;
        while (pos < digits.Length)
        {
            ulong chunk = 0;
            for (int i = 0; i < len; i++)
            {
                chunk = chunk * 10 + (ulong)(digits[pos + i] - '0');
            }
            ulong mul = len == 19 ? TenPow19 : (ulong)Pow10Table[len].u0;
            if (!TryMulAddSmall(acc, mul, chunk, out acc)) return ParseStatus.Overflow;
            pos += len;
            len = 19;
        }
        value = acc;
        return ParseStatus.Ok;
    }
}
