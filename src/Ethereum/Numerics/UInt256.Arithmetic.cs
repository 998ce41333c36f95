using System.Runtime.CompilerServices;

namespace CrossMargin.Ethereum.Numerics;

public readonly partial struct UInt256
{
    // ---------------------------------------------------------------- add / sub

    /// <summary>Wrapping addition modulo 2^256 (Solidity <c>unchecked { a + b }</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static UInt256 operator +(UInt256 a, UInt256 b) => AddCore(a, b, out _);

    /// <summary>Checked addition; throws <see cref="OverflowException"/> on overflow (Solidity 0.8 default).</summary>
    public static UInt256 operator checked +(UInt256 a, UInt256 b)
    {
        UInt256 r = AddCore(a, b, out ulong carry);
        if (carry != 0) ThrowOverflow();
        return r;
    }

    /// <summary>Wrapping subtraction modulo 2^256.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static UInt256 operator -(UInt256 a, UInt256 b) => SubCore(a, b, out _);

    /// <summary>Checked subtraction; throws <see cref="OverflowException"/> on underflow.</summary>
    public static UInt256 operator checked -(UInt256 a, UInt256 b)
    {
        UInt256 r = SubCore(a, b, out ulong borrow);
        if (borrow != 0) ThrowOverflow();
        return r;
    }

    /// <summary>Wrapping increment.</summary>
    public static UInt256 operator ++(UInt256 a) => a + One;

    /// <summary>Checked increment.</summary>
    public static UInt256 operator checked ++(UInt256 a) => checked(a + One);

    /// <summary>Wrapping decrement.</summary>
    public static UInt256 operator --(UInt256 a) => a - One;

    /// <summary>Checked decrement.</summary>
    public static UInt256 operator checked --(UInt256 a) => checked(a - One);

    /// <summary>Identity.</summary>
    public static UInt256 operator +(UInt256 a) => a;

    /// <summary>Checked addition (Solidity 0.8 <c>a + b</c>).</summary>
    public static UInt256 CheckedAdd(UInt256 a, UInt256 b) => checked(a + b);

    /// <summary>Checked subtraction (Solidity 0.8 <c>a - b</c>).</summary>
    public static UInt256 CheckedSub(UInt256 a, UInt256 b) => checked(a - b);

    /// <summary>Addition that reports overflow instead of throwing; <paramref name="result"/> is the wrapped sum.</summary>
    public static bool TryAdd(UInt256 a, UInt256 b, out UInt256 result)
    {
        result = AddCore(a, b, out ulong carry);
        return carry == 0;
    }

    /// <summary>Subtraction that reports underflow instead of throwing; <paramref name="result"/> is the wrapped difference.</summary>
    public static bool TrySub(UInt256 a, UInt256 b, out UInt256 result)
    {
        result = SubCore(a, b, out ulong borrow);
        return borrow == 0;
    }

    /// <summary>a - b, or 0 when b &gt; a.</summary>
    public static UInt256 SaturatingSub(UInt256 a, UInt256 b)
    {
        UInt256 r = SubCore(a, b, out ulong borrow);
        return borrow != 0 ? default : r;
    }

    /// <summary>a + b, or <see cref="MaxValue"/> on overflow.</summary>
    public static UInt256 SaturatingAdd(UInt256 a, UInt256 b)
    {
        UInt256 r = AddCore(a, b, out ulong carry);
        return carry != 0 ? MaxValue : r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static UInt256 AddCore(in UInt256 a, in UInt256 b, out ulong carry)
    {
        ulong r0 = Limbs.AddCarry(a.u0, b.u0, 0, out ulong c);
        ulong r1 = Limbs.AddCarry(a.u1, b.u1, c, out c);
        ulong r2 = Limbs.AddCarry(a.u2, b.u2, c, out c);
        ulong r3 = Limbs.AddCarry(a.u3, b.u3, c, out carry);
        return new UInt256(r0, r1, r2, r3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static UInt256 SubCore(in UInt256 a, in UInt256 b, out ulong borrow)
    {
        ulong r0 = Limbs.SubBorrow(a.u0, b.u0, 0, out ulong c);
        ulong r1 = Limbs.SubBorrow(a.u1, b.u1, c, out c);
        ulong r2 = Limbs.SubBorrow(a.u2, b.u2, c, out c);
        ulong r3 = Limbs.SubBorrow(a.u3, b.u3, c, out borrow);
        return new UInt256(r0, r1, r2, r3);
    }

    // ---------------------------------------------------------------- multiplication

    /// <summary>Wrapping multiplication modulo 2^256 (Solidity <c>unchecked { a * b }</c>).</summary>
    public static UInt256 operator *(UInt256 a, UInt256 b)
    {
        if ((a.u1 | a.u2 | a.u3 | b.u1 | b.u2 | b.u3) == 0)
        {
            ulong hi = Math.BigMul(a.u0, b.u0, out ulong lo);
            return new UInt256(lo, hi, 0, 0);
        }
        return MulLow(a, b);
    }

    /// <summary>Checked multiplication; throws <see cref="OverflowException"/> when the product exceeds 2^256 - 1.</summary>
    public static UInt256 operator checked *(UInt256 a, UInt256 b)
    {
        if (!TryMul(a, b, out UInt256 r)) ThrowOverflow();
        return r;
    }

    /// <summary>Checked multiplication (Solidity 0.8 <c>a * b</c>).</summary>
    public static UInt256 CheckedMul(UInt256 a, UInt256 b) => checked(a * b);

    /// <summary>Multiplication that reports overflow; <paramref name="result"/> is the wrapped product.</summary>
    public static bool TryMul(UInt256 a, UInt256 b, out UInt256 result)
    {
        if ((a.u2 | a.u3 | b.u2 | b.u3) == 0)
        {
            // 128 x 128 -> 256 never overflows.
            result = MulLow(a, b);
            return true;
        }
        Mul512(a, b, out result, out UInt256 high);
        return high.IsZero;
    }

    /// <summary>Low 256 bits of a * b (10 limb products).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static UInt256 MulLow(in UInt256 a, in UInt256 b)
    {
        ulong c = Math.BigMul(a.u0, b.u0, out ulong r0);
        c = Limbs.MulAdd(a.u0, b.u1, c, 0, out ulong r1);
        c = Limbs.MulAdd(a.u0, b.u2, c, 0, out ulong r2);
        ulong r3 = a.u0 * b.u3 + c;

        c = Limbs.MulAdd(a.u1, b.u0, r1, 0, out r1);
        c = Limbs.MulAdd(a.u1, b.u1, r2, c, out r2);
        r3 += a.u1 * b.u2 + c;

        c = Limbs.MulAdd(a.u2, b.u0, r2, 0, out r2);
        r3 += a.u2 * b.u1 + c;

        r3 += a.u3 * b.u0;
        return new UInt256(r0, r1, r2, r3);
    }

    /// <summary>Full 512-bit product a * b = high * 2^256 + low.</summary>
    internal static void Mul512(in UInt256 a, in UInt256 b, out UInt256 low, out UInt256 high)
    {
        // Row 0
        ulong c = Math.BigMul(a.u0, b.u0, out ulong r0);
        c = Limbs.MulAdd(a.u0, b.u1, c, 0, out ulong r1);
        c = Limbs.MulAdd(a.u0, b.u2, c, 0, out ulong r2);
        ulong r4 = Limbs.MulAdd(a.u0, b.u3, c, 0, out ulong r3);

        // Row 1
        c = Limbs.MulAdd(a.u1, b.u0, r1, 0, out r1);
        c = Limbs.MulAdd(a.u1, b.u1, r2, c, out r2);
        c = Limbs.MulAdd(a.u1, b.u2, r3, c, out r3);
        ulong r5 = Limbs.MulAdd(a.u1, b.u3, r4, c, out r4);

        // Row 2
        c = Limbs.MulAdd(a.u2, b.u0, r2, 0, out r2);
        c = Limbs.MulAdd(a.u2, b.u1, r3, c, out r3);
        c = Limbs.MulAdd(a.u2, b.u2, r4, c, out r4);
        ulong r6 = Limbs.MulAdd(a.u2, b.u3, r5, c, out r5);

        // Row 3
        c = Limbs.MulAdd(a.u3, b.u0, r3, 0, out r3);
        c = Limbs.MulAdd(a.u3, b.u1, r4, c, out r4);
        c = Limbs.MulAdd(a.u3, b.u2, r5, c, out r5);
        ulong r7 = Limbs.MulAdd(a.u3, b.u3, r6, c, out r6);

        low = new UInt256(r0, r1, r2, r3);
        high = new UInt256(r4, r5, r6, r7);
    }

    /// <summary>a * m + add; returns false on overflow.</summary>
    internal static bool TryMulAddSmall(in UInt256 a, ulong m, ulong add, out UInt256 result)
    {
        ulong c = Limbs.MulAdd(a.u0, m, add, 0, out ulong r0);
        c = Limbs.MulAdd(a.u1, m, c, 0, out ulong r1);
        c = Limbs.MulAdd(a.u2, m, c, 0, out ulong r2);
        c = Limbs.MulAdd(a.u3, m, c, 0, out ulong r3);
        result = new UInt256(r0, r1, r2, r3);
        return c == 0;
    }

    // ---------------------------------------------------------------- bitwise and shifts

    /// <summary>Bitwise AND.</summary>
    public static UInt256 operator &(UInt256 a, UInt256 b) => new(a.u0 & b.u0, a.u1 & b.u1, a.u2 & b.u2, a.u3 & b.u3);

    /// <summary>Bitwise OR.</summary>
    public static UInt256 operator |(UInt256 a, UInt256 b) => new(a.u0 | b.u0, a.u1 | b.u1, a.u2 | b.u2, a.u3 | b.u3);

    /// <summary>Bitwise XOR.</summary>
    public static UInt256 operator ^(UInt256 a, UInt256 b) => new(a.u0 ^ b.u0, a.u1 ^ b.u1, a.u2 ^ b.u2, a.u3 ^ b.u3);

    /// <summary>Bitwise NOT.</summary>
    public static UInt256 operator ~(UInt256 a) => new(~a.u0, ~a.u1, ~a.u2, ~a.u3);

    /// <summary>
    /// Left shift with EVM <c>SHL</c> semantics: shifts of 256 or more give 0 (the count is not masked).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative shift.</exception>
    public static UInt256 operator <<(UInt256 a, int shift)
    {
        if ((uint)shift >= 256)
        {
            if (shift < 0) ThrowNegativeShift();
            return default;
        }
        int limbs = shift >> 6;
        int bits = shift & 63;
        ulong s0 = a.u0, s1 = a.u1, s2 = a.u2, s3 = a.u3;
        switch (limbs)
        {
            case 1: s3 = s2; s2 = s1; s1 = s0; s0 = 0; break;
            case 2: s3 = s1; s2 = s0; s1 = 0; s0 = 0; break;
            case 3: s3 = s0; s2 = 0; s1 = 0; s0 = 0; break;
        }
        if (bits == 0) return new UInt256(s0, s1, s2, s3);
        int rb = 64 - bits;
        return new UInt256(
            s0 << bits,
            (s1 << bits) | (s0 >> rb),
            (s2 << bits) | (s1 >> rb),
            (s3 << bits) | (s2 >> rb));
    }

    /// <summary>
    /// Logical right shift with EVM <c>SHR</c> semantics: shifts of 256 or more give 0.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative shift.</exception>
    public static UInt256 operator >>(UInt256 a, int shift)
    {
        if ((uint)shift >= 256)
        {
            if (shift < 0) ThrowNegativeShift();
            return default;
        }
        int limbs = shift >> 6;
        int bits = shift & 63;
        ulong s0 = a.u0, s1 = a.u1, s2 = a.u2, s3 = a.u3;
        switch (limbs)
        {
            case 1: s0 = s1; s1 = s2; s2 = s3; s3 = 0; break;
            case 2: s0 = s2; s1 = s3; s2 = 0; s3 = 0; break;
            case 3: s0 = s3; s1 = 0; s2 = 0; s3 = 0; break;
        }
        if (bits == 0) return new UInt256(s0, s1, s2, s3);
        int lb = 64 - bits;
        return new UInt256(
            (s0 >> bits) | (s1 << lb),
            (s1 >> bits) | (s2 << lb),
            (s2 >> bits) | (s3 << lb),
            s3 >> bits);
    }

    /// <summary>Same as <c>&gt;&gt;</c> (unsigned).</summary>
    public static UInt256 operator >>>(UInt256 a, int shift) => a >> shift;

    // ---------------------------------------------------------------- powers of ten

    /// <summary>10^0 .. 10^77 (10^77 is the largest power of ten below 2^256).</summary>
    private static readonly UInt256[] Pow10Table = BuildPow10Table();

    private static UInt256[] BuildPow10Table()
    {
        var t = new UInt256[78];
        t[0] = One;
        for (int i = 1; i < t.Length; i++)
        {
            t[i] = MulLow(t[i - 1], new UInt256(10UL));
        }
        return t;
    }

    /// <summary>10^<paramref name="exponent"/> for exponent in 0..77.</summary>
    /// <exception cref="OverflowException"><paramref name="exponent"/> &gt; 77.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="exponent"/> is negative.</exception>
    public static UInt256 Pow10(int exponent)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(exponent);
        if (exponent >= Pow10Table.Length) ThrowOverflow();
        return Pow10Table[exponent];
    }

    // ---------------------------------------------------------------- throw helpers

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void ThrowOverflow() => throw new OverflowException("Arithmetic operation resulted in an overflow.");

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void ThrowDivideByZero() => throw new DivideByZeroException();

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void ThrowNegativeShift() => throw new ArgumentOutOfRangeException("shift", "Shift count must be non-negative.");
}
