using System.Buffers.Binary;
using System.Collections;
using System.Numerics;
using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Ethereum.Abi;

/// <summary>
/// Generic ABI encoder over plain values: integers as <see cref="UInt256"/>/<see cref="Int256"/> (also
/// <see cref="BigInteger"/> and the built-in integer types), <see cref="Address"/>, <see cref="bool"/>,
/// <c>byte[]</c> or <see cref="ReadOnlyMemory{T}"/> for <c>bytes</c>/<c>bytesN</c> (also <see cref="Hash32"/> for
/// <c>bytes32</c>), <see cref="string"/>, and any <see cref="IList"/> (e.g. <c>object?[]</c>) for arrays and tuples.
/// Two passes: the exact size, then the bytes.
/// </summary>
public static class AbiEncoder
{
    /// <summary>Encodes <paramref name="values"/> as the tuple of <paramref name="types"/> (<c>abi.encode</c>).</summary>
    /// <exception cref="AbiEncodingException">A value does not fit its type.</exception>
    public static byte[] Encode(IReadOnlyList<AbiType> types, IReadOnlyList<object?> values)
    {
        int size = GetEncodedSize(types, values);
        var buf = new byte[size];
        EncodeInto(types, values, buf);
        return buf;
    }

    /// <summary>Selector followed by the encoded arguments.</summary>
    public static byte[] EncodeCall(uint selector, IReadOnlyList<AbiType> types, IReadOnlyList<object?> values)
    {
        int size = GetEncodedSize(types, values);
        var buf = new byte[checked(4 + size)];
        BinaryPrimitives.WriteUInt32BigEndian(buf, selector);
        EncodeInto(types, values, buf.AsSpan(4));
        return buf;
    }

    /// <summary>Encodes a single value (as a one-element tuple).</summary>
    public static byte[] Encode(AbiType type, object? value) => Encode([type], [value]);

    /// <summary>Exact length of <see cref="Encode(IReadOnlyList{AbiType}, IReadOnlyList{object?})"/>; validates shapes.</summary>
    public static int GetEncodedSize(IReadOnlyList<AbiType> types, IReadOnlyList<object?> values)
    {
        ArgumentNullException.ThrowIfNull(types);
        ArgumentNullException.ThrowIfNull(values);
        if (types.Count != values.Count) throw new AbiEncodingException($"{types.Count} types but {values.Count} values.");
        long size = 0;
        for (int i = 0; i < types.Count; i++) size += SlotSize(types[i], values[i]);
        return size <= int.MaxValue ? (int)size : throw new AbiEncodingException("Encoding exceeds 2 GiB.");
    }

    /// <summary>Encodes into <paramref name="destination"/>, which must hold at least <see cref="GetEncodedSize"/> bytes; returns the length.</summary>
    public static int EncodeInto(IReadOnlyList<AbiType> types, IReadOnlyList<object?> values, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(types);
        ArgumentNullException.ThrowIfNull(values);
        if (types.Count != values.Count) throw new AbiEncodingException($"{types.Count} types but {values.Count} values.");
        int head = 0;
        foreach (var t in types) head = checked(head + t.HeadSize);
        var w = new AbiWriter(destination, head);
        for (int i = 0; i < types.Count; i++) Write(ref w, types[i], values[i]);
        return w.Finish();
    }

    // size of a value in its enclosing frame: head slot plus its tail when dynamic
    private static long SlotSize(AbiType t, object? v) => t.IsDynamic ? 32 + DynamicSize(t, v) : CheckStatic(t, v);

    private static long CheckStatic(AbiType t, object? v)
    {
        switch (t.Kind)
        {
            case AbiTypeKind.FixedArray:
            {
                var list = AsList(t, v, t.Length);
                for (int i = 0; i < list.Count; i++) CheckStatic(t.Element!, list[i]);
                break;
            }
            case AbiTypeKind.Tuple:
            {
                var list = AsList(t, v, t.Components.Count);
                for (int i = 0; i < list.Count; i++) CheckStatic(t.Components[i], list[i]);
                break;
            }
        }
        return t.HeadSize;
    }

    private static long DynamicSize(AbiType t, object? v)
    {
        switch (t.Kind)
        {
            case AbiTypeKind.Bytes:
                return 32 + AbiWord.Pad32(AsBytes(t, v).Length);
            case AbiTypeKind.String:
                if (v is not string s) throw TypeError(t, v);
                try
                {
                    return 32 + AbiWord.Pad32(AbiWriter.StrictUtf8.GetByteCount(s));
                }
                catch (System.Text.EncoderFallbackException e)
                {
                    throw new AbiEncodingException("String is not valid UTF-16 (unpaired surrogate).", e);
                }
            case AbiTypeKind.Array:
            {
                var list = AsList(t, v, -1);
                long size = 32;
                for (int i = 0; i < list.Count; i++) size += SlotSize(t.Element!, list[i]);
                return size;
            }
            case AbiTypeKind.FixedArray:
            {
                var list = AsList(t, v, t.Length);
                long size = 0;
                for (int i = 0; i < list.Count; i++) size += SlotSize(t.Element!, list[i]);
                return size;
            }
            case AbiTypeKind.Tuple:
            {
                var list = AsList(t, v, t.Components.Count);
                long size = 0;
                for (int i = 0; i < list.Count; i++) size += SlotSize(t.Components[i], list[i]);
                return size;
            }
            default:
                throw new InvalidOperationException("Static type in dynamic path.");
        }
    }

