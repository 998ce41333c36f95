using System.Threading.Channels;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Abi;
using CrossMargin.Ethereum.Contracts;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Ethereum.Transactions;
using CrossMargin.Keeper.Monitoring;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CrossMargin.Keeper.Execution;

/// <summary>The result of <see cref="TxExecutor.SubmitAsync"/>.</summary>
/// <param name="SentTimestamp">Stopwatch timestamp of the moment the node's answer to the send arrived (0 when not sent).</param>
public sealed record SubmitResult(string IntentId, IntentState State, Hash32? TxHash, ulong? Nonce, string? Reason, long SentTimestamp = 0);

/// <summary>A nonce the executor is watching.</summary>
public sealed record TrackedTransaction(ulong Nonce, string? IntentId, AttemptKind Kind, Hash32 LatestHash, int Attempts, ulong LastSentBlock, bool CancelRequested);

/// <summary>
/// Sends keeper transactions and sees them through: simulate (eth_call against latest state) → sign → journal → send;
/// then, on every block the caller reports (<see cref="OnNewBlockAsync"/>), look for receipts, replace with bumped fees
/// after <see cref="ExecutionOptions.ReplaceAfterBlocks"/> blocks (never above the opportunity's affordable fee), cancel
/// when asked, fill nonce gaps, and report outcomes on <see cref="Outcomes"/>. One bad RPC answer never kills it: errors
/// are logged, counted and retried on the next block. Calls are serialised; one signer per executor.
/// </summary>
public sealed partial class TxExecutor : IAsyncDisposable
{
    private readonly IEthClient _eth;
    private readonly ITxSigner _signer;
    private readonly NonceManager _nonces;
    private readonly FeeEstimator _fees;
    private readonly TxJournal _journal;
    private readonly ExecutionOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ExecutionMetrics _metrics;
    private readonly ContractAbi? _abi;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly SortedDictionary<ulong, Tracked> _tracked = [];
    private readonly Channel<ExecutionOutcome> _outcomes =
        Channel.CreateBounded<ExecutionOutcome>(new BoundedChannelOptions(4096) { FullMode = BoundedChannelFullMode.DropOldest });
    private ulong _chainId;
    private ulong _head;
    private BlockReads? _prefetched;
    private bool _simulateUnsupported;
    private bool _started;
    private bool _disposed;

    /// <param name="revertAbi">Errors of the target contracts, to decode custom revert reasons (optional).</param>
    public TxExecutor(IEthClient eth, ITxSigner signer, NonceManager nonces, FeeEstimator fees, TxJournal journal, ExecutionOptions options,
        TimeProvider? timeProvider = null, ILogger<TxExecutor>? logger = null, ExecutionMetrics? metrics = null, ContractAbi? revertAbi = null)
    {
        ArgumentNullException.ThrowIfNull(eth);
        ArgumentNullException.ThrowIfNull(signer);
        ArgumentNullException.ThrowIfNull(nonces);
        ArgumentNullException.ThrowIfNull(fees);
        ArgumentNullException.ThrowIfNull(journal);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _eth = eth;
        _signer = signer;
        _nonces = nonces;
        _fees = fees;
        _journal = journal;
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _metrics = metrics ?? new ExecutionMetrics();
        _abi = revertAbi;
    }

    public Address Sender => _signer.Address;

    /// <summary>True once <see cref="StartAsync"/> has completed (submissions are accepted).</summary>
    public bool Started => Volatile.Read(ref _started);

    /// <summary>Outcomes for metrics (bounded; the oldest are dropped when nobody reads).</summary>
    public ChannelReader<ExecutionOutcome> Outcomes => _outcomes.Reader;

    /// <summary>
    /// Sum of the gas limits of our transactions not mined yet: block space they will take before anything new. Read
    /// without waiting (updated whenever the executor's state changes).
    /// </summary>
    public ulong PendingGas => Volatile.Read(ref _pendingGas);

    private ulong _pendingGas;

    /// <summary>Updates <see cref="PendingGas"/> and releases the gate (callers hold it).</summary>
    private void ReleaseGate()
    {
        ulong sum = 0;
        foreach (var t in _tracked.Values) sum += t.Attempts[^1].GasLimit;
        Volatile.Write(ref _pendingGas, sum);
        _gate.Release();
    }

    /// <summary>Nonces in flight.</summary>
    public IReadOnlyList<TrackedTransaction> InFlight
    {
        get
        {
            _gate.Wait();
            try
            {
                return _tracked.Values.Select(t => new TrackedTransaction(t.Nonce, t.IntentId, t.Kind, t.Attempts[^1].Hash, t.Attempts.Count, t.LastSentBlock, t.CancelRequested)).ToArray();
            }
            finally
            {
                ReleaseGate();
            }
        }
    }

    /// <summary>The journal every intent and transaction is written to.</summary>
    public TxJournal Journal => _journal;

    /// <summary>The journaled intent with that id, or null.</summary>
    public ExecutionIntent? FindIntent(string intentId) => _journal.GetIntent(intentId)?.Intent;

