using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Keeper.Execution;
using CrossMargin.Keeper.Oracle;
using CrossMargin.Keeper.Oracle.Push;
using CrossMargin.Keeper.Planning;
using E = CrossMargin.Contracts.CrossMarginEngine;

namespace CrossMargin.Keeper.Monitoring;

/// <summary>What the readiness checks read: the latest values the keeper reported.</summary>
/// <param name="ChainHead">Newest head the follower saw (null: none yet).</param>
/// <param name="ProcessedBlock">Last block the keeper loop processed (null: none yet).</param>
/// <param name="ProcessedAt">When it was processed.</param>
/// <param name="Subscribed">Heads arrive over the newHeads subscription.</param>
/// <param name="HeadSourceAt">Last successful step of the head follower (subscription or poll).</param>
/// <param name="WalletBalanceWei">Last balance read of the keeper's wallet (null: not read yet).</param>
/// <param name="WalletBalanceAt">When it was read.</param>
/// <param name="OracleRounds">Oracle rounds observed.</param>
/// <param name="HaltedSince">Assets Halted in the last round, with the time they became Halted.</param>
public sealed record KeeperStatus(
    ulong? ChainHead,
    ulong? ProcessedBlock,
    DateTimeOffset? ProcessedAt,
    bool Subscribed,
    DateTimeOffset? HeadSourceAt,
    UInt256? WalletBalanceWei,
    DateTimeOffset? WalletBalanceAt,
    long OracleRounds,
    IReadOnlyDictionary<string, DateTimeOffset> HaltedSince)
{
    /// <summary>When the last oracle round completed (null: none yet).</summary>
    public DateTimeOffset? OracleRoundAt { get; init; }

    /// <summary>Since when oracle rounds are expected (null: the oracle part does not run in this process).</summary>
    public DateTimeOffset? OracleExpectedSince { get; init; }

    /// <summary>Chain head − processed block (0 when either is unknown or the keeper is ahead).</summary>
    public ulong BlocksBehind => ChainHead is { } h && ProcessedBlock is { } p && h > p ? h - p : 0;
}

/// <summary>
/// The keeper's instruments on the meter "CrossMargin.Keeper" (names as exposed on /metrics), and the latest values
/// the readiness checks read (<see cref="Status"/>). Components call the recording methods per event; none of them
/// does I/O. Money appears only as display values (gas-token and USD amounts as doubles). Thread-safe.
/// </summary>
public sealed class KeeperMetrics : IDisposable
{
    public const string MeterName = "CrossMargin.Keeper";

    public const string HeadBlockName = "crossmargin_head_block";
    public const string ProcessedBlockName = "crossmargin_processed_block";
    public const string BlocksBehindName = "crossmargin_blocks_behind";
    public const string BlocksName = "crossmargin_blocks_processed_total";
    public const string BlockFailuresName = "crossmargin_block_failures_total";
    public const string HeadSubscribedName = "crossmargin_head_subscription_active";
    public const string AccountsIndexedName = "crossmargin_accounts_indexed";
    public const string AccountsLiquidatableName = "crossmargin_accounts_liquidatable";
    public const string AccountsRecomputedName = "crossmargin_accounts_recomputed";
    public const string DetectionName = "crossmargin_detection_seconds";
    public const string DetectionToSendName = "crossmargin_detection_to_send_seconds";
    public const string SendToInclusionName = "crossmargin_send_to_inclusion_seconds";
    public const string LiquidationsSentName = "crossmargin_liquidations_sent_total";
    public const string LiquidationsWonName = "crossmargin_liquidations_won_total";
    public const string LiquidationsLostName = "crossmargin_liquidations_lost_total";
    public const string LiquidationsRevertedName = "crossmargin_liquidations_reverted_total";
    public const string RequestsSkippedName = "crossmargin_liquidation_requests_skipped_total";
    public const string BatchesName = "crossmargin_liquidation_batches_total";
    public const string CollateralSalesName = "crossmargin_collateral_sales_total";
    public const string RewardsName = "crossmargin_rewards_usd_total";
    public const string GasUsedName = "crossmargin_gas_used_total";
    public const string FeesPaidName = "crossmargin_fees_paid_total";
    public const string PendingName = "crossmargin_pending_transactions";
    public const string NonceName = "crossmargin_nonce";
    public const string WalletBalanceName = "crossmargin_wallet_balance";
    public const string OracleSourcesName = "crossmargin_oracle_sources";
    public const string OracleDeviationName = "crossmargin_oracle_deviation_bps";
    public const string OracleHaltedName = "crossmargin_oracle_halted_seconds";
    public const string ResidentMemoryName = "crossmargin_process_resident_memory_bytes";
    public const string GcHeapName = "crossmargin_gc_heap_bytes";
    public const string GcCommittedName = "crossmargin_gc_committed_bytes";

