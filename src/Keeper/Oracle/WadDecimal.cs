using System.Numerics;
using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Keeper.Oracle;

/// <summary>Why a decimal string could not be read as a WAD.</summary>
public enum DecimalFormatError
{
    /// <summary>Null or empty input.</summary>
    Empty,
    /// <summary>A leading '-' (prices and confidences are never negative).</summary>
    Negative,
    /// <summary>A leading '+'.</summary>
    Sign,
    /// <summary>An exponent ('e' / 'E'): exchanges send plain decimals; scientific notation is refused.</summary>
    Exponent,
    /// <summary>Any other character, whitespace, a second '.', or a '.' without digits on both sides.</summary>
    InvalidCharacter,
    /// <summary>The value times 10^18 does not fit in 256 bits.</summary>
    Overflow,
}

/// <summary>A decimal string that is not a plain non-negative decimal number.</summary>
public sealed class WadFormatException : FormatException
{
    public WadFormatException(DecimalFormatError error, string message) : base(message) => Error = error;

    public WadFormatException() { }

    public WadFormatException(string message) : base(message) { }

    public WadFormatException(string message, Exception inner) : base(message, inner) { }

    /// <summary>What was wrong with the input.</summary>
    public DecimalFormatError Error { get; }
}

/// <summary>
/// Exact conversions between decimal text / scaled integers and WAD (value x 10^18) held in <see cref="UInt256"/>.
/// No floating point anywhere.
/// </summary>
/// <remarks>
/// Accepted text: <c>digits</c> or <c>digits.digits</c> (ASCII 0-9, at least one digit on each side of the point,
/// leading zeros allowed). Rejected with <see cref="WadFormatException"/>: empty input, a sign, an exponent,
/// whitespace, anything else. Fractional digits beyond the 18th are truncated toward zero (they are below one wei
/// of the WAD and cannot be represented); this never rounds up.
/// </remarks>
public static class WadDecimal
{
    /// <summary>Decimals of a WAD.</summary>
    public const int Decimals = 18;

    /// <summary>10^18.</summary>
    public static UInt256 One { get; } = UInt256.Pow10(Decimals);

    /// <summary>Parses a plain decimal string into WAD; throws <see cref="WadFormatException"/>.</summary>
    public static UInt256 Parse(ReadOnlySpan<char> text)
    {
        DecimalFormatError? error = TryParseCore(text, out UInt256 value);
        if (error is { } e) throw new WadFormatException(e, Describe(e, text));
        return value;
    }

    /// <summary>Parses a plain decimal string into WAD.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out UInt256 wad, out DecimalFormatError error)
    {
        DecimalFormatError? e = TryParseCore(text, out wad);
        error = e ?? default;
        return e is null;
    }

    private static DecimalFormatError? TryParseCore(ReadOnlySpan<char> text, out UInt256 wad)
    {
        wad = UInt256.Zero;
        if (text.IsEmpty) return DecimalFormatError.Empty;
        if (text[0] == '-') return DecimalFormatError.Negative;
        if (text[0] == '+') return DecimalFormatError.Sign;

        int dot = -1;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c is >= '0' and <= '9') continue;
            if (c == '.' && dot < 0) { dot = i; continue; }
            return c is 'e' or 'E' ? DecimalFormatError.Exponent : DecimalFormatError.InvalidCharacter;
        }
        if (dot == 0 || dot == text.Length - 1) return DecimalFormatError.InvalidCharacter;

        ReadOnlySpan<char> intPart = dot < 0 ? text : text[..dot];
        ReadOnlySpan<char> fracPart = dot < 0 ? [] : text[(dot + 1)..];
        if (fracPart.Length > Decimals) fracPart = fracPart[..Decimals]; // truncate toward zero

        // Accumulate all kept digits, then pad with zeros up to 18 fractional digits. Chunks of up to 19 digits
        // fit in a ulong, so this is a handful of 256x64 multiply-adds.
        UInt256 acc = UInt256.Zero;
        if (!Accumulate(ref acc, intPart) || !Accumulate(ref acc, fracPart)) return DecimalFormatError.Overflow;
        int pad = Decimals - fracPart.Length;
        if (!UInt256.TryMul(acc, UInt256.Pow10(pad), out acc)) return DecimalFormatError.Overflow;
        wad = acc;
        return null;
    }

    private static bool Accumulate(ref UInt256 acc, ReadOnlySpan<char> digits)
    {
        while (!digits.IsEmpty)
        {
            int n = Math.Min(19, digits.Length);
            ulong chunk = 0;
            for (int i = 0; i < n; i++) chunk = (chunk * 10) + (ulong)(digits[i] - '0');
            if (!UInt256.TryMul(acc, UInt256.Pow10(n), out UInt256 shifted)) return false;
            if (!UInt256.TryAdd(shifted, chunk, out acc)) return false;
            digits = digits[n..];
        }
        return true;
    }

    private static string Describe(DecimalFormatError e, ReadOnlySpan<char> text)
    {
        string shown = text.Length > 64 ? string.Concat(text[..64], "...") : text.ToString();
        return e switch
        {
            DecimalFormatError.Empty => "Empty decimal string.",
            DecimalFormatError.Negative => $"Negative decimal '{shown}'.",
            DecimalFormatError.Sign => $"Signed decimal '{shown}'.",
            DecimalFormatError.Exponent => $"Exponent notation is not accepted: '{shown}'.",
            DecimalFormatError.Overflow => $"Decimal '{shown}' does not fit in a 256-bit WAD.",
            _ => $"Not a plain decimal number: '{shown}'.",
        };
    }

    /// <summary>
    /// mantissa x 10^(18 + exponent) exactly when 18 + exponent &gt;= 0; for smaller exponents the result is truncated
    /// toward zero. Used for Pyth prices (exponent typically -8) and confidences.
    /// </summary>
    /// <exception cref="OverflowException">The result does not fit in 256 bits.</exception>
    public static UInt256 FromScaled(UInt256 mantissa, int exponent)
    {
        int shift = Decimals + exponent;
        if (shift >= 0)
        {
            if (shift > 77 || !UInt256.TryMul(mantissa, UInt256.Pow10(shift), out UInt256 r))
                throw new OverflowException($"{mantissa} x 10^{shift} does not fit in 256 bits.");
            return r;
        }
        if (-shift > 77) return UInt256.Zero;
        return (UInt256)(mantissa.ToBigInteger() / BigInteger.Pow(10, -shift));
    }

    /// <summary>An integer with <paramref name="decimals"/> decimals (e.g. an AggregatorV3 answer) to WAD.</summary>
    public static UInt256 FromDecimals(UInt256 value, int decimals) => FromScaled(value, -decimals);

    /// <summary>
    /// Formats a WAD as plain decimal text with exactly <paramref name="fractionDigits"/> fractional digits
    /// (0..18), truncating toward zero.
    /// </summary>
    public static string Format(UInt256 wad, int fractionDigits)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fractionDigits);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(fractionDigits, Decimals);
        BigInteger v = wad.ToBigInteger();
        BigInteger whole = BigInteger.DivRem(v, BigInteger.Pow(10, Decimals), out BigInteger frac);
        string w = whole.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (fractionDigits == 0) return w;
        string f = frac.ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(Decimals, '0');
        return string.Concat(w, ".", f.AsSpan(0, fractionDigits));
    }

    /// <summary>Truncates a WAD to an integer with <paramref name="decimals"/> decimals (e.g. a Pyth mantissa).</summary>
    public static UInt256 ToDecimals(UInt256 wad, int decimals) => FromScaled(wad, decimals - (2 * Decimals));
}