    /// <summary>Reads chain id and head, reconciles the journal with the chain, and synchronises nonces.</summary>
    public async Task<ReconcileReport> StartAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _chainId = await _eth.ChainIdAsync(cancellationToken).ConfigureAwait(false);
            _head = await _eth.BlockNumberAsync(cancellationToken).ConfigureAwait(false);
            var reconciler = new JournalReconciler(_eth, _journal, _nonces, _time, _logger);
            var report = await reconciler.ReconcileAsync(Sender, cancellationToken).ConfigureAwait(false);
            foreach (var o in report.Outcomes) Publish(o);
            _tracked.Clear();
            foreach (var pending in report.StillPending)
            {
                var intent = pending.IntentId is { } id ? _journal.GetIntent(id) : null;
                var last = pending.Attempts[^1];
                _tracked[pending.Nonce] = new Tracked(pending.Nonce, pending.IntentId, pending.Attempts[0].Kind,
                    intent?.Intent.ExpectedReward ?? UInt256.Zero, last.GasLimit, pending.Attempts.ToList())
                {
                    LastSentBlock = pending.Attempts.Max(a => a.SentBlock ?? _head),
                };
            }
            _started = true;
            ulong next = _nonces.PeekNext(Sender);
            LogStarted(_logger, Sender, _chainId, _head, _tracked.Count, next);
            return report;
        }
        finally
        {
            ReleaseGate();
        }
    }

    /// <summary>
    /// Records the intent, simulates <paramref name="call"/>, and sends it with a fresh nonce. A revert in simulation
    /// skips the intent (nothing sent). Fees are capped so that gasLimit * maxFee stays within the configured share of
    /// <paramref name="opportunityValue"/>.
    /// </summary>
    public async Task<SubmitResult> SubmitAsync(ExecutionIntent intent, ContractTx call, ulong gasLimit, UInt256 opportunityValue, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(intent);
        ArgumentOutOfRangeException.ThrowIfZero(gasLimit);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            EnsureStarted();
            using var scope = _logger.BeginScope(new Dictionary<string, object> { ["IntentId"] = intent.Id, ["Call"] = call.Signature });
            _journal.RecordIntent(intent);
            ObserveDetectedBlock(intent);

            if (_options.SimulateBeforeSend)
            {
                try
                {
                    using var span = KeeperTracing.Start(KeeperTracing.Simulate);
                    var request = call.ToCallRequest(Sender) with { Gas = gasLimit };
                    await _eth.CallAsync(request, BlockTag.Latest, cancellationToken).ConfigureAwait(false);
                }
                catch (RpcException ex) when (ex.IsExecutionReverted)
                {
                    string reason = AbiRevert.Decode(ex.RevertData ?? [], _abi).ToString();
                    return Skip(intent, "simulation reverted: " + reason);
                }
                catch (RpcClientException ex)
                {
                    _metrics.Error("simulate");
                    return Fail(intent, "simulation failed: " + ex.Message);
                }
            }

            FeeEstimate estimate;
            try
            {
                estimate = await _fees.EstimateAtAsync(_head, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RpcClientException or InvalidOperationException)
            {
                _metrics.Error("fees");
                return Fail(intent, "fee estimation failed: " + ex.Message);
            }
            var (maxFee, tip) = CappedFees(estimate, opportunityValue, gasLimit);
            if (maxFee < estimate.NextBaseFee)
                return Skip(intent, $"unprofitable: affordable max fee {maxFee} is below the next base fee {estimate.NextBaseFee}");

            var tracked = new Tracked(0, intent.Id, AttemptKind.Original, opportunityValue, gasLimit, []) { Call = call };
            for (int round = 0; round < 2; round++)
            {
                var lease = _nonces.Reserve(Sender);
                var tx = UnsignedTransaction.Eip1559(_chainId, lease.Nonce, tip, maxFee, gasLimit, call.To, call.Value, call.Data);
                var (attempt, result) = await SignJournalSendAsync(tx, intent.Id, AttemptKind.Original, lease, cancellationToken).ConfigureAwait(false);
                if (result == SendResult.Accepted || result == SendResult.Unknown)
                {
                    _tracked[lease.Nonce] = tracked with { Nonce = lease.Nonce, Attempts = [attempt], LastSentBlock = _head };
                    _journal.UpdateIntent(intent.Id, IntentState.Sent);
                    Publish(new ExecutionOutcome(ExecutionOutcomeKind.Sent, intent.Id, attempt.Hash, lease.Nonce, _time.GetUtcNow()));
                    return new SubmitResult(intent.Id, IntentState.Sent, attempt.Hash, lease.Nonce, null);
                }
                if (result != SendResult.NonceTooLow) return Fail(intent, "send refused: " + attempt.Error);
                await ResyncAsync(cancellationToken).ConfigureAwait(false);
            }
            return Fail(intent, "send refused: nonce too low after resynchronisation");
        }
        catch (TxJournalException)
        {
            throw; // nothing may be sent without a journal: the caller must stop
        }
        finally
        {
            ReleaseGate();
        }
    }

    /// <summary>Reads of one block queued in a shared batch: the sender's mined nonce and the receipts of every attempt in flight.</summary>
    /// <summary>
    /// Simulates the submissions in order in one simulated block (eth_simulateV1): each sees the state the previous ones
    /// leave, as our transactions with consecutive nonces would in one block, and reports its gas, which becomes the gas
    /// limit (plus a margin covering refunds, never above the planned limit: blocks are packed by gas limit). False when
    /// the node does not offer eth_simulateV1 (or it failed): the caller falls back to eth_call.
    /// </summary>
    private async Task<bool> SimulateInOrderAsync(IRpcClient rpc, IReadOnlyList<Submission> items, SubmitResult?[] results, ulong[] gasLimits,
        CancellationToken cancellationToken)
    {
        SimulatedCall[] simulated;
        try
        {
            simulated = await rpc.RequestAsync(SimulateRequests.SimulateBlock(
                [.. items.Select(i => i.Call.ToCallRequest(Sender) with { Gas = i.GasLimit })], BlockTag.Latest), cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException ex) when (ex.Code is -32601 or -32602 or -32600)
        {
            _simulateUnsupported = true;
            LogSimulateUnsupported(_logger, ex.RpcMessage);
            return false;
        }
        catch (RpcClientException ex)
        {
            _metrics.Error("simulate");
            LogStepFailed(_logger, "simulate", 0, ex.Message);
            return false;
        }
        for (int k = 0; k < items.Count; k++)
        {
            SimulatedCall c = simulated[k];
            if (!c.Success)
            {
                results[k] = Skip(items[k].Intent, "simulation reverted: " + AbiRevert.Decode(c.RevertData, _abi).ToString()
                    + (c.Error is { } e ? $" ({e})" : ""));
                continue;
            }
            ulong limit = checked(c.GasUsed + (c.GasUsed * (ulong)_options.GasEstimateMarginBps / 10_000UL) + 20_000UL);
            if (limit < gasLimits[k]) gasLimits[k] = limit;
        }
        return true;
    }

    private sealed record BlockReads(ulong Block, Task<ulong> Nonce, Dictionary<Hash32, Task<TransactionReceipt?>> Receipts);

    /// <summary>
    /// Adds this block's executor reads (mined nonce, receipts of the transactions in flight) to <paramref name="batch"/>,
    /// so that they travel with the keeper's other reads of the block; <see cref="OnNewBlockAsync"/> then uses them
    /// instead of its own calls. Nothing is added while nothing is in flight.
    /// </summary>
    public void QueueBlockReads(IRpcBatch batch, ulong blockNumber)
    {
        ArgumentNullException.ThrowIfNull(batch);
        _gate.Wait();
        try
        {
            if (!_started || _disposed) return;
            if (blockNumber > _head) _head = blockNumber;
            _prefetched = null;
            if (_tracked.Count == 0) return;
            var receipts = new Dictionary<Hash32, Task<TransactionReceipt?>>();
            foreach (var t in _tracked.Values)
            {
                foreach (var a in t.Attempts) receipts.TryAdd(a.Hash, batch.Add(EthRequests.GetTransactionReceipt(a.Hash)));
            }
            _prefetched = new BlockReads(blockNumber, batch.Add(EthRequests.GetTransactionCount(Sender, BlockTag.Latest)), receipts);
        }
        finally
        {
            ReleaseGate();
        }
    }

    /// <summary>Where the time of one <see cref="SubmitBatchAsync"/> went (milliseconds).</summary>
    public readonly record struct SubmitTimings(int Items, int Sent, double SimulateMs, double SignMs, double JournalMs, double SendMs);

    /// <summary>Phases of the last <see cref="SubmitBatchAsync"/> (for benchmarks and diagnostics).</summary>
    public SubmitTimings? LastSubmitTimings { get; private set; }

    private static double Ms(long from, long to) => (to - from) * 1000.0 / System.Diagnostics.Stopwatch.Frequency;

    /// <summary>One transaction to submit with <see cref="SubmitBatchAsync"/>.</summary>
    public sealed record Submission(ExecutionIntent Intent, ContractTx Call, ulong GasLimit, UInt256 OpportunityValue);

    /// <summary>
    /// <see cref="SubmitAsync"/> for several intents at once, in order: every simulation goes in one batch, the passing
    /// transactions get consecutive nonces, are signed and journaled, and go out in one more batch. Falls back to one by one
    /// when the client cannot batch.
    /// </summary>
    public async Task<IReadOnlyList<SubmitResult>> SubmitBatchAsync(IReadOnlyList<Submission> items, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (items.Count == 0) return [];
        if (_eth.Rpc is not { } rpc)
        {
            var one = new List<SubmitResult>(items.Count);
            foreach (var i in items) one.Add(await SubmitAsync(i.Intent, i.Call, i.GasLimit, i.OpportunityValue, cancellationToken).ConfigureAwait(false));
            return one;
        }
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            EnsureStarted();
            var results = new SubmitResult?[items.Count];
            foreach (var i in items)
            {
                _journal.RecordIntent(i.Intent);
                ObserveDetectedBlock(i.Intent);
            }

            long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            ulong[] gasLimits = [.. items.Select(i => i.GasLimit)];
            if (_options.SimulateBeforeSend && !(_options.EstimateGasLimit && !_simulateUnsupported
                && await SimulateInOrderAsync(rpc, items, results, gasLimits, cancellationToken).ConfigureAwait(false)))
            {
                var sim = rpc.StartBatch();
                Task<byte[]>[] calls = [.. items.Select(i => sim.Add(EthRequests.Call(i.Call.ToCallRequest(Sender) with { Gas = i.GasLimit }, BlockTag.Latest)))];
                try
                {
                    using var span = KeeperTracing.Start(KeeperTracing.Simulate);
                    await sim.SendAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (RpcClientException)
                {
                    // every call carries the error; handled below
                }
                for (int k = 0; k < items.Count; k++)
                {
                    if (results[k] is not null) continue;
                    try
                    {
                        await calls[k].ConfigureAwait(false);
                    }
                    catch (RpcException ex) when (ex.IsExecutionReverted)
                    {
                        results[k] = Skip(items[k].Intent, "simulation reverted: " + AbiRevert.Decode(ex.RevertData ?? [], _abi).ToString());
                    }
                    catch (RpcClientException ex)
                    {
                        _metrics.Error("simulate");
                        results[k] = Fail(items[k].Intent, "simulation failed: " + ex.Message);
                    }
                }
            }

            FeeEstimate estimate;
            try
            {
                estimate = await _fees.EstimateAtAsync(_head, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RpcClientException or InvalidOperationException)
            {
                _metrics.Error("fees");
                for (int k = 0; k < items.Count; k++) results[k] ??= Fail(items[k].Intent, "fee estimation failed: " + ex.Message);
                return results!;
            }

            // nonces in order, signatures in parallel, then journal everything before one send batch
            var unsigned = new List<(int Index, UnsignedTransaction Tx, NonceLease Lease)>();
            for (int k = 0; k < items.Count; k++)
            {
                if (results[k] is not null) continue;
                var item = items[k];
                var (maxFee, tip) = CappedFees(estimate, item.OpportunityValue, gasLimits[k]);
                if (maxFee < estimate.NextBaseFee)
                {
                    results[k] = Skip(item.Intent, $"unprofitable: affordable max fee {maxFee} is below the next base fee {estimate.NextBaseFee}");
                    continue;
                }
                var lease = _nonces.Reserve(Sender);
                unsigned.Add((k, UnsignedTransaction.Eip1559(_chainId, lease.Nonce, tip, maxFee, gasLimits[k], item.Call.To, item.Call.Value, item.Call.Data), lease));
            }
            long t1 = System.Diagnostics.Stopwatch.GetTimestamp();
            var signed = new SignedTransaction[unsigned.Count];
            try
            {
                using var span = KeeperTracing.Start(KeeperTracing.Sign);
                if (unsigned.Count > 1)
                {
                    await Parallel.ForAsync(0, unsigned.Count, cancellationToken,
                        async (j, ct) => signed[j] = await _signer.SignAsync(unsigned[j].Tx, ct).ConfigureAwait(false)).ConfigureAwait(false);
                }
                else if (unsigned.Count == 1)
                {
                    signed[0] = await _signer.SignAsync(unsigned[0].Tx, cancellationToken).ConfigureAwait(false);
                }
            }
            catch
            {
                // nothing journaled yet: every nonce goes back, highest first
                for (int j = unsigned.Count - 1; j >= 0; j--) unsigned[j].Lease.Release();
                throw;
            }
            long t2 = System.Diagnostics.Stopwatch.GetTimestamp();
            var pending = new List<(int Index, TxAttempt Attempt, NonceLease Lease)>();
            var attempts = new TxAttempt[unsigned.Count];
            for (int j = 0; j < unsigned.Count; j++)
            {
                var (k, tx, _) = unsigned[j];
                attempts[j] = NewAttempt(tx, signed[j], items[k].Intent.Id, AttemptKind.Original);
            }
            try
            {
                // all or nothing, one commit: nothing is sent unless every attempt is journaled
                _journal.RunInTransaction(() =>
                {
                    foreach (TxAttempt attempt in attempts) _journal.RecordAttempt(attempt);
                });
            }
            catch
            {
                for (int j = unsigned.Count - 1; j >= 0; j--) unsigned[j].Lease.Release();
                throw;
            }
            try
            {
                for (int j = 0; j < unsigned.Count; j++)
                {
                    unsigned[j].Lease.Commit();
                    pending.Add((unsigned[j].Index, attempts[j], unsigned[j].Lease));
                }
            }
            finally
            {
                // anything journaled is tracked, even when a later item failed, so it is settled or re-broadcast
                foreach (var (k, attempt, _) in pending)
                {
                    var item = items[k];
                    _tracked[attempt.Nonce] = new Tracked(attempt.Nonce, item.Intent.Id, AttemptKind.Original, item.OpportunityValue, attempt.GasLimit, [attempt])
                    {
                        Call = item.Call,
                        LastSentBlock = _head,
                    };
                }
            }

            long t3 = System.Diagnostics.Stopwatch.GetTimestamp();
            var send = rpc.StartBatch();
            var sends = pending.Select(p => send.Add(EthRequests.SendRawTransaction(p.Attempt.Raw))).ToArray();
            try
            {
                using var span = KeeperTracing.Start(KeeperTracing.Send);
                await send.SendAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (RpcClientException)
            {
                // each send carries the error; handled below
            }
            long answered = System.Diagnostics.Stopwatch.GetTimestamp();
            bool resync = false;
            for (int j = 0; j < pending.Count; j++)
            {
                var (k, attempt, _) = pending[j];
                var item = items[k];
                var (result, error) = await CompleteBroadcastAsync(attempt, sends[j]).ConfigureAwait(false);
                var tracked = _tracked[attempt.Nonce];
                if (result is SendResult.Accepted or SendResult.Unknown)
                {
                    if (result == SendResult.Accepted) tracked.Attempts[0] = attempt with { State = AttemptState.Sent, SentAt = _time.GetUtcNow() };
                    _journal.UpdateIntent(item.Intent.Id, IntentState.Sent);
                    Publish(new ExecutionOutcome(ExecutionOutcomeKind.Sent, item.Intent.Id, attempt.Hash, attempt.Nonce, _time.GetUtcNow()));
                    results[k] = new SubmitResult(item.Intent.Id, IntentState.Sent, attempt.Hash, attempt.Nonce, null, answered);
                }
                else
                {
                    // refused: the nonce goes back (a later accepted one leaves a gap the next block fills)
                    _tracked.Remove(attempt.Nonce);
                    _nonces.Release(Sender, attempt.Nonce);
                    resync |= result == SendResult.NonceTooLow;
                    results[k] = Fail(item.Intent, "send refused: " + error);
                }
            }
            if (resync) await ResyncAsync(cancellationToken).ConfigureAwait(false);
            long t4 = System.Diagnostics.Stopwatch.GetTimestamp();
            LastSubmitTimings = new SubmitTimings(items.Count, pending.Count, Ms(t0, t1), Ms(t1, t2), Ms(t2, t3), Ms(t3, t4));
            return results!;
        }
        catch (TxJournalException)
        {
            throw;
        }
        finally
        {
            ReleaseGate();
        }
    }

    /// <summary>Asks to cancel the intent's transaction (opportunity gone). Returns false when nothing is in flight for it.</summary>
    public async Task<bool> CancelAsync(string intentId, string reason, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(intentId);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            EnsureStarted();
            var tracked = _tracked.Values.FirstOrDefault(t => t.IntentId == intentId);
            if (tracked is null) return false;
            tracked.CancelRequested = true;
            LogCancelRequested(_logger, intentId, tracked.Nonce, reason);
            try
            {
                await SendCancelAsync(tracked, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RpcClientException or InvalidOperationException)
            {
                _metrics.Error("cancel");
                LogStepFailed(_logger, "cancel", tracked.Nonce, ex.Message);
            }
            return true;
        }
        finally
        {
            ReleaseGate();
        }
    }

    /// <summary>Per-block work: receipts, replacements, cancellations, re-broadcasts, gap fills. Never throws for RPC errors.</summary>
    public async Task OnNewBlockAsync(ulong blockNumber, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            EnsureStarted();
            if (blockNumber > _head) _head = blockNumber;
            BlockReads? reads = _prefetched;
            // reads queued for a later block (the indexer is ahead of the caller) stay for that block
            if (reads is null || reads.Block <= blockNumber) _prefetched = null;
            if (reads is not null && reads.Block != blockNumber) reads = null;
            if (_tracked.Count == 0 && !_nonces.Gaps(Sender).Any()) return; // nothing in flight: nothing to read
            ulong latestCount;
            try
            {
                latestCount = reads is not null && reads.Nonce.IsCompletedSuccessfully
                    ? reads.Nonce.Result
                    : await _eth.GetTransactionCountAsync(Sender, BlockTag.Latest, cancellationToken).ConfigureAwait(false);
            }
            catch (RpcClientException ex)
            {
                _metrics.Error("nonce");
                LogStepFailed(_logger, "nonce", 0, ex.Message);
                return;
            }
            _nonces.MarkMined(Sender, latestCount);
            var replacements = new List<PlannedReplacement>();
            foreach (var tracked in _tracked.Values.ToList())
            {
                try
                {
                    await ProcessAsync(tracked, latestCount, reads, replacements, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is RpcClientException or InvalidOperationException)
                {
                    _metrics.Error("track");
                    LogStepFailed(_logger, "track", tracked.Nonce, ex.Message);
                }
            }
            try
            {
                await SendReplacementsAsync(replacements, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RpcClientException or InvalidOperationException)
            {
                _metrics.Error("replace");
                LogStepFailed(_logger, "replace", replacements.Count == 0 ? 0 : replacements[0].Tracked.Nonce, ex.Message);
            }
            foreach (ulong gap in _nonces.Gaps(Sender))
            {
                try
                {
                    await FillGapAsync(gap, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is RpcClientException or InvalidOperationException)
                {
                    _metrics.Error("gap");
                    LogStepFailed(_logger, "gap", gap, ex.Message);
                }
            }
        }
        finally
        {
            ReleaseGate();
        }
    }

    private async Task ProcessAsync(Tracked tracked, ulong latestCount, BlockReads? reads, List<PlannedReplacement> replacements, CancellationToken ct)
    {
        using var scope = _logger.BeginScope(new Dictionary<string, object> { ["IntentId"] = tracked.IntentId ?? "-", ["Nonce"] = tracked.Nonce });
        // A nonce at or above the mined count cannot have a receipt yet (unless that count came from a lagging node:
        // then the next block finds it). Below it, look for the receipt of every attempt.
        bool mayBeMined = tracked.Nonce < latestCount;
        for (int i = tracked.Attempts.Count - 1; i >= 0 && mayBeMined; i--)
        {
            Hash32 hash = tracked.Attempts[i].Hash;
            var receipt = reads is not null && reads.Receipts.TryGetValue(hash, out var prefetched) && prefetched.IsCompletedSuccessfully
                ? prefetched.Result
                : await _eth.GetTransactionReceiptAsync(hash, ct).ConfigureAwait(false);
            if (receipt is null) continue;
            var outcome = Settlement.Mined(_journal, tracked.Attempts, receipt, _time.GetUtcNow());
            _tracked.Remove(tracked.Nonce);
            LogMined(_logger, tracked.Nonce, receipt.TransactionHash, outcome.Kind, receipt.BlockNumber, receipt.GasUsed);
            Publish(outcome);
            return;
        }
        if (tracked.Nonce < latestCount)
        {
            // Receipts may lag the nonce on load-balanced endpoints; only conclude after a block of grace.
            if (!tracked.NonceUsedSeen)
            {
                tracked.NonceUsedSeen = true;
                return;
            }
            var outcome = Settlement.Dropped(_journal, tracked.Attempts, _time.GetUtcNow());
            _tracked.Remove(tracked.Nonce);
            LogDropped(_logger, tracked.Nonce);
            Publish(outcome);
            return;
        }
        var last = tracked.Attempts[^1];
        if (last.State == AttemptState.Signed)
        {
            // Sending was interrupted (transport error): re-broadcast the same bytes.
            var (result, _) = await BroadcastAsync(last, ct).ConfigureAwait(false);
            if (result == SendResult.Accepted)
            {
                tracked.Attempts[^1] = last with { State = AttemptState.Sent };
                tracked.LastSentBlock = _head;
            }
            return;
        }
        if (tracked.CancelRequested && last.Kind != AttemptKind.Cancel)
        {
            if (await PrepareCancelAsync(tracked, ct).ConfigureAwait(false) is { } cancel) replacements.Add(cancel);
            return;
        }
        if (_head >= tracked.LastSentBlock + (ulong)_options.ReplaceAfterBlocks)
        {
            if (await PrepareReplacementAsync(tracked, ct).ConfigureAwait(false) is { } bump) replacements.Add(bump);
        }
    }

    /// <summary>A replacement (fee bump or cancellation) decided while reviewing a block, sent with the block's others.</summary>
    private sealed record PlannedReplacement(Tracked Tracked, UnsignedTransaction Tx, AttemptKind Kind);

    /// <summary>The fee-bumped replacement of a transaction waiting too long; null when the fee cap is reached.</summary>
    private async Task<PlannedReplacement?> PrepareReplacementAsync(Tracked tracked, CancellationToken ct)
    {
        var last = tracked.Attempts[^1];
        var estimate = await _fees.EstimateAtAsync(_head, ct).ConfigureAwait(false);
        bool cancel = last.Kind == AttemptKind.Cancel;
        ulong gas = last.GasLimit;
        UInt256 cap = cancel || last.Kind == AttemptKind.GapFill
            ? _options.Fees.MaxFeeCap
            : FeeBump.AffordableMaxFee(tracked.OpportunityValue, _options.MaxFeeShareOfValueBps, gas, _options.Fees.MaxFeeCap);
        var fees = FeeBump.Next(last.MaxPriorityFeePerGas, last.MaxFeePerGas, estimate, _options.FeeBumpBps, cap);
        if (fees is null)
        {
            LogCapReached(_logger, tracked.Nonce, last.MaxFeePerGas, cap);
            tracked.LastSentBlock = _head; // wait another window before re-checking
            return null;
        }
        var tx = last.Kind is AttemptKind.Cancel or AttemptKind.GapFill
            ? SelfTransfer(tracked.Nonce, fees.Value.Tip, fees.Value.MaxFee)
            : UnsignedTransaction.Eip1559(_chainId, tracked.Nonce, fees.Value.Tip, fees.Value.MaxFee, gas, tracked.Call?.To ?? TxTo(last), last.Value, TxData(last));
        var kind = last.Kind is AttemptKind.Cancel or AttemptKind.GapFill ? last.Kind : AttemptKind.Replacement;
        return new PlannedReplacement(tracked, tx, kind);
    }

    /// <summary>The 0-value self-transfer that takes the nonce of a transaction being cancelled; null when already cancelling.</summary>
    private async Task<PlannedReplacement?> PrepareCancelAsync(Tracked tracked, CancellationToken ct)
    {
        var last = tracked.Attempts[^1];
        if (last.Kind == AttemptKind.Cancel) return null;
        var estimate = await _fees.EstimateAtAsync(_head, ct).ConfigureAwait(false);
        var fees = FeeBump.Next(last.MaxPriorityFeePerGas, last.MaxFeePerGas, estimate, _options.FeeBumpBps, _options.Fees.MaxFeeCap)
            ?? throw new InvalidOperationException($"cannot cancel nonce {tracked.Nonce}: the bumped fee would exceed the fee cap");
        return new PlannedReplacement(tracked, SelfTransfer(tracked.Nonce, fees.Tip, fees.MaxFee), AttemptKind.Cancel);
    }

    private async Task SendCancelAsync(Tracked tracked, CancellationToken ct)
    {
        if (await PrepareCancelAsync(tracked, ct).ConfigureAwait(false) is { } cancel)
            await SendReplacementAsync(cancel.Tracked, cancel.Tx, cancel.Kind, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// A block's replacements: over a batching transport all signed, journaled in one transaction and sent in one batch
    /// (one round trip however many transactions wait for block space); otherwise one by one.
    /// </summary>
    private async Task SendReplacementsAsync(List<PlannedReplacement> replacements, CancellationToken ct)
    {
        if (replacements.Count == 0) return;
        if (replacements.Count == 1 || _eth.Rpc is not { } rpc)
        {
            foreach (PlannedReplacement r in replacements)
            {
                try
                {
                    await SendReplacementAsync(r.Tracked, r.Tx, r.Kind, ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is RpcClientException or InvalidOperationException)
                {
                    _metrics.Error("replace");
                    LogStepFailed(_logger, "replace", r.Tracked.Nonce, ex.Message);
                }
            }
            return;
        }
        var attempts = new TxAttempt[replacements.Count];
        using (KeeperTracing.Start(KeeperTracing.Sign))
        {
            for (int i = 0; i < replacements.Count; i++)
            {
                PlannedReplacement r = replacements[i];
                attempts[i] = NewAttempt(r.Tx, await _signer.SignAsync(r.Tx, ct).ConfigureAwait(false), r.Tracked.IntentId, r.Kind);
            }
        }
        // journaled before anything is sent, in one commit
        _journal.RunInTransaction(() =>
        {
            foreach (TxAttempt attempt in attempts) _journal.RecordAttempt(attempt);
        });
        var batch = rpc.StartBatch();
        Task<Hash32>[] sends = [.. attempts.Select(a => batch.Add(EthRequests.SendRawTransaction(a.Raw)))];
        try
        {
            using var span = KeeperTracing.Start(KeeperTracing.Send);
            await batch.SendAsync(ct).ConfigureAwait(false);
        }
        catch (RpcClientException)
        {
            // each send carries the error; handled below
        }
        for (int i = 0; i < attempts.Length; i++)
        {
            var (result, error) = await CompleteBroadcastAsync(attempts[i], sends[i]).ConfigureAwait(false);
            PlannedReplacement r = replacements[i];
            AfterReplacement(r.Tracked, AfterBroadcast(attempts[i], result, error, lease: null), result, r.Tx, r.Kind);
        }
    }

    private async Task SendReplacementAsync(Tracked tracked, UnsignedTransaction tx, AttemptKind kind, CancellationToken ct)
    {
        var (attempt, result) = await SignJournalSendAsync(tx, tracked.IntentId, kind, lease: null, ct).ConfigureAwait(false);
        AfterReplacement(tracked, attempt, result, tx, kind);
    }

    private void AfterReplacement(Tracked tracked, TxAttempt attempt, SendResult result, UnsignedTransaction tx, AttemptKind kind)
    {
        switch (result)
        {
            case SendResult.Accepted:
            case SendResult.Unknown:
                var previous = tracked.Attempts[^1];
                tracked.Attempts.Add(attempt);
                tracked.LastSentBlock = _head;
                LogReplaced(_logger, tracked.Nonce, previous.Hash, attempt.Hash, kind, tx.MaxPriorityFeePerGas, tx.MaxFeePerGas);
                Publish(new ExecutionOutcome(ExecutionOutcomeKind.Replaced, tracked.IntentId, attempt.Hash, tracked.Nonce, _time.GetUtcNow(),
                    Reason: kind == AttemptKind.Cancel ? "cancel" : "fee bump"));
                break;
            case SendResult.NonceTooLow:
                // One of our attempts (or someone else's) was mined meanwhile: the next block settles it.
                tracked.LastSentBlock = _head;
                break;
            default:
                tracked.LastSentBlock = _head;
                LogStepFailed(_logger, "replace", tracked.Nonce, attempt.Error ?? result.ToString());
                break;
        }
    }

    private async Task FillGapAsync(ulong nonce, CancellationToken ct)
    {
        if (_tracked.ContainsKey(nonce)) return;
        var lease = _nonces.Reserve(Sender);
        if (lease.Nonce != nonce)
        {
            lease.Release();
            return;
        }
        var estimate = await _fees.EstimateAtAsync(_head, ct).ConfigureAwait(false);
        var (attempt, result) = await SignJournalSendAsync(SelfTransfer(nonce, estimate.MaxPriorityFeePerGas, estimate.MaxFeePerGas), null, AttemptKind.GapFill, lease, ct)
            .ConfigureAwait(false);
        if (result is SendResult.Accepted or SendResult.Unknown)
        {
            _tracked[nonce] = new Tracked(nonce, null, AttemptKind.GapFill, UInt256.Zero, attempt.GasLimit, [attempt]) { LastSentBlock = _head };
            LogGapFilled(_logger, nonce, attempt.Hash);
        }
    }

    private enum SendResult
    {
        Accepted,
        /// <summary>The transport failed: the node may or may not have it. It stays Signed and is re-broadcast.</summary>
        Unknown,
        NonceTooLow,
        Refused,
    }

    /// <summary>Signs, journals (before sending), sends. The lease (fresh nonces only) is committed or released.</summary>
    private async Task<(TxAttempt Attempt, SendResult Result)> SignJournalSendAsync(UnsignedTransaction tx, string? intentId, AttemptKind kind,
        NonceLease? lease, CancellationToken ct)
    {
        SignedTransaction signed;
        try
        {
            using var span = KeeperTracing.Start(KeeperTracing.Sign);
            signed = await _signer.SignAsync(tx, ct).ConfigureAwait(false);
        }
        catch
        {
            lease?.Release();
            throw;
        }
        var attempt = NewAttempt(tx, signed, intentId, kind);
        try
        {
            _journal.RecordAttempt(attempt);
        }
        catch
        {
            lease?.Release();
            throw;
        }
        // From here the nonce is spoken for: the journal holds bytes that may reach the chain.
        lease?.Commit();
        var (result, error) = await BroadcastAsync(attempt, ct).ConfigureAwait(false);
        return (AfterBroadcast(attempt, result, error, lease), result);
    }

    /// <summary>The attempt after its broadcast: dead when refused (a fresh nonce goes back to the pool), sent when accepted.</summary>
    private TxAttempt AfterBroadcast(TxAttempt attempt, SendResult result, string? error, NonceLease? lease)
    {
        if (result is SendResult.NonceTooLow or SendResult.Refused)
        {
            // Not accepted: the attempt is dead. A fresh nonce goes back to the pool (reused or gap-filled).
            attempt = attempt with { State = AttemptState.Dropped, Error = error };
            if (lease is not null) _nonces.Release(Sender, lease.Nonce);
        }
        else if (result == SendResult.Accepted)
        {
            attempt = attempt with { State = AttemptState.Sent, SentAt = attempt.CreatedAt };
        }
        else
        {
            attempt = attempt with { Error = error };
        }
        return attempt;
    }

    private async Task<(SendResult Result, string? Error)> BroadcastAsync(TxAttempt attempt, CancellationToken ct)
    {
        using var span = KeeperTracing.Start(KeeperTracing.Send);
        Task<Hash32> sending;
        try
        {
            sending = _eth.SendRawTransactionAsync(attempt.Raw, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            sending = Task.FromException<Hash32>(e); // a client that throws instead of returning a faulted task
        }
        return await CompleteBroadcastAsync(attempt, sending).ConfigureAwait(false);
    }

    /// <summary>The estimate's fees, the max fee capped so that gasLimit × maxFee stays within the configured share of the value.</summary>
    private (UInt256 MaxFee, UInt256 Tip) CappedFees(FeeEstimate estimate, UInt256 opportunityValue, ulong gasLimit)
    {
        UInt256 cap = FeeBump.AffordableMaxFee(opportunityValue, _options.MaxFeeShareOfValueBps, gasLimit, _options.Fees.MaxFeeCap);
        UInt256 maxFee = estimate.MaxFeePerGas > cap ? cap : estimate.MaxFeePerGas;
        return (maxFee, estimate.MaxPriorityFeePerGas > maxFee ? maxFee : estimate.MaxPriorityFeePerGas);
    }

    /// <summary>The journal record of a freshly signed transaction.</summary>
    private TxAttempt NewAttempt(UnsignedTransaction tx, SignedTransaction signed, string? intentId, AttemptKind kind)
    {
        var now = _time.GetUtcNow();
        return new TxAttempt
        {
            Hash = signed.Hash,
            IntentId = intentId,
            Sender = Sender,
            Nonce = tx.Nonce,
            Kind = kind,
            Raw = signed.ToArray(),
            MaxFeePerGas = tx.MaxFeePerGas,
            MaxPriorityFeePerGas = tx.MaxPriorityFeePerGas,
            GasLimit = tx.GasLimit,
            Value = tx.Value,
            State = AttemptState.Signed,
            CreatedAt = now,
            UpdatedAt = now,
            SentBlock = _head,
        };
    }

    /// <summary>Journals the outcome of an eth_sendRawTransaction of <paramref name="attempt"/>.</summary>
    private async Task<(SendResult Result, string? Error)> CompleteBroadcastAsync(TxAttempt attempt, Task<Hash32> sending)
    {
        try
        {
            await sending.ConfigureAwait(false);
        }
        catch (RpcException ex)
        {
            var kind = SendErrors.Classify(ex);
            if (kind == SendErrorKind.AlreadyKnown)
            {
                // the node has these exact bytes: sent
            }
            else
            {
                string error = $"{kind}: {ex.RpcMessage}";
                _journal.UpdateAttempt(attempt.Hash, AttemptState.Dropped, error: error);
                LogSendRefused(_logger, attempt.Nonce, attempt.Hash, kind, ex.RpcMessage);
                return (kind == SendErrorKind.NonceTooLow ? SendResult.NonceTooLow : SendResult.Refused, error);
            }
        }
        catch (RpcClientException ex)
        {
            _metrics.Error("send");
            LogSendUnknown(_logger, attempt.Nonce, attempt.Hash, ex.Message);
            return (SendResult.Unknown, ex.Message);
        }
        _journal.MarkSent(attempt.Hash, _head);
        return (SendResult.Accepted, null);
    }

    private async Task ResyncAsync(CancellationToken ct) =>
        await _nonces.SyncAsync(Sender, _tracked.Keys, ct).ConfigureAwait(false);

    private UnsignedTransaction SelfTransfer(ulong nonce, UInt256 tip, UInt256 maxFee) =>
        UnsignedTransaction.Eip1559(_chainId, nonce, tip, maxFee, _options.SelfTransferGas, Sender, UInt256.Zero);

    private static Address? TxTo(TxAttempt attempt) => TransactionDecoder.Decode(attempt.Raw).Transaction.To;

    private static ReadOnlyMemory<byte> TxData(TxAttempt attempt) => TransactionDecoder.Decode(attempt.Raw).Transaction.Data;

    private SubmitResult Skip(ExecutionIntent intent, string reason)
    {
        _journal.UpdateIntent(intent.Id, IntentState.Skipped, reason);
        LogSkipped(_logger, intent.Id, reason);
        Publish(new ExecutionOutcome(ExecutionOutcomeKind.Skipped, intent.Id, null, null, _time.GetUtcNow(), Reason: reason));
        return new SubmitResult(intent.Id, IntentState.Skipped, null, null, reason);
    }

    private SubmitResult Fail(ExecutionIntent intent, string reason)
    {
        _journal.UpdateIntent(intent.Id, IntentState.Failed, reason);
        LogSkipped(_logger, intent.Id, reason);
        Publish(new ExecutionOutcome(ExecutionOutcomeKind.Failed, intent.Id, null, null, _time.GetUtcNow(), Reason: reason));
        return new SubmitResult(intent.Id, IntentState.Failed, null, null, reason);
    }

    /// <summary>
    /// The chain has reached the block an intent was detected at, even when the caller reports blocks late (coalesced
    /// blocks, or the first block after a restart): the head moves there, so replacement timing counts from it.
    /// </summary>
    private void ObserveDetectedBlock(ExecutionIntent intent)
    {
        if (intent.DetectedBlock > _head) _head = intent.DetectedBlock;
    }

    private void Publish(ExecutionOutcome outcome)
    {
        _metrics.Outcome(outcome);
        _outcomes.Writer.TryWrite(outcome);
    }

    private void EnsureStarted()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_started) throw new InvalidOperationException("Call StartAsync first.");
    }

    /// <summary>Stops accepting work. In-flight transactions stay in the journal for the next start.</summary>
    public ValueTask DisposeAsync()
    {
        if (_disposed) return ValueTask.CompletedTask;
        _disposed = true;
        _outcomes.Writer.TryComplete();
        return ValueTask.CompletedTask;
    }

    private sealed record Tracked(ulong Nonce, string? IntentId, AttemptKind Kind, UInt256 OpportunityValue, ulong GasLimit, List<TxAttempt> Attempts)
    {
        public ContractTx? Call { get; init; }
        public ulong LastSentBlock { get; set; }
        public bool CancelRequested { get; set; }
        public bool NonceUsedSeen { get; set; }
    }

    [LoggerMessage(EventId = 1300, Level = LogLevel.Information, Message = "Executor for {Sender} started on chain {ChainId} at block {Head}: {Tracked} nonce(s) in flight, next nonce {Next}")]
    private static partial void LogStarted(ILogger logger, Address sender, ulong chainId, ulong head, int tracked, ulong next);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "Intent {IntentId} not sent: {Reason}")]
    private static partial void LogSkipped(ILogger logger, string intentId, string reason);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Information, Message = "Nonce {Nonce}: {Hash} mined ({Outcome}) in block {Block}, gas used {GasUsed}")]
    private static partial void LogMined(ILogger logger, ulong nonce, Hash32 hash, ExecutionOutcomeKind outcome, ulong block, ulong gasUsed);

    [LoggerMessage(EventId = 1303, Level = LogLevel.Warning, Message = "Nonce {Nonce} was used by a transaction we did not send")]
    private static partial void LogDropped(ILogger logger, ulong nonce);

    [LoggerMessage(EventId = 1304, Level = LogLevel.Information, Message = "Nonce {Nonce}: {Previous} replaced by {Hash} ({Kind}), tip {Tip}, max fee {MaxFee}")]
    private static partial void LogReplaced(ILogger logger, ulong nonce, Hash32 previous, Hash32 hash, AttemptKind kind, UInt256 tip, UInt256 maxFee);

    [LoggerMessage(EventId = 1305, Level = LogLevel.Warning, Message = "Nonce {Nonce}: not bumped, max fee {MaxFee} already at the cap {Cap}")]
    private static partial void LogCapReached(ILogger logger, ulong nonce, UInt256 maxFee, UInt256 cap);

    [LoggerMessage(EventId = 1306, Level = LogLevel.Warning, Message = "Executor step {Step} failed (nonce {Nonce}), retried next block: {Error}")]
    private static partial void LogStepFailed(ILogger logger, string step, ulong nonce, string error);

    [LoggerMessage(EventId = 1307, Level = LogLevel.Warning, Message = "Nonce {Nonce}: {Hash} refused ({Kind}): {Error}")]
    private static partial void LogSendRefused(ILogger logger, ulong nonce, Hash32 hash, SendErrorKind kind, string error);

    [LoggerMessage(EventId = 1308, Level = LogLevel.Warning, Message = "Nonce {Nonce}: sending {Hash} failed in transport, will re-broadcast: {Error}")]
    private static partial void LogSendUnknown(ILogger logger, ulong nonce, Hash32 hash, string error);

    [LoggerMessage(EventId = 1309, Level = LogLevel.Information, Message = "Intent {IntentId}: cancelling nonce {Nonce}: {Reason}")]
    private static partial void LogCancelRequested(ILogger logger, string intentId, ulong nonce, string reason);

    [LoggerMessage(EventId = 2390, Level = LogLevel.Warning, Message = "The node does not offer eth_simulateV1 ({Reason}); simulating with eth_call and the planned gas limits")]
    private static partial void LogSimulateUnsupported(ILogger logger, string reason);

    [LoggerMessage(EventId = 1310, Level = LogLevel.Warning, Message = "Nonce gap {Nonce} filled with self-transfer {Hash}")]
    private static partial void LogGapFilled(ILogger logger, ulong nonce, Hash32 hash);
}
