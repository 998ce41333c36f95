using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Ethereum.Transactions;
using CrossMargin.Keeper.Execution;

namespace CrossMargin.Keeper.Tests.Execution;

/// <summary>
/// An in-memory chain behind <see cref="IEthClient"/>: a pool with the +10 % replacement rule, mining in nonce order,
/// receipts, scripted reverts for eth_call and injectable failures per method.
/// </summary>
internal sealed class FakeChain : IEthClient
{
    public const ulong Id = 31337;

    private readonly Dictionary<(Address, ulong), SignedTransaction> _pool = [];
    private readonly Dictionary<Hash32, TransactionReceipt> _receipts = [];
    private readonly Dictionary<Address, ulong> _nonces = [];
    private readonly Dictionary<string, Queue<Exception>> _failures = [];

    public ulong Head { get; private set; } = 100;
    public UInt256 BaseFee { get; set; } = 10_000_000_000; // 10 gwei
    public UInt256 RewardSample { get; set; } = 1_000_000_000;
    public double GasUsedRatio { get; set; } = 0.5;
    public byte[]? CallRevertData { get; set; }
    public List<Hash32> Sent { get; } = [];
    public List<SignedTransaction> SentTransactions { get; } = [];
    public List<string> Calls { get; } = [];
    /// <summary>When false, eth_sendRawTransaction accepts but the pool forgets (as if dropped).</summary>
    public bool KeepInPool { get; set; } = true;
    /// <summary>Blocks are produced but include nothing (congestion).</summary>
    public bool MiningPaused { get; set; }

    public IReadOnlyCollection<SignedTransaction> Pool => _pool.Values;

    public void FailNext(string method, Exception error, int times = 1)
    {
        if (!_failures.TryGetValue(method, out var q)) _failures[method] = q = new Queue<Exception>();
        for (int i = 0; i < times; i++) q.Enqueue(error);
    }

    private void Enter(string method)
    {
        Calls.Add(method);
        if (_failures.TryGetValue(method, out var q) && q.Count > 0) throw q.Dequeue();
    }

    public ulong NonceOf(Address a) => _nonces.GetValueOrDefault(a);

    /// <summary>Uses a nonce outside our keeper (someone else's transaction from the same key, or a dropped-and-replaced one).</summary>
    public void ExternalTransaction(Address a)
    {
        _pool.Remove((a, NonceOf(a)));
        _nonces[a] = NonceOf(a) + 1;
    }

    /// <summary>Mines one block: every pool transaction whose nonce is next in line, highest fee per sender.</summary>
    public List<TransactionReceipt> Mine(bool succeed = true)
    {
        Head++;
        var mined = new List<TransactionReceipt>();
        bool progress = !MiningPaused;
        while (progress)
        {
            progress = false;
            foreach (var ((sender, nonce), tx) in _pool.ToList())
            {
                if (nonce != NonceOf(sender)) continue;
                if (tx.Transaction.MaxFeePerGas < BaseFee) continue;
                _pool.Remove((sender, nonce));
                _nonces[sender] = nonce + 1;
                UInt256 tip = tx.Transaction.MaxFeePerGas - BaseFee;
                if (tip > tx.Transaction.MaxPriorityFeePerGas) tip = tx.Transaction.MaxPriorityFeePerGas;
                var receipt = new TransactionReceipt(tx.Hash, (ulong)mined.Count, Hash32.Zero, Head, sender, tx.Transaction.To,
                    succeed, 21_000 + (ulong)tx.Transaction.Data.Length * 16, 21_000, BaseFee + tip, null, [], 2);
                _receipts[tx.Hash] = receipt;
                mined.Add(receipt);
                progress = true;
            }
        }
        return mined;
    }

    public Task<ulong> ChainIdAsync(CancellationToken cancellationToken = default)
    {
        Enter("eth_chainId");
        return Task.FromResult(Id);
    }

    public Task<ulong> BlockNumberAsync(CancellationToken cancellationToken = default)
    {
        Enter("eth_blockNumber");
        return Task.FromResult(Head);
    }

    public Task<ulong> GetTransactionCountAsync(Address account, BlockTag block = default, CancellationToken cancellationToken = default)
    {
        Enter("eth_getTransactionCount");
        ulong n = NonceOf(account);
        if (block.Kind == BlockTagKind.Pending)
            while (_pool.ContainsKey((account, n))) n++;
        return Task.FromResult(n);
    }

    public Task<byte[]> CallAsync(CallRequest call, BlockTag block = default, CancellationToken cancellationToken = default)
    {
        Enter("eth_call");
        if (CallRevertData is { } data) throw new RpcException(3, "execution reverted", null, data);
        return Task.FromResult(Array.Empty<byte>());
    }

    public Task<FeeHistory> FeeHistoryAsync(ulong blockCount, BlockTag newest, IReadOnlyList<double>? rewardPercentiles = null, CancellationToken cancellationToken = default)
    {
        Enter("eth_feeHistory");
        var baseFees = Enumerable.Repeat(BaseFee, (int)blockCount + 1).ToArray();
        var ratios = Enumerable.Repeat(GasUsedRatio, (int)blockCount).ToArray();
        IReadOnlyList<IReadOnlyList<UInt256>> rewards = Enumerable.Range(0, (int)blockCount).Select(_ => (IReadOnlyList<UInt256>)[RewardSample]).ToArray();
        return Task.FromResult(new FeeHistory(Head - blockCount + 1, baseFees, ratios, rewards));
    }

    public Task<Hash32> SendRawTransactionAsync(ReadOnlyMemory<byte> signedTransaction, CancellationToken cancellationToken = default)
    {
        Enter("eth_sendRawTransaction");
        var tx = TransactionDecoder.Decode(signedTransaction.Span);
        if (tx.Transaction.ChainId != Id) throw new RpcException(-32000, "invalid chain id", null, null);
        var key = (tx.Sender, tx.Transaction.Nonce);
        if (tx.Transaction.Nonce < NonceOf(tx.Sender)) throw new RpcException(-32000, "nonce too low", null, null);
        if (_pool.TryGetValue(key, out var existing))
        {
            if (existing.Hash == tx.Hash) throw new RpcException(-32000, "already known", null, null);
            if (tx.Transaction.MaxFeePerGas < FeeBump.Minimum(existing.Transaction.MaxFeePerGas, 1_000)
                || tx.Transaction.MaxPriorityFeePerGas < FeeBump.Minimum(existing.Transaction.MaxPriorityFeePerGas, 1_000))
                throw new RpcException(-32000, "replacement transaction underpriced", null, null);
        }
        if (KeepInPool) _pool[key] = tx;
        Sent.Add(tx.Hash);
        SentTransactions.Add(tx);
        return Task.FromResult(tx.Hash);
    }

    public Task<TransactionReceipt?> GetTransactionReceiptAsync(Hash32 transactionHash, CancellationToken cancellationToken = default)
    {
        Enter("eth_getTransactionReceipt");
        return Task.FromResult(_receipts.GetValueOrDefault(transactionHash));
    }

    public Task<BlockHeader?> GetBlockByNumberAsync(BlockTag block, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    public Task<UInt256> GetBalanceAsync(Address account, BlockTag block = default, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    public Task<byte[]> GetCodeAsync(Address account, BlockTag block = default, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    public Task<ulong> EstimateGasAsync(CallRequest call, BlockTag? block = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    public Task<UInt256> MaxPriorityFeePerGasAsync(CancellationToken cancellationToken = default) => throw new NotSupportedException();
    public Task<LogEntry[]> GetLogsAsync(LogFilter filter, CancellationToken cancellationToken = default) => throw new NotSupportedException();
}
