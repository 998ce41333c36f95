using System.Diagnostics;
using CrossMargin.Contracts;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Contracts;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Keeper.Detection;
using CrossMargin.Keeper.Execution;
using CrossMargin.Keeper.Indexing;
using CrossMargin.Keeper.Monitoring;
using CrossMargin.Keeper.Planning;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CrossMargin.Keeper.Hosting;

/// <summary>What the keeper did with one block.</summary>
public sealed record BlockReport(ulong Block, int Liquidatable, int Planned, int BatchesSent, int Skipped, IReadOnlyList<TimeSpan> DetectionToSend);

/// <summary>Counters of the keeper loop.</summary>
public readonly record struct KeeperStats(long Blocks, long Failures, long Batches, long Requests, long DryRunCalls, long DryRunReverts, long Included, long Reverted,
    long Cancelled = 0, long CollateralSales = 0);

/// <summary>
/// The keeper loop: for every indexed block, detect (<see cref="LiquidationDetector"/>), plan
/// (<see cref="LiquidationPlanner"/>) and send each batch through the <see cref="TxExecutor"/> (or, in dry-run mode,
/// only simulate it with eth_call). Accounts stay excluded while their liquidation is in flight. Error policy: a failing
/// block (bad RPC answer, unexpected data) is logged and counted, and the loop goes on with the next block; only a
/// journal failure (nothing may be sent without it) and cancellation stop it.
/// </summary>
public sealed partial class KeeperPipeline
{
    private readonly ChainIndexer _indexer;
    private readonly LiquidationDetector _detector;
    private readonly LiquidationPlanner _planner;
    private readonly IEthClient _eth;
    private readonly CrossMarginEngine _engine;
    private readonly FeeEstimator _fees;
    private readonly TxExecutor? _executor;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly KeeperMetrics? _metrics;
    private readonly List<TimeSpan> _latencies = [];
    private readonly Dictionary<string, int> _requestsByIntent = new(StringComparer.Ordinal);
    private readonly List<(int Requests, ulong GasUsed)> _gas = [];
    /// <summary>The gas token's USD price (WAD) at the last detected block, to express realised rewards in wei.</summary>
    private UInt256 _nativePrice;
    private long _blocks, _failures, _batches, _requests, _dryRunCalls, _dryRunReverts, _resyncs, _included, _reverted, _cancelled, _collateralSales;
    private readonly CollateralState _collateral;
    private int _lastLiquidatable;

    /// <param name="executor">Sends transactions; null = dry run (plans are simulated with eth_call, nothing is sent).</param>
    /// <param name="metrics">Metrics and readiness state (optional).</param>
    public KeeperPipeline(ChainIndexer indexer, LiquidationDetector detector, LiquidationPlanner planner, IEthClient eth, Address engine,
        FeeEstimator fees, TxExecutor? executor, InFlightTracker? inFlight = null, ILogger<KeeperPipeline>? logger = null, TimeProvider? timeProvider = null,
        bool sellCollateral = true, KeeperMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(indexer);
        ArgumentNullException.ThrowIfNull(detector);
        ArgumentNullException.ThrowIfNull(planner);
        ArgumentNullException.ThrowIfNull(eth);
        ArgumentNullException.ThrowIfNull(fees);
        _indexer = indexer;
        _detector = detector;
        _planner = planner;
        _eth = eth;
        _engine = new CrossMarginEngine(engine);
        _fees = fees;
        _executor = executor;
        InFlight = inFlight ?? new InFlightTracker();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
        _metrics = metrics;
        _collateral = new CollateralState(new CollateralPlanner(planner.Options, planner.Liquidator, planner.Gate)) { Enabled = sellCollateral };
        // the block's reads travel with the indexer's read of its logs (one round trip for both)
        indexer.HeadReads = QueueHeadReads;
    }

    private sealed class CollateralState(CollateralPlanner planner)
    {
        public CollateralPlanner Planner { get; } = planner;
        public bool Enabled { get; init; }
        public bool Approved { get; set; }
        public bool Expected { get; set; }
        public bool StartChecked { get; set; }
        public string? ApproveIntent { get; set; }
    }

    public InFlightTracker InFlight { get; }

    /// <summary>Every transaction sent for an opportunity, with its outcome.</summary>
    public SendLog Sends { get; } = new();

    public bool DryRun => _executor is null;

    public KeeperStats Stats => new(Interlocked.Read(ref _blocks), Interlocked.Read(ref _failures), Interlocked.Read(ref _batches),
        Interlocked.Read(ref _requests), Interlocked.Read(ref _dryRunCalls), Interlocked.Read(ref _dryRunReverts),
        Interlocked.Read(ref _included), Interlocked.Read(ref _reverted), Interlocked.Read(ref _cancelled),
        Interlocked.Read(ref _collateralSales));

    /// <summary>Samples kept by <see cref="Latencies"/> and <see cref="IncludedGas"/>: the most recent ones (a keeper runs for months).</summary>
    public const int KeptSamples = 65_536;

    /// <summary>Detection-to-send latency of the batches sent so far (the most recent <see cref="KeptSamples"/>).</summary>
    public IReadOnlyList<TimeSpan> Latencies { get { lock (_latencies) return [.. _latencies]; } }

