using System.Numerics;
using System.Runtime.CompilerServices;

namespace CrossMargin.Ethereum.Numerics;

/// <summary>Low-level 64-bit limb primitives shared by <see cref="UInt256"/> and <see cref="Int256"/>.</summary>
internal static class Limbs
{
    /// <summary>a + b + carryIn; carryOut is 0 or 1. carryIn must be 0 or 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong AddCarry(ulong a, ulong b, ulong carryIn, out ulong carryOut)
    {
        ulong s = a + b;
        ulong c1 = s < a ? 1UL : 0UL;
        ulong r = s + carryIn;
        ulong c2 = r < s ? 1UL : 0UL;
        carryOut = c1 | c2;
        return r;
    }

    /// <summary>a - b - borrowIn; borrowOut is 0 or 1. borrowIn must be 0 or 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong SubBorrow(ulong a, ulong b, ulong borrowIn, out ulong borrowOut)
    {
        ulong d = a - b;
        ulong b1 = a < b ? 1UL : 0UL;
        ulong r = d - borrowIn;
        ulong b2 = d < borrowIn ? 1UL : 0UL;
        borrowOut = b1 | b2;
        return r;
    }

    /// <summary>a * b + add + carry as a 128-bit value (never overflows); returns the high half.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong MulAdd(ulong a, ulong b, ulong add, ulong carry, out ulong lo)
    {
        ulong hi = Math.BigMul(a, b, out ulong l);
        l += add;
        hi += l < add ? 1UL : 0UL;
        l += carry;
        hi += l < carry ? 1UL : 0UL;
        lo = l;
        return hi;
    }

    /// <summary>
    /// Divides the 128-bit value (hi:lo) by d where hi &lt; d (so the quotient fits in 64 bits).
    /// Returns the quotient; the remainder is written to <paramref name="rem"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Div128By64(ulong hi, ulong lo, ulong d, out ulong rem)
    {
        if (hi == 0)
        {
            ulong q0 = lo / d;
            rem = lo - q0 * d;
            return q0;
        }
        return Div128By64Slow(hi, lo, d, out rem);
    }

    /// <summary>Two-step schoolbook division with 32-bit digits (requires hi &lt; d, hi != 0 allowed).</summary>
    private static ulong Div128By64Slow(ulong hi, ulong lo, ulong d, out ulong rem)
    {
        const ulong b = 1UL << 32;
        int s = BitOperations.LeadingZeroCount(d);
        d <<= s;
        ulong un32 = s == 0 ? hi : (hi << s) | (lo >> (64 - s));
        ulong un10 = lo << s;

        ulong vn1 = d >> 32;
        ulong vn0 = d & 0xFFFF_FFFFUL;
        ulong un1 = un10 >> 32;
        ulong un0 = un10 & 0xFFFF_FFFFUL;

        ulong q1 = un32 / vn1;
        ulong rhat = un32 - q1 * vn1;
        while (q1 >= b || q1 * vn0 > ((rhat << 32) | un1))
        {
            q1--;
            rhat += vn1;
            if (rhat >= b)
            {
                break;
            }
        }

        ulong un21 = (un32 << 32) + un1 - q1 * d;

        ulong q0 = un21 / vn1;
        rhat = un21 - q0 * vn1;
        while (q0 >= b || q0 * vn0 > ((rhat << 32) | un0))
        {
            q0--;
            rhat += vn1;
            if (rhat >= b)
            {
                break;
            }
        }

        rem = ((un21 << 32) + un0 - q0 * d) >> s;
        return (q1 << 32) | q0;
    }
}
