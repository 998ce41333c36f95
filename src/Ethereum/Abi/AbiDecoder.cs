using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Ethereum.Abi;

/// <summary>
/// Generic strict ABI decoder producing plain values: <see cref="UInt256"/> for uintN, <see cref="Int256"/> for
/// intN, <see cref="Address"/>, <see cref="bool"/>, <c>byte[]</c> for bytes and bytesN, <see cref="string"/>,
/// and <c>object?[]</c> for arrays and tuples. Built on <see cref="AbiReader"/>, so the same checks apply:
/// canonical offsets, bounded lengths, clean padding. Any bad input throws <see cref="AbiDecodingException"/>.
/// Work and allocation are linear in the input size; recursion is bounded by <see cref="AbiType.MaxDepth"/>.
/// </summary>
public static class AbiDecoder
{
    /// <summary>Decodes the tuple of <paramref name="types"/> (<c>abi.decode</c>).</summary>
    /// <param name="allowTrailingData">Accept bytes after the encoding (as Solidity does for calldata).</param>
    public static object?[] Decode(IReadOnlyList<AbiType> types, ReadOnlySpan<byte> data, bool allowTrailingData = false)
    {
        ArgumentNullException.ThrowIfNull(types);
        long head = 0;
        foreach (var t in types) head += t.HeadSize;
        if (head > data.Length) throw new AbiDecodingException(AbiDecodingError.Truncated, $"Data too short: {head} bytes of heads needed, {data.Length} available", 0);
        var r = new AbiReader(data, (int)head);
        var result = new object?[types.Count];
        for (int i = 0; i < result.Length; i++) result[i] = Read(ref r, types[i]);
        r.Finish(allowTrailingData);
        return result;
    }

    /// <summary>Decodes a single value encoded as a one-element tuple.</summary>
    public static object? Decode(AbiType type, ReadOnlySpan<byte> data, bool allowTrailingData = false) =>
        Decode([type], data, allowTrailingData)[0];

    /// <summary>Checks the 4-byte selector and decodes the arguments after it.</summary>
    public static object?[] DecodeCall(uint selector, IReadOnlyList<AbiType> types, ReadOnlySpan<byte> calldata, bool allowTrailingData = false)
    {
        uint actual = AbiReader.ReadSelector(calldata);
        if (actual != selector) throw new AbiDecodingException(AbiDecodingError.Mismatch, $"Selector 0x{actual:x8} is not 0x{selector:x8}", 0);
        return Decode(types, calldata[4..], allowTrailingData);
    }

    internal static object? Read(ref AbiReader r, AbiType t)
    {
        switch (t.Kind)
        {
            case AbiTypeKind.UInt: return r.ReadUIntN(t.Size);
            case AbiTypeKind.Int: return r.ReadIntN(t.Size);
            case AbiTypeKind.Address: return r.ReadAddress();
            case AbiTypeKind.Bool: return r.ReadBool();
            case AbiTypeKind.FixedBytes: return r.ReadFixedBytes(t.Size).ToArray();
            case AbiTypeKind.Bytes: return r.ReadBytes().ToArray();
            case AbiTypeKind.String: return r.ReadString();
            case AbiTypeKind.Array:
            {
                var elem = t.Element!;
                var child = r.BeginArray(elem.HeadSize, out int count);
                var arr = new object?[count];
                for (int i = 0; i < arr.Length; i++) arr[i] = Read(ref child, elem);
                r.End(child);
                return arr;
            }
            case AbiTypeKind.FixedArray:
            {
                var elem = t.Element!;
                if (t.IsDynamic)
                {
                    var child = r.BeginTuple(t.InnerHeadSize);
                    var arr = new object?[t.Length];
                    for (int i = 0; i < arr.Length; i++) arr[i] = Read(ref child, elem);
                    r.End(child);
                    return arr;
                }
                else
                {
                    var arr = new object?[t.Length];
                    for (int i = 0; i < arr.Length; i++) arr[i] = Read(ref r, elem);
                    return arr;
                }
            }
            case AbiTypeKind.Tuple:
            {
                var comps = t.Components;
                var arr = new object?[comps.Count];
                if (t.IsDynamic)
                {
                    var child = r.BeginTuple(t.InnerHeadSize);
                    for (int i = 0; i < arr.Length; i++) arr[i] = Read(ref child, comps[i]);
                    r.End(child);
                }
                else
                {
                    for (int i = 0; i < arr.Length; i++) arr[i] = Read(ref r, comps[i]);
                }
                return arr;
            }
            default:
                throw new InvalidOperationException("Unknown ABI type kind.");
        }
    }
}