    private static readonly double s_wad = 1e18;

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Address? _keeper;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();

    private readonly Counter<long> _blocks;
    private readonly Counter<long> _blockFailures;
    private readonly Histogram<double> _detection;
    private readonly Histogram<double> _detectionToSend;
    private readonly Histogram<double> _sendToInclusion;
    private readonly Counter<long> _sent;
    private readonly Counter<long> _won;
    private readonly Counter<long> _lost;
    private readonly Counter<long> _reverted;
    private readonly Counter<long> _skipped;
    private readonly Counter<long> _batches;
    private readonly Counter<long> _collateralSales;
    private readonly Counter<double> _rewards;
    private readonly Counter<long> _gasUsed;
    private readonly Counter<double> _fees;

    private readonly ConcurrentDictionary<string, IntentTrack> _intents = new(StringComparer.Ordinal);
    private readonly Dictionary<string, OracleAsset> _oracle = new(StringComparer.Ordinal);

    private ulong? _chainHead, _processed, _nonce;
    private DateTimeOffset? _processedAt, _headSourceAt, _walletAt;
    private bool _subscribed;
    private int _indexed, _liquidatable, _recomputed, _pending;
    private UInt256? _wallet;
    private long _oracleRounds;
    private DateTimeOffset? _oracleRoundAt, _oracleExpectedSince;

