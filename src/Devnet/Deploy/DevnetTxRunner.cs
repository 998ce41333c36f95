using System.Text.Json;
using CrossMargin.Contracts;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Contracts;
using CrossMargin.Ethereum.Crypto;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Ethereum.Signing;
using CrossMargin.Ethereum.Transactions;

namespace CrossMargin.Devnet;

/// <summary>One transaction for <see cref="DevnetTxRunner"/>: signer, explicit nonce, call and a fixed gas limit.</summary>
public sealed record DevnetTxRequest(PrivateKey Key, ulong Nonce, Address? To, byte[] Data, UInt256 Value, ulong GasLimit, string Label)
{
    public static DevnetTxRequest Call(PrivateKey key, ulong nonce, ContractTx tx, ulong gasLimit, string? label = null) =>
        new(key, nonce, tx.To, tx.Data, tx.Value, gasLimit, label ?? tx.Signature);

    public static DevnetTxRequest Create(PrivateKey key, ulong nonce, byte[] deployData, ulong gasLimit, string label) =>
        new(key, nonce, null, deployData, UInt256.Zero, gasLimit, label);
}

/// <summary>What happened to one <see cref="DevnetTxRequest"/>.</summary>
/// <remarks>With <see cref="DevnetTxRunner.LogsProveSuccess"/>, a transaction that emitted a log has no <see cref="Receipt"/>
/// (it was not read) and <see cref="EmittedLogs"/> set.</remarks>
public sealed record DevnetTxOutcome(DevnetTxRequest Request, Hash32 Hash, TransactionReceipt? Receipt, string? Error)
{
    /// <summary>Mined, and proven successful by the logs it emitted (a reverted transaction emits none); its receipt was not read.</summary>
    public bool EmittedLogs { get; init; }

    /// <summary>Mined with status 1.</summary>
    public bool Succeeded => Error is null && (Receipt is { Succeeded: true } || (Receipt is null && EmittedLogs));

    public override string ToString() =>
        !Succeeded ? $"{Request.Label}: FAILED {Error}"
        : Receipt is null ? $"{Request.Label}: ok (emitted logs)"
        : $"{Request.Label}: ok ({Receipt.GasUsed} gas)";
}

/// <summary>
/// Runs many devnet transactions fast: signs them offline in parallel with the given explicit nonces, turns
/// automine off, sends them in JSON-RPC batches, mines with anvil_mine, collects receipts in batches, and
/// explains each failure (send error, or the revert decoded from debug_traceTransaction). Restores automine.
/// Anvil only.
/// </summary>
public sealed class DevnetTxRunner
{
    private static readonly ErrorDecoder[] s_decoders =
    [
        CrossMarginEngine.TryDecodeError,
        OracleHub.TryDecodeError,
        KeeperPriceFeed.TryDecodeError,
        MockERC20.TryDecodeError,
        MockPyth.TryDecodeError,
    ];

    private readonly JsonRpcClient _rpc;

    public DevnetTxRunner(JsonRpcClient rpc, ulong chainId)
    {
        ArgumentNullException.ThrowIfNull(rpc);
        _rpc = rpc;
        ChainId = chainId;
    }

    public ulong ChainId { get; }

    /// <summary>Calls per JSON-RPC batch POST. Default 500.</summary>
    public int BatchSize { get; init; } = 500;

    /// <summary>
    /// Transactions sent before each anvil_mine. Default 500. Anvil builds even blocks of thousands of transactions quickly,
    /// and each block costs time in proportion to the whole state (a large seeded state makes every block slow): with
    /// <see cref="LogsProveSuccess"/>, large values make few blocks. Without it, keep it small: the receipts are read with
    /// eth_getBlockReceipts, which anvil answers in time quadratic in the block's size.
    /// </summary>
    public int TransactionsPerBlock { get; init; } = 500;

    /// <summary>
    /// false (default): every receipt is read (eth_getBlockReceipts). true: for transactions known to log on success (the
    /// seeding's mints, approvals, deposits and trades): one eth_getLogs per block marks the transactions that emitted a log as
    /// succeeded; only the others have their receipt read (the failures, explained as usual, and any success without logs).
    /// </summary>
    public bool LogsProveSuccess { get; init; }

    /// <summary>The tip of every transaction. Default 1 gwei.</summary>
    public UInt256 PriorityFee { get; init; } = 1_000_000_000UL;

    /// <summary>Durations of the phases of the last <see cref="RunAsync"/> (sign, send, mine+receipts, explain).</summary>
    public IReadOnlyDictionary<string, TimeSpan> LastTimings => _timings;

    private readonly Dictionary<string, TimeSpan> _timings = [];

