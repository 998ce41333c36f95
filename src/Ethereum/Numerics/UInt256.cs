using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace CrossMargin.Ethereum.Numerics;

/// <summary>
/// An unsigned 256-bit integer with exact Solidity/EVM <c>uint256</c> semantics.
/// Stored as four 64-bit limbs in little-endian limb order (<see cref="u0"/> is the least significant).
/// </summary>
/// <remarks>
/// The ordinary operators <c>+ - * ++ --</c> wrap modulo 2^256 (Solidity <c>unchecked { }</c>);
/// inside a C# <c>checked</c> context, or through the <c>Checked*</c> methods, they throw
/// <see cref="OverflowException"/> (Solidity 0.8 default behaviour, which reverts).
/// </remarks>
[StructLayout(LayoutKind.Sequential)]
public readonly partial struct UInt256 : IEquatable<UInt256>, IComparable<UInt256>, IComparable
{
    /// <summary>Bits 0..63.</summary>
    public readonly ulong u0;
    /// <summary>Bits 64..127.</summary>
    public readonly ulong u1;
    /// <summary>Bits 128..191.</summary>
    public readonly ulong u2;
    /// <summary>Bits 192..255.</summary>
    public readonly ulong u3;

    /// <summary>Creates a value from its limbs, least significant first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public UInt256(ulong u0, ulong u1, ulong u2, ulong u3)
    {
        this.u0 = u0;
        this.u1 = u1;
        this.u2 = u2;
        this.u3 = u3;
    }

    /// <summary>Creates a value from a 64-bit unsigned integer.</summary>
    public UInt256(ulong value) : this(value, 0, 0, 0) { }

    /// <summary>Creates a value from a 128-bit unsigned integer.</summary>
    public UInt256(UInt128 value) : this((ulong)value, (ulong)(value >> 64), 0, 0) { }

    /// <summary>Creates a value from a non-negative 64-bit signed integer.</summary>
    /// <exception cref="OverflowException">The value is negative.</exception>
    public UInt256(long value) : this(value >= 0 ? (ulong)value : throw new OverflowException("Negative value cannot be converted to UInt256."), 0, 0, 0) { }

    /// <summary>Creates a value from a non-negative 128-bit signed integer.</summary>
    /// <exception cref="OverflowException">The value is negative.</exception>
    public UInt256(Int128 value) : this(value >= 0 ? (UInt128)value : throw new OverflowException("Negative value cannot be converted to UInt256.")) { }

    /// <summary>0.</summary>
    public static UInt256 Zero => default;

    /// <summary>1.</summary>
    public static UInt256 One => new(1, 0, 0, 0);

    /// <summary>2^256 - 1 (Solidity <c>type(uint256).max</c>).</summary>
    public static UInt256 MaxValue => new(ulong.MaxValue, ulong.MaxValue, ulong.MaxValue, ulong.MaxValue);

    /// <summary>0 (<c>type(uint256).min</c>).</summary>
    public static UInt256 MinValue => default;

    /// <summary>True when the value is 0.</summary>
    public bool IsZero
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (u0 | u1 | u2 | u3) == 0;
    }

    /// <summary>True when the value is 1.</summary>
    public bool IsOne => u0 == 1 && (u1 | u2 | u3) == 0;

    /// <summary>True when the value fits in 64 bits.</summary>
    public bool FitsInUInt64 => (u1 | u2 | u3) == 0;

    /// <summary>Number of significant bits (0 for zero, 256 for values with the top bit set).</summary>
    public int BitLength
    {
        get
        {
            if (u3 != 0) return 256 - BitOperations.LeadingZeroCount(u3);
            if (u2 != 0) return 192 - BitOperations.LeadingZeroCount(u2);
            if (u1 != 0) return 128 - BitOperations.LeadingZeroCount(u1);
            return 64 - BitOperations.LeadingZeroCount(u0);
        }
    }

    /// <summary>Number of bytes in the minimal big-endian encoding (0 for zero).</summary>
    public int ByteLength => (BitLength + 7) >> 3;

    /// <summary>Number of leading zero bits (256 for zero).</summary>
    public int LeadingZeroCount => 256 - BitLength;

    /// <summary>Number of trailing zero bits (256 for zero).</summary>
    public int TrailingZeroCount
    {
        get
        {
            if (u0 != 0) return BitOperations.TrailingZeroCount(u0);
            if (u1 != 0) return 64 + BitOperations.TrailingZeroCount(u1);
            if (u2 != 0) return 128 + BitOperations.TrailingZeroCount(u2);
            if (u3 != 0) return 192 + BitOperations.TrailingZeroCount(u3);
            return 256;
        }
    }

    /// <summary>True when the value is a power of two.</summary>
    public bool IsPowerOfTwo => PopCount == 1;

    /// <summary>Number of set bits.</summary>
    public int PopCount => BitOperations.PopCount(u0) + BitOperations.PopCount(u1) + BitOperations.PopCount(u2) + BitOperations.PopCount(u3);

    /// <summary>Tests bit <paramref name="index"/> (0 = least significant).</summary>
    public bool TestBit(int index)
    {
        if ((uint)index >= 256) throw new ArgumentOutOfRangeException(nameof(index));
        ulong limb = (index >> 6) switch { 0 => u0, 1 => u1, 2 => u2, _ => u3 };
        return ((limb >> (index & 63)) & 1) != 0;
    }

    // ---------------------------------------------------------------- byte I/O

    /// <summary>Reads a 32-byte big-endian word (ABI encoding of <c>uint256</c>).</summary>
    /// <exception cref="ArgumentException"><paramref name="src32"/> is not exactly 32 bytes.</exception>
    public static UInt256 ReadBigEndian(ReadOnlySpan<byte> src32)
    {
        if (src32.Length != 32) throw new ArgumentException("Expected exactly 32 bytes.", nameof(src32));
        return new UInt256(
            BinaryPrimitives.ReadUInt64BigEndian(src32.Slice(24, 8)),
            BinaryPrimitives.ReadUInt64BigEndian(src32.Slice(16, 8)),
            BinaryPrimitives.ReadUInt64BigEndian(src32.Slice(8, 8)),
            BinaryPrimitives.ReadUInt64BigEndian(src32.Slice(0, 8)));
    }

    /// <summary>
    /// Reads a big-endian unsigned integer of 0..32 bytes (e.g. an RLP scalar; empty means zero).
    /// Leading zero bytes are accepted; callers that require canonical (minimal) encoding must check
    /// <c>src[0] != 0</c> themselves. Returns false when <paramref name="src"/> is longer than 32 bytes.
    /// </summary>
    public static bool TryReadBigEndian(ReadOnlySpan<byte> src, out UInt256 value)
    {
        if (src.Length > 32)
        {
            value = default;
            return false;
        }
        if (src.Length == 32)
        {
            value = ReadBigEndian(src);
            return true;
        }
        Span<byte> buf = stackalloc byte[32];
        buf.Slice(0, 32 - src.Length).Clear();
        src.CopyTo(buf.Slice(32 - src.Length));
        value = ReadBigEndian(buf);
        return true;
    }

    /// <summary>Reads a big-endian unsigned integer of 0..32 bytes.</summary>
    /// <exception cref="OverflowException">More than 32 bytes.</exception>
    public static UInt256 ReadBigEndianVariable(ReadOnlySpan<byte> src) =>
        TryReadBigEndian(src, out UInt256 v) ? v : throw new OverflowException("Big-endian integer longer than 32 bytes.");

    /// <summary>Writes the value as a 32-byte big-endian word (ABI encoding of <c>uint256</c>).</summary>
    /// <exception cref="ArgumentException"><paramref name="dst32"/> is shorter than 32 bytes.</exception>
    public void WriteBigEndian(Span<byte> dst32)
    {
        if (dst32.Length < 32) throw new ArgumentException("Destination must be at least 32 bytes.", nameof(dst32));
        BinaryPrimitives.WriteUInt64BigEndian(dst32.Slice(0, 8), u3);
        BinaryPrimitives.WriteUInt64BigEndian(dst32.Slice(8, 8), u2);
        BinaryPrimitives.WriteUInt64BigEndian(dst32.Slice(16, 8), u1);
        BinaryPrimitives.WriteUInt64BigEndian(dst32.Slice(24, 8), u0);
    }

    /// <summary>
    /// Writes the minimal big-endian encoding (no leading zero bytes; zero writes nothing) and returns
    /// the number of bytes written (<see cref="ByteLength"/>).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="dst"/> is shorter than <see cref="ByteLength"/>.</exception>
    public int WriteBigEndianMinimal(Span<byte> dst)
    {
        int n = ByteLength;
        if (dst.Length < n) throw new ArgumentException("Destination too short.", nameof(dst));
        Span<byte> buf = stackalloc byte[32];
        WriteBigEndian(buf);
        buf.Slice(32 - n).CopyTo(dst);
        return n;
    }

    /// <summary>Returns the 32-byte big-endian encoding as a new array.</summary>
    public byte[] ToBigEndianBytes()
    {
        byte[] a = new byte[32];
        WriteBigEndian(a);
        return a;
    }

    /// <summary>Returns the minimal big-endian encoding as a new array (empty for zero).</summary>
    public byte[] ToBigEndianBytesMinimal()
    {
        byte[] a = new byte[ByteLength];
        WriteBigEndianMinimal(a);
        return a;
    }

    /// <summary>Writes the value as 32 little-endian bytes.</summary>
    public void WriteLittleEndian(Span<byte> dst32)
    {
        if (dst32.Length < 32) throw new ArgumentException("Destination must be at least 32 bytes.", nameof(dst32));
        BinaryPrimitives.WriteUInt64LittleEndian(dst32.Slice(0, 8), u0);
        BinaryPrimitives.WriteUInt64LittleEndian(dst32.Slice(8, 8), u1);
        BinaryPrimitives.WriteUInt64LittleEndian(dst32.Slice(16, 8), u2);
        BinaryPrimitives.WriteUInt64LittleEndian(dst32.Slice(24, 8), u3);
    }

    // ---------------------------------------------------------------- conversions

    /// <summary>Lossless conversion from <see cref="ulong"/>.</summary>
    public static implicit operator UInt256(ulong value) => new(value, 0, 0, 0);

    /// <summary>Lossless conversion from <see cref="uint"/>.</summary>
    public static implicit operator UInt256(uint value) => new(value, 0, 0, 0);

    /// <summary>Lossless conversion from <see cref="UInt128"/>.</summary>
    public static implicit operator UInt256(UInt128 value) => new(value);

    /// <summary>Reinterprets a <see cref="long"/> sign-extended to 256 bits (two's complement), like Solidity <c>uint256(int256(x))</c>.</summary>
    public static explicit operator UInt256(long value)
    {
        ulong ext = value < 0 ? ulong.MaxValue : 0;
        return new((ulong)value, ext, ext, ext);
    }

    /// <summary>Checked conversion from <see cref="long"/>; throws for negative values.</summary>
    public static explicit operator checked UInt256(long value) => new(value);

    /// <summary>Reinterprets an <see cref="int"/> sign-extended to 256 bits.</summary>
    public static explicit operator UInt256(int value) => (UInt256)(long)value;

    /// <summary>Checked conversion from <see cref="int"/>; throws for negative values.</summary>
    public static explicit operator checked UInt256(int value) => new((long)value);

    /// <summary>Truncates to the low 64 bits (in a checked context: throws when the value does not fit).</summary>
    public static explicit operator ulong(UInt256 value) => value.u0;

    /// <summary>Checked conversion to <see cref="ulong"/>.</summary>
    public static explicit operator checked ulong(UInt256 value) =>
        (value.u1 | value.u2 | value.u3) == 0 ? value.u0 : throw new OverflowException("UInt256 value does not fit in UInt64.");

    /// <summary>Truncates to the low 64 bits reinterpreted as signed.</summary>
    public static explicit operator long(UInt256 value) => (long)value.u0;

    /// <summary>Checked conversion to <see cref="long"/>.</summary>
    public static explicit operator checked long(UInt256 value) =>
        (value.u1 | value.u2 | value.u3) == 0 && value.u0 <= long.MaxValue ? (long)value.u0 : throw new OverflowException("UInt256 value does not fit in Int64.");

    /// <summary>Truncates to the low 32 bits.</summary>
    public static explicit operator uint(UInt256 value) => (uint)value.u0;

    /// <summary>Checked conversion to <see cref="uint"/>.</summary>
    public static explicit operator checked uint(UInt256 value) =>
        (value.u1 | value.u2 | value.u3) == 0 && value.u0 <= uint.MaxValue ? (uint)value.u0 : throw new OverflowException("UInt256 value does not fit in UInt32.");

    /// <summary>Truncates to the low 32 bits reinterpreted as signed.</summary>
    public static explicit operator int(UInt256 value) => (int)value.u0;

    /// <summary>Checked conversion to <see cref="int"/>.</summary>
    public static explicit operator checked int(UInt256 value) =>
        (value.u1 | value.u2 | value.u3) == 0 && value.u0 <= int.MaxValue ? (int)value.u0 : throw new OverflowException("UInt256 value does not fit in Int32.");

    /// <summary>Truncates to the low 128 bits.</summary>
    public static explicit operator UInt128(UInt256 value) => new(value.u1, value.u0);

    /// <summary>Checked conversion to <see cref="UInt128"/>.</summary>
    public static explicit operator checked UInt128(UInt256 value) =>
        (value.u2 | value.u3) == 0 ? new UInt128(value.u1, value.u0) : throw new OverflowException("UInt256 value does not fit in UInt128.");

    /// <summary>Converts to the nearest <see cref="double"/> (round to nearest, ties to even).</summary>
    public static explicit operator double(UInt256 value)
    {
        int bits = value.BitLength;
        if (bits <= 64) return value.u0;
        int shift = bits - 64;
        UInt256 top = value >> shift;
        // Lost bits act as a sticky bit, which sits 11 bits below the double's rounding position.
        ulong sticky = (top << shift) == value ? 0UL : 1UL;
        return Math.ScaleB((double)(top.u0 | sticky), shift);
    }

    /// <summary>Converts a non-negative <see cref="BigInteger"/> below 2^256.</summary>
    /// <exception cref="OverflowException">The value is negative or at least 2^256.</exception>
    public static explicit operator UInt256(BigInteger value)
    {
        if (value.Sign < 0) throw new OverflowException("Negative value cannot be converted to UInt256.");
        Span<byte> buf = stackalloc byte[32];
        buf.Clear();
        if (!value.TryWriteBytes(buf, out _, isUnsigned: true, isBigEndian: false))
        {
            throw new OverflowException("Value does not fit in 256 bits.");
        }
        return new UInt256(
            BinaryPrimitives.ReadUInt64LittleEndian(buf.Slice(0, 8)),
            BinaryPrimitives.ReadUInt64LittleEndian(buf.Slice(8, 8)),
            BinaryPrimitives.ReadUInt64LittleEndian(buf.Slice(16, 8)),
            BinaryPrimitives.ReadUInt64LittleEndian(buf.Slice(24, 8)));
    }

    /// <summary>Converts to a (non-negative) <see cref="BigInteger"/>.</summary>
    public static explicit operator BigInteger(UInt256 value)
    {
        if ((value.u1 | value.u2 | value.u3) == 0) return new BigInteger(value.u0);
        Span<byte> buf = stackalloc byte[32];
        value.WriteLittleEndian(buf);
        return new BigInteger(buf, isUnsigned: true, isBigEndian: false);
    }

    /// <summary>Converts to a <see cref="BigInteger"/>.</summary>
    public BigInteger ToBigInteger() => (BigInteger)this;

    /// <summary>Converts from a <see cref="BigInteger"/>; throws <see cref="OverflowException"/> when out of range.</summary>
    public static UInt256 FromBigInteger(BigInteger value) => (UInt256)value;

    /// <summary>Reduces a <see cref="BigInteger"/> modulo 2^256 (two's complement for negatives), like an EVM word.</summary>
    public static UInt256 FromBigIntegerWrapping(BigInteger value)
    {
        BigInteger reduced = value & ((BigInteger.One << 256) - 1);
        return (UInt256)reduced;
    }

    // ---------------------------------------------------------------- equality and ordering

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Equals(UInt256 other) => ((u0 ^ other.u0) | (u1 ^ other.u1) | (u2 ^ other.u2) | (u3 ^ other.u3)) == 0;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is UInt256 other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(u0, u1, u2, u3);

    /// <inheritdoc/>
    public int CompareTo(UInt256 other)
    {
        if (u3 != other.u3) return u3 < other.u3 ? -1 : 1;
        if (u2 != other.u2) return u2 < other.u2 ? -1 : 1;
        if (u1 != other.u1) return u1 < other.u1 ? -1 : 1;
        if (u0 != other.u0) return u0 < other.u0 ? -1 : 1;
        return 0;
    }

    /// <inheritdoc/>
    public int CompareTo(object? obj) => obj switch
    {
        null => 1,
        UInt256 other => CompareTo(other),
        _ => throw new ArgumentException("Object must be of type UInt256.", nameof(obj)),
    };

    /// <summary>Unsigned a &lt; b.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool LessThan(in UInt256 a, in UInt256 b)
    {
        if (a.u3 != b.u3) return a.u3 < b.u3;
        if (a.u2 != b.u2) return a.u2 < b.u2;
        if (a.u1 != b.u1) return a.u1 < b.u1;
        return a.u0 < b.u0;
    }

    /// <summary>Equality.</summary>
    public static bool operator ==(UInt256 left, UInt256 right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(UInt256 left, UInt256 right) => !left.Equals(right);

    /// <summary>Less than.</summary>
    public static bool operator <(UInt256 left, UInt256 right) => LessThan(left, right);

    /// <summary>Greater than.</summary>
    public static bool operator >(UInt256 left, UInt256 right) => LessThan(right, left);

    /// <summary>Less than or equal.</summary>
    public static bool operator <=(UInt256 left, UInt256 right) => !LessThan(right, left);

    /// <summary>Greater than or equal.</summary>
    public static bool operator >=(UInt256 left, UInt256 right) => !LessThan(left, right);

    /// <summary>The smaller of two values.</summary>
    public static UInt256 Min(UInt256 a, UInt256 b) => LessThan(b, a) ? b : a;

    /// <summary>The larger of two values.</summary>
    public static UInt256 Max(UInt256 a, UInt256 b) => LessThan(a, b) ? b : a;
}
