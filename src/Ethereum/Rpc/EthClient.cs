using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Ethereum.Rpc;

/// <summary>The typed chain reads and writes a keeper uses.</summary>
public interface IEthClient
{
    Task<ulong> ChainIdAsync(CancellationToken cancellationToken = default);
    Task<ulong> BlockNumberAsync(CancellationToken cancellationToken = default);
    Task<BlockHeader?> GetBlockByNumberAsync(BlockTag block, CancellationToken cancellationToken = default);
    Task<UInt256> GetBalanceAsync(Address account, BlockTag block = default, CancellationToken cancellationToken = default);
    Task<ulong> GetTransactionCountAsync(Address account, BlockTag block = default, CancellationToken cancellationToken = default);
    Task<byte[]> GetCodeAsync(Address account, BlockTag block = default, CancellationToken cancellationToken = default);
    Task<byte[]> CallAsync(CallRequest call, BlockTag block = default, CancellationToken cancellationToken = default);
    Task<ulong> EstimateGasAsync(CallRequest call, BlockTag? block = null, CancellationToken cancellationToken = default);
    Task<FeeHistory> FeeHistoryAsync(ulong blockCount, BlockTag newest, IReadOnlyList<double>? rewardPercentiles = null, CancellationToken cancellationToken = default);
    Task<UInt256> MaxPriorityFeePerGasAsync(CancellationToken cancellationToken = default);
    Task<Hash32> SendRawTransactionAsync(ReadOnlyMemory<byte> signedTransaction, CancellationToken cancellationToken = default);
    Task<TransactionReceipt?> GetTransactionReceiptAsync(Hash32 transactionHash, CancellationToken cancellationToken = default);
    Task<LogEntry[]> GetLogsAsync(LogFilter filter, CancellationToken cancellationToken = default);

    /// <summary>The JSON-RPC transport, when there is one: callers batch requests through it (<see cref="RpcBatching.StartBatch"/>).</summary>
    IRpcClient? Rpc => null;
}

/// <summary><see cref="IEthClient"/> over any <see cref="IRpcClient"/> (HTTP or WebSocket).</summary>
public sealed class EthClient(IRpcClient rpc) : IEthClient
{
    public IRpcClient Rpc { get; } = rpc ?? throw new ArgumentNullException(nameof(rpc));

    public Task<ulong> ChainIdAsync(CancellationToken cancellationToken = default) =>
        Rpc.RequestAsync(EthRequests.ChainId(), cancellationToken);

    public Task<ulong> BlockNumberAsync(CancellationToken cancellationToken = default) =>
        Rpc.RequestAsync(EthRequests.BlockNumber(), cancellationToken);

    public Task<BlockHeader?> GetBlockByNumberAsync(BlockTag block, CancellationToken cancellationToken = default) =>
        Rpc.RequestAsync(EthRequests.GetBlockByNumber(block), cancellationToken);

    public Task<UInt256> GetBalanceAsync(Address account, BlockTag block = default, CancellationToken cancellationToken = default) =>
        Rpc.RequestAsync(EthRequests.GetBalance(account, block), cancellationToken);

    public Task<ulong> GetTransactionCountAsync(Address account, BlockTag block = default, CancellationToken cancellationToken = default) =>
        Rpc.RequestAsync(EthRequests.GetTransactionCount(account, block), cancellationToken);

    public Task<byte[]> GetCodeAsync(Address account, BlockTag block = default, CancellationToken cancellationToken = default) =>
        Rpc.RequestAsync(EthRequests.GetCode(account, block), cancellationToken);

    public Task<byte[]> CallAsync(CallRequest call, BlockTag block = default, CancellationToken cancellationToken = default) =>
        Rpc.RequestAsync(EthRequests.Call(call, block), cancellationToken);

    public Task<ulong> EstimateGasAsync(CallRequest call, BlockTag? block = null, CancellationToken cancellationToken = default) =>
        Rpc.RequestAsync(EthRequests.EstimateGas(call, block), cancellationToken);

    public Task<FeeHistory> FeeHistoryAsync(ulong blockCount, BlockTag newest, IReadOnlyList<double>? rewardPercentiles = null, CancellationToken cancellationToken = default) =>
        Rpc.RequestAsync(EthRequests.FeeHistory(blockCount, newest, rewardPercentiles), cancellationToken);

    public Task<UInt256> MaxPriorityFeePerGasAsync(CancellationToken cancellationToken = default) =>
        Rpc.RequestAsync(EthRequests.MaxPriorityFeePerGas(), cancellationToken);

    public Task<Hash32> SendRawTransactionAsync(ReadOnlyMemory<byte> signedTransaction, CancellationToken cancellationToken = default) =>
        Rpc.RequestAsync(EthRequests.SendRawTransaction(signedTransaction), cancellationToken);

    public Task<TransactionReceipt?> GetTransactionReceiptAsync(Hash32 transactionHash, CancellationToken cancellationToken = default) =>
        Rpc.RequestAsync(EthRequests.GetTransactionReceipt(transactionHash), cancellationToken);

    public Task<LogEntry[]> GetLogsAsync(LogFilter filter, CancellationToken cancellationToken = default) =>
        Rpc.RequestAsync(EthRequests.GetLogs(filter), cancellationToken);
}