    private static void Write(ref AbiWriter w, AbiType t, object? v)
    {
        switch (t.Kind)
        {
            case AbiTypeKind.UInt:
            case AbiTypeKind.Int:
            {
                Span<byte> word = stackalloc byte[32];
                IntegerWord(t, v, word);
                w.WriteWord(word);
                break;
            }
            case AbiTypeKind.Address:
                w.WriteAddress(v is Address a ? a : throw TypeError(t, v));
                break;
            case AbiTypeKind.Bool:
                w.WriteBool(v is bool b ? b : throw TypeError(t, v));
                break;
            case AbiTypeKind.FixedBytes:
            {
                var bytes = v is Hash32 h && t.Size == 32 ? h.ToArray() : AsBytes(t, v);
                if (bytes.Length != t.Size) throw new AbiEncodingException($"{t} needs exactly {t.Size} bytes, got {bytes.Length}.");
                w.WriteFixedBytes(bytes);
                break;
            }
            case AbiTypeKind.Bytes:
                w.WriteBytes(AsBytes(t, v));
                break;
            case AbiTypeKind.String:
                w.WriteString(v as string ?? throw TypeError(t, v));
                break;
            case AbiTypeKind.Array:
            {
                var list = AsList(t, v, -1);
                var child = w.BeginArray(list.Count, t.Element!.HeadSize);
                for (int i = 0; i < list.Count; i++) Write(ref child, t.Element, list[i]);
                w.End(child);
                break;
            }
            case AbiTypeKind.FixedArray:
            {
                var list = AsList(t, v, t.Length);
                if (t.IsDynamic)
                {
                    var child = w.BeginTuple(t.InnerHeadSize);
                    for (int i = 0; i < list.Count; i++) Write(ref child, t.Element!, list[i]);
                    w.End(child);
                }
                else
                {
                    for (int i = 0; i < list.Count; i++) Write(ref w, t.Element!, list[i]);
                }
                break;
            }
            case AbiTypeKind.Tuple:
            {
                var list = AsList(t, v, t.Components.Count);
                if (t.IsDynamic)
                {
                    var child = w.BeginTuple(t.InnerHeadSize);
                    for (int i = 0; i < list.Count; i++) Write(ref child, t.Components[i], list[i]);
                    w.End(child);
                }
                else
                {
                    for (int i = 0; i < list.Count; i++) Write(ref w, t.Components[i], list[i]);
                }
                break;
            }
        }
    }

    private static AbiEncodingException TypeError(AbiType t, object? v) =>
        new($"A value of type {v?.GetType().Name ?? "null"} cannot be encoded as {t}.");

    private static IList AsList(AbiType t, object? v, int expected)
    {
        if (v is not IList list || v is byte[]) throw TypeError(t, v);
        if (expected >= 0 && list.Count != expected) throw new AbiEncodingException($"{t} needs {expected} values, got {list.Count}.");
        return list;
    }

    private static ReadOnlySpan<byte> AsBytes(AbiType t, object? v) => v switch
    {
        byte[] a => a,
        ReadOnlyMemory<byte> m => m.Span,
        Memory<byte> m => m.Span,
        _ => throw TypeError(t, v),
    };

    /// <summary>Writes the two's complement word of an integer value and checks it fits uintN/intN.</summary>
    internal static void IntegerWord(AbiType t, object? v, Span<byte> word)
    {
        bool negative;
        switch (v)
        {
            case UInt256 u:
                u.WriteBigEndian(word);
                negative = false;
                break;
            case Int256 i:
                i.WriteBigEndian(word);
                negative = (word[0] & 0x80) != 0;
                break;
            case BigInteger b:
                negative = b.Sign < 0;
                int n = b.GetByteCount(isUnsigned: !negative);
                if (n > 32) throw Range(t, v);
                word.Fill(negative ? (byte)0xFF : (byte)0);
                b.TryWriteBytes(word[(32 - n)..], out _, isUnsigned: !negative, isBigEndian: true);
                break;
            case ulong or uint or ushort or byte:
                word[..24].Clear();
                BinaryPrimitives.WriteUInt64BigEndian(word[24..], Convert.ToUInt64(v, System.Globalization.CultureInfo.InvariantCulture));
                negative = false;
                break;
            case long or int or short or sbyte:
                long l = Convert.ToInt64(v, System.Globalization.CultureInfo.InvariantCulture);
                negative = l < 0;
                word[..24].Fill(negative ? (byte)0xFF : (byte)0);
                BinaryPrimitives.WriteInt64BigEndian(word[24..], l);
                break;
            default:
                throw TypeError(t, v);
        }
        bool ok = t.Kind == AbiTypeKind.UInt
            ? !negative && AbiWord.IsUInt(word, t.Size)
            : (negative || (word[0] & 0x80) == 0) && AbiWord.IsInt(word, t.Size);
        if (!ok) throw Range(t, v);
    }

    private static AbiEncodingException Range(AbiType t, object? v) => new($"Value {v} is out of range for {t}.");
}
