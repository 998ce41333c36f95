using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace CrossMargin.Ethereum.Numerics;

/// <summary>
/// A signed 256-bit integer with exact Solidity/EVM <c>int256</c> semantics: two's complement over the
/// same four little-endian 64-bit limbs as <see cref="UInt256"/>.
/// </summary>
/// <remarks>
/// The ordinary operators wrap modulo 2^256 (Solidity <c>unchecked { }</c>); in a C# <c>checked</c> context,
/// or through the <c>Checked*</c> methods, overflow throws <see cref="OverflowException"/>.
/// Division truncates toward zero and the remainder takes the sign of the dividend.
/// </remarks>
[StructLayout(LayoutKind.Sequential)]
public readonly partial struct Int256 : IEquatable<Int256>, IComparable<Int256>, IComparable
{
    /// <summary>Bits 0..63.</summary>
    public readonly ulong u0;
    /// <summary>Bits 64..127.</summary>
    public readonly ulong u1;
    /// <summary>Bits 128..191.</summary>
    public readonly ulong u2;
    /// <summary>Bits 192..255 (bit 63 of this limb is the sign).</summary>
    public readonly ulong u3;

    /// <summary>Creates a value from its two's-complement limbs, least significant first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Int256(ulong u0, ulong u1, ulong u2, ulong u3)
    {
        this.u0 = u0;
        this.u1 = u1;
        this.u2 = u2;
        this.u3 = u3;
    }

    /// <summary>Creates a value from a 64-bit signed integer.</summary>
    public Int256(long value)
    {
        ulong ext = (ulong)(value >> 63);
        u0 = (ulong)value;
        u1 = ext;
        u2 = ext;
        u3 = ext;
    }

    /// <summary>Creates a value from a 64-bit unsigned integer.</summary>
    public Int256(ulong value) : this(value, 0, 0, 0) { }

    /// <summary>Creates a value from a 128-bit signed integer.</summary>
    public Int256(Int128 value)
    {
        ulong ext = (ulong)(long)(ulong)(value >> 127);
        u0 = (ulong)value;
        u1 = (ulong)(value >> 64);
        u2 = ext;
        u3 = ext;
    }

    /// <summary>Creates a value from a 128-bit unsigned integer.</summary>
    public Int256(UInt128 value) : this((ulong)value, (ulong)(value >> 64), 0, 0) { }

    /// <summary>Reinterprets the bits of a <see cref="UInt256"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal Int256(in UInt256 bits) : this(bits.u0, bits.u1, bits.u2, bits.u3) { }

    /// <summary>0.</summary>
    public static Int256 Zero => default;

    /// <summary>1.</summary>
    public static Int256 One => new(1, 0, 0, 0);

    /// <summary>-1.</summary>
    public static Int256 MinusOne => new(ulong.MaxValue, ulong.MaxValue, ulong.MaxValue, ulong.MaxValue);

    /// <summary>2^255 - 1 (<c>type(int256).max</c>).</summary>
    public static Int256 MaxValue => new(ulong.MaxValue, ulong.MaxValue, ulong.MaxValue, long.MaxValue);

    /// <summary>-2^255 (<c>type(int256).min</c>).</summary>
    public static Int256 MinValue => new(0, 0, 0, 1UL << 63);

    /// <summary>The raw two's-complement bits.</summary>
    public UInt256 Bits
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => new(u0, u1, u2, u3);
    }

    /// <summary>True when the value is 0.</summary>
    public bool IsZero => (u0 | u1 | u2 | u3) == 0;

    /// <summary>True when the value is negative.</summary>
    public bool IsNegative
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (long)u3 < 0;
    }

    /// <summary>True when the value is strictly positive.</summary>
    public bool IsPositive => (long)u3 >= 0 && !IsZero;

    /// <summary>-1, 0 or 1.</summary>
    public int Sign => IsNegative ? -1 : IsZero ? 0 : 1;

    /// <summary>
    /// Number of bits of the magnitude of the value in two's complement excluding the sign bit
    /// (0 for 0 and -1; 255 for <see cref="MinValue"/> and <see cref="MaxValue"/>).
    /// </summary>
    public int BitLength => IsNegative ? (~Bits).BitLength : Bits.BitLength;

    /// <summary>The absolute value as an unsigned integer (never overflows: |MinValue| = 2^255).</summary>
    public UInt256 UnsignedAbs
    {
        get
        {
            UInt256 b = Bits;
            return IsNegative ? UInt256.Zero - b : b;
        }
    }

    // ---------------------------------------------------------------- byte I/O

    /// <summary>Reads a 32-byte big-endian two's-complement word (ABI encoding of <c>int256</c>).</summary>
    public static Int256 ReadBigEndian(ReadOnlySpan<byte> src32) => new(UInt256.ReadBigEndian(src32));

    /// <summary>Writes a 32-byte big-endian two's-complement word (ABI encoding of <c>int256</c>).</summary>
    public void WriteBigEndian(Span<byte> dst32) => Bits.WriteBigEndian(dst32);

    /// <summary>
    /// Reads a big-endian two's-complement integer of 1..32 bytes, sign-extending from the first byte
    /// (e.g. an ABI <c>intN</c> payload); an empty span reads as 0. Returns false for more than 32 bytes.
    /// </summary>
    public static bool TryReadBigEndianSignExtended(ReadOnlySpan<byte> src, out Int256 value)
    {
        if (src.Length > 32)
        {
            value = default;
            return false;
        }
        Span<byte> buf = stackalloc byte[32];
        byte fill = src.Length > 0 && (src[0] & 0x80) != 0 ? (byte)0xFF : (byte)0;
        buf.Slice(0, 32 - src.Length).Fill(fill);
        src.CopyTo(buf.Slice(32 - src.Length));
        value = ReadBigEndian(buf);
        return true;
    }

    // ---------------------------------------------------------------- conversions

    /// <summary>Lossless conversion from <see cref="long"/>.</summary>
    public static implicit operator Int256(long value) => new(value);

    /// <summary>Lossless conversion from <see cref="int"/>.</summary>
    public static implicit operator Int256(int value) => new((long)value);

    /// <summary>Lossless conversion from <see cref="Int128"/>.</summary>
    public static implicit operator Int256(Int128 value) => new(value);

    /// <summary>Lossless conversion from <see cref="ulong"/> (explicit to avoid ambiguous overloads).</summary>
    public static explicit operator Int256(ulong value) => new(value);

    /// <summary>Lossless conversion from <see cref="UInt128"/>.</summary>
    public static explicit operator Int256(UInt128 value) => new(value);

    /// <summary>Reinterprets the 256 bits (Solidity <c>int256(uint256)</c>): values ≥ 2^255 become negative.</summary>
    public static explicit operator Int256(UInt256 value) => new(value);

    /// <summary>Checked conversion: throws <see cref="OverflowException"/> for values ≥ 2^255 (OpenZeppelin <c>SafeCast.toInt256</c>).</summary>
    public static explicit operator checked Int256(UInt256 value) =>
        (long)value.u3 >= 0 ? new Int256(value) : throw new OverflowException("UInt256 value does not fit in Int256.");

    /// <summary>Reinterprets the 256 bits (Solidity <c>uint256(int256)</c>): negatives become 2^256 + value.</summary>
    public static explicit operator UInt256(Int256 value) => value.Bits;

    /// <summary>Checked conversion: throws <see cref="OverflowException"/> for negative values (OpenZeppelin <c>SafeCast.toUint256</c>).</summary>
    public static explicit operator checked UInt256(Int256 value) =>
        !value.IsNegative ? value.Bits : throw new OverflowException("Negative Int256 value cannot be converted to UInt256.");

    /// <summary>Checked conversion from <see cref="UInt256"/>; throws for values ≥ 2^255.</summary>
    public static Int256 FromUInt256Checked(UInt256 value) => checked((Int256)value);

    /// <summary>Checked conversion to <see cref="UInt256"/>; throws for negative values.</summary>
    public UInt256 ToUInt256Checked() => checked((UInt256)this);

    /// <summary>Truncates to the low 64 bits.</summary>
    public static explicit operator long(Int256 value) => (long)value.u0;

    /// <summary>Checked conversion to <see cref="long"/>.</summary>
    public static explicit operator checked long(Int256 value)
    {
        ulong ext = (ulong)((long)value.u0 >> 63);
        return value.u1 == ext && value.u2 == ext && value.u3 == ext
            ? (long)value.u0
            : throw new OverflowException("Int256 value does not fit in Int64.");
    }

    /// <summary>Truncates to the low 32 bits.</summary>
    public static explicit operator int(Int256 value) => (int)value.u0;

    /// <summary>Checked conversion to <see cref="int"/>.</summary>
    public static explicit operator checked int(Int256 value) => checked((int)checked((long)value));

    /// <summary>Truncates to the low 64 bits.</summary>
    public static explicit operator ulong(Int256 value) => value.u0;

    /// <summary>Checked conversion to <see cref="ulong"/>.</summary>
    public static explicit operator checked ulong(Int256 value) =>
        (value.u1 | value.u2 | value.u3) == 0 ? value.u0 : throw new OverflowException("Int256 value does not fit in UInt64.");

    /// <summary>Truncates to the low 128 bits.</summary>
    public static explicit operator Int128(Int256 value) => new(value.u1, value.u0);

    /// <summary>Checked conversion to <see cref="Int128"/>.</summary>
    public static explicit operator checked Int128(Int256 value)
    {
        ulong ext = (ulong)((long)value.u1 >> 63);
        return value.u2 == ext && value.u3 == ext
            ? new Int128(value.u1, value.u0)
            : throw new OverflowException("Int256 value does not fit in Int128.");
    }

    /// <summary>Converts to the nearest <see cref="double"/>.</summary>
    public static explicit operator double(Int256 value)
    {
        double m = (double)value.UnsignedAbs;
        return value.IsNegative ? -m : m;
    }

    /// <summary>Converts a <see cref="BigInteger"/> in [-2^255, 2^255).</summary>
    /// <exception cref="OverflowException">Out of range.</exception>
    public static explicit operator Int256(BigInteger value)
    {
        Span<byte> buf = stackalloc byte[32];
        buf.Fill(value.Sign < 0 ? (byte)0xFF : (byte)0);
        if (value.GetByteCount(isUnsigned: false) > 32 || !value.TryWriteBytes(buf, out _, isUnsigned: false, isBigEndian: false))
        {
            throw new OverflowException("Value does not fit in Int256.");
        }
        return new Int256(
            BinaryPrimitives.ReadUInt64LittleEndian(buf.Slice(0, 8)),
            BinaryPrimitives.ReadUInt64LittleEndian(buf.Slice(8, 8)),
            BinaryPrimitives.ReadUInt64LittleEndian(buf.Slice(16, 8)),
            BinaryPrimitives.ReadUInt64LittleEndian(buf.Slice(24, 8)));
    }

    /// <summary>Converts to a <see cref="BigInteger"/>.</summary>
    public static explicit operator BigInteger(Int256 value)
    {
        Span<byte> buf = stackalloc byte[32];
        value.Bits.WriteLittleEndian(buf);
        return new BigInteger(buf, isUnsigned: false, isBigEndian: false);
    }

    /// <summary>Converts to a <see cref="BigInteger"/>.</summary>
    public BigInteger ToBigInteger() => (BigInteger)this;

    /// <summary>Converts from a <see cref="BigInteger"/>; throws <see cref="OverflowException"/> when out of range.</summary>
    public static Int256 FromBigInteger(BigInteger value) => (Int256)value;

    // ---------------------------------------------------------------- equality and ordering

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Equals(Int256 other) => ((u0 ^ other.u0) | (u1 ^ other.u1) | (u2 ^ other.u2) | (u3 ^ other.u3)) == 0;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Int256 other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(u0, u1, u2, u3);

    /// <inheritdoc/>
    public int CompareTo(Int256 other)
    {
        if (u3 != other.u3) return (long)u3 < (long)other.u3 ? -1 : 1;
        if (u2 != other.u2) return u2 < other.u2 ? -1 : 1;
        if (u1 != other.u1) return u1 < other.u1 ? -1 : 1;
        if (u0 != other.u0) return u0 < other.u0 ? -1 : 1;
        return 0;
    }

    /// <inheritdoc/>
    public int CompareTo(object? obj) => obj switch
    {
        null => 1,
        Int256 other => CompareTo(other),
        _ => throw new ArgumentException("Object must be of type Int256.", nameof(obj)),
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool LessThan(in Int256 a, in Int256 b)
    {
        if (a.u3 != b.u3) return (long)a.u3 < (long)b.u3;
        if (a.u2 != b.u2) return a.u2 < b.u2;
        if (a.u1 != b.u1) return a.u1 < b.u1;
        return a.u0 < b.u0;
    }

    /// <summary>Equality.</summary>
    public static bool operator ==(Int256 left, Int256 right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(Int256 left, Int256 right) => !left.Equals(right);

    /// <summary>Less than (signed).</summary>
    public static bool operator <(Int256 left, Int256 right) => LessThan(left, right);

    /// <summary>Greater than (signed).</summary>
    public static bool operator >(Int256 left, Int256 right) => LessThan(right, left);

    /// <summary>Less than or equal (signed).</summary>
    public static bool operator <=(Int256 left, Int256 right) => !LessThan(right, left);

    /// <summary>Greater than or equal (signed).</summary>
    public static bool operator >=(Int256 left, Int256 right) => !LessThan(left, right);

    /// <summary>The smaller of two values.</summary>
    public static Int256 Min(Int256 a, Int256 b) => LessThan(b, a) ? b : a;

    /// <summary>The larger of two values.</summary>
    public static Int256 Max(Int256 a, Int256 b) => LessThan(a, b) ? b : a;
}
