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

    /// <summary>
    /// Multi-limb division (Knuth, TAOCP vol. 2, 4.3.1, algorithm D) of <paramref name="num"/> (any number of limbs,
    /// little-endian, at most 8) by a non-zero 256-bit <paramref name="den"/>.
    /// <paramref name="q"/> must have num.Length limbs and receives the quotient (zero-extended).
    /// </summary>
    [SkipLocalsInit]
    public static void DivRem(ReadOnlySpan<ulong> num, in UInt256 den, Span<ulong> q, out UInt256 rem)
    {
        int n = den.u3 != 0 ? 4 : den.u2 != 0 ? 3 : den.u1 != 0 ? 2 : 1;
        int len = num.Length;
        while (len > 0 && num[len - 1] == 0) len--;
        q.Clear();

        if (len < n)
        {
            rem = new UInt256(
                len > 0 ? num[0] : 0,
                len > 1 ? num[1] : 0,
                len > 2 ? num[2] : 0,
                0);
            return;
        }

        if (n == 1)
        {
            ulong d = den.u0;
            ulong r = 0;
            for (int i = len - 1; i >= 0; i--)
            {
                q[i] = Div128By64(r, num[i], d, out r);
            }
            rem = new UInt256(r, 0, 0, 0);
            return;
        }

        Span<ulong> v = stackalloc ulong[4];
        v[0] = den.u0;
        v[1] = den.u1;
        v[2] = den.u2;
        v[3] = den.u3;

        // D1: normalize so the top divisor limb has its high bit set.
        int s = BitOperations.LeadingZeroCount(v[n - 1]);
        Span<ulong> u = stackalloc ulong[len + 1];
        if (s == 0)
        {
            num.Slice(0, len).CopyTo(u);
            u[len] = 0;
        }
        else
        {
            int rs = 64 - s;
            for (int i = n - 1; i > 0; i--)
            {
                v[i] = (v[i] << s) | (v[i - 1] >> rs);
            }
            v[0] <<= s;
            u[len] = num[len - 1] >> rs;
            for (int i = len - 1; i > 0; i--)
            {
                u[i] = (num[i] << s) | (num[i - 1] >> rs);
            }
            u[0] = num[0] << s;
        }

        ulong vTop = v[n - 1];
        ulong vNext = v[n - 2];

        // D2..D7
        for (int j = len - n; j >= 0; j--)
        {
            ulong ujn = u[j + n];
            ulong qhat;
            ulong rhat;
            bool rhatOverflow;
            if (ujn >= vTop)
            {
                // Only ujn == vTop is possible; the estimate saturates at B - 1.
                qhat = ulong.MaxValue;
                rhat = u[j + n - 1] + vTop;
                rhatOverflow = rhat < vTop;
            }
            else
            {
                qhat = Div128By64(ujn, u[j + n - 1], vTop, out rhat);
                rhatOverflow = false;
            }

            // D3: refine the estimate with the second divisor limb (at most two corrections).
            while (!rhatOverflow)
            {
                ulong ph = Math.BigMul(qhat, vNext, out ulong pl);
                if (ph > rhat || (ph == rhat && pl > u[j + n - 2]))
                {
                    qhat--;
                    rhat += vTop;
                    rhatOverflow = rhat < vTop;
                }
                else
                {
                    break;
                }
            }

            // D4: multiply and subtract.
            ulong carry = 0;
            ulong borrow = 0;
            for (int i = 0; i < n; i++)
            {
                carry = MulAdd(qhat, v[i], carry, 0, out ulong pl);
                u[j + i] = SubBorrow(u[j + i], pl, borrow, out borrow);
            }
            u[j + n] = SubBorrow(u[j + n], carry, borrow, out borrow);

            // D5/D6: the estimate was one too large (rare); add the divisor back.
            if (borrow != 0)
            {
                qhat--;
                ulong c = 0;
                for (int i = 0; i < n; i++)
                {
                    u[j + i] = AddCarry(u[j + i], v[i], c, out c);
                }
                u[j + n] += c;
            }

            q[j] = qhat;
        }

        // D8: unnormalize the remainder (held in u[0..n-1]).
        ulong r0 = u[0], r1 = u[1], r2 = n > 2 ? u[2] : 0, r3 = n > 3 ? u[3] : 0;
        if (s != 0)
        {
            int rs = 64 - s;
            r0 = (r0 >> s) | (r1 << rs);
            r1 = (r1 >> s) | (r2 << rs);
            r2 = (r2 >> s) | (r3 << rs);
            r3 >>= s;
        }
        rem = new UInt256(r0, r1, r2, r3);
    }
}
