using System.Text.Json;
using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Ethereum.Rpc;

/// <summary>
/// Typed request descriptors for the eth_* methods a keeper needs. Use them with any <see cref="IRpcClient"/>
/// or add them to an <see cref="RpcBatch"/>.
/// </summary>
public static class EthRequests
{
    private static readonly RpcRequest<ulong> ChainIdRequest = new("eth_chainId", null, static r => r.ReadQuantity());
    private static readonly RpcRequest<ulong> BlockNumberRequest = new("eth_blockNumber", null, static r => r.ReadQuantity());
    private static readonly RpcRequest<UInt256> MaxPriorityFeeRequest = new("eth_maxPriorityFeePerGas", null, static r => r.ReadUInt256());

    public static RpcRequest<ulong> ChainId() => ChainIdRequest;

    public static RpcRequest<ulong> BlockNumber() => BlockNumberRequest;

    public static RpcRequest<UInt256> MaxPriorityFeePerGas() => MaxPriorityFeeRequest;

    /// <summary>eth_getBlockByNumber with transaction hashes only; null when the block does not exist.</summary>
    public static RpcRequest<BlockHeader?> GetBlockByNumber(BlockTag block) =>
        new("eth_getBlockByNumber", w => { block.WriteTo(w); w.WriteBooleanValue(false); },
            static r => r.ValueKind == JsonValueKind.Null ? null : ParseBlockHeader(r, requireTransactions: true));

    public static RpcRequest<UInt256> GetBalance(Address account, BlockTag block) =>
        new("eth_getBalance", w => { w.WriteAddress(account); block.WriteTo(w); }, static r => r.ReadUInt256());

    public static RpcRequest<ulong> GetTransactionCount(Address account, BlockTag block) =>
        new("eth_getTransactionCount", w => { w.WriteAddress(account); block.WriteTo(w); }, static r => r.ReadQuantity());

    public static RpcRequest<byte[]> GetCode(Address account, BlockTag block) =>
        new("eth_getCode", w => { w.WriteAddress(account); block.WriteTo(w); }, static r => r.ReadData());

    /// <summary>eth_call; a revert surfaces as <see cref="RpcException"/> with <see cref="RpcException.RevertData"/>.</summary>
    public static RpcRequest<byte[]> Call(CallRequest call, BlockTag block)
    {
        ArgumentNullException.ThrowIfNull(call);
        return new("eth_call", w => { WriteCall(w, call); block.WriteTo(w); }, static r => r.ReadData());
    }

    public static RpcRequest<ulong> EstimateGas(CallRequest call, BlockTag? block = null)
    {
        ArgumentNullException.ThrowIfNull(call);
        return new("eth_estimateGas", w =>
        {
            WriteCall(w, call);
            block?.WriteTo(w);
        }, static r => r.ReadQuantity());
    }

    /// <summary>eth_feeHistory over <paramref name="blockCount"/> blocks ending at <paramref name="newest"/>.</summary>
    public static RpcRequest<FeeHistory> FeeHistory(ulong blockCount, BlockTag newest, IReadOnlyList<double>? rewardPercentiles = null)
    {
        if (rewardPercentiles is not null)
        {
            double previous = 0;
            foreach (double p in rewardPercentiles)
            {
                if (!(p >= previous && p <= 100)) throw new ArgumentException("Reward percentiles must be increasing within [0, 100].", nameof(rewardPercentiles));
                previous = p;
            }
        }
        return new("eth_feeHistory", w =>
        {
            w.WriteQuantity(blockCount);
            newest.WriteTo(w);
            w.WriteStartArray();
            if (rewardPercentiles is not null)
            {
                foreach (double p in rewardPercentiles) w.WriteNumberValue(p);
            }
            w.WriteEndArray();
        }, ParseFeeHistory);
    }

    public static RpcRequest<Hash32> SendRawTransaction(ReadOnlyMemory<byte> signedTransaction) =>
        new("eth_sendRawTransaction", w => w.WriteData(signedTransaction.Span), static r => r.ReadHash());

