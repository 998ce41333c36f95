using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Ethereum.Abi;

/// <summary>
/// Low-level strict ABI decoder over a span, for generated bindings and the generic decoder. One reader is
/// one frame (see <see cref="AbiWriter"/>). Every word is checked before use: address and uintN high bits
/// must be zero, bools 0/1, intN properly sign-extended, bytesN/bytes/string padding zero, and every offset
/// must be the canonical one (the tail right after the previous tail), so tails can neither overlap, loop,
/// nor point outside the data; every length is bounded by the bytes that remain. Bad data throws
/// <see cref="AbiDecodingException"/>; reading more values than the frame holds is a caller bug
/// (<see cref="InvalidOperationException"/>).
/// </summary>
public ref struct AbiReader
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly int _base;
    private readonly int _headEnd;
    private int _head;
    private int _tail;
    private bool _childOpen;

    /// <summary>A top-level frame whose heads take the first <paramref name="headSize"/> bytes of <paramref name="data"/>.</summary>
    /// <exception cref="AbiDecodingException">The data is shorter than the heads.</exception>
    public AbiReader(ReadOnlySpan<byte> data, int headSize) : this(data, 0, headSize)
    {
    }

    private AbiReader(ReadOnlySpan<byte> data, int @base, int headSize)
    {
        if (headSize < 0 || (headSize & 31) != 0) throw new ArgumentOutOfRangeException(nameof(headSize), "Head size must be a non-negative multiple of 32.");
        if (headSize > data.Length - @base) throw new AbiDecodingException(AbiDecodingError.Truncated, $"Data too short: {headSize} bytes of heads needed, {data.Length - @base} available", @base);
        _data = data;
        _base = @base;
        _head = @base;
        _headEnd = @base + headSize;
        _tail = _headEnd;
        _childOpen = false;
    }

    /// <summary>End of the bytes consumed so far (heads and tails), relative to the start of the data.</summary>
    public readonly int Position => _tail;

    /// <summary>Head bytes of this frame not yet read.</summary>
    public readonly int HeadRemaining => _headEnd - _head;

    /// <summary>Reads a 4-byte big-endian selector.</summary>
    public static uint ReadSelector(ReadOnlySpan<byte> data) =>
        data.Length >= 4 ? BinaryPrimitives.ReadUInt32BigEndian(data) : throw new AbiDecodingException(AbiDecodingError.Truncated, "Data shorter than a 4-byte selector", 0);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ReadOnlySpan<byte> NextHead()
    {
        int h = _head;
        if (h + 32 > _headEnd) ThrowHeadEmpty();
        _head = h + 32;
        return _data.Slice(h, 32);
    }

    private static void ThrowHeadEmpty() => throw new InvalidOperationException("All head slots of this ABI frame are already read.");

    private readonly AbiDecodingException Fail(AbiDecodingError reason, string message) => new(reason, message, _head - 32);

    // ------------------------------------------------------------------ static values

    /// <summary>A raw 32-byte word, unchecked.</summary>
    public ReadOnlySpan<byte> ReadWord() => NextHead();

    public UInt256 ReadUInt256() => UInt256.ReadBigEndian(NextHead());

    public Int256 ReadInt256() => Int256.ReadBigEndian(NextHead());

    /// <summary><c>uintN</c> (N = 8..256, step 8), rejecting values of more than N bits.</summary>
    public UInt256 ReadUIntN(int bits)
    {
        CheckBits(bits);
        var w = NextHead();
        if (!AbiWord.IsUInt(w, bits)) throw Fail(AbiDecodingError.DirtyHighBits, $"Value exceeds uint{bits}");
        return UInt256.ReadBigEndian(w);
    }

    /// <summary><c>intN</c> (N = 8..256, step 8), rejecting words that are not the sign extension of N bits.</summary>
    public Int256 ReadIntN(int bits)
    {
        CheckBits(bits);
        var w = NextHead();
        if (!AbiWord.IsInt(w, bits)) throw Fail(AbiDecodingError.BadSignExtension, $"Value is not a sign-extended int{bits}");
        return Int256.ReadBigEndian(w);
    }

    /// <summary><c>uintN</c> for N ≤ 64 as a ulong.</summary>
    public ulong ReadUInt64(int bits = 64)
    {
        if (bits is < 8 or > 64 || (bits & 7) != 0) throw new ArgumentOutOfRangeException(nameof(bits));
        var w = NextHead();
        if (!AbiWord.IsUInt(w, bits)) throw Fail(AbiDecodingError.DirtyHighBits, $"Value exceeds uint{bits}");
        return BinaryPrimitives.ReadUInt64BigEndian(w[24..]);
    }

    /// <summary><c>intN</c> for N ≤ 64 as a long.</summary>
    public long ReadInt64(int bits = 64)
    {
        if (bits is < 8 or > 64 || (bits & 7) != 0) throw new ArgumentOutOfRangeException(nameof(bits));
        var w = NextHead();
        if (!AbiWord.IsInt(w, bits)) throw Fail(AbiDecodingError.BadSignExtension, $"Value is not a sign-extended int{bits}");
        return BinaryPrimitives.ReadInt64BigEndian(w[24..]);
    }

    public byte ReadUInt8() => (byte)ReadUInt64(8);

    public uint ReadUInt32() => (uint)ReadUInt64(32);

    private static void CheckBits(int bits)
    {
        if (bits is < 8 or > 256 || (bits & 7) != 0) throw new ArgumentOutOfRangeException(nameof(bits));
    }

    /// <summary><c>address</c>; the 12 high bytes must be zero.</summary>
    public Address ReadAddress()
    {
        var w = NextHead();
        if (!AbiWord.HighZero(w, 12)) throw Fail(AbiDecodingError.DirtyHighBits, "Address word has non-zero high bytes");
        return new Address(w[12..]);
    }

    /// <summary><c>bool</c>; the word must be exactly 0 or 1.</summary>
    public bool ReadBool()
    {
        var w = NextHead();
        if (!AbiWord.HighZero(w, 31) || w[31] > 1) throw Fail(AbiDecodingError.BadBool, "Bool word is neither 0 nor 1");
        return w[31] == 1;
    }

    public Hash32 ReadBytes32() => new(NextHead());

    /// <summary><c>bytesN</c>: the first N bytes of the word; the rest must be zero.</summary>
    public ReadOnlySpan<byte> ReadFixedBytes(int length)
    {
        if (length is < 1 or > 32) throw new ArgumentOutOfRangeException(nameof(length));
        var w = NextHead();
        if (!AbiWord.IsFixedBytes(w, length)) throw Fail(AbiDecodingError.DirtyPadding, $"bytes{length} has non-zero padding");
        return w[..length];
    }

    // ------------------------------------------------------------------ dynamic values

    /// <summary>Reads an offset word and checks it is the canonical position of the next tail. Returns the absolute position.</summary>
    private int ReadOffset()
    {
        if (_childOpen) throw new InvalidOperationException("A nested ABI frame is still open; call End first.");
        var w = NextHead();
        long off = AbiWord.ReadSmall(w);
        if (off < 0 || off > _data.Length - _base) throw Fail(AbiDecodingError.BadOffset, "Offset points outside the data");
        if (off != _tail - _base) throw Fail(AbiDecodingError.BadOffset, $"Offset {off} is not the canonical tail position {_tail - _base}");
        return _tail;
    }

    /// <summary>Reads the length word at <paramref name="p"/>, checking that <paramref name="unit"/>·length bytes follow it.</summary>
    private readonly int ReadLength(int p, int unit)
    {
        if (p > _data.Length - 32) throw new AbiDecodingException(AbiDecodingError.Truncated, "Data ends before a length word", p);
        long len = AbiWord.ReadSmall(_data.Slice(p, 32));
        if (len < 0 || len > (_data.Length - p - 32) / unit)
            throw new AbiDecodingException(AbiDecodingError.BadLength, "Length exceeds the remaining data", p);
        return (int)len;
    }

    /// <summary>Dynamic <c>bytes</c>, as a slice of the input (padding checked).</summary>
    public ReadOnlySpan<byte> ReadBytes()
    {
        int p = ReadOffset();
        int len = ReadLength(p, 1);
        int padded = AbiWord.Pad32(len);
        if (padded > _data.Length - p - 32) throw new AbiDecodingException(AbiDecodingError.Truncated, "Data ends inside the padding of bytes", p);
        var content = _data.Slice(p + 32, len);
        if (_data.Slice(p + 32 + len, padded - len).IndexOfAnyExcept((byte)0) >= 0)
            throw new AbiDecodingException(AbiDecodingError.DirtyPadding, "Padding after bytes is not zero", p);
        _tail = p + 32 + padded;
        return content;
    }

    /// <summary><c>string</c>, which must be valid UTF-8.</summary>
    public string ReadString()
    {
        int at = _tail;
        var utf8 = ReadBytes();
        try
        {
            return AbiWriter.StrictUtf8.GetString(utf8);
        }
        catch (DecoderFallbackException)
        {
            throw new AbiDecodingException(AbiDecodingError.InvalidUtf8, "String is not valid UTF-8", at);
        }
    }

    /// <summary>
    /// Opens a <c>T[]</c> whose element heads take <paramref name="elementHeadSize"/> bytes each (32 for dynamic
    /// elements). The count is checked against the remaining data before it is returned.
    /// </summary>
    public AbiReader BeginArray(int elementHeadSize, out int count)
    {
        if (elementHeadSize < 32 || (elementHeadSize & 31) != 0) throw new ArgumentOutOfRangeException(nameof(elementHeadSize));
        int p = ReadOffset();
        count = ReadLength(p, elementHeadSize);
        _childOpen = true;
        return new AbiReader(_data, p + 32, count * elementHeadSize);
    }

    /// <summary>Opens a dynamic tuple or dynamic fixed array whose heads take <paramref name="headSize"/> bytes.</summary>
    public AbiReader BeginTuple(int headSize)
    {
        int p = ReadOffset();
        _childOpen = true;
        return new AbiReader(_data, p, headSize);
    }

    /// <summary>Closes a frame opened by <see cref="BeginArray"/> or <see cref="BeginTuple"/>; its tail end becomes this frame's tail.</summary>
    public void End(AbiReader child)
    {
        if (!_childOpen) throw new InvalidOperationException("No nested ABI frame is open.");
        if (child._head != child._headEnd || child._childOpen) throw new InvalidOperationException("The nested ABI frame was not read completely.");
        _tail = child._tail;
        _childOpen = false;
    }

    /// <summary>
    /// Checks that every head was read and, unless <paramref name="allowTrailingData"/>, that no byte follows the
    /// encoding. Returns the encoded length.
    /// </summary>
    public readonly int Finish(bool allowTrailingData = false)
    {
        if (_childOpen || _head != _headEnd) throw new InvalidOperationException("The ABI frame was not read completely.");
        if (!allowTrailingData && _tail != _data.Length)
            throw new AbiDecodingException(AbiDecodingError.TrailingData, $"{_data.Length - _tail} bytes follow the encoding", _tail);
        return _tail;
    }
}