    /// <param name="meterFactory">Creates the meter (DI); a private meter is created when null.</param>
    /// <param name="keeper">The keeper's address: Liquidated events naming it are liquidations won.</param>
    /// <param name="timeProvider">Clock of the readiness timestamps.</param>
    public KeeperMetrics(IMeterFactory? meterFactory = null, Address? keeper = null, TimeProvider? timeProvider = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _ownsMeter = meterFactory is null;
        _keeper = keeper;
        _time = timeProvider ?? TimeProvider.System;
        InstrumentAdvice<double> seconds = new() { HistogramBucketBoundaries = HistogramBuckets.Seconds };

        _meter.CreateObservableGauge(HeadBlockName, () => Observe(_chainHead), description: "Newest chain head seen by the head follower");
        _meter.CreateObservableGauge(ProcessedBlockName, () => Observe(_processed), description: "Last block the keeper loop processed");
        _meter.CreateObservableGauge(BlocksBehindName, () => (double)Status.BlocksBehind, description: "Chain head minus the last processed block");
        _meter.CreateObservableGauge(HeadSubscribedName, () => Volatile.Read(ref _subscribed) ? 1 : 0,
            description: "1 while heads arrive over the newHeads subscription, 0 while polling");
        _blocks = _meter.CreateCounter<long>(BlocksName, description: "Blocks processed by the keeper loop");
        _blockFailures = _meter.CreateCounter<long>(BlockFailuresName, description: "Blocks whose processing failed (logged; the loop went on)");
        _meter.CreateObservableGauge(AccountsIndexedName, () => Volatile.Read(ref _indexed), description: "Accounts in the indexed book");
        _meter.CreateObservableGauge(AccountsLiquidatableName, () => Volatile.Read(ref _liquidatable), description: "Liquidatable accounts at the last processed block");
        _meter.CreateObservableGauge(AccountsRecomputedName, () => Volatile.Read(ref _recomputed), description: "Accounts recomputed for the last processed block");
        _detection = _meter.CreateHistogram(DetectionName, "s", "Detection per block: pinned price read and incremental risk recompute", advice: seconds);
        _detectionToSend = _meter.CreateHistogram(DetectionToSendName, "s", "From the start of a block's processing to a liquidation batch sent", advice: seconds);
        _sendToInclusion = _meter.CreateHistogram(SendToInclusionName, "s", "From a liquidation batch sent to its receipt", advice: seconds);
        _sent = _meter.CreateCounter<long>(LiquidationsSentName, description: "Liquidation requests sent (one per account and market)");
        _won = _meter.CreateCounter<long>(LiquidationsWonName, description: "Liquidation requests executed by this keeper (Liquidated events in its receipts)");
        _lost = _meter.CreateCounter<long>(LiquidationsLostName,
            description: "Liquidation requests skipped on chain for accounts this keeper did not liquidate in the same transaction (another keeper was first, or the account recovered), by reason");
        _skipped = _meter.CreateCounter<long>(RequestsSkippedName, description: "Every liquidation request skipped on chain in this keeper's transactions, by reason");
        _reverted = _meter.CreateCounter<long>(LiquidationsRevertedName, description: "Liquidation requests in batches that reverted on chain");
        _batches = _meter.CreateCounter<long>(BatchesName, description: "Liquidation batches sent, by final outcome");
        _collateralSales = _meter.CreateCounter<long>(CollateralSalesName, description: "Collateral sales (liquidateCollateral) sent, by final outcome");
        _rewards = _meter.CreateCounter<double>(RewardsName, description: "Keeper rewards earned (USD, from Liquidated events)");
        _gasUsed = _meter.CreateCounter<long>(GasUsedName, description: "Gas used by mined keeper transactions, by kind");
        _fees = _meter.CreateCounter<double>(FeesPaidName, description: "Fees paid by mined keeper transactions (gas token), by kind");
        _meter.CreateObservableGauge(PendingName, () => Volatile.Read(ref _pending), description: "Keeper transactions in flight (nonces not yet mined)");
        _meter.CreateObservableGauge(NonceName, () => Observe(_nonce), description: "Highest nonce the keeper sent");
        _meter.CreateObservableGauge(ResidentMemoryName, () => (double)Environment.WorkingSet, description: "Resident set of the keeper process (bytes)");
        _meter.CreateObservableGauge(GcHeapName, () => (double)GC.GetGCMemoryInfo().HeapSizeBytes, description: "Managed heap after the last garbage collection (bytes)");
        _meter.CreateObservableGauge(GcCommittedName, () => (double)GC.GetGCMemoryInfo().TotalCommittedBytes, description: "Memory committed by the garbage collector (bytes)");
        _meter.CreateObservableGauge(WalletBalanceName, ObserveWallet, description: "Gas-token balance of the keeper's wallet");
        _meter.CreateObservableGauge(OracleSourcesName, () => ObserveOracle(a => a.Sources), description: "Valid price sources per asset in the last oracle round");
        _meter.CreateObservableGauge(OracleDeviationName, () => ObserveOracle(a => a.DeviationBps), description: "Aggregate vs on-chain price deviation per asset in the last oracle round (bps)");
        _meter.CreateObservableGauge(OracleHaltedName, ObserveHalted, description: "Seconds an asset has been Halted (0 when not)");

        // unlabelled counters start at 0 so that rates exist from the first scrape
        _blocks.Add(0);
        _blockFailures.Add(0);
        _sent.Add(0);
        _won.Add(0);
        _reverted.Add(0);
        _lost.Add(0, new KeyValuePair<string, object?>("reason", "not_liquidatable"));
        _rewards.Add(0);
    }