    /// <summary>Requests and gas used of the included batches (to calibrate <see cref="PlannerOptions.GasPerRequest"/>; the most recent <see cref="KeptSamples"/>).</summary>
    public IReadOnlyList<(int Requests, ulong GasUsed)> IncludedGas { get { lock (_gas) return [.. _gas]; } }

    /// <summary>Consumes the indexer's blocks until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        RestoreInFlight();
        await PrepareAsync(cancellationToken).ConfigureAwait(false);
        var reader = _indexer.Blocks;
        while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!reader.TryRead(out BlockProcessed? block)) continue;
            // behind (catching up, or a slow block): act on the newest block only, with every change since the last one
            while (reader.TryRead(out BlockProcessed? next)) block = Coalesce(block, next);
            await ProcessSafelyAsync(block, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Merges two consecutive notifications into one for the later block.</summary>
    public static BlockProcessed Coalesce(BlockProcessed earlier, BlockProcessed later)
    {
        ArgumentNullException.ThrowIfNull(earlier);
        ArgumentNullException.ThrowIfNull(later);
        ulong? ancestor = (earlier.ReorgAncestor, later.ReorgAncestor) switch
        {
            (null, var b) => b,
            (var a, null) => a,
            (var a, var b) => Math.Min(a!.Value, b!.Value),
        };
        return later with
        {
            ChangedAccounts = [.. earlier.ChangedAccounts.Concat(later.ChangedAccounts).Distinct()],
            FundingChanged = earlier.FundingChanged || later.FundingChanged,
            ReorgAncestor = ancestor,
        };
    }

    /// <summary>One block with the error policy: returns null when the block failed (logged and counted).</summary>
    public async Task<BlockReport?> ProcessSafelyAsync(BlockProcessed block, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(block);
        try
        {
            return await ProcessBlockAsync(block, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (TxJournalException)
        {
            throw;
        }
        catch (Exception ex)
        {
            Interlocked.Increment(ref _failures);
            _metrics?.BlockFailed();
            LogBlockFailed(_logger, block.Number, ex.GetType().Name, ex.Message);
            return null;
        }
    }

    /// <summary>Detects, plans and sends for one block (exceptions propagate).</summary>
    public async Task<BlockReport> ProcessBlockAsync(BlockProcessed block, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(block);
        using var blockSpan = KeeperTracing.StartBlock(block.Number);
        using var scope = _logger.BeginScope(new Dictionary<string, object> { ["Block"] = block.Number });
        Interlocked.Increment(ref _blocks);
        DrainOutcomes();
        long resyncs = _indexer.Stats.Resyncs;
        if (resyncs != Interlocked.Exchange(ref _resyncs, resyncs)) _detector.RequestFullReload();

        _blockAllowance = null;
        Task<UInt256>? balance = UseHeadReads(block, out bool prefetched);
        if (!prefetched) balance = await PrefetchAsync(block, cancellationToken).ConfigureAwait(false);
        if (_executor is not null)
        {
            // settle what was mined (receipts came with the block's reads) before planning: accounts our mined transactions
            // liquidated leave the in-flight set and can be planned again in this block
            await _executor.OnNewBlockAsync(block.Number, cancellationToken).ConfigureAwait(false);
            DrainOutcomes();
        }
        // detection-to-send latency runs from here: the block's data is in hand
        long started = Stopwatch.GetTimestamp();
        Activity? detectSpan = KeeperTracing.Start(KeeperTracing.Detect);
        DetectionResult detection = await _detector.ProcessAsync(block, cancellationToken).ConfigureAwait(false);
        detectSpan?.Dispose();
        _metrics?.Detection(_indexer.Book.AccountCount, detection.Liquidatable.Count, detection.Recomputed, Stopwatch.GetElapsedTime(started));
        _lastLiquidatable = detection.Liquidatable.Count;
        if (detection.Liquidatable.Count == 0) _collateral.Expected = false;
        if (_collateral.Enabled && _executor is not null && !_collateral.StartChecked)
        {
            _collateral.StartChecked = true;
            // value for the fee cap: a generous share of a typical sale's reward (the approval is a one-off)
            await EnsureAllowanceAsync(detection.Block, UInt256.Zero, new UInt256(10_000_000_000_000_000UL), cancellationToken).ConfigureAwait(false);
        }
        if (!detection.NativePrice.IsZero) _nativePrice = detection.NativePrice;
        foreach (LiquidationCandidate c in detection.Liquidatable) Sends.SeenLiquidatable(c.Account, detection.Block);
        var latencies = new List<TimeSpan>();
        int planned = 0, sent = 0, skipped = 0;
        var outbox = new List<Outgoing>();
        if (detection.Liquidatable.Count > 0)
        {
            FeeEstimate fee = await _fees.EstimateAtAsync(block.Number, cancellationToken).ConfigureAwait(false);
            UInt256 expected = checked(fee.NextBaseFee + fee.MaxPriorityFeePerGas);
            var gas = new GasQuote(expected < fee.MaxFeePerGas ? expected : fee.MaxFeePerGas, detection.NativePrice);
            Activity? planSpan = KeeperTracing.Start(KeeperTracing.Plan);
            // our transactions still waiting for block space take the next block first
            ulong pending = _executor?.PendingGas ?? 0;
            ulong budget = _planner.Options.BlockGasBudget > pending ? _planner.Options.BlockGasBudget - pending : 0;
            LiquidationPlan plan = _planner.Plan(detection, _detector.StateOf, gas, InFlight, _detector.Config!.SlotOracles,
                _indexer.Book.VaultCash, _indexer.Book.InsuranceFund, budget);
            planSpan?.Dispose();
            planned = plan.RequestCount;
            skipped = plan.Skipped.Count;
            LogPlanned(_logger, detection.Block, detection.Liquidatable.Count, plan.Batches.Count, plan.RequestCount, plan.Skipped.Count);
            foreach (LiquidationBatch batch in plan.Batches)
            {
                if (await QueueBatchAsync(detection.Block, batch, outbox, cancellationToken).ConfigureAwait(false)) sent++;
            }
            if (_collateral.Enabled)
            {
                ulong left = budget > plan.EstimatedGas ? budget - plan.EstimatedGas : 0;
                sent += await QueueCollateralSalesAsync(detection, gas, balance, left, outbox, cancellationToken).ConfigureAwait(false);
            }
        }
        TimeSpan planning = Stopwatch.GetElapsedTime(started);
        sent += await FlushAsync(outbox, started, latencies, cancellationToken).ConfigureAwait(false);
        if (sent > 0)
        {
            double totalMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            LogTimings(_logger, block.Number, sent, planning.TotalMilliseconds, totalMs);
            if (_executor is null)
            {
                // dry run: detection to the end of the simulations
                TimeSpan latency = Stopwatch.GetElapsedTime(started);
                for (int i = 0; i < sent; i++) latencies.Add(latency);
            }
            lock (_latencies) Keep(_latencies, latencies);
            foreach (TimeSpan l in latencies) _metrics?.DetectionToSend(l);
        }
        if (_executor is not null)
        {
            DrainOutcomes();
            await CancelGoneAsync(detection, block.ChangedAccounts, cancellationToken).ConfigureAwait(false);
            _metrics?.PendingTransactions(_executor.InFlight.Count);
        }
        // after the block's sends, once the indexer has nothing newer (a cold sync's catch-up of the newest blocks is
        // over): the load's copies and the sync's pages are garbage now
        bool caughtUp = _indexer.Book.Head is not { } bookHead || bookHead <= block.Number;
        if (detection.FullResync && CompactAfterFullLoad)
        {
            _compactPending = !caughtUp; // once more when the catch-up of newer blocks is over
            CompactMemory(block.Number);
        }
        else if (_compactPending && caughtUp)
        {
            _compactPending = false;
            CompactMemory(block.Number);
        }
        else if (ShouldCompact(GC.GetTotalMemory(false), _liveAfterCompaction, CompactAboveLiveBytes, block.Number, _compactedAt, CompactEveryBlocksAtMost))
        {
            CompactMemory(block.Number, "heap grew past the live heap");
        }
        _metrics?.BlockProcessed(block.Number);
        return new BlockReport(block.Number, detection.Liquidatable.Count, planned, sent, skipped, latencies);
    }

    /// <summary>The reads <see cref="QueueHeadReads"/> queued for a block, until that block is processed.</summary>
    private sealed record HeadReadSet(ulong Block, Hash32 Hash, PrefetchedReads? Detector, Task<FeeHistory> History, Task<UInt256>? Balance, Task<UInt256>? Allowance);

    private readonly Lock _headReadsLock = new();
    private HeadReadSet? _headReads;
    private Task<UInt256>? _blockAllowance; // the settlement-token allowance read with the block being processed

    /// <summary>
    /// <see cref="ChainIndexer.HeadReads"/>: queues the block's reads (what <see cref="PrefetchAsync"/> reads) into the
    /// indexer's batch for the block's logs. Runs on the indexer's loop: it only reads thread-safe state. The funding
    /// state is read along when the keeper is busy (liquidations move it); the fee history always (it is small, and the
    /// first block of a crash needs it).
    /// </summary>
    private void QueueHeadReads(IRpcBatch batch, BlockHeader header)
    {
        bool busy = Volatile.Read(ref _lastLiquidatable) > 0 || InFlight.IntentCount > 0;
        PrefetchedReads? detector = _detector.QueueBlockReads(batch, header.Number, withFunding: busy);
        _executor?.QueueBlockReads(batch, header.Number);
        Task<FeeHistory> history = batch.Add(_fees.HistoryRequest());
        Task<UInt256>? balance = null, allowance = null;
        if (_collateral.Enabled && _executor is not null && _detector.Config?.AssetTokens is { Count: > 0 } tokens)
        {
            var settlement = new MockERC20(tokens[0]);
            // sales are likely when insolvent accounts were seen or liquidations are in flight
            if (_collateral.Expected || busy) balance = batch.Add(settlement.BalanceOf(_planner.Liquidator), BlockTag.Latest);
            if (!_collateral.Approved && busy) allowance = batch.Add(settlement.Allowance(_planner.Liquidator, _engine.Address), BlockTag.Latest);
        }
        lock (_headReadsLock) _headReads = new HeadReadSet(header.Number, header.Hash, detector, history, balance, allowance);
    }

    /// <summary>
    /// Hands the reads queued with the block's logs to the detector, the fee estimator (and the executor, which took its
    /// own); false when there are none for this block, or the batch failed as a whole (then <see cref="PrefetchAsync"/>
    /// reads again in one round trip).
    /// </summary>
    private Task<UInt256>? UseHeadReads(BlockProcessed block, out bool used)
    {
        HeadReadSet? reads;
        lock (_headReadsLock)
        {
            reads = _headReads;
            if (reads is not null && reads.Block <= block.Number) _headReads = null;
        }
        used = false;
        if (reads is null || reads.Block != block.Number || reads.Hash != block.Hash) return null;
        // a batch that failed as a whole fails every part: the fee history is always there to tell
        if (reads.History is not { IsCompletedSuccessfully: true }) return null;
        used = true;
        if (reads.Detector is { } d) _detector.UsePrefetched(block, d);
        _blockAllowance = reads.Allowance;
        {
            try
            {
                _fees.Prime(block.Number, reads.History.Result);
            }
            catch (InvalidOperationException)
            {
                // an empty history: EstimateAtAsync asks again
            }
        }
        return reads.Balance;
    }

    /// <summary>
    /// The block's reads in one batched round trip: the hub's prices (for the detector), the sender's mined nonce and the
    /// receipts of transactions in flight (for the executor), the fee history when a send is likely, and the settlement
    /// token balance when collateral sales are likely. Each consumer falls back to its own call when its part failed.
    /// </summary>
    private async Task<Task<UInt256>?> PrefetchAsync(BlockProcessed block, CancellationToken cancellationToken)
    {
        if (_eth.Rpc is not { } rpc) return null;
        var batch = rpc.StartBatch();
        _ = _detector.QueuePrices(batch, block); // awaited by ProcessAsync
        _executor?.QueueBlockReads(batch, block.Number);
        bool busy = _lastLiquidatable > 0 || InFlight.IntentCount > 0;
        Task<FeeHistory>? history = busy ? batch.Add(_fees.HistoryRequest()) : null;
        Task<UInt256>? balance = null;
        if (_collateral.Expected && _executor is not null && _detector.Config?.AssetTokens is { Count: > 0 } tokens)
        {
            balance = batch.Add(new MockERC20(tokens[0]).BalanceOf(_planner.Liquidator), BlockTag.Latest);
        }
        if (batch.Count == 0) return null;
        try
        {
            await batch.SendAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (RpcClientException e)
        {
            LogPrefetchFailed(_logger, block.Number, e.Message);
        }
        if (history is { IsCompletedSuccessfully: true })
        {
            try
            {
                _fees.Prime(block.Number, history.Result);
            }
            catch (InvalidOperationException)
            {
                // an empty history: EstimateAtAsync asks again
            }
        }
        return balance;
    }

    /// <summary>A transaction to send this block and what to do with the executor's answer.</summary>
    private sealed record Outgoing(TxExecutor.Submission Submission, Action<SubmitResult> OnResult, IReadOnlyList<Address> Accounts, int Requests, UInt256 Reward);

    /// <summary>Sends everything queued for the block through the executor (simulations in one batch, sends in another).</summary>
    private async Task<int> FlushAsync(List<Outgoing> outbox, long started, List<TimeSpan> latencies, CancellationToken cancellationToken)
    {
        if (_executor is null || outbox.Count == 0) return 0;
        using Activity? span = KeeperTracing.StartSubmit(outbox.Count);
        IReadOnlyList<SubmitResult> results;
        try
        {
            results = await _executor.SubmitBatchAsync([.. outbox.Select(o => o.Submission)], cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            foreach (var o in outbox) InFlight.Release(o.Submission.Intent.Id);
            throw;
        }
        long flushed = Stopwatch.GetTimestamp();
        DateTimeOffset sentAt = _time.GetUtcNow();
        int sent = 0;
        for (int i = 0; i < outbox.Count; i++)
        {
            Outgoing o = outbox[i];
            o.OnResult(results[i]);
            if (results[i].State == IntentState.Sent)
            {
                sent++;
                ExecutionIntent intent = o.Submission.Intent;
                // detection to the node's answer to the send (journal bookkeeping after it is not counted)
                TimeSpan latency = Stopwatch.GetElapsedTime(started, results[i].SentTimestamp != 0 ? results[i].SentTimestamp : flushed);
                latencies.Add(latency);
                Sends.Sent(new SentTransaction(intent.Id, intent.Kind, results[i].TxHash, intent.DetectedBlock, o.Accounts, o.Requests, o.Reward, latency)
                {
                    SentAt = sentAt,
                });
            }
            else
            {
                InFlight.Release(results[i].IntentId);
            }
        }
        return sent;
    }

    /// <summary>Queues one batchLiquidate (or, in dry-run mode, simulates it now and returns true when it would pass).</summary>
    private async Task<bool> QueueBatchAsync(ulong blockNumber, LiquidationBatch batch, List<Outgoing> outbox, CancellationToken cancellationToken)
    {
        CrossMarginEngine.LiquidationRequest[] requests =
            [.. batch.Requests.Select(r => new CrossMarginEngine.LiquidationRequest(r.Account, (ulong)r.MarketId, r.MaxSize))];
        if (_executor is null)
        {
            Interlocked.Increment(ref _dryRunCalls);
            try
            {
                await _eth.CallAsync(_engine.SimulateBatchLiquidate(requests), BlockTag.Latest, _planner.Liquidator, cancellationToken).ConfigureAwait(false);
                LogDryRun(_logger, blockNumber, requests.Length, batch.Reward, batch.GasCost);
                return true;
            }
            catch (RpcException ex) when (ex.IsExecutionReverted)
            {
                Interlocked.Increment(ref _dryRunReverts);
                LogDryRunReverted(_logger, blockNumber, requests.Length, ex.Message);
                return false;
            }
        }

        var targets = batch.Accounts.SelectMany(p => p.Steps.Select(s => new LiquidationTarget(s.Account, (ulong)s.MarketId, s.SizeClosed))).ToList();
        var intent = ExecutionIntent.Liquidation(targets, batch.RewardWei, _time.GetUtcNow(), blockNumber);
        InFlight.Add(intent.Id, batch.Accounts.Select(p => p.Account));
        outbox.Add(new Outgoing(new TxExecutor.Submission(intent, _engine.BatchLiquidate(requests), batch.GasLimit, batch.RewardWei), result =>
        {
            if (result.State != IntentState.Sent)
            {
                LogNotSent(_logger, intent.Id, result.State, requests.Length, batch.GasLimit, result.Reason ?? "");
                return;
            }
            Interlocked.Increment(ref _batches);
            Interlocked.Add(ref _requests, requests.Length);
            lock (_gas) _requestsByIntent[intent.Id] = requests.Length;
            _metrics?.LiquidationSent(intent.Id, requests.Length);
            LogSent(_logger, intent.Id, result.TxHash, requests.Length, batch.Reward, batch.GasCost);
        }, [.. batch.Accounts.Select(p => p.Account)], requests.Length, batch.Reward));
        return false; // counted when flushed
    }

    /// <summary>
    /// Collateral sales for insolvent accounts without positions (what batchLiquidate cannot fix). The keeper pays in the
    /// settlement token: its balance caps the sales, and the engine's allowance is set once (an approve transaction; the
    /// sales that simulate before it is mined are skipped and planned again next block).
    /// </summary>
    private async Task<int> QueueCollateralSalesAsync(DetectionResult detection, GasQuote gas, Task<UInt256>? prefetchedBalance, ulong gasLeft,
        List<Outgoing> outbox, CancellationToken cancellationToken)
    {
        var config = _detector.Config!;
        bool any = false;
        foreach (LiquidationCandidate c in detection.Liquidatable)
        {
            if (!InFlight.Contains(c.Account) && _detector.StateOf(c.Account) is { } state && CollateralPlanner.NeedsCollateralSale(state, c.Health))
            {
                any = true;
                break;
            }
        }
        _collateral.Expected = any;
        if (!any || config.AssetTokens is not { Count: > 0 } tokens) return 0;
        var settlement = new MockERC20(tokens[0]);
        UInt256 budget = UInt256.MaxValue;
        if (_executor is not null)
        {
            budget = prefetchedBalance is { IsCompletedSuccessfully: true }
                ? prefetchedBalance.Result
                : await _eth.CallAsync(settlement.BalanceOf(_planner.Liquidator), BlockTag.Latest, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        CollateralPlan plan = _collateral.Planner.Plan(detection, _detector.StateOf, gas, budget, InFlight, config.SlotOracles, gasLeft);
        if (plan.Sales.Count == 0)
        {
            if (plan.Skipped.Count > 0) LogCollateralSkipped(_logger, detection.Block, plan.Skipped.Count, plan.Skipped[0].Reason, plan.Skipped[0].Detail ?? "");
            return 0;
        }
        if (_executor is not null && !_collateral.Approved)
        {
            UInt256 value = gas.ToWei(plan.Sales.Aggregate(UInt256.Zero, (s, x) => checked(s + x.Reward)));
            if (!await EnsureAllowanceAsync(detection.Block, plan.TotalPayment, value, cancellationToken).ConfigureAwait(false)) return 0;
        }
        int simulated = 0;
        foreach (CollateralSale sale in plan.Sales)
        {
            ContractTx call = _engine.LiquidateCollateral(sale.Account, (ulong)sale.AssetId, sale.Amount);
            if (_executor is null)
            {
                Interlocked.Increment(ref _dryRunCalls);
                try
                {
                    await _eth.CallAsync(call.ToCallRequest(_planner.Liquidator), BlockTag.Latest, cancellationToken).ConfigureAwait(false);
                    simulated++;
                }
                catch (RpcException ex) when (ex.IsExecutionReverted)
                {
                    Interlocked.Increment(ref _dryRunReverts);
                    LogDryRunReverted(_logger, detection.Block, 1, ex.Message);
                }
                continue;
            }
            UInt256 value = gas.ToWei(sale.Reward);
            var intent = new ExecutionIntent(Guid.NewGuid().ToString("N"), "collateral",
                [new LiquidationTarget(sale.Account, (ulong)sale.AssetId, sale.Amount)], value, _time.GetUtcNow(), detection.Block);
            InFlight.Add(intent.Id, [sale.Account]);
            outbox.Add(new Outgoing(new TxExecutor.Submission(intent, call, sale.GasLimit, value), result =>
            {
                if (result.State != IntentState.Sent)
                {
                    LogNotSent(_logger, intent.Id, result.State, 1, sale.GasLimit, result.Reason ?? "");
                    return;
                }
                Interlocked.Increment(ref _collateralSales);
                _metrics?.CollateralSaleSent(intent.Id);
                LogCollateralSent(_logger, intent.Id, result.TxHash, sale.Account, sale.AssetId, sale.Amount, sale.Payment, sale.Reward);
            }, [sale.Account], 1, sale.Reward));
        }
        return simulated;
    }

    /// <summary>
    /// True when the engine may pull <paramref name="needed"/> settlement tokens from the keeper. Otherwise sends (once) an
    /// approve for the maximum and returns false: sales wait for it to be mined.
    /// </summary>
    private async Task<bool> EnsureAllowanceAsync(ulong block, UInt256 needed, UInt256 value, CancellationToken cancellationToken)
    {
        if (_collateral.Approved) return true;
        if (_executor is null || _detector.Config?.AssetTokens is not { Count: > 0 } tokens) return false;
        var settlement = new MockERC20(tokens[0]);
        UInt256 allowance = _blockAllowance is { IsCompletedSuccessfully: true } read
            ? read.Result
            : await _eth.CallAsync(settlement.Allowance(_planner.Liquidator, _engine.Address), BlockTag.Latest, cancellationToken: cancellationToken)
                .ConfigureAwait(false);
        _blockAllowance = null; // a new approve may follow: read again next time
        if (allowance >= needed && allowance >= (UInt256.MaxValue >> 1))
        {
            _collateral.Approved = true;
            return true;
        }
        if (_collateral.ApproveIntent is not null && _executor.InFlight.Any(t => t.IntentId == _collateral.ApproveIntent)) return false; // pending
        var approve = new ExecutionIntent(Guid.NewGuid().ToString("N"), "approve", [], value, _time.GetUtcNow(), block);
        SubmitResult r = await _executor.SubmitAsync(approve, settlement.Approve(_engine.Address, UInt256.MaxValue), 100_000, value, cancellationToken)
            .ConfigureAwait(false);
        _collateral.ApproveIntent = r.State == IntentState.Sent ? approve.Id : null;
        LogApprove(_logger, r.State, r.TxHash, r.Reason ?? "");
        return false;
    }

    /// <summary>
    /// Before the first block: the protocol configuration, and the settlement-token allowance collateral sales need (an
    /// approve sent now lands long before a crash needs it). Failures are logged; the first block tries again.
    /// </summary>
    public async Task PrepareAsync(CancellationToken cancellationToken)
    {
        if (!_collateral.Enabled || _executor is null || _collateral.StartChecked) return;
        try
        {
            await _detector.EnsureConfigAsync(cancellationToken).ConfigureAwait(false);
            ulong head = _indexer.Book.Head ?? 0;
            await EnsureAllowanceAsync(head, UInt256.Zero, new UInt256(10_000_000_000_000_000UL), cancellationToken).ConfigureAwait(false);
            _collateral.StartChecked = true;
        }
        catch (Exception e) when (e is RpcClientException or InvalidOperationException or Ethereum.Abi.AbiDecodingException)
        {
            LogPrepareFailed(_logger, e.Message);
        }
    }

    /// <summary>
    /// After a restart the executor re-attaches the journal's pending transactions: their accounts are in flight again,
    /// so that nothing is planned twice.
    /// </summary>
    public int RestoreInFlight()
    {
        if (_executor is null) return 0;
        int restored = 0;
        foreach (TrackedTransaction tracked in _executor.InFlight)
        {
            // only liquidations are opportunities of accounts; oracle pushes and approvals have no targets
            if (tracked.IntentId is not { } id || _executor.FindIntent(id) is not { Targets.Count: > 0 } intent) continue;
            if (InFlight.Intents().Any(i => i.IntentId == id)) continue;
            var accounts = intent.Targets.Select(t => t.Account).Where(a => !InFlight.Contains(a)).ToList();
            InFlight.Add(id, accounts);
            _metrics?.Restored(id, intent.Kind, intent.Targets.Count);
            restored++;
        }
        if (restored > 0) LogRestored(_logger, restored);
        return restored;
    }

    /// <summary>
    /// Cancels in-flight intents none of whose accounts is liquidatable any more at the detected block (healthy again, or
    /// liquidated by someone else): their transaction was not mined by then (receipts are settled first), so it could
    /// only be skipped or revert. A cancellation is a 0-value self-transfer with the same nonce.
    /// </summary>
    private async Task CancelGoneAsync(DetectionResult detection, IReadOnlyList<Address> changed, CancellationToken cancellationToken)
    {
        if (_executor is null || InFlight.IntentCount == 0) return;
        // a batchLiquidate is still useful for accounts with positions below maintenance; a collateral sale for accounts
        // without positions and negative equity (an account can move from the first set to the second)
        var positions = new HashSet<Address>(detection.Liquidatable.Where(c => !c.Health.MaintenanceMargin.IsZero).Select(c => c.Account));
        var collateral = new HashSet<Address>(detection.Liquidatable
            .Where(c => _detector.StateOf(c.Account) is { } s && CollateralPlanner.NeedsCollateralSale(s, c.Health)).Select(c => c.Account));
        foreach ((string id, IReadOnlyList<Address> accounts) in InFlight.Intents())
        {
            if (accounts.Count == 0) continue;
            HashSet<Address> useful = _executor.FindIntent(id)?.Kind == "collateral" ? collateral : positions;
            if (accounts.Any(useful.Contains)) continue;
            if (await _executor.CancelAsync(id, $"opportunity gone at block {detection.Block}", cancellationToken).ConfigureAwait(false))
            {
                Interlocked.Increment(ref _cancelled);
                LogCancelling(_logger, id, detection.Block, accounts.Count);
                // changed on chain while our transaction waited: someone else's transaction took the opportunity
                var lost = accounts.Where(changed.Contains).ToList();
                if (lost.Count > 0)
                {
                    var now = _time.GetUtcNow();
                    _executor.Journal.RecordObservations(lost.Select(a =>
                        new JournalObservation(now, detection.Block, ObservationKinds.LiquidationLost, a.ToString(), "")));
                }
            }
        }
    }

    private void DrainOutcomes()
    {
        if (_executor is null) return;
        while (_executor.Outcomes.TryRead(out ExecutionOutcome? outcome))
        {
            InFlight.Observe(outcome);
            Sends.Observe(outcome);
            _metrics?.Outcome(outcome);
            if (outcome.Kind == ExecutionOutcomeKind.Included && outcome.IntentId is { } won)
            {
                // sent by this process: in memory; sent before a restart: the journal's intent
                if (Sends.Find(won) is { } sentTx) RecordResults(outcome, won, sentTx.Kind, sentTx.Accounts);
                else if (_executor.FindIntent(won) is { Targets.Count: > 0 } intent)
                    RecordResults(outcome, won, intent.Kind, [.. intent.Targets.Select(t => t.Account).Distinct()]);
            }
            if (outcome.Kind == ExecutionOutcomeKind.Included) Interlocked.Increment(ref _included);
            if (outcome.IntentId is { } id && InFlightTracker.IsFinal(outcome.Kind))
            {
                lock (_gas)
                {
                    if (_requestsByIntent.Remove(id, out int n) && outcome.GasUsed is { } used) Keep(_gas, [(n, used)]);
                }
            }
            if (outcome.Kind == ExecutionOutcomeKind.Reverted)
            {
                Interlocked.Increment(ref _reverted);
                LogReverted(_logger, outcome.IntentId, outcome.TxHash);
            }
        }
    }

    /// <summary>
    /// Journal observations of a mined opportunity: for a batch, the accounts its <c>Liquidated</c> events name (won), the
    /// accounts whose requests were all skipped (lost) and the reward carried by the events (in wei at the gas token's
    /// last known price); for a collateral sale, which reverts unless it executes, its account.
    /// </summary>
    private void RecordResults(ExecutionOutcome outcome, string intentId, string kind, IReadOnlyList<Address> accounts)
    {
        string hash = outcome.TxHash?.ToString() ?? "";
        var rows = new List<JournalObservation>();
        if (kind == "collateral")
        {
            foreach (Address a in accounts)
                rows.Add(new JournalObservation(outcome.At, outcome.BlockNumber, ObservationKinds.LiquidationWon, a.ToString(), hash));
        }
        else
        {
            LiquidationReceipt r = LiquidationReceipt.Read(outcome.Logs, _planner.Liquidator);
            foreach (Address a in r.AccountsWon)
                rows.Add(new JournalObservation(outcome.At, outcome.BlockNumber, ObservationKinds.LiquidationWon, a.ToString(), hash));
            foreach (Address a in r.AccountsLost)
                rows.Add(new JournalObservation(outcome.At, outcome.BlockNumber, ObservationKinds.LiquidationLost, a.ToString(), ""));
            if (!r.RewardWad.IsZero && !_nativePrice.IsZero)
                rows.Add(JournalObservation.Amount(outcome.At, outcome.BlockNumber, ObservationKinds.RewardWei, intentId,
                    new GasQuote(UInt256.Zero, _nativePrice).ToWei(r.RewardWad)));
        }
        if (rows.Count > 0) _executor!.Journal.RecordObservations(rows);
    }

    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning, Message = "Block {Block} failed, continuing with the next block: {Type}: {Reason}")]
    private static partial void LogBlockFailed(ILogger logger, ulong block, string type, string reason);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Information, Message = "Block {Block}: {Liquidatable} liquidatable, {Batches} batches with {Requests} requests planned, {Skipped} skipped")]
    private static partial void LogPlanned(ILogger logger, ulong block, int liquidatable, int batches, int requests, int skipped);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Information, Message = "Dry run, block {Block}: batch of {Requests} requests simulates fine (reward {Reward}, gas {GasCost} WAD USD)")]
    private static partial void LogDryRun(ILogger logger, ulong block, int requests, UInt256 reward, UInt256 gasCost);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Warning, Message = "Dry run, block {Block}: batch of {Requests} requests would revert: {Reason}")]
    private static partial void LogDryRunReverted(ILogger logger, ulong block, int requests, string reason);

    [LoggerMessage(EventId = 3105, Level = LogLevel.Information, Message = "Intent {IntentId} sent as {TxHash}: {Requests} requests, reward {Reward}, gas {GasCost} WAD USD")]
    private static partial void LogSent(ILogger logger, string intentId, Hash32? txHash, int requests, UInt256 reward, UInt256 gasCost);

    [LoggerMessage(EventId = 3106, Level = LogLevel.Warning, Message = "Intent {IntentId} not sent ({State}; {Requests} requests, gas limit {GasLimit}): {Reason}")]
    private static partial void LogNotSent(ILogger logger, string intentId, IntentState state, int requests, ulong gasLimit, string reason);

    [LoggerMessage(EventId = 3110, Level = LogLevel.Information, Message = "Intent {IntentId} sent as {TxHash}: liquidateCollateral({Account}, asset {AssetId}, {Amount} units) paying {Payment}, reward {Reward} WAD USD")]
    private static partial void LogCollateralSent(ILogger logger, string intentId, Hash32? txHash, Address account, int assetId, UInt256 amount, UInt256 payment, UInt256 reward);

    [LoggerMessage(EventId = 3111, Level = LogLevel.Information, Message = "Block {Block}: {Count} insolvent accounts need a collateral sale but none is planned (first: {Reason} {Detail})")]
    private static partial void LogCollateralSkipped(ILogger logger, ulong block, int count, PlanSkipReason reason, string detail);

    [LoggerMessage(EventId = 3112, Level = LogLevel.Information, Message = "Settlement-token allowance for the engine: approve {State} {TxHash} {Reason}")]
    private static partial void LogApprove(ILogger logger, IntentState state, Hash32? txHash, string reason);

    [LoggerMessage(EventId = 3113, Level = LogLevel.Warning, Message = "Block {Block}: the batched block read failed ({Reason}); each part is read on its own")]
    private static partial void LogPrefetchFailed(ILogger logger, ulong block, string reason);

    [LoggerMessage(EventId = 3114, Level = LogLevel.Debug, Message = "Block {Block}: {Sent} transactions sent; detect+plan {PlanMs:F2} ms, sent after {TotalMs:F2} ms")]
    private static partial void LogTimings(ILogger logger, ulong block, int sent, double planMs, double totalMs);

    [LoggerMessage(EventId = 3115, Level = LogLevel.Warning, Message = "Start-up preparation failed, trying again at the first block: {Reason}")]
    private static partial void LogPrepareFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 3108, Level = LogLevel.Information, Message = "Intent {IntentId}: none of its {Accounts} accounts is liquidatable at block {Block}; cancelling")]
    private static partial void LogCancelling(ILogger logger, string intentId, ulong block, int accounts);

    /// <summary>
    /// After a block that loaded every account (the first one, after a cold sync, and after a reorg or resync), and again
    /// at the first block processed with the indexer caught up when newer blocks were still being applied: one blocking,
    /// compacting collection that returns the freed memory to the system. A cold sync leaves its log pages,
    /// and a full load its copies of every account, in the oldest generation, where the collector would otherwise keep
    /// them, and the memory under them, until a full collection comes due. Default true.
    /// </summary>
    public bool CompactAfterFullLoad { get; set; } = true;

    private bool _compactPending;

    /// <summary>Compactions run so far (after full loads and for heap growth).</summary>
    public int Compactions { get; private set; }

    /// <summary>Appends, dropping the oldest quarter when the list would pass <see cref="KeptSamples"/>.</summary>
    internal static void Keep<T>(List<T> list, List<T> items)
    {
        if (list.Count + items.Count > KeptSamples) list.RemoveRange(0, Math.Min(list.Count, Math.Max(KeptSamples / 4, list.Count + items.Count - KeptSamples)));
        list.AddRange(items);
    }

    /// <summary>
    /// Bytes the managed heap may grow above the live heap measured at the last compaction before the pipeline compacts
    /// again, after a block's sends (0: never). The collector on its own lets a heap of ~120 MB live grow past 450 MB
    /// before a full collection (100,000 accounts, measured). Default 64 MB.
    /// </summary>
    public long CompactAboveLiveBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Blocks between two compactions for heap growth, at least (each one stops the process for tens of milliseconds). Default 20.</summary>
    public int CompactEveryBlocksAtMost { get; set; } = 20;

    private long _liveAfterCompaction;
    private ulong? _compactedAt;

    /// <summary>
    /// True when the heap (<paramref name="heapBytes"/>, garbage included) exceeds the live heap of the last compaction by
    /// more than <paramref name="aboveLiveBytes"/>, and the last compaction is at least <paramref name="everyBlocks"/> blocks old.
    /// </summary>
    internal static bool ShouldCompact(long heapBytes, long liveAfterLast, long aboveLiveBytes, ulong block, ulong? lastAt, int everyBlocks) =>
        aboveLiveBytes > 0 && liveAfterLast > 0 && heapBytes - liveAfterLast > aboveLiveBytes
        && (lastAt is not { } at || block < at || block - at >= (ulong)Math.Max(1, everyBlocks));

    private void CompactMemory(ulong block, string reason = "after a full load")
    {
        Compactions++;
        long started = Stopwatch.GetTimestamp();
        long before = Environment.WorkingSet;
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        _liveAfterCompaction = GC.GetTotalMemory(false);
        _compactedAt = block;
        long after = Environment.WorkingSet;
        double ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        LogCompacted(_logger, block, reason, before / (1024 * 1024), after / (1024 * 1024), _liveAfterCompaction / (1024 * 1024), ms);
    }

    [LoggerMessage(EventId = 3120, Level = LogLevel.Information,
        Message = "Block {Block}: {Reason}; memory compacted, resident set {BeforeMb} -> {AfterMb} MB, live heap {LiveMb} MB, in {Milliseconds:F0} ms")]
    private static partial void LogCompacted(ILogger logger, ulong block, string reason, long beforeMb, long afterMb, long liveMb, double milliseconds);

    [LoggerMessage(EventId = 3109, Level = LogLevel.Information, Message = "{Count} intents pending from before the restart are in flight again")]
    private static partial void LogRestored(ILogger logger, int count);

    [LoggerMessage(EventId = 3107, Level = LogLevel.Error, Message = "Intent {IntentId}: transaction {TxHash} reverted on chain")]
    private static partial void LogReverted(ILogger logger, string? intentId, Hash32? txHash);
}
