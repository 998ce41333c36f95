using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Ethereum.Rpc;

/// <summary>
/// Strict JSON-RPC quantities for 256-bit values: "0x0" or "0x" + 1..64 hex digits without leading zeros.
/// </summary>
public static class RpcQuantity
{
    /// <summary>Parses a strict quantity of at most 256 bits.</summary>
    public static UInt256 ParseUInt256(ReadOnlySpan<char> text)
    {
        var digits = Hex.QuantityDigits(text);
        if (digits.Length > 64) throw new HexFormatException("Quantity does not fit in 256 bits.");
        Span<ulong> limbs = stackalloc ulong[4];
        limbs.Clear();
        // Least significant digit last: fill limbs from the end of the digit string.
        for (int i = 0; i < digits.Length; i++)
        {
            int fromEnd = digits.Length - 1 - i;
            ulong nibble = (ulong)Hex.Nibble(digits[i]);
            limbs[fromEnd >> 4] |= nibble << ((fromEnd & 15) * 4);
        }
        return new UInt256(limbs[0], limbs[1], limbs[2], limbs[3]);
    }

    /// <summary>Characters <see cref="Format(UInt256, Span{char})"/> writes for this value.</summary>
    public static int FormattedLength(in UInt256 value)
    {
        int bits = value.BitLength;
        return 2 + Math.Max(1, (bits + 3) >> 2);
    }

    /// <summary>Writes the canonical quantity ("0x0", "0x1f", ...); returns the characters written.</summary>
    public static int Format(in UInt256 value, Span<char> destination)
    {
        int len = FormattedLength(value);
        if (destination.Length < len) throw new ArgumentException("Destination too short.", nameof(destination));
        destination[0] = '0';
        destination[1] = 'x';
        int digits = len - 2;
        for (int i = 0; i < digits; i++)
        {
            int fromEnd = digits - 1 - i;
            ulong limb = (fromEnd >> 4) switch { 0 => value.u0, 1 => value.u1, 2 => value.u2, _ => value.u3 };
            int nibble = (int)((limb >> ((fromEnd & 15) * 4)) & 0xF);
            destination[2 + i] = (char)(nibble < 10 ? '0' + nibble : 'a' + nibble - 10);
        }
        return len;
    }

    /// <summary>The canonical quantity string.</summary>
    public static string Format(in UInt256 value)
    {
        Span<char> buf = stackalloc char[66];
        int n = Format(value, buf);
        return new string(buf[..n]);
    }
}
