using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Ethereum.Abi;

/// <summary>
/// Low-level ABI encoder over a caller-provided span, for generated bindings. One writer is one "frame"
/// (the argument tuple, a dynamic tuple, or an array body): values go into consecutive head slots, dynamic
/// values get an offset in the head and their bytes in the frame's tail. Nested dynamic frames are opened
/// with <see cref="BeginArray"/>/<see cref="BeginTuple"/> and closed with <see cref="End"/>.
/// Use the static size helpers to compute the exact size first, then encode into a right-sized buffer:
/// no allocations. Misuse (too many values, buffer too small) throws <see cref="InvalidOperationException"/>
/// or <see cref="ArgumentException"/>; it is a bug in the caller, not bad data.
/// </summary>
public ref struct AbiWriter
{
    internal static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly Span<byte> _buffer;
    private readonly int _base;
    private readonly int _headEnd;
    private int _head;
    private int _tail;
    private bool _childOpen;

    /// <summary>A top-level frame with <paramref name="headSize"/> bytes of heads at the start of <paramref name="destination"/>.</summary>
    public AbiWriter(Span<byte> destination, int headSize) : this(destination, 0, headSize)
    {
    }

    private AbiWriter(Span<byte> buffer, int @base, int headSize)
    {
        if (headSize < 0 || (headSize & 31) != 0) throw new ArgumentOutOfRangeException(nameof(headSize), "Head size must be a non-negative multiple of 32.");
        if ((long)@base + headSize > buffer.Length) throw new ArgumentException("Destination too small for the heads.", nameof(buffer));
        _buffer = buffer;
        _base = @base;
        _head = @base;
        _headEnd = @base + headSize;
        _tail = _headEnd;
        _childOpen = false;
    }

    /// <summary>End of the bytes written so far, relative to the start of the destination.</summary>
    public readonly int Position => _tail;

    /// <summary>Head bytes of this frame not yet written.</summary>
    public readonly int HeadRemaining => _headEnd - _head;

    // ------------------------------------------------------------------ size helpers

    /// <summary>Bytes a <c>bytes</c>/<c>string</c> tail of <paramref name="length"/> content bytes takes (length word + padded data).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int BytesTailSize(int length) => 32 + AbiWord.Pad32(length);

    /// <summary>Bytes the tail of a <c>string</c> takes (UTF-8).</summary>
    public static int StringTailSize(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return BytesTailSize(StrictUtf8.GetByteCount(value));
    }

    /// <summary>Bytes the tail of a <c>T[]</c> of static elements takes (length word + elements).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int StaticArrayTailSize(int count, int elementSize) => checked(32 + (count * elementSize));

    /// <summary>Writes a 4-byte selector big-endian.</summary>
    public static void WriteSelector(Span<byte> destination, uint selector) => BinaryPrimitives.WriteUInt32BigEndian(destination, selector);

    // ------------------------------------------------------------------ static values

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Span<byte> NextHead()
    {
        int h = _head;
        if (h + 32 > _headEnd) ThrowHeadFull();
        _head = h + 32;
        return _buffer.Slice(h, 32);
    }

    private static void ThrowHeadFull() => throw new InvalidOperationException("All head slots of this ABI frame are already written.");

    public void WriteUInt256(in UInt256 value) => value.WriteBigEndian(NextHead());

    public void WriteInt256(in Int256 value) => value.WriteBigEndian(NextHead());

    /// <summary>Any uintN up to 64 bits.</summary>
    public void WriteUInt64(ulong value)
    {
        var w = NextHead();
        w[..24].Clear();
        BinaryPrimitives.WriteUInt64BigEndian(w[24..], value);
    }

    /// <summary>Any intN up to 64 bits (sign-extended).</summary>
    public void WriteInt64(long value)
    {
        var w = NextHead();
        w[..24].Fill(value < 0 ? (byte)0xFF : (byte)0);
        BinaryPrimitives.WriteInt64BigEndian(w[24..], value);
    }

    public void WriteAddress(in Address value)
    {
        var w = NextHead();
        w[..12].Clear();
        value.CopyTo(w[12..]);
    }

    public void WriteBool(bool value)
    {
        var w = NextHead();
        w[..31].Clear();
        w[31] = value ? (byte)1 : (byte)0;
    }

    public void WriteBytes32(in Hash32 value) => value.CopyTo(NextHead());

    /// <summary><c>bytesN</c>: 1..32 bytes, left-aligned and zero-padded.</summary>
    public void WriteFixedBytes(scoped ReadOnlySpan<byte> value)
    {
        if (value.Length is < 1 or > 32) throw new ArgumentException("bytesN takes 1..32 bytes.", nameof(value));
        var w = NextHead();
        value.CopyTo(w);
        w[value.Length..].Clear();
    }

    /// <summary>A raw, already encoded 32-byte word.</summary>
    public void WriteWord(scoped ReadOnlySpan<byte> word32)
    {
        if (word32.Length != 32) throw new ArgumentException("A word is 32 bytes.", nameof(word32));
        word32.CopyTo(NextHead());
    }

    // ------------------------------------------------------------------ dynamic values

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int WriteOffset()
    {
        if (_childOpen) ThrowChildOpen();
        AbiWord.WriteSmall(NextHead(), _tail - _base);
        return _tail;
    }

    private static void ThrowChildOpen() => throw new InvalidOperationException("A nested ABI frame is still open; call End first.");

    /// <summary>Dynamic <c>bytes</c>.</summary>
    public void WriteBytes(scoped ReadOnlySpan<byte> value)
    {
        int p = WriteOffset();
        int padded = AbiWord.Pad32(value.Length);
        var dst = _buffer.Slice(p, 32 + padded);
        AbiWord.WriteSmall(dst, value.Length);
        value.CopyTo(dst[32..]);
        dst[(32 + value.Length)..].Clear();
        _tail = p + 32 + padded;
    }

    /// <summary><c>string</c> from UTF-8 bytes (not validated).</summary>
    public void WriteStringUtf8(scoped ReadOnlySpan<byte> utf8) => WriteBytes(utf8);

    /// <summary><c>string</c>, encoded as UTF-8 straight into the buffer.</summary>
    /// <exception cref="AbiEncodingException">The string has unpaired surrogates.</exception>
    public void WriteString(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        int p = WriteOffset();
        int n;
        try
        {
            n = StrictUtf8.GetBytes(value, _buffer[(p + 32)..]);
        }
        catch (EncoderFallbackException e)
        {
            throw new AbiEncodingException("String is not valid UTF-16 (unpaired surrogate).", e);
        }
        int padded = AbiWord.Pad32(n);
        AbiWord.WriteSmall(_buffer.Slice(p, 32), n);
        _buffer.Slice(p + 32 + n, padded - n).Clear();
        _tail = p + 32 + padded;
    }

    /// <summary><c>uint256[]</c>.</summary>
    public void WriteUInt256Array(scoped ReadOnlySpan<UInt256> values)
    {
        var child = BeginArray(values.Length, 32);
        foreach (ref readonly var v in values) child.WriteUInt256(v);
        End(child);
    }

    /// <summary><c>address[]</c>.</summary>
    public void WriteAddressArray(scoped ReadOnlySpan<Address> values)
    {
        var child = BeginArray(values.Length, 32);
        foreach (ref readonly var v in values) child.WriteAddress(v);
        End(child);
    }

    /// <summary>
    /// Opens a <c>T[]</c>: writes the offset and the element count, and returns the frame of the elements,
    /// whose heads take <paramref name="elementHeadSize"/> bytes each (32 for dynamic elements).
    /// </summary>
    public AbiWriter BeginArray(int count, int elementHeadSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        int p = WriteOffset();
        AbiWord.WriteSmall(_buffer.Slice(p, 32), count);
        _childOpen = true;
        return new AbiWriter(_buffer, p + 32, checked(count * elementHeadSize));
    }

    /// <summary>
    /// Opens a dynamic tuple or a dynamic fixed array <c>T[k]</c>: writes the offset and returns the frame
    /// whose heads take <paramref name="headSize"/> bytes. (Static tuples and arrays are written inline.)
    /// </summary>
    public AbiWriter BeginTuple(int headSize)
    {
        int p = WriteOffset();
        _childOpen = true;
        return new AbiWriter(_buffer, p, headSize);
    }

    /// <summary>Closes a frame opened by <see cref="BeginArray"/> or <see cref="BeginTuple"/>.</summary>
    public void End(AbiWriter child)
    {
        if (!_childOpen) throw new InvalidOperationException("No nested ABI frame is open.");
        if (child._head != child._headEnd || child._childOpen) throw new InvalidOperationException("The nested ABI frame has unwritten head slots or an open frame.");
        _tail = child._tail;
        _childOpen = false;
    }

    /// <summary>Checks that every head slot is written and returns the total encoded length.</summary>
    public readonly int Finish()
    {
        if (_childOpen) ThrowChildOpen();
        if (_head != _headEnd) throw new InvalidOperationException("The ABI frame has unwritten head slots.");
        return _tail;
    }
}
