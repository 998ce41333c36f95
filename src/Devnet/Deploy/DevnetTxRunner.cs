using System.Text.Json;
using CrossMargin.Contracts;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Contracts;
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

        var signed = new SignedTransaction[requests.Count];
        Parallel.For(0, requests.Count, new ParallelOptions { CancellationToken = cancellationToken }, i =>
        {
            var r = requests[i];
            var tx = UnsignedTransaction.Eip1559(ChainId, r.Nonce, PriorityFee, maxFee, r.GasLimit, r.To, r.Value, r.Data);
            signed[i] = TransactionEncoder.Sign(tx, r.Key);
        });

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
                for (int i = start; i < end; i++) tasks[i - start] = batch.Add(EthRequests.SendRawTransaction(signed[i].ToArray()));
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

            await MineUntilIncludedAsync(signed, errors, receipts, latest.GasLimit, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (automine) await _rpc.SetAutomineAsync(true, CancellationToken.None).ConfigureAwait(false);
        }

        await ExplainFailuresAsync(signed, errors, receipts, cancellationToken).ConfigureAwait(false);
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

    private async Task MineUntilIncludedAsync(SignedTransaction[] signed, string?[] errors, TransactionReceipt?[] receipts, ulong blockGasLimit, CancellationToken cancellationToken)
    {
        var pending = new List<int>();
        UInt256 gasSum = UInt256.Zero;
        for (int i = 0; i < signed.Length; i++)
        {
            if (errors[i] is not null) continue;
            pending.Add(i);
            gasSum += signed[i].Transaction.GasLimit;
        }

        ulong blocks = blockGasLimit == 0 ? 1 : (ulong)(gasSum / blockGasLimit) + 1;
        for (int round = 0; pending.Count > 0; round++)
        {
            if (round >= 20) throw new DevnetException($"{pending.Count} transaction(s) still not mined after {round} mining rounds.");
            await _rpc.MineAsync(Math.Min(blocks, 10_000), null, cancellationToken).ConfigureAwait(false);
            pending = await FetchReceiptsAsync(signed, pending, receipts, cancellationToken).ConfigureAwait(false);
            blocks = 1 + (ulong)pending.Count / 100;
        }
    }

    private async Task<List<int>> FetchReceiptsAsync(SignedTransaction[] signed, List<int> indexes, TransactionReceipt?[] receipts, CancellationToken cancellationToken)
    {
        var missing = new List<int>();
        for (int start = 0; start < indexes.Count; start += BatchSize)
        {
            int end = Math.Min(indexes.Count, start + BatchSize);
            var batch = _rpc.CreateBatch();
            var tasks = new Task<TransactionReceipt?>[end - start];
            for (int k = start; k < end; k++) tasks[k - start] = batch.Add(EthRequests.GetTransactionReceipt(signed[indexes[k]].Hash));
            await batch.SendAsync(cancellationToken).ConfigureAwait(false);
            for (int k = start; k < end; k++)
            {
                var receipt = await tasks[k - start].ConfigureAwait(false);
                if (receipt is null) missing.Add(indexes[k]);
                else receipts[indexes[k]] = receipt;
            }
        }

        return missing;
    }

    private async Task ExplainFailuresAsync(SignedTransaction[] signed, string?[] errors, TransactionReceipt?[] receipts, CancellationToken cancellationToken)
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
                    errors[i] = output is { Length: > 0 } ? "reverted: " + DescribeRevert(output) : $"reverted (no revert data, gas used {receipts[i]!.GasUsed} of {signed[i].Transaction.GasLimit})";
                }
                catch (RpcClientException ex)
                {
                    errors[i] = "reverted (trace failed: " + ex.Message + ")";
                }
            }
        }
    }
}
