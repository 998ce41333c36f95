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
public sealed record DevnetTxOutcome(DevnetTxRequest Request, Hash32 Hash, TransactionReceipt? Receipt, string? Error)
{
    /// <summary>Mined with status 1.</summary>
    public bool Succeeded => Receipt is { Succeeded: true };

    public override string ToString() =>
        Succeeded ? $"{Request.Label}: ok ({Receipt!.GasUsed} gas)" : $"{Request.Label}: FAILED {Error}";
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
        // generous: base fees only fall while the big devnet blocks stay under half full
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
        try
        {
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
                    }
                }
            }

            _timings["send"] = sw.Elapsed;
            sw.Restart();
            await MineUntilIncludedAsync(signed, errors, receipts, latest.GasLimit, cancellationToken).ConfigureAwait(false);
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
        for (int i = 0; i < outcomes.Length; i++) outcomes[i] = new DevnetTxOutcome(requests[i], signed[i].Hash, receipts[i], errors[i]);
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

    private async Task MineUntilIncludedAsync(RawTx[] signed, string?[] errors, TransactionReceipt?[] receipts, ulong blockGasLimit, CancellationToken cancellationToken)
    {
        var pending = new Dictionary<Hash32, int>();
        UInt256 gasSum = UInt256.Zero;
        for (int i = 0; i < signed.Length; i++)
        {
            if (errors[i] is not null) continue;
            pending[signed[i].Hash] = i;
            gasSum += signed[i].GasLimit;
        }

        var eth = new EthClient(_rpc);
        ulong next = await eth.BlockNumberAsync(cancellationToken).ConfigureAwait(false) + 1;
        ulong blocks = blockGasLimit == 0 ? 1 : (ulong)(gasSum / blockGasLimit) + 1;
        for (int round = 0; pending.Count > 0; round++)
        {
            if (round >= 20) throw new DevnetException($"{pending.Count} transaction(s) still not mined after {round} mining rounds.");
            await _rpc.MineAsync(Math.Min(blocks, 10_000), null, cancellationToken).ConfigureAwait(false);
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