    /// <summary>eth_getTransactionReceipt; null while the transaction is pending or unknown.</summary>
    public static RpcRequest<TransactionReceipt?> GetTransactionReceipt(Hash32 transactionHash) =>
        new("eth_getTransactionReceipt", w => w.WriteHash(transactionHash),
            static r => r.ValueKind == JsonValueKind.Null ? null : ParseReceipt(r));

    public static RpcRequest<LogEntry[]> GetLogs(LogFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ValidateFilter(filter, allowRange: true);
        return new("eth_getLogs", w => WriteFilter(w, filter), static r => r.ReadArray("result", ParseLog));
    }

    // ---- parameter writers -----------------------------------------------------------------------------

    public static void WriteCall(Utf8JsonWriter writer, CallRequest call)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(call);
        writer.WriteStartObject();
        if (call.From is { } from) { writer.WritePropertyName("from"u8); writer.WriteAddress(from); }
        if (call.To is { } to) { writer.WritePropertyName("to"u8); writer.WriteAddress(to); }
        if (call.Gas is { } gas) { writer.WritePropertyName("gas"u8); writer.WriteQuantity(gas); }
        if (call.MaxFeePerGas is { } maxFee) { writer.WritePropertyName("maxFeePerGas"u8); writer.WriteQuantity(maxFee); }
        if (call.MaxPriorityFeePerGas is { } tip) { writer.WritePropertyName("maxPriorityFeePerGas"u8); writer.WriteQuantity(tip); }
        if (call.Value is { } value) { writer.WritePropertyName("value"u8); writer.WriteQuantity(value); }
        // "input" is the current name; nodes still read "data". Sending both with the same bytes is accepted everywhere.
        writer.WritePropertyName("input"u8);
        writer.WriteData(call.Data.Span);
        writer.WritePropertyName("data"u8);
        writer.WriteData(call.Data.Span);
        writer.WriteEndObject();
    }

    internal static void ValidateFilter(LogFilter filter, bool allowRange)
    {
        if (filter.BlockHash is not null && (filter.FromBlock is not null || filter.ToBlock is not null))
            throw new ArgumentException("A log filter has either a block hash or a block range, not both.", nameof(filter));
        if (!allowRange && (filter.BlockHash is not null || filter.FromBlock is not null || filter.ToBlock is not null))
            throw new ArgumentException("A logs subscription filter has no block range or hash.", nameof(filter));
        if (filter.Topics is { Count: > 4 }) throw new ArgumentException("At most 4 topic positions.", nameof(filter));
    }

    public static void WriteFilter(Utf8JsonWriter writer, LogFilter filter)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(filter);
        writer.WriteStartObject();
        if (filter.BlockHash is { } blockHash) { writer.WritePropertyName("blockHash"u8); writer.WriteHash(blockHash); }
        if (filter.FromBlock is { } from) { writer.WritePropertyName("fromBlock"u8); from.WriteTo(writer); }
        if (filter.ToBlock is { } to) { writer.WritePropertyName("toBlock"u8); to.WriteTo(writer); }
        if (filter.Addresses is { Count: > 0 } addresses)
        {
            writer.WritePropertyName("address"u8);
            if (addresses.Count == 1)
            {
                writer.WriteAddress(addresses[0]);
            }
            else
            {
                writer.WriteStartArray();
                foreach (var a in addresses) writer.WriteAddress(a);
                writer.WriteEndArray();
            }
        }
        if (filter.Topics is { Count: > 0 } topics)
        {
            writer.WritePropertyName("topics"u8);
            writer.WriteStartArray();
            foreach (var position in topics)
            {
                if (position is null || position.Count == 0) writer.WriteNullValue();
                else if (position.Count == 1) writer.WriteHash(position[0]);
                else
                {
                    writer.WriteStartArray();
                    foreach (var t in position) writer.WriteHash(t);
                    writer.WriteEndArray();
                }
            }
            writer.WriteEndArray();
        }
        writer.WriteEndObject();
    }

    // ---- result parsers --------------------------------------------------------------------------------

    /// <summary>Parses a block header object (eth_getBlockByNumber result or a newHeads notification).</summary>
    public static BlockHeader ParseBlockHeader(JsonElement block, bool requireTransactions)
    {
        IReadOnlyList<Hash32> txs = [];
        if (requireTransactions)
        {
            txs = block.Required("transactions").ReadArray("transactions", static (e, f) => e.ReadHash(f));
        }
        return new BlockHeader(
            block.Required("number").ReadQuantity("number"),
            block.Required("hash").ReadHash("hash"),
            block.Required("parentHash").ReadHash("parentHash"),
            block.Required("timestamp").ReadQuantity("timestamp"),
            block.Optional("baseFeePerGas")?.ReadUInt256("baseFeePerGas"),
            block.Required("gasLimit").ReadQuantity("gasLimit"),
            block.Required("gasUsed").ReadQuantity("gasUsed"),
            block.Required("miner").ReadAddress("miner"),
            txs);
    }

    public static LogEntry ParseLog(JsonElement log, string field = "log")
    {
        var topics = log.Required("topics").ReadArray(field + ".topics", static (e, f) => e.ReadHash(f));
        if (topics.Length > 4) throw RpcJson.Invalid(field + ".topics", "more than 4 topics");
        return new LogEntry(
            log.Required("address").ReadAddress(field + ".address"),
            topics,
            log.Required("data").ReadData(field + ".data"),
            log.Optional("blockNumber")?.ReadQuantity(field + ".blockNumber"),
            log.Optional("blockHash")?.ReadHash(field + ".blockHash"),
            log.Optional("transactionHash")?.ReadHash(field + ".transactionHash"),
            log.Optional("transactionIndex")?.ReadQuantity(field + ".transactionIndex"),
            log.Optional("logIndex")?.ReadQuantity(field + ".logIndex"),
            log.Optional("removed")?.ReadBool(field + ".removed") ?? false);
    }

    public static TransactionReceipt ParseReceipt(JsonElement r)
    {
        ulong status = r.Required("status").ReadQuantity("status");
        if (status > 1) throw RpcJson.Invalid("status", $"expected 0x0 or 0x1, got {status}");
        ulong? type = r.Optional("type")?.ReadQuantity("type");
        if (type > 0x7f) throw RpcJson.Invalid("type", "transaction types are below 0x80");
        return new TransactionReceipt(
            r.Required("transactionHash").ReadHash("transactionHash"),
            r.Required("transactionIndex").ReadQuantity("transactionIndex"),
            r.Required("blockHash").ReadHash("blockHash"),
            r.Required("blockNumber").ReadQuantity("blockNumber"),
            r.Required("from").ReadAddress("from"),
            r.Optional("to")?.ReadAddress("to"),
            status == 1,
            r.Required("gasUsed").ReadQuantity("gasUsed"),
            r.Required("cumulativeGasUsed").ReadQuantity("cumulativeGasUsed"),
            r.Required("effectiveGasPrice").ReadUInt256("effectiveGasPrice"),
            r.Optional("contractAddress")?.ReadAddress("contractAddress"),
            r.Required("logs").ReadArray("logs", static (e, f) => ParseLog(e, f)),
            (byte?)type);
    }

    public static FeeHistory ParseFeeHistory(JsonElement r)
    {
        var baseFees = r.Required("baseFeePerGas").ReadArray("baseFeePerGas", static (e, f) => e.ReadUInt256(f));
        var ratios = r.Required("gasUsedRatio").ReadArray("gasUsedRatio", static (e, f) => e.ReadDouble(f));
        if (baseFees.Length != ratios.Length + 1 && !(baseFees.Length == 0 && ratios.Length == 0))
            throw RpcJson.Invalid("baseFeePerGas", $"expected {ratios.Length + 1} entries (one per block plus the next), got {baseFees.Length}");
        UInt256[][]? rewards = r.Optional("reward")?.ReadArray("reward", static (e, f) => e.ReadArray(f, static (x, g) => x.ReadUInt256(g)));
        if (rewards is not null && rewards.Length != ratios.Length)
            throw RpcJson.Invalid("reward", $"expected {ratios.Length} rows, got {rewards.Length}");
        return new FeeHistory(r.Required("oldestBlock").ReadQuantity("oldestBlock"), baseFees, ratios, rewards);
    }
}
