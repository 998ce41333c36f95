using System.Runtime.CompilerServices;

namespace CrossMargin.Risk;

/// <summary>
/// 128-bit fast path for <c>floor/ceil(a*b/WAD)</c>. Inputs are 128-bit magnitudes, the product is formed in 256
/// bits (exact), and the quotient is returned only when it fits in 128 bits (<c>a*b &lt; WAD·2^128</c>); otherwise
/// the caller falls back to the 256-bit path. Division by WAD uses a precomputed reciprocal of the normalized
/// divisor (Möller–Granlund 2-by-1 division), so there is no hardware divide. Bit-exact with
/// <see cref="RiskMath.MulDivDown"/>/<see cref="RiskMath.MulDivUp"/> whenever it answers (property-tested).
/// </summary>
internal static class FastWad
{
    private const int Shift = 4; // WAD < 2^60 and >= 2^59
    private const ulong Wad = RiskMath.WadU64;
    internal const ulong D = Wad << Shift;
    /// <summary>floor((2^128 − 1) / D) − 2^64, the Möller–Granlund reciprocal of D (a constant, so no class-init checks).</summary>
    internal const ulong V = 0x2725dd1d243aba0eUL;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong Div2By1(ulong u1, ulong u0, out ulong rem)
    {
        ulong qh = Math.BigMul(V, u1, out ulong ql);
        ql += u0;
        qh += u1 + (ql < u0 ? 1UL : 0UL);
        qh++;
        ulong r = u0 - qh * D;
        if (r > ql)
        {
            qh--;
            r += D;
        }
        if (r >= D)
        {
            qh++;
            r -= D;
        }
        rem = r;
        return qh;
    }

    /// <summary>Low limb without a call (UInt128 is two little-endian ulongs).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Lo(UInt128 x) => Unsafe.As<UInt128, ulong>(ref x);

    /// <summary>High limb without a call.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Hi(UInt128 x) => Unsafe.Add(ref Unsafe.As<UInt128, ulong>(ref x), 1);

    /// <summary>floor(a*b/WAD) for a 64-bit multiplier (fractions and weights): 2 limb products; false when the quotient needs more than 128 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryMulDiv64(UInt128 a, ulong b, out UInt128 q, out bool inexact)
    {
        ulong h0 = Math.BigMul(Lo(a), b, out ulong p0);
        ulong h1 = Math.BigMul(Hi(a), b, out ulong l1);
        ulong p1 = h0 + l1;
        ulong p2 = h1 + (p1 < l1 ? 1UL : 0UL);
        return Finish(p2, p1, p0, out q, out inexact);
    }

    /// <summary>floor(a*b/WAD) and whether it was inexact; false when the quotient needs more than 128 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryMulDiv(UInt128 a, UInt128 b, out UInt128 q, out bool inexact)
    {
        ulong a0 = Lo(a), a1 = Hi(a), b0 = Lo(b), b1 = Hi(b);
        ulong p0, p1, p2;
        if ((a1 | b1) == 0)
        {
            p1 = Math.BigMul(a0, b0, out p0);
            p2 = 0;
        }
        else
        {
            // 256-bit schoolbook product; p3 must be zero.
            ulong h00 = Math.BigMul(a0, b0, out p0);
            ulong h01 = Math.BigMul(a0, b1, out ulong l01);
            ulong h10 = Math.BigMul(a1, b0, out ulong l10);
            ulong h11 = Math.BigMul(a1, b1, out ulong l11);
            p1 = h00 + l01;
            ulong c = p1 < l01 ? 1UL : 0UL;
            ulong t = p1 + l10;
            c += t < l10 ? 1UL : 0UL;
            p1 = t;
            // p2 = h01 + h10 + l11 + c, p3 = h11 + carries
            p2 = h01 + h10;
            ulong c2 = p2 < h10 ? 1UL : 0UL;
            t = p2 + l11;
            c2 += t < l11 ? 1UL : 0UL;
            p2 = t + c;
            c2 += p2 < c ? 1UL : 0UL;
            if ((h11 | c2) != 0)
            {
                q = default;
                inexact = false;
                return false;
            }
        }
        return Finish(p2, p1, p0, out q, out inexact);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Finish(ulong p2, ulong p1, ulong p0, out UInt128 q, out bool inexact)
    {
        if (p2 >= Wad)
        {
            q = default;
            inexact = false;
            return false;
        }
        ulong n2 = (p2 << Shift) | (p1 >> (64 - Shift));
        ulong n1 = (p1 << Shift) | (p0 >> (64 - Shift));
        ulong n0 = p0 << Shift;
        ulong q1 = 0, r;
        if (n2 != 0 || n1 >= D)
        {
            q1 = Div2By1(n2, n1, out r);
        }
        else
        {
            r = n1;
        }
        ulong q0 = Div2By1(r, n0, out ulong r0);
        q = new UInt128(q1, q0);
        inexact = r0 != 0;
        return true;
    }
}


