using System.Numerics;
using System.Runtime.CompilerServices;

namespace CrossMargin.Ethereum.Numerics;

public readonly partial struct UInt256
{
    /// <summary>Floor division (Solidity <c>a / b</c>).</summary>
    /// <exception cref="DivideByZeroException"><paramref name="b"/> is zero.</exception>
    public static UInt256 operator /(UInt256 a, UInt256 b)
    {
        if ((b.u1 | b.u2 | b.u3) == 0)
        {
            if ((a.u1 | a.u2 | a.u3) == 0)
            {
                if (b.u0 == 0) ThrowDivideByZero();
                return new UInt256(a.u0 / b.u0);
            }
            return DivRem64(a, b.u0, out _);
        }
        if (LessThan(a, b)) return default;
        DivRemLarge(a, b, out UInt256 q, out _);
        return q;
    }

    /// <summary>Remainder (Solidity <c>a % b</c>).</summary>
    /// <exception cref="DivideByZeroException"><paramref name="b"/> is zero.</exception>
    public static UInt256 operator %(UInt256 a, UInt256 b)
    {
        if ((b.u1 | b.u2 | b.u3) == 0)
        {
            if ((a.u1 | a.u2 | a.u3) == 0)
            {
                if (b.u0 == 0) ThrowDivideByZero();
                return new UInt256(a.u0 % b.u0);
            }
            DivRem64(a, b.u0, out ulong r64);
            return new UInt256(r64);
        }
        if (LessThan(a, b)) return a;
        DivRemLarge(a, b, out _, out UInt256 r);
        return r;
    }

    /// <summary>Quotient and remainder in one operation.</summary>
    /// <exception cref="DivideByZeroException"><paramref name="divisor"/> is zero.</exception>
    public static UInt256 DivRem(UInt256 dividend, UInt256 divisor, out UInt256 remainder)
    {
        if ((divisor.u1 | divisor.u2 | divisor.u3) == 0)
        {
            UInt256 q = DivRem64(dividend, divisor.u0, out ulong r64);
            remainder = new UInt256(r64);
            return q;
        }
        if (LessThan(dividend, divisor))
        {
            remainder = dividend;
            return default;
        }
        DivRemLarge(dividend, divisor, out UInt256 quotient, out remainder);
        return quotient;
    }

    /// <summary>Ceiling division (OpenZeppelin <c>Math.ceilDiv</c>): 0 when a is 0, otherwise (a - 1) / b + 1.</summary>
    /// <exception cref="DivideByZeroException"><paramref name="b"/> is zero.</exception>
    public static UInt256 DivUp(UInt256 a, UInt256 b)
    {
        if (b.IsZero) ThrowDivideByZero();
        if (a.IsZero) return default;
        return (a - One) / b + One;
    }

    /// <summary>Divides by a 64-bit divisor; returns the quotient and the 64-bit remainder.</summary>
    /// <exception cref="DivideByZeroException"><paramref name="divisor"/> is zero.</exception>
    public static UInt256 DivRem64(UInt256 dividend, ulong divisor, out ulong remainder)
    {
        if (divisor == 0) ThrowDivideByZero();
        if ((dividend.u1 | dividend.u2 | dividend.u3) == 0)
        {
            ulong q = dividend.u0 / divisor;
            remainder = dividend.u0 - q * divisor;
            return new UInt256(q);
        }
        return Limbs.DivBy64(0, dividend.u3, dividend.u2, dividend.u1, dividend.u0, divisor, out remainder);
    }

    /// <summary>Division where the divisor has at least two limbs and the dividend is not smaller than it.</summary>
    [SkipLocalsInit]
    private static void DivRemLarge(in UInt256 a, in UInt256 b, out UInt256 quotient, out UInt256 remainder)
    {
        Span<ulong> num = stackalloc ulong[4];
        num[0] = a.u0;
        num[1] = a.u1;
        num[2] = a.u2;
        num[3] = a.u3;
        Span<ulong> q = stackalloc ulong[4];
        Limbs.DivRem(num, b, q, out remainder);
        quotient = new UInt256(q[0], q[1], q[2], q[3]);
    }

    // ---------------------------------------------------------------- MulDiv family

    /// <summary>
    /// floor(x * y / d) computed with a full 512-bit intermediate product, as OpenZeppelin <c>Math.mulDiv</c>.
    /// </summary>
    /// <exception cref="DivideByZeroException"><paramref name="d"/> is zero.</exception>
    /// <exception cref="OverflowException">The result does not fit in 256 bits.</exception>
    public static UInt256 MulDiv(UInt256 x, UInt256 y, UInt256 d) => MulDivCore(x, y, d, out _);

    /// <summary>
    /// ceil(x * y / d) with a full 512-bit intermediate product, as OpenZeppelin <c>Math.mulDiv(x, y, d, Rounding.Ceil)</c>.
    /// </summary>
    /// <exception cref="DivideByZeroException"><paramref name="d"/> is zero.</exception>
    /// <exception cref="OverflowException">The result does not fit in 256 bits.</exception>
    public static UInt256 MulDivUp(UInt256 x, UInt256 y, UInt256 d)
    {
        UInt256 q = MulDivCore(x, y, d, out bool inexact);
        if (inexact)
        {
            q = AddCore(q, One, out ulong carry);
            if (carry != 0) ThrowOverflow();
        }
        return q;
    }

    /// <summary>(x * y) mod m with a full 512-bit product (Solidity <c>mulmod</c>, which reverts for m == 0).</summary>
    /// <exception cref="DivideByZeroException"><paramref name="m"/> is zero.</exception>
    [SkipLocalsInit]
    public static UInt256 MulMod(UInt256 x, UInt256 y, UInt256 m)
    {
        if (m.IsZero) ThrowDivideByZero();
        Mul512(x, y, out UInt256 lo, out UInt256 hi);
        if (hi.IsZero) return lo % m;
        Span<ulong> num = stackalloc ulong[8];
        Fill8(num, lo, hi);
        Span<ulong> q = stackalloc ulong[8];
        Limbs.DivRem(num, m, q, out UInt256 r);
        return r;
    }

    /// <summary>(x + y) mod m with a 257-bit intermediate (Solidity <c>addmod</c>, which reverts for m == 0).</summary>
    /// <exception cref="DivideByZeroException"><paramref name="m"/> is zero.</exception>
    [SkipLocalsInit]
    public static UInt256 AddMod(UInt256 x, UInt256 y, UInt256 m)
    {
        if (m.IsZero) ThrowDivideByZero();
        UInt256 s = AddCore(x, y, out ulong carry);
        if (carry == 0) return s % m;
        Span<ulong> num = stackalloc ulong[5];
        num[0] = s.u0;
        num[1] = s.u1;
        num[2] = s.u2;
        num[3] = s.u3;
        num[4] = 1;
        Span<ulong> q = stackalloc ulong[5];
        Limbs.DivRem(num, m, q, out UInt256 r);
        return r;
    }

    [SkipLocalsInit]
    private static UInt256 MulDivCore(in UInt256 x, in UInt256 y, in UInt256 d, out bool inexact)
    {
        if (d.IsZero) ThrowDivideByZero();
        UInt256 lo, hi;
        if ((x.u2 | x.u3 | y.u2 | y.u3) == 0)
        {
            lo = MulLow(x, y);
            hi = default;
        }
        else
        {
            Mul512(x, y, out lo, out hi);
        }

        if (hi.IsZero)
        {
            UInt256 q0 = DivRem(lo, d, out UInt256 r0);
            inexact = !r0.IsZero;
            return q0;
        }

        // The quotient fits in 256 bits iff hi < d.
        if (!LessThan(hi, d)) ThrowOverflow();

        if ((d.u1 | d.u2 | d.u3) == 0)
        {
            // hi < d < 2^64, so hi is a single limb and the quotient fits in 256 bits.
            UInt256 q64 = Limbs.DivBy64(hi.u0, lo.u3, lo.u2, lo.u1, lo.u0, d.u0, out ulong r64);
            inexact = r64 != 0;
            return q64;
        }

        Span<ulong> num = stackalloc ulong[8];
        Fill8(num, lo, hi);
        Span<ulong> q = stackalloc ulong[8];
        Limbs.DivRem(num, d, q, out UInt256 rem);
        inexact = !rem.IsZero;
        return new UInt256(q[0], q[1], q[2], q[3]);
    }

    private static void Fill8(Span<ulong> num, in UInt256 lo, in UInt256 hi)
    {
        num[0] = lo.u0;
        num[1] = lo.u1;
        num[2] = lo.u2;
        num[3] = lo.u3;
        num[4] = hi.u0;
        num[5] = hi.u1;
        num[6] = hi.u2;
        num[7] = hi.u3;
    }

    // ---------------------------------------------------------------- powers and roots

    /// <summary>Wrapping exponentiation modulo 2^256 (Solidity <c>unchecked { b ** e }</c>).</summary>
    public static UInt256 Pow(UInt256 value, uint exponent)
    {
        UInt256 result = One;
        UInt256 b = value;
        while (exponent != 0)
        {
            if ((exponent & 1) != 0) result = result * b;
            exponent >>= 1;
            if (exponent != 0) b = b * b;
        }
        return result;
    }

    /// <summary>Checked exponentiation (Solidity 0.8 <c>b ** e</c>); throws <see cref="OverflowException"/> on overflow.</summary>
    public static UInt256 CheckedPow(UInt256 value, uint exponent)
    {
        UInt256 result = One;
        UInt256 b = value;
        while (exponent != 0)
        {
            if ((exponent & 1) != 0) result = checked(result * b);
            exponent >>= 1;
            if (exponent != 0) b = checked(b * b);
        }
        return result;
    }

    /// <summary>floor(sqrt(value)) (OpenZeppelin <c>Math.sqrt</c>).</summary>
    public static UInt256 Sqrt(UInt256 value)
    {
        if (value.FitsInUInt64 && value.u0 < 2) return value;
        // Newton iteration from an initial guess that is at least the root: 2^ceil(bits/2).
        UInt256 x = One << ((value.BitLength + 1) >> 1);
        while (true)
        {
            UInt256 y = (x + value / x) >> 1;
            if (!LessThan(y, x)) return x;
            x = y;
        }
    }

    /// <summary>floor(log2(value)); throws for zero.</summary>
    public static int Log2(UInt256 value)
    {
        if (value.IsZero) throw new ArgumentOutOfRangeException(nameof(value), "Log2 of zero.");
        return value.BitLength - 1;
    }
}