    /// <summary>Signs, sends, mines and collects receipts; outcomes are in request order.</summary>
    public async Task<IReadOnlyList<DevnetTxOutcome>> RunAsync(IReadOnlyList<DevnetTxRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        if (requests.Count == 0) return [];
        var eth = new EthClient(_rpc);
        var latest = await eth.GetBlockByNumberAsync(BlockTag.Latest, cancellationToken).ConfigureAwait(false)
            ?? throw new DevnetException("The node returned no latest block.");
        UInt256 baseFee = latest.BaseFeePerGas ?? UInt256.Zero;
        // generous: base fees only fall while the devnet blocks stay under half full (the large blocks of LogsProveSuccess are mined at this base fee)
        UInt256 maxFee = baseFee + baseFee + baseFee + PriorityFee;

        _timings.Clear();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        // Sign without the per-transaction recovery self-check of TransactionEncoder.Sign (it costs more than the
        // signature): the first transaction is signed checked, and the node rejects any wrong signature anyway.
        var signed = new RawTx[requests.Count];
        Parallel.For(0, requests.Count, new ParallelOptions { CancellationToken = cancellationToken }, i =>
        {
            var r = requests[i];
            var tx = UnsignedTransaction.Eip1559(ChainId, r.Nonce, PriorityFee, maxFee, r.GasLimit, r.To, r.Value, r.Data);
            byte[] raw = i == 0
                ? TransactionEncoder.Sign(tx, r.Key).ToArray()
                : TransactionEncoder.EncodeSigned(tx, r.Key.Sign(TransactionEncoder.SigningHash(tx)));
            signed[i] = new RawTx(raw, Keccak256.Compute(raw), r.GasLimit);
        });

        _timings["sign"] = sw.Elapsed;
        sw.Restart();
        bool automine = await GetAutomineAsync(cancellationToken).ConfigureAwait(false);
        if (automine) await _rpc.SetAutomineAsync(false, cancellationToken).ConfigureAwait(false);
        var errors = new string?[requests.Count];
        var receipts = new TransactionReceipt?[requests.Count];
        var logged = new bool[requests.Count];
        ulong firstBlock = await eth.BlockNumberAsync(cancellationToken).ConfigureAwait(false) + 1;
        try
        {
            int unmined = 0; // accepted since the last anvil_mine
            int groupStart = 0;
            for (int start = 0; start < signed.Length; start += BatchSize)
            {
                int end = Math.Min(signed.Length, start + BatchSize);
                var batch = _rpc.CreateBatch();
                var tasks = new Task<Hash32>[end - start];
                for (int i = start; i < end; i++) tasks[i - start] = batch.Add(EthRequests.SendRawTransaction(signed[i].Raw));
                await batch.SendAsync(cancellationToken).ConfigureAwait(false);
                for (int i = start; i < end; i++)
                {
                    try
                    {
                        await tasks[i - start].ConfigureAwait(false);
                    }
                    catch (RpcException ex)
                    {
                        errors[i] = "rejected: " + ex.RpcMessage;
                        continue;
                    }

                    unmined++;
                }

                if (end - groupStart < TransactionsPerBlock && end < signed.Length) continue;
                if (LogsProveSuccess)
                {
                    await MineAcceptedAsync(eth, unmined, baseFee, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    UInt256 groupGas = UInt256.Zero;
                    for (int i = groupStart; i < end; i++) groupGas += signed[i].GasLimit;
                    await _rpc.MineAsync(latest.GasLimit == 0 ? 1 : (ulong)(groupGas / latest.GasLimit) + 1, null, cancellationToken).ConfigureAwait(false);
                }

                unmined = 0;
                groupStart = end;
            }

            _timings["send"] = sw.Elapsed;
            sw.Restart();
            if (LogsProveSuccess)
                await CollectByLogsAsync(signed, errors, receipts, logged, firstBlock, baseFee, cancellationToken).ConfigureAwait(false);
            else
                await MineUntilIncludedAsync(signed, errors, receipts, firstBlock, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (automine) await _rpc.SetAutomineAsync(true, CancellationToken.None).ConfigureAwait(false);
        }

        _timings["mine"] = sw.Elapsed;
        sw.Restart();
        await ExplainFailuresAsync(signed, errors, receipts, cancellationToken).ConfigureAwait(false);
        _timings["explain"] = sw.Elapsed;
        var outcomes = new DevnetTxOutcome[requests.Count];
        for (int i = 0; i < outcomes.Length; i++) outcomes[i] = new DevnetTxOutcome(requests[i], signed[i].Hash, receipts[i], errors[i]) { EmittedLogs = logged[i] };
        return outcomes;
    }

    /// <summary>Decodes revert data with every devnet contract's errors; falls back to Error(string)/Panic/hex.</summary>
    public static string DescribeRevert(ReadOnlySpan<byte> revertData)
    {
        foreach (var decode in s_decoders)
        {
            try
            {
                if (decode(revertData, out var error) && error is not null) return error.ToString();
            }
            catch (Ethereum.Abi.AbiDecodingException)
            {
                // selector clash with malformed arguments: try the next contract
            }
        }

        try
        {
            var reason = Ethereum.Abi.AbiRevert.Decode(revertData);
            return reason.Message ?? reason.PanicName ?? Hex.Encode(revertData);
        }
        catch (Ethereum.Abi.AbiDecodingException)
        {
            return Hex.Encode(revertData);
        }
    }

    private async Task<bool> GetAutomineAsync(CancellationToken cancellationToken) =>
        await _rpc.RequestAsync("anvil_getAutomine", null, static r => r.ReadBool(), cancellationToken).ConfigureAwait(false);

    private async Task MineUntilIncludedAsync(RawTx[] signed, string?[] errors, TransactionReceipt?[] receipts, ulong firstBlock, CancellationToken cancellationToken)
    {
        var pending = new Dictionary<Hash32, int>();
        for (int i = 0; i < signed.Length; i++)
        {
            if (errors[i] is null) pending[signed[i].Hash] = i;
        }

        var eth = new EthClient(_rpc);
        ulong next = firstBlock;
        ulong blocks = 0;
        for (int round = 0; pending.Count > 0; round++)
        {
            if (round >= 20) throw new DevnetException($"{pending.Count} transaction(s) still not mined after {round} mining rounds.");
            if (blocks > 0) await _rpc.MineAsync(Math.Min(blocks, 10_000), null, cancellationToken).ConfigureAwait(false);
            ulong head = await eth.BlockNumberAsync(cancellationToken).ConfigureAwait(false);
            // one eth_getBlockReceipts per block: per-transaction receipt lookups are quadratic in block size on anvil
            for (ulong from = next; from <= head; from += (ulong)BatchSize)
            {
                ulong to = Math.Min(head, from + (ulong)BatchSize - 1);
                var batch = _rpc.CreateBatch();
                var tasks = new List<Task<TransactionReceipt[]>>();
                for (ulong b = from; b <= to; b++)
                {
                    ulong block = b;
                    tasks.Add(batch.Add("eth_getBlockReceipts", w => w.WriteQuantity(block),
                        static r => r.ValueKind == JsonValueKind.Null ? [] : r.ReadArray("result", static (e, _) => EthRequests.ParseReceipt(e))));
                }

                await batch.SendAsync(cancellationToken).ConfigureAwait(false);
                foreach (var task in tasks)
                {
                    foreach (var receipt in await task.ConfigureAwait(false))
                    {
                        if (pending.Remove(receipt.TransactionHash, out int i)) receipts[i] = receipt;
                    }
                }
            }

            next = head + 1;
            blocks = 1 + ((ulong)pending.Count / 100);
        }
    }

    /// <summary>
    /// Mines one block at a time until the <paramref name="accepted"/> pending transactions are in, or a block comes out empty.
    /// Every block is mined at <paramref name="baseFee"/>: blocks over half full raise the base fee by 1/8 each, and after
    /// a few dozen of them the transactions' fee cap (set from the base fee at the start) would no longer cover it.
    /// </summary>
    private async Task MineAcceptedAsync(EthClient eth, int accepted, UInt256 baseFee, CancellationToken cancellationToken)
    {
        while (accepted > 0)
        {
            await _rpc.RequestAsync("anvil_setNextBlockBaseFeePerGas", w => w.WriteQuantity(baseFee), static _ => true, cancellationToken).ConfigureAwait(false);
            await _rpc.MineAsync(1, null, cancellationToken).ConfigureAwait(false);
            ulong head = await eth.BlockNumberAsync(cancellationToken).ConfigureAwait(false);
            ulong count = await _rpc.RequestAsync("eth_getBlockTransactionCountByNumber", w => w.WriteQuantity(head), static r => r.ReadQuantity(), cancellationToken)
                .ConfigureAwait(false);
            if (count == 0) return; // left to the collection rounds
            accepted -= (int)Math.Min(count, (ulong)accepted);
        }
    }

    /// <summary>
    /// <see cref="LogsProveSuccess"/>: the transactions that logged in blocks since <paramref name="firstBlock"/> succeeded;
    /// the receipts of the others are read; still unmined ones get more blocks (at most 20 rounds).
    /// </summary>
    private async Task CollectByLogsAsync(RawTx[] signed, string?[] errors, TransactionReceipt?[] receipts, bool[] logged, ulong firstBlock, UInt256 baseFee,
        CancellationToken cancellationToken)
    {
        var pending = new Dictionary<Hash32, int>();
        for (int i = 0; i < signed.Length; i++)
        {
            if (errors[i] is null) pending[signed[i].Hash] = i;
        }

        var eth = new EthClient(_rpc);
        ulong next = firstBlock;
        for (int round = 0; pending.Count > 0; round++)
        {
            if (round >= 20) throw new DevnetException($"{pending.Count} transaction(s) still not mined after {round} mining rounds.");
            if (round > 0) await MineAcceptedAsync(eth, pending.Count, baseFee, cancellationToken).ConfigureAwait(false);
            ulong head = await eth.BlockNumberAsync(cancellationToken).ConfigureAwait(false);
            // one eth_getLogs per block (only the transaction hashes are parsed), a few blocks per POST: blocks may hold thousands of logs
            for (ulong from = next; from <= head; from += 4)
            {
                ulong to = Math.Min(head, from + 3);
                var batch = _rpc.CreateBatch();
                var tasks = new List<Task<Hash32[]>>();
                for (ulong b = from; b <= to; b++)
                {
                    ulong block = b;
                    tasks.Add(batch.Add("eth_getLogs", w =>
                    {
                        w.WriteStartObject();
                        w.WritePropertyName("fromBlock");
                        w.WriteQuantity(block);
                        w.WritePropertyName("toBlock");
                        w.WriteQuantity(block);
                        w.WriteEndObject();
                    }, static r => r.ReadArray("result", static (e, f) => e.Required("transactionHash").ReadHash(f))));
                }

                await batch.SendAsync(cancellationToken).ConfigureAwait(false);
                foreach (var task in tasks)
                {
                    foreach (var hash in await task.ConfigureAwait(false))
                    {
                        if (pending.Remove(hash, out int i)) logged[i] = true;
                    }
                }
            }

            next = head + 1;
            // no logs: failed, a success without logs, or not mined yet; the receipt tells
            var rest = pending.ToArray();
            for (int start = 0; start < rest.Length; start += BatchSize)
            {
                int end = Math.Min(rest.Length, start + BatchSize);
                var batch = _rpc.CreateBatch();
                var tasks = new Task<TransactionReceipt?>[end - start];
                for (int k = start; k < end; k++) tasks[k - start] = batch.Add(EthRequests.GetTransactionReceipt(rest[k].Key));
                await batch.SendAsync(cancellationToken).ConfigureAwait(false);
                for (int k = start; k < end; k++)
                {
                    if (await tasks[k - start].ConfigureAwait(false) is not { } receipt) continue;
                    receipts[rest[k].Value] = receipt;
                    pending.Remove(rest[k].Key);
                }
            }
        }
    }

    private async Task ExplainFailuresAsync(RawTx[] signed, string?[] errors, TransactionReceipt?[] receipts, CancellationToken cancellationToken)
    {
        var failed = new List<int>();
        for (int i = 0; i < signed.Length; i++)
        {
            if (errors[i] is null && receipts[i] is { Succeeded: false }) failed.Add(i);
        }

        for (int start = 0; start < failed.Count; start += BatchSize)
        {
            int end = Math.Min(failed.Count, start + BatchSize);
            var batch = _rpc.CreateBatch();
            var tasks = new Task<byte[]?>[end - start];
            for (int k = start; k < end; k++)
            {
                Hash32 hash = signed[failed[k]].Hash;
                tasks[k - start] = batch.Add("debug_traceTransaction", w =>
                {
                    w.WriteHash(hash);
                    w.WriteStartObject();
                    w.WriteString("tracer", "callTracer");
                    w.WriteEndObject();
                }, static r => r.ValueKind == JsonValueKind.Object && r.TryGetProperty("output", out var o) && o.ValueKind == JsonValueKind.String
                    ? o.ReadData("output")
                    : null);
            }

            await batch.SendAsync(cancellationToken).ConfigureAwait(false);
            for (int k = start; k < end; k++)
            {
                int i = failed[k];
                try
                {
                    byte[]? output = await tasks[k - start].ConfigureAwait(false);
                    errors[i] = output is { Length: > 0 } ? "reverted: " + DescribeRevert(output) : $"reverted (no revert data, gas used {receipts[i]!.GasUsed} of {signed[i].GasLimit})";
                }
                catch (RpcClientException ex)
                {
                    errors[i] = "reverted (trace failed: " + ex.Message + ")";
                }
            }
        }
    }

    private readonly record struct RawTx(byte[] Raw, Hash32 Hash, ulong GasLimit);
}
