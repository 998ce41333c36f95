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
    /// Reciprocal of a normalized divisor (top bit set): floor((2^128 - 1) / d) - 2^64, as used by
    /// Möller and Granlund, "Improved division by invariant integers" (IEEE TC, 2011).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Reciprocal(ulong d) => Div128By64(~d, ulong.MaxValue, d, out _);

    /// <summary>
    /// Divides (u1:u0) by a normalized d (top bit set) with u1 &lt; d, using the precomputed
    /// <paramref name="v"/> = <see cref="Reciprocal(ulong)"/>: two multiplications instead of a hardware divide.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong DivRem2By1(ulong u1, ulong u0, ulong d, ulong v, out ulong rem)
    {
        // (qh:ql) = v * u1 + (u1:u0), modulo 2^128.
        ulong qh = Math.BigMul(v, u1, out ulong ql);
        ql += u0;
        qh += u1 + (ql < u0 ? 1UL : 0UL);
        qh++;
        ulong r = u0 - qh * d;
        if (r > ql)
        {
            qh--;
            r += d;
        }
        if (r >= d)
        {
            qh++;
            r -= d;
        }
        rem = r;
        return qh;
    }

    /// <summary>
    /// Divides the 320-bit value (x4:x3:x2:x1:x0) by a non-zero 64-bit d where x4 &lt; d, so the quotient fits in 256 bits.
    /// </summary>
    public static UInt256 DivBy64(ulong x4, ulong x3, ulong x2, ulong x1, ulong x0, ulong d, out ulong rem)
    {
        int s = BitOperations.LeadingZeroCount(d);
        if (s != 0)
        {
            // x4 < d, so x4 << s < d << s and no bits are lost.
            int rs = 64 - s;
            d <<= s;
            x4 = (x4 << s) | (x3 >> rs);
            x3 = (x3 << s) | (x2 >> rs);
            x2 = (x2 << s) | (x1 >> rs);
            x1 = (x1 << s) | (x0 >> rs);
            x0 <<= s;
        }
        ulong v = Reciprocal(d);
        ulong q3 = DivRem2By1(x4, x3, d, v, out ulong r);
        ulong q2 = DivRem2By1(r, x2, d, v, out r);
        ulong q1 = DivRem2By1(r, x1, d, v, out r);
        ulong q0 = DivRem2By1(r, x0, d, v, out r);
        rem = r >> s;
        return new UInt256(q0, q1, q2, q3);
    }

    /// <summary>(hi:lo) / d for hi &lt; d: two-step schoolbook division with 32-bit digits (Knuth D on half-limbs).</summary>
    public static ulong Div128By64(ulong hi, ulong lo, ulong d, out ulong rem)
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
            int sh = BitOperations.LeadingZeroCount(den.u0);
            ulong d = den.u0 << sh;
            ulong dv = Reciprocal(d);
            ulong r = 0;
            for (int i = len - 1; i >= 0; i--)
            {
                // Feed the dividend shifted left by sh, one limb at a time.
                ulong limb = sh == 0 ? num[i] : (num[i] << sh) | (i > 0 ? num[i - 1] >> (64 - sh) : 0);
                if (i == len - 1 && sh != 0)
                {
                    r = num[i] >> (64 - sh);
                }
                q[i] = DivRem2By1(r, limb, d, dv, out r);
            }
            rem = new UInt256(r >> sh, 0, 0, 0);
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
        ulong vRecip = Reciprocal(vTop);

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
                qhat = DivRem2By1(ujn, u[j + n - 1], vTop, vRecip, out rhat);
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
