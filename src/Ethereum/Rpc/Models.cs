using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Ethereum.Rpc;

/// <summary>Block header fields a keeper uses, plus the block's transaction hashes (eth_getBlockByNumber with full=false).</summary>
public sealed record BlockHeader(
    ulong Number,
    Hash32 Hash,
    Hash32 ParentHash,
    ulong Timestamp,
    UInt256? BaseFeePerGas,
    ulong GasLimit,
    ulong GasUsed,
    Address Miner,
    IReadOnlyList<Hash32> TransactionHashes);

/// <summary>One log record, from a receipt, eth_getLogs or a logs subscription.</summary>
public sealed record LogEntry(
    Address Address,
    IReadOnlyList<Hash32> Topics,
    byte[] Data,
    ulong? BlockNumber,
    Hash32? BlockHash,
    Hash32? TransactionHash,
    ulong? TransactionIndex,
    ulong? LogIndex,
    bool Removed);

/// <summary>eth_getTransactionReceipt result.</summary>
public sealed record TransactionReceipt(
    Hash32 TransactionHash,
    ulong TransactionIndex,
    Hash32 BlockHash,
    ulong BlockNumber,
    Address From,
    Address? To,
    bool Succeeded,
    ulong GasUsed,
    ulong CumulativeGasUsed,
    UInt256 EffectiveGasPrice,
    Address? ContractAddress,
    IReadOnlyList<LogEntry> Logs,
    byte? Type);

/// <summary>eth_feeHistory result. <see cref="BaseFeePerGas"/> has one more entry than blocks (the next block's base fee).</summary>
public sealed record FeeHistory(
    ulong OldestBlock,
    IReadOnlyList<UInt256> BaseFeePerGas,
    IReadOnlyList<double> GasUsedRatio,
    IReadOnlyList<IReadOnlyList<UInt256>>? Reward);

/// <summary>A message call for eth_call / eth_estimateGas.</summary>
public sealed record CallRequest
{
    public Address? To { get; init; }
    public Address? From { get; init; }
    public ReadOnlyMemory<byte> Data { get; init; }
    public ulong? Gas { get; init; }
    public UInt256? Value { get; init; }
    public UInt256? MaxFeePerGas { get; init; }
    public UInt256? MaxPriorityFeePerGas { get; init; }
}

/// <summary>
/// eth_getLogs / logs subscription filter. Either a block range or <see cref="BlockHash"/>.
/// <see cref="Topics"/>: position i matches any of the listed hashes; a null position matches anything.
/// </summary>
public sealed record LogFilter
{
    public BlockTag? FromBlock { get; init; }
    public BlockTag? ToBlock { get; init; }
    public Hash32? BlockHash { get; init; }
    public IReadOnlyList<Address>? Addresses { get; init; }
    public IReadOnlyList<IReadOnlyList<Hash32>?>? Topics { get; init; }
}