    /// <summary>The latest values, for the readiness checks.</summary>
    public KeeperStatus Status
    {
        get
        {
            lock (_lock)
            {
                return new KeeperStatus(_chainHead, _processed, _processedAt, _subscribed, _headSourceAt, _wallet, _walletAt, _oracleRounds,
                    _oracle.Where(kv => kv.Value.HaltedSince is not null).ToDictionary(kv => kv.Key, kv => kv.Value.HaltedSince!.Value, StringComparer.Ordinal))
                {
                    OracleRoundAt = _oracleRoundAt,
                    OracleExpectedSince = _oracleExpectedSince,
                };
            }
        }
    }

    // ---------------------------------------------------------------- head follower

    /// <summary>A new chain head was announced (subscription or poll).</summary>
    public void ChainHead(ulong number)
    {
        lock (_lock) _chainHead = number;
    }

    /// <summary>The newHeads subscription ended (the follower falls back to polling until it resubscribes).</summary>
    public void SubscriptionEnded()
    {
        lock (_lock) _subscribed = false;
    }

    /// <summary>The head follower completed a step (a head over the subscription, or a poll).</summary>
    public void HeadSourceActive(bool subscribed)
    {
        lock (_lock)
        {
            _subscribed = subscribed;
            _headSourceAt = _time.GetUtcNow();
        }
    }

    // ---------------------------------------------------------------- keeper loop

    /// <summary>The keeper loop processed a block.</summary>
    public void BlockProcessed(ulong block)
    {
        lock (_lock)
        {
            _processed = block;
            _processedAt = _time.GetUtcNow();
            if (_chainHead is null || _chainHead < block) _chainHead = block;
        }
        _blocks.Add(1);
    }

    /// <summary>A block failed (the loop goes on with the next one).</summary>
    public void BlockFailed() => _blockFailures.Add(1);

    /// <summary>Detection of one block: book size, liquidatable count, accounts recomputed, time taken.</summary>
    public void Detection(int indexed, int liquidatable, int recomputed, TimeSpan elapsed)
    {
        Volatile.Write(ref _indexed, indexed);
        Volatile.Write(ref _liquidatable, liquidatable);
        Volatile.Write(ref _recomputed, recomputed);
        _detection.Record(elapsed.TotalSeconds);
    }

    /// <summary>A batch was sent (or, in dry run, simulated) this long after its block's processing started.</summary>
    public void DetectionToSend(TimeSpan latency) => _detectionToSend.Record(latency.TotalSeconds);

    /// <summary>
    /// A liquidation batch of <paramref name="requests"/> requests was sent as intent <paramref name="intentId"/>;
    /// the current span (the block's <c>submit</c> span) is what its <c>included</c> span links to.
    /// </summary>
    public void LiquidationSent(string intentId, int requests)
    {
        ArgumentNullException.ThrowIfNull(intentId);
        _sent.Add(requests);
        _intents.TryAdd(intentId, new IntentTrack("liquidation", requests, Activity.Current?.Context));
    }

    /// <summary>A collateral sale (liquidateCollateral of an insolvent account without positions) was sent as intent <paramref name="intentId"/>.</summary>
    public void CollateralSaleSent(string intentId)
    {
        ArgumentNullException.ThrowIfNull(intentId);
        _intents.TryAdd(intentId, new IntentTrack("collateral", 1, Activity.Current?.Context));
    }

    /// <summary>
    /// An intent sent before a restart and re-attached from the journal: its outcome is counted like one sent by this
    /// process (batches, won, lost, rewards, gas by kind), without a send-to-inclusion sample (its send time is not known).
    /// </summary>
    /// <param name="kind">The intent's kind ("liquidation" or "collateral").</param>
    /// <param name="requests">Liquidation requests in it (one per account and market).</param>
    public void Restored(string intentId, string kind, int requests)
    {
        ArgumentNullException.ThrowIfNull(intentId);
        _intents.TryAdd(intentId, new IntentTrack(kind == "collateral" ? "collateral" : "liquidation", requests, null));
    }

    /// <summary>Keeper transactions in flight.</summary>
    public void PendingTransactions(int count) => Volatile.Write(ref _pending, count);

