namespace CrossMargin.Ethereum.Rlp;

/// <summary>
/// A decoded RLP tree node: either a byte string or a list. Meant for generic inspection and tests;
/// typed decoders read with <see cref="RlpReader"/> directly and allocate nothing per field.
/// </summary>
public sealed class RlpItem
{
    private readonly byte[]? _bytes;
    private readonly RlpItem[]? _items;

    private RlpItem(byte[]? bytes, RlpItem[]? items)
    {
        _bytes = bytes;
        _items = items;
    }

    public static RlpItem String(ReadOnlySpan<byte> bytes) => new(bytes.ToArray(), null);

    public static RlpItem List(params RlpItem[] items) => new(null, (RlpItem[])items.Clone());

    public bool IsList => _items is not null;

    /// <summary>The string's bytes; throws for a list.</summary>
    public ReadOnlySpan<byte> Bytes => _bytes ?? throw new InvalidOperationException("This RLP item is a list.");

    /// <summary>The list's items; throws for a string.</summary>
    public IReadOnlyList<RlpItem> Items => _items ?? throw new InvalidOperationException("This RLP item is a string.");

    /// <summary>Encoded length of this item.</summary>
    public int EncodedLength => IsList ? RlpEncoding.LengthOfList(PayloadLength) : RlpEncoding.LengthOf(_bytes);

    private int PayloadLength
    {
        get
        {
            int sum = 0;
            foreach (var item in _items!) sum = checked(sum + item.EncodedLength);
            return sum;
        }
    }

    /// <summary>Encodes this tree (exact size, one allocation).</summary>
    public byte[] Encode()
    {
        var result = new byte[EncodedLength];
        var w = new RlpWriter(result);
        Write(ref w);
        w.EnsureComplete();
        return result;
    }

    public void Write(ref RlpWriter writer)
    {
        if (_bytes is not null)
        {
            writer.WriteBytes(_bytes);
            return;
        }
        writer.WriteListHeader(PayloadLength);
        foreach (var item in _items!) item.Write(ref writer);
    }

    /// <summary>Strictly decodes exactly one item (no trailing bytes) into a tree.</summary>
    public static RlpItem Decode(ReadOnlySpan<byte> data, int maxDepth = RlpEncoding.DefaultMaxDepth)
    {
        var reader = new RlpReader(data);
        var item = Read(ref reader, maxDepth);
        reader.EnsureEnd();
        return item;
    }

    private static RlpItem Read(ref RlpReader reader, int depthLeft)
    {
        if (!reader.PeekIsList()) return String(reader.ReadBytes());
        if (depthLeft <= 0) throw new RlpDecodingException(RlpErrorReason.NestingTooDeep, reader.Position, "Lists nested too deeply.");
        var inner = reader.ReadList();
        var items = new List<RlpItem>();
        while (inner.HasMore) items.Add(Read(ref inner, depthLeft - 1));
        return new RlpItem(null, items.ToArray());
    }
}
