using System.Runtime.CompilerServices;

namespace CrossMargin.Ethereum.Numerics;

public readonly partial struct Int256
{
    private const ulong SignBit = 1UL << 63;

    // ---------------------------------------------------------------- add / sub / neg

    /// <summary>Wrapping addition (Solidity <c>unchecked { a + b }</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int256 operator +(Int256 a, Int256 b) => new(UInt256.AddCore(a.Bits, b.Bits, out _));

    /// <summary>Checked addition; throws <see cref="OverflowException"/> when the result leaves [MinValue, MaxValue].</summary>
    public static Int256 operator checked +(Int256 a, Int256 b)
    {
        UInt256 r = UInt256.AddCore(a.Bits, b.Bits, out _);
        // Overflow iff both operands have the same sign and the result's sign differs.
        if (((a.u3 ^ r.u3) & (b.u3 ^ r.u3) & SignBit) != 0) UInt256.ThrowOverflow();
        return new Int256(r);
    }

    /// <summary>Wrapping subtraction.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int256 operator -(Int256 a, Int256 b) => new(UInt256.SubCore(a.Bits, b.Bits, out _));

    /// <summary>Checked subtraction.</summary>
    public static Int256 operator checked -(Int256 a, Int256 b)
    {
        UInt256 r = UInt256.SubCore(a.Bits, b.Bits, out _);
        // Overflow iff the operands have different signs and the result's sign differs from a's.
        if (((a.u3 ^ b.u3) & (a.u3 ^ r.u3) & SignBit) != 0) UInt256.ThrowOverflow();
        return new Int256(r);
    }

    /// <summary>Wrapping negation (-MinValue == MinValue).</summary>
    public static Int256 operator -(Int256 a) => new(UInt256.SubCore(default, a.Bits, out _));

    /// <summary>Checked negation; throws for <see cref="MinValue"/>.</summary>
    public static Int256 operator checked -(Int256 a)
    {
        if (a == MinValue) UInt256.ThrowOverflow();
        return -a;
    }

    /// <summary>Identity.</summary>
    public static Int256 operator +(Int256 a) => a;

    /// <summary>Wrapping increment.</summary>
    public static Int256 operator ++(Int256 a) => a + One;

    /// <summary>Checked increment.</summary>
    public static Int256 operator checked ++(Int256 a) => checked(a + One);

    /// <summary>Wrapping decrement.</summary>
    public static Int256 operator --(Int256 a) => a - One;

    /// <summary>Checked decrement.</summary>
    public static Int256 operator checked --(Int256 a) => checked(a - One);

    /// <summary>Checked addition (Solidity 0.8 <c>a + b</c>).</summary>
    public static Int256 CheckedAdd(Int256 a, Int256 b) => checked(a + b);

    /// <summary>Checked subtraction (Solidity 0.8 <c>a - b</c>).</summary>
    public static Int256 CheckedSub(Int256 a, Int256 b) => checked(a - b);

    /// <summary>Checked multiplication (Solidity 0.8 <c>a * b</c>).</summary>
    public static Int256 CheckedMul(Int256 a, Int256 b) => checked(a * b);

    /// <summary>Checked division (Solidity 0.8 <c>a / b</c>): throws for MinValue / -1.</summary>
    public static Int256 CheckedDiv(Int256 a, Int256 b) => checked(a / b);

    /// <summary>Checked negation (Solidity 0.8 <c>-a</c>).</summary>
    public static Int256 CheckedNegate(Int256 a) => checked(-a);

    /// <summary>Absolute value; throws <see cref="OverflowException"/> for <see cref="MinValue"/> (as OpenZeppelin <c>SignedMath.abs</c> would not fit int256).</summary>
    public static Int256 Abs(Int256 value) => value.IsNegative ? checked(-value) : value;

    /// <summary>-1, 0 or 1.</summary>
    public static int SignOf(Int256 value) => value.Sign;

    // ---------------------------------------------------------------- multiplication

    /// <summary>Wrapping multiplication (the low 256 bits are identical for signed and unsigned).</summary>
    public static Int256 operator *(Int256 a, Int256 b) => new(a.Bits * b.Bits);

    /// <summary>Checked multiplication; throws <see cref="OverflowException"/> when the product leaves [MinValue, MaxValue].</summary>
    public static Int256 operator checked *(Int256 a, Int256 b)
    {
        bool negative = a.IsNegative != b.IsNegative;
        if (!UInt256.TryMul(a.UnsignedAbs, b.UnsignedAbs, out UInt256 mag)) UInt256.ThrowOverflow();
        return FromSignAndMagnitude(negative, mag);
    }

    /// <summary>Builds ±magnitude, throwing when it does not fit.</summary>
    private static Int256 FromSignAndMagnitude(bool negative, in UInt256 magnitude)
    {
        if ((long)magnitude.u3 < 0)
        {
            // Only -2^255 is representable with the top bit set.
            if (negative && magnitude.u3 == SignBit && (magnitude.u0 | magnitude.u1 | magnitude.u2) == 0)
            {
                return MinValue;
            }
            UInt256.ThrowOverflow();
        }
        Int256 r = new(magnitude);
        return negative ? -r : r;
    }

    // ---------------------------------------------------------------- division

    /// <summary>
    /// Division truncating toward zero (Solidity <c>a / b</c>). MinValue / -1 wraps to MinValue here
    /// (Solidity <c>unchecked</c>); in a checked context it throws <see cref="OverflowException"/>.
    /// </summary>
    /// <exception cref="DivideByZeroException"><paramref name="b"/> is zero.</exception>
    public static Int256 operator /(Int256 a, Int256 b)
    {
        if (b.IsZero) UInt256.ThrowDivideByZero();
        UInt256 q = a.UnsignedAbs / b.UnsignedAbs;
        Int256 r = new(q);
        return a.IsNegative != b.IsNegative ? -r : r;
    }

    /// <summary>Checked division truncating toward zero; throws <see cref="OverflowException"/> for MinValue / -1.</summary>
    public static Int256 operator checked /(Int256 a, Int256 b)
    {
        if (b == MinusOne && a == MinValue) UInt256.ThrowOverflow();
        return a / b;
    }

    /// <summary>Remainder with the sign of the dividend (Solidity <c>a % b</c>); MinValue % -1 is 0.</summary>
    /// <exception cref="DivideByZeroException"><paramref name="b"/> is zero.</exception>
    public static Int256 operator %(Int256 a, Int256 b)
    {
        if (b.IsZero) UInt256.ThrowDivideByZero();
        Int256 r = new(a.UnsignedAbs % b.UnsignedAbs);
        return a.IsNegative ? -r : r;
    }

    /// <summary>Quotient (toward zero) and remainder (sign of the dividend); throws for MinValue / -1 like Solidity 0.8.</summary>
    public static Int256 DivRem(Int256 dividend, Int256 divisor, out Int256 remainder)
    {
        if (divisor.IsZero) UInt256.ThrowDivideByZero();
        if (divisor == MinusOne && dividend == MinValue) UInt256.ThrowOverflow();
        UInt256 q = UInt256.DivRem(dividend.UnsignedAbs, divisor.UnsignedAbs, out UInt256 r);
        Int256 rs = new(r);
        remainder = dividend.IsNegative ? -rs : rs;
        Int256 qs = new(q);
        return dividend.IsNegative != divisor.IsNegative ? -qs : qs;
    }

    /// <summary>
    /// x * y / d with a 512-bit intermediate, truncated toward zero (PRBMath <c>mulDivSigned</c> style rounding).
    /// </summary>
    /// <exception cref="DivideByZeroException"><paramref name="d"/> is zero.</exception>
    /// <exception cref="OverflowException">The result does not fit in int256.</exception>
    public static Int256 MulDiv(Int256 x, Int256 y, Int256 d)
    {
        bool negative = x.IsNegative ^ y.IsNegative ^ d.IsNegative;
        UInt256 mag = UInt256.MulDiv(x.UnsignedAbs, y.UnsignedAbs, d.UnsignedAbs);
        return FromSignAndMagnitude(negative, mag);
    }

    // ---------------------------------------------------------------- bitwise and shifts

    /// <summary>Bitwise AND.</summary>
    public static Int256 operator &(Int256 a, Int256 b) => new(a.u0 & b.u0, a.u1 & b.u1, a.u2 & b.u2, a.u3 & b.u3);

    /// <summary>Bitwise OR.</summary>
    public static Int256 operator |(Int256 a, Int256 b) => new(a.u0 | b.u0, a.u1 | b.u1, a.u2 | b.u2, a.u3 | b.u3);

    /// <summary>Bitwise XOR.</summary>
    public static Int256 operator ^(Int256 a, Int256 b) => new(a.u0 ^ b.u0, a.u1 ^ b.u1, a.u2 ^ b.u2, a.u3 ^ b.u3);

    /// <summary>Bitwise NOT (-a - 1).</summary>
    public static Int256 operator ~(Int256 a) => new(~a.u0, ~a.u1, ~a.u2, ~a.u3);

    /// <summary>Left shift (EVM <c>SHL</c>): shifts of 256 or more give 0.</summary>
    public static Int256 operator <<(Int256 a, int shift) => new(a.Bits << shift);

    /// <summary>Arithmetic right shift (EVM <c>SAR</c>): shifts of 256 or more give 0 or -1.</summary>
    public static Int256 operator >>(Int256 a, int shift)
    {
        if (!a.IsNegative) return new Int256(a.Bits >> shift);
        // For negatives: ~((~a) >> shift) sign-fills from the left.
        return new Int256(~((~a.Bits) >> shift));
    }

    /// <summary>Logical right shift (EVM <c>SHR</c> on the raw bits).</summary>
    public static Int256 operator >>>(Int256 a, int shift) => new(a.Bits >> shift);
}