    /// <summary>An executor outcome (the keeper loop drains them): gas, fees, nonce, and for liquidation batches the result.</summary>
    public void Outcome(ExecutionOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        IntentTrack? intent = outcome.IntentId is { } id && _intents.TryGetValue(id, out IntentTrack? t) ? t : null;
        if (outcome.Nonce is { } nonce && outcome.Kind is ExecutionOutcomeKind.Sent or ExecutionOutcomeKind.Replaced)
        {
            lock (_lock) if (_nonce is null || nonce > _nonce) _nonce = nonce;
        }
        if (intent is not null && outcome.Kind == ExecutionOutcomeKind.Sent) intent.SentAt ??= outcome.At;

        string kind = outcome.Kind switch
        {
            ExecutionOutcomeKind.Cancelled => "cancel",
            ExecutionOutcomeKind.GapFilled => "gap_fill",
            _ => intent?.Kind ?? "other",
        };
        var kindTag = new KeyValuePair<string, object?>("kind", kind);
        if (outcome.GasUsed is { } gas) _gasUsed.Add((long)Math.Min(gas, long.MaxValue), kindTag);
        if (outcome.FeePaid is { } fee) _fees.Add((double)fee / s_wad, kindTag);

        if (intent is null || !InFlightTracker.IsFinal(outcome.Kind)) return;
        _intents.TryRemove(outcome.IntentId!, out _);
        var outcomeTag = new KeyValuePair<string, object?>("outcome", outcome.Kind.ToString().ToLowerInvariant());
        if (intent.Kind != "liquidation")
        {
            _collateralSales.Add(1, outcomeTag);
            return;
        }
        _batches.Add(1, outcomeTag);
        switch (outcome.Kind)
        {
            case ExecutionOutcomeKind.Included:
                if (intent.SentAt is { } sentAt) _sendToInclusion.Record(Math.Max(0, (outcome.At - sentAt).TotalSeconds));
                CountResults(outcome.Logs);
                TraceIncluded(outcome, intent);
                break;
            case ExecutionOutcomeKind.Reverted:
                _reverted.Add(intent.Requests);
                TraceIncluded(outcome, intent);
                break;
        }
    }

    /// <summary>
    /// Liquidated events naming this keeper are requests won. A skipped request is lost only when its account was
    /// not liquidated by this keeper in the same transaction (a request for another market of an account that an
    /// earlier request already brought back above maintenance is skipped, not lost).
    /// </summary>
    private void CountResults(IReadOnlyList<LogEntry>? logs)
    {
        LiquidationReceipt r = LiquidationReceipt.Read(logs, _keeper);
        if (r.RequestsWon > 0)
        {
            _won.Add(r.RequestsWon);
            _rewards.Add((double)r.RewardWad / s_wad);
        }
        foreach (SkippedRequest s in r.Skipped)
        {
            var tag = new KeyValuePair<string, object?>("reason", s.Label);
            _skipped.Add(1, tag);
            if (r.IsLost(s.Account)) _lost.Add(1, tag);
        }
    }

    private static void TraceIncluded(ExecutionOutcome outcome, IntentTrack intent)
    {
        ActivityLink[]? links = intent.Span is { } span ? [new ActivityLink(span)] : null;
        // a root span linked to its liquidation, not a child of whatever block span settles the receipt (that block
        // starts after the transaction was sent; a default parent context means Activity.Current). Started and stopped
        // with no ambient span (stopping restores the span current at start), then the ambient one is put back.
        Activity? ambient = Activity.Current;
        Activity.Current = null;
        try
        {
            using Activity? a = KeeperTracing.Source.StartActivity(KeeperTracing.Included, ActivityKind.Internal, parentContext: default,
                tags: null, links: links, startTime: intent.SentAt ?? outcome.At);
            if (a is null) return;
            a.SetTag("intent.id", outcome.IntentId);
            a.SetTag("tx.hash", outcome.TxHash?.ToString());
            a.SetTag("tx.outcome", outcome.Kind.ToString());
            if (outcome.BlockNumber is { } b) a.SetTag("block.number", b);
            if (outcome.GasUsed is { } g) a.SetTag("tx.gas_used", g);
            if (outcome.Kind == ExecutionOutcomeKind.Reverted) a.SetStatus(ActivityStatusCode.Error, "reverted");
            a.SetEndTime(outcome.At.UtcDateTime);
        }
        finally
        {
            Activity.Current = ambient;
        }
    }

