using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Contracts;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Keeper.Execution;

namespace CrossMargin.Keeper.Oracle.OnChain;

/// <summary>Settings of an <see cref="ExecutorOracleTxSender"/>.</summary>
public sealed class ExecutorOracleTxOptions
{
    /// <summary>
    /// The "opportunity value" given to the executor for each push (wei): its fee cap is
    /// <see cref="ExecutionOptions.MaxFeeShareOfValueBps"/> of this, per gas. Default 0.1 ETH.
    /// </summary>
    public UInt256 FeeBudgetWei { get; set; } = UInt256.Pow10(17);

    /// <summary>Gas limit = eth_estimateGas × this, rounded up. Default 1.25.</summary>
    public double GasMultiplier { get; set; } = 1.25;

    /// <summary>How long to wait for the receipt. Default 60 s.</summary>
    public TimeSpan ReceiptTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Receipt poll interval. Default 50 ms.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Call <see cref="TxExecutor.OnNewBlockAsync"/> on each new head while waiting (set when the oracle bot owns its
    /// executor and key; leave false when a shared executor is driven by the keeper daemon).
    /// </summary>
    public bool DriveBlocks { get; set; }
}

/// <summary>A push the executor did not send (its own simulation reverted, or fees were unaffordable).</summary>
public sealed class OraclePushSkippedException : Exception
{
    public OraclePushSkippedException(string reason) : base(reason) => Reason = reason;

    public OraclePushSkippedException() => Reason = "";

    public OraclePushSkippedException(string message, Exception inner) : base(message, inner) => Reason = message;

    /// <summary>The executor's reason.</summary>
    public string Reason { get; }
}

/// <summary>
/// <see cref="IOracleTxSender"/> over the keeper's <see cref="TxExecutor"/>: every push is a journaled intent
/// ("oracle-push"), sent with the executor's nonce discipline, fee policy and replacement; this waits for the receipt
/// of whichever attempt (original or replacement) gets mined.
/// </summary>
public sealed class ExecutorOracleTxSender : IOracleTxSender
{
    private readonly TxExecutor _executor;
    private readonly IEthClient _eth;
    private readonly ExecutorOracleTxOptions _options;
    private readonly TimeProvider _time;

    public ExecutorOracleTxSender(TxExecutor executor, IEthClient eth, ExecutorOracleTxOptions? options = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(executor);
        ArgumentNullException.ThrowIfNull(eth);
        _executor = executor;
        _eth = eth;
        _options = options ?? new ExecutorOracleTxOptions();
        if (!(_options.GasMultiplier >= 1.0) || double.IsInfinity(_options.GasMultiplier))
            throw new ArgumentException("GasMultiplier must be a finite number >= 1.", nameof(options));
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <inheritdoc />
    public Address Sender => _executor.Sender;

    /// <inheritdoc />
    public async Task<TransactionReceipt> SendAndWaitAsync(ContractTx tx, CancellationToken cancellationToken)
    {
        ulong head = await _eth.BlockNumberAsync(cancellationToken).ConfigureAwait(false);
        ulong estimate = await _eth.EstimateGasAsync(tx.ToCallRequest(Sender), null, cancellationToken).ConfigureAwait(false);
        ulong gas = Math.Max(estimate, (ulong)Math.Ceiling(estimate * _options.GasMultiplier));
        var intent = new ExecutionIntent(Guid.NewGuid().ToString("N"), "oracle-push", [], _options.FeeBudgetWei, _time.GetUtcNow(), head);
        SubmitResult submitted = await _executor.SubmitAsync(intent, tx, gas, _options.FeeBudgetWei, cancellationToken).ConfigureAwait(false);
        if (submitted.TxHash is not { } first) throw new OraclePushSkippedException(submitted.Reason ?? submitted.State.ToString());

        var hashes = new HashSet<Hash32> { first };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.ReceiptTimeout);
        ulong lastDriven = head;
        try
        {
            while (true)
            {
                foreach (TrackedTransaction t in _executor.InFlight)
                    if (t.IntentId == intent.Id) hashes.Add(t.LatestHash);
                foreach (Hash32 h in hashes)
                {
                    TransactionReceipt? receipt = await _eth.GetTransactionReceiptAsync(h, timeout.Token).ConfigureAwait(false);
                    if (receipt is null) continue;
                    if (_options.DriveBlocks) await _executor.OnNewBlockAsync(receipt.BlockNumber, timeout.Token).ConfigureAwait(false);
                    if (receipt.Succeeded) return receipt;
                    byte[]? revert = await ReplayAsync(tx, receipt.BlockNumber, timeout.Token).ConfigureAwait(false);
                    throw new TransactionRevertedException(receipt, tx.Signature, revert);
                }
                if (_options.DriveBlocks)
                {
                    ulong now = await _eth.BlockNumberAsync(timeout.Token).ConfigureAwait(false);
                    if (now > lastDriven)
                    {
                        await _executor.OnNewBlockAsync(now, timeout.Token).ConfigureAwait(false);
                        lastDriven = now;
                    }
                }
                await Task.Delay(_options.PollInterval, timeout.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TransactionTimeoutException(first, _options.ReceiptTimeout);
        }
    }

    private async Task<byte[]?> ReplayAsync(ContractTx tx, ulong block, CancellationToken cancellationToken)
    {
        try
        {
            await _eth.CallAsync(tx.ToCallRequest(Sender), BlockTag.Number(block == 0 ? 0 : block - 1), cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (RpcException ex) when (ex.IsExecutionReverted || ex.RevertData is not null)
        {
            return ex.RevertData;
        }
    }
}
