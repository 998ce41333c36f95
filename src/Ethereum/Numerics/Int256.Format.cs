using System.Diagnostics.CodeAnalysis;

namespace CrossMargin.Ethereum.Numerics;

public readonly partial struct Int256 : ISpanFormattable, ISpanParsable<Int256>
{
    /// <summary>Decimal representation with a leading '-' for negatives.</summary>
    public override string ToString()
    {
        Span<char> buf = stackalloc char[1 + UInt256.MaxDecimalDigits];
        TryFormat(buf, out int n, default, null);
        return new string(buf.Slice(0, n));
    }

    /// <summary>
    /// Formats the value. "G"/"D"/"" give signed decimal; "x"/"X"/"0x" format the magnitude as hex with
    /// a leading '-' for negatives (sign-magnitude, e.g. "-0x1f"), matching <see cref="ToHexString"/>.
    /// </summary>
    public string ToString(string? format, IFormatProvider? formatProvider)
    {
        Span<char> buf = stackalloc char[1 + 2 + 256];
        if (!TryFormat(buf, out int n, format, formatProvider))
        {
            throw new FormatException($"Unsupported format '{format}'.");
        }
        return new string(buf.Slice(0, n));
    }

    /// <summary>Formats the value with <paramref name="format"/>.</summary>
    public string ToString(string? format) => ToString(format, null);

    /// <summary>Sign-magnitude 0x-prefixed minimal hex: "0x0", "0x1f", "-0x1f".</summary>
    public string ToHexString() => ToString("0x", null);

    /// <inheritdoc/>
    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
    {
        charsWritten = 0;
        UInt256 mag = UnsignedAbs;
        if (!IsNegative)
        {
            return mag.TryFormat(destination, out charsWritten, format, provider);
        }
        if (destination.IsEmpty) return false;
        destination[0] = '-';
        if (!mag.TryFormat(destination.Slice(1), out int n, format, provider)) return false;
        charsWritten = n + 1;
        return true;
    }

    /// <summary>
    /// Parses an optionally '-'/'+'-signed decimal or 0x-hex magnitude (e.g. "-123", "-0x7b").
    /// Throws <see cref="FormatException"/> or <see cref="OverflowException"/> (outside [-2^255, 2^255)).
    /// </summary>
    public static Int256 Parse(ReadOnlySpan<char> s)
    {
        return ParseCore(s, out Int256 value) switch
        {
            UInt256.ParseStatus.Ok => value,
            UInt256.ParseStatus.Overflow => throw new OverflowException("Value does not fit in Int256."),
            _ => throw new FormatException("Invalid Int256 literal."),
        };
    }

    /// <summary>Parses a signed decimal or 0x-hex string.</summary>
    public static Int256 Parse(string s)
    {
        ArgumentNullException.ThrowIfNull(s);
        return Parse(s.AsSpan());
    }

    /// <summary>Tries to parse a signed decimal or 0x-hex string.</summary>
    public static bool TryParse(ReadOnlySpan<char> s, out Int256 result) => ParseCore(s, out result) == UInt256.ParseStatus.Ok;

    /// <summary>Tries to parse a signed decimal or 0x-hex string.</summary>
    public static bool TryParse([NotNullWhen(true)] string? s, out Int256 result)
    {
        if (s is null)
        {
            result = default;
            return false;
        }
        return TryParse(s.AsSpan(), out result);
    }

    /// <inheritdoc/>
    public static Int256 Parse(string s, IFormatProvider? provider) => Parse(s);

    /// <inheritdoc/>
    public static Int256 Parse(ReadOnlySpan<char> s, IFormatProvider? provider) => Parse(s);

    /// <inheritdoc/>
    public static bool TryParse([NotNullWhen(true)] string? s, IFormatProvider? provider, out Int256 result) => TryParse(s, out result);

    /// <inheritdoc/>
    public static bool TryParse(ReadOnlySpan<char> s, IFormatProvider? provider, out Int256 result) => TryParse(s, out result);

    private static UInt256.ParseStatus ParseCore(ReadOnlySpan<char> s, out Int256 value)
    {
        value = default;
        bool negative = false;
        if (!s.IsEmpty && (s[0] == '-' || s[0] == '+'))
        {
            negative = s[0] == '-';
            s = s.Slice(1);
        }
        UInt256.ParseStatus st = UInt256.ParseCore(s, out UInt256 mag);
        if (st != UInt256.ParseStatus.Ok) return st;
        if (negative)
        {
            // Magnitude up to 2^255 is allowed for negatives.
            if (mag.u3 > (1UL << 63) || (mag.u3 == (1UL << 63) && (mag.u0 | mag.u1 | mag.u2) != 0))
            {
                return UInt256.ParseStatus.Overflow;
            }
            value = new Int256(UInt256.Zero - mag);
        }
        else
        {
            if ((long)mag.u3 < 0) return UInt256.ParseStatus.Overflow;
            value = new Int256(mag);
        }
        return UInt256.ParseStatus.Ok;
    }
}