    // ---------------------------------------------------------------- wallet

    /// <summary>The keeper wallet's balance was read.</summary>
    public void WalletBalance(UInt256 wei)
    {
        lock (_lock)
        {
            _wallet = wei;
            _walletAt = _time.GetUtcNow();
        }
    }

    // ---------------------------------------------------------------- oracle

    /// <summary>
    /// The oracle part runs in this process (its rounds are expected from now on): readiness then fails when no round
    /// completes for longer than its limit, including before the first one.
    /// </summary>
    public void OracleExpected()
    {
        DateTimeOffset now = _time.GetUtcNow();
        lock (_lock) _oracleExpectedSince ??= now;
    }

    /// <summary>
    /// An oracle round completed (subscribe to <see cref="OracleService.RoundCompleted"/>, which reports pushing and
    /// gate-only rounds alike): sources and Halted state per asset, and the hub-vs-aggregate deviation of this round
    /// (an asset without one this round, e.g. hub unreadable or Halted, has no deviation sample until it has one again).
    /// </summary>
    public void OracleRound(OracleServiceRound round)
    {
        ArgumentNullException.ThrowIfNull(round);
        DateTimeOffset now = _time.GetUtcNow();
        lock (_lock)
        {
            _oracleRounds++;
            _oracleRoundAt = now;
            foreach (AggregatePrice a in round.Aggregates.Values)
            {
                if (!_oracle.TryGetValue(a.Asset, out OracleAsset? track)) _oracle[a.Asset] = track = new OracleAsset();
                track.Sources = a.ValidSources.Count;
                if (a.State == OracleState.Halted) track.HaltedSince ??= now;
                else track.HaltedSince = null;
            }
            foreach (var (asset, track) in _oracle)
                track.DeviationBps = round.DeviationBps.TryGetValue(asset, out double bps) ? bps : null;
        }
    }

    // ---------------------------------------------------------------- observation

    private static IEnumerable<Measurement<double>> Observe(ulong? value) =>
        value is { } v ? [new Measurement<double>(v)] : [];

    private IEnumerable<Measurement<double>> ObserveWallet()
    {
        UInt256? wei;
        lock (_lock) wei = _wallet;
        return wei is { } w ? [new Measurement<double>((double)w / s_wad)] : [];
    }

    private List<Measurement<double>> ObserveOracle(Func<OracleAsset, double?> value)
    {
        lock (_lock)
        {
            var list = new List<Measurement<double>>(_oracle.Count);
            foreach (var (asset, track) in _oracle)
                if (value(track) is { } v) list.Add(new Measurement<double>(v, new KeyValuePair<string, object?>("asset", asset)));
            return list;
        }
    }

    private IEnumerable<Measurement<double>> ObserveHalted()
    {
        DateTimeOffset now = _time.GetUtcNow();
        return ObserveOracle(a => a.HaltedSince is { } since ? Math.Max(0, (now - since).TotalSeconds) : 0);
    }

    public void Dispose()
    {
        if (_ownsMeter) _meter.Dispose();
    }

    private sealed class IntentTrack(string kind, int requests, ActivityContext? span)
    {
        public string Kind { get; } = kind;
        public int Requests { get; } = requests;
        public ActivityContext? Span { get; } = span;
        public DateTimeOffset? SentAt { get; set; }
    }

    private sealed class OracleAsset
    {
        public int Sources;
        public double? DeviationBps;
        public DateTimeOffset? HaltedSince;
    }
}
