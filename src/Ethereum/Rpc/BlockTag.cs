using System.Text.Json;

namespace CrossMargin.Ethereum.Rpc;

public enum BlockTagKind : byte
{
    Latest,
    Pending,
    Safe,
    Finalized,
    Earliest,
    Number,
}

/// <summary>A block selector for JSON-RPC: a named tag or a block number. The default value is <see cref="Latest"/>.</summary>
public readonly record struct BlockTag
{
    private BlockTag(BlockTagKind kind, ulong number)
    {
        Kind = kind;
        BlockNumber = number;
    }

    public BlockTagKind Kind { get; }

    /// <summary>The block number when <see cref="Kind"/> is <see cref="BlockTagKind.Number"/>; 0 otherwise.</summary>
    public ulong BlockNumber { get; }

    public static BlockTag Latest => new(BlockTagKind.Latest, 0);
    public static BlockTag Pending => new(BlockTagKind.Pending, 0);
    public static BlockTag Safe => new(BlockTagKind.Safe, 0);
    public static BlockTag Finalized => new(BlockTagKind.Finalized, 0);
    public static BlockTag Earliest => new(BlockTagKind.Earliest, 0);

    public static BlockTag Number(ulong number) => new(BlockTagKind.Number, number);

    public static implicit operator BlockTag(ulong number) => Number(number);

    public void WriteTo(Utf8JsonWriter writer)
    {
        switch (Kind)
        {
            case BlockTagKind.Latest: writer.WriteStringValue("latest"u8); break;
            case BlockTagKind.Pending: writer.WriteStringValue("pending"u8); break;
            case BlockTagKind.Safe: writer.WriteStringValue("safe"u8); break;
            case BlockTagKind.Finalized: writer.WriteStringValue("finalized"u8); break;
            case BlockTagKind.Earliest: writer.WriteStringValue("earliest"u8); break;
            default: writer.WriteQuantity(BlockNumber); break;
        }
    }

    public override string ToString() => Kind switch
    {
        BlockTagKind.Number => Hex.EncodeQuantity(BlockNumber),
        _ => Kind.ToString().ToLowerInvariant(),
    };
}
