using System.Diagnostics;
using CrossMargin.Contracts;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Contracts;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Keeper.Oracle.OnChain;
using CrossMargin.Keeper.Oracle.Sources;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CrossMargin.Keeper.Oracle.Push;

/// <summary>What happened to one push transaction of a round.</summary>
public enum PushStatus
{
    /// <summary>Nothing was due.</summary>
    NotNeeded,
    /// <summary>Mined successfully.</summary>
    Sent,
    /// <summary>Rejected (in simulation or on chain) because a newer update was already there: counted, not an error.</summary>
    BenignRace,
    /// <summary>Failed: simulation revert, send failure or a mined revert that is not a benign race.</summary>
    Failed,
}

/// <summary>One push transaction of a round (feeds via the hub, or Pyth).</summary>
/// <param name="Kind">"feeds" or "pyth".</param>
/// <param name="Status">Outcome.</param>
/// <param name="Assets">Assets carried.</param>
/// <param name="Receipt">The receipt when mined.</param>
/// <param name="Rejection">Classification of a revert.</param>
/// <param name="Detail">Reason text for failures and races.</param>
/// <param name="Latency">Round start to receipt (wall clock) for sent pushes.</param>
public sealed record PushAttempt(string Kind, PushStatus Status, IReadOnlyList<string> Assets, TransactionReceipt? Receipt,
    PushRejection? Rejection, string? Detail, TimeSpan Latency)
{
    internal static PushAttempt None(string kind) => new(kind, PushStatus.NotNeeded, [], null, null, null, TimeSpan.Zero);
}

/// <summary>The result of one round.</summary>
/// <param name="Time">The bot's clock at the round start.</param>
/// <param name="Aggregates">Aggregates per asset.</param>
/// <param name="Decisions">Feed push decision per asset (empty when the chain could not be read).</param>
/// <param name="Feeds">The hub push.</param>
/// <param name="Pyth">The Pyth push.</param>
/// <param name="HaltedAssets">Assets skipped because Halted.</param>
/// <param name="FailedSources">Sources whose fetch failed this round.</param>
/// <param name="OnChain">What was read from the chain (null when the read failed).</param>
public sealed record OracleRoundReport(DateTimeOffset Time, IReadOnlyDictionary<string, AggregatePrice> Aggregates, IReadOnlyList<PushDecision> Decisions,
    PushAttempt Feeds, PushAttempt Pyth, IReadOnlyList<string> HaltedAssets, IReadOnlyList<string> FailedSources, OnChainOracleState? OnChain);

/// <summary>
/// The oracle bot's push loop. Each round (on a timer of the injected <see cref="TimeProvider"/>, or on demand via
/// <see cref="RunRoundAsync"/>): fetch every source, aggregate, read the feeds' latest rounds and the on-chain Pyth
/// prices at one block, decide (see <see cref="PushPolicy"/>), then for the feeds one <c>OracleHub.pushPrices</c>
/// and for Pyth one <c>updatePriceFeeds</c> (value = <c>getUpdateFee</c>), each simulated with eth_call first.
/// Rejections because the chain already holds a newer update are counted as benign races. Halted assets are never
/// pushed. Rounds never overlap: a timer tick during a running round is skipped.
/// </summary>
public sealed partial class OraclePusher : IAsyncDisposable
{
    private readonly OraclePusherOptions _options;
    private readonly PriceAggregator _aggregator;
    private readonly IReadOnlyList<IPriceSource> _sources;
    private readonly PythHermesPriceSource? _pythSource;
    private readonly IOracleChain _chain;
    private readonly TimeProvider _time;
    private readonly OracleMetrics _metrics;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly string[] _assets;
    private ITimer? _timer;
    private Task _lastTick = Task.CompletedTask;
    private long _rounds;
    private long _skippedTicks;

    public OraclePusher(OraclePusherOptions options, PriceAggregator aggregator, IReadOnlyList<IPriceSource> sources, IOracleChain chain,
        TimeProvider? timeProvider = null, OracleMetrics? metrics = null, ILogger<OraclePusher>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(aggregator);
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentNullException.ThrowIfNull(chain);
        options.Validate();
        if (options.Assets.Any(a => a.PythPriceId is not null) && chain.Pyth is null)
            throw new ArgumentException("Assets have Pyth ids but the chain has no Pyth contract.", nameof(options));
        _options = options;
        _aggregator = aggregator;
        _sources = sources;
        _pythSource = sources.OfType<PythHermesPriceSource>().FirstOrDefault();
        _chain = chain;
        _time = timeProvider ?? TimeProvider.System;
        _metrics = metrics ?? new OracleMetrics();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _assets = [.. options.Assets.Select(a => a.Asset)];
    }

    /// <summary>Rounds completed.</summary>
    public long Rounds => Interlocked.Read(ref _rounds);

    /// <summary>Timer ticks skipped because a round was still running.</summary>
    public long SkippedTicks => Interlocked.Read(ref _skippedTicks);

    /// <summary>The most recent round's report.</summary>
    public OracleRoundReport? LastReport { get; private set; }

    /// <summary>Raised after every round (on the round's thread).</summary>
    public event Action<OracleRoundReport>? RoundCompleted;

    /// <summary>Starts the round timer (first round after one interval).</summary>
    public void Start()
    {
        if (_timer is not null) throw new InvalidOperationException("Already started.");
        _timer = _time.CreateTimer(_ => _lastTick = TickAsync(), null, _options.Interval, _options.Interval);
    }

    /// <summary>Completes when the round started by the latest timer tick (if any) has finished.</summary>
    public Task WaitForTickAsync() => _lastTick;

    private async Task TickAsync()
    {
        if (!await _gate.WaitAsync(0).ConfigureAwait(false))
        {
            Interlocked.Increment(ref _skippedTicks);
            return;
        }
        try
        {
            await RunRoundCoreAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // a timer round must never take the process down; the next tick tries again
            LogRoundCrashed(_logger, ex);
            _metrics.Error("round", "unexpected");
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Runs one round now (waits for a running round to finish first).</summary>
    public async Task<OracleRoundReport> RunRoundAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await RunRoundCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<OracleRoundReport> RunRoundCoreAsync(CancellationToken cancellationToken)
    {
        long started = Stopwatch.GetTimestamp();
        DateTimeOffset now = _time.GetUtcNow();

        // 1. sources (in parallel; a failing source contributes nothing)
        var failed = new List<string>();
        PythPriceBatch? pythBatch = null;
        Task<IReadOnlyList<PriceSample>>[] fetches = [.. _sources.Select(s => FetchAsync(s, cancellationToken))];
        var samples = new List<PriceSample>();
        for (int i = 0; i < _sources.Count; i++)
        {
            try
            {
                samples.AddRange(await fetches[i].ConfigureAwait(false));
                if (ReferenceEquals(_sources[i], _pythSource)) pythBatch = _pythSource.LastBatch;
            }
            catch (PriceSourceException ex)
            {
                failed.Add(_sources[i].Id);
                LogSourceFailed(_logger, _sources[i].Id, ex.Message);
            }
        }

        // 2. aggregate
        IReadOnlyDictionary<string, AggregatePrice> aggregates = _aggregator.ProcessRound(_assets, samples);
        var halted = new List<string>();
        foreach (AggregatePrice a in aggregates.Values)
        {
            _metrics.State(a.Asset, a.State);
            if (a.State == OracleState.Halted)
            {
                halted.Add(a.Asset);
                _metrics.HaltedSkip(a.Asset);
            }
        }

        // 3. chain state at one block
        OnChainOracleState chainState;
        try
        {
            chainState = await _chain.ReadAsync([.. _options.Assets.Select(a => (a.Asset, a.Feed, a.PythPriceId))], cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsChainFailure(ex))
        {
            _metrics.Error("read", "chain");
            LogChainReadFailed(_logger, ex.Message);
            return Complete(new OracleRoundReport(now, aggregates, [], PushAttempt.None("feeds"), PushAttempt.None("pyth"), halted, failed, null));
        }

        // 4. feeds: never carry a time beyond the chain's latest block (the feed rejects future timestamps)
        ulong pushTime = (ulong)Math.Max(0, Math.Min(now.ToUnixTimeSeconds(), (long)Math.Min(chainState.BlockTimestamp, long.MaxValue)));
        IReadOnlyList<PushDecision> decisions = PushPolicy.Plan(_options.Assets, aggregates, chainState.Feeds, now, pushTime);
        foreach (PushDecision d in decisions)
            if (d.DeviationBps is { } dev) _metrics.Deviation(d.Asset, dev);
        PushAttempt feeds = await PushFeedsAsync(decisions, pushTime, started, cancellationToken).ConfigureAwait(false);

        // 5. pyth
        PushAttempt pyth = await PushPythAsync(aggregates, pythBatch, chainState, now, started, cancellationToken).ConfigureAwait(false);
        return Complete(new OracleRoundReport(now, aggregates, decisions, feeds, pyth, halted, failed, chainState));
    }

    private OracleRoundReport Complete(OracleRoundReport report)
    {
        LastReport = report;
        Interlocked.Increment(ref _rounds);
        RoundCompleted?.Invoke(report);
        return report;
    }

    private async Task<IReadOnlyList<PriceSample>> FetchAsync(IPriceSource source, CancellationToken cancellationToken) =>
        await source.FetchAsync(_assets, cancellationToken).ConfigureAwait(false);

    private async Task<PushAttempt> PushFeedsAsync(IReadOnlyList<PushDecision> decisions, ulong pushTime, long started, CancellationToken cancellationToken)
    {
        var chosen = new List<(PushDecision Decision, AssetPushConfig Config)>();
        for (int i = 0; i < decisions.Count; i++)
            if (decisions[i].Push) chosen.Add((decisions[i], _options.Assets[i]));
        if (chosen.Count == 0) return PushAttempt.None("feeds");
        var hub = new OracleHub(_chain.Hub);
        ContractTx tx = hub.PushPrices([.. chosen.Select(c => c.Config.Feed)], [.. chosen.Select(c => c.Decision.Answer)],
            [.. chosen.Select(_ => (UInt256)pushTime)]);
        PushAttempt result = await SimulateAndSendAsync("feeds", tx, [.. chosen.Select(c => c.Decision.Asset)], started, cancellationToken).ConfigureAwait(false);
        if (result.Status == PushStatus.Sent)
            foreach (var (d, _) in chosen) _metrics.AssetPushed(d.Asset, d.Reason);
        return result;
    }

    private async Task<PushAttempt> PushPythAsync(IReadOnlyDictionary<string, AggregatePrice> aggregates, PythPriceBatch? batch, OnChainOracleState chainState,
        DateTimeOffset now, long started, CancellationToken cancellationToken)
    {
        if (batch is null || batch.UpdateData.Count == 0 || _chain.Pyth is not { } pythAddress) return PushAttempt.None("pyth");
        var due = new List<string>();
        foreach (AssetPushConfig cfg in _options.Assets)
        {
            if (cfg.PythPriceId is null) continue;
            OracleState state = aggregates.TryGetValue(cfg.Asset, out AggregatePrice? a) ? a.State : OracleState.Halted;
            PriceSample? hermes = batch.Samples.FirstOrDefault(s => s.Asset == cfg.Asset);
            PythOnChainPrice? onChain = chainState.Pyth.TryGetValue(cfg.Asset, out PythOnChainPrice? p) ? p : null;
            PushReason reason = PushPolicy.PythDue(state, hermes, onChain, now, _options.PythDeviationBps, _options.PythHeartbeat);
            if (reason is PushReason.NoRound or PushReason.Deviation or PushReason.Heartbeat) due.Add(cfg.Asset);
        }
        if (due.Count == 0) return PushAttempt.None("pyth");
        byte[][] data = [.. batch.UpdateData];
        UInt256 fee;
        try
        {
            fee = await _chain.PythUpdateFeeAsync(data, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsChainFailure(ex))
        {
            _metrics.Error("pyth", "fee");
            return new PushAttempt("pyth", PushStatus.Failed, due, null, PushRejection.Error, "getUpdateFee failed: " + ex.Message, TimeSpan.Zero);
        }
        ContractTx tx = new MockPyth(pythAddress).UpdatePriceFeeds(data, fee);
        return await SimulateAndSendAsync("pyth", tx, due, started, cancellationToken).ConfigureAwait(false);
    }

    private async Task<PushAttempt> SimulateAndSendAsync(string kind, ContractTx tx, IReadOnlyList<string> assets, long started, CancellationToken cancellationToken)
    {
        try
        {
            Simulation sim = await _chain.SimulateAsync(tx, cancellationToken).ConfigureAwait(false);
            if (sim.Reverted) return Rejected(kind, assets, sim.RevertData, "simulate");
            TransactionReceipt receipt = await _chain.SendAsync(tx, cancellationToken).ConfigureAwait(false);
            TimeSpan latency = Stopwatch.GetElapsedTime(started);
            _metrics.Pushed(kind, latency.TotalMilliseconds, receipt.GasUsed);
            LogPushed(_logger, kind, assets, receipt.BlockNumber, receipt.GasUsed, latency.TotalMilliseconds);
            return new PushAttempt(kind, PushStatus.Sent, assets, receipt, null, null, latency);
        }
        catch (TransactionRevertedException ex)
        {
            return Rejected(kind, assets, ex.RevertData, "mined");
        }
        catch (OraclePushSkippedException ex)
        {
            // the executor's own simulation reverted (a race between our simulation and its): classify by name
            PushRejection r = RaceClassifier.ClassifyReason(ex.Reason);
            if (RaceClassifier.IsBenign(r))
            {
                _metrics.Benign(kind, r);
                return new PushAttempt(kind, PushStatus.BenignRace, assets, null, r, ex.Reason, TimeSpan.Zero);
            }
            _metrics.Error(kind, "executor");
            LogPushFailed(_logger, kind, ex.Reason);
            return new PushAttempt(kind, PushStatus.Failed, assets, null, r, ex.Reason, TimeSpan.Zero);
        }
        catch (Exception ex) when (IsChainFailure(ex))
        {
            _metrics.Error(kind, "send");
            LogPushFailed(_logger, kind, ex.Message);
            return new PushAttempt(kind, PushStatus.Failed, assets, null, PushRejection.Error, ex.Message, TimeSpan.Zero);
        }
    }

    private PushAttempt Rejected(string kind, IReadOnlyList<string> assets, byte[]? revertData, string stage)
    {
        PushRejection rejection = revertData is null ? PushRejection.Error : RaceClassifier.Classify(revertData);
        string detail = RaceClassifier.Describe(revertData);
        if (RaceClassifier.IsBenign(rejection))
        {
            _metrics.Benign(kind, rejection);
            LogBenignRace(_logger, kind, stage, detail);
            return new PushAttempt(kind, PushStatus.BenignRace, assets, null, rejection, detail, TimeSpan.Zero);
        }
        _metrics.Error(kind, stage);
        LogPushFailed(_logger, kind, $"{stage}: {detail}");
        return new PushAttempt(kind, PushStatus.Failed, assets, null, rejection, detail, TimeSpan.Zero);
    }

    private static bool IsChainFailure(Exception ex) =>
        ex is RpcClientException or TransactionTimeoutException or InvalidOperationException or HttpRequestException
            or CrossMargin.Ethereum.Abi.AbiDecodingException;

    /// <summary>Stops the timer and waits for a running round.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_timer is not null) await _timer.DisposeAsync().ConfigureAwait(false);
        _timer = null;
        await _gate.WaitAsync().ConfigureAwait(false);
        _gate.Release();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "oracle push {Kind} [{Assets}] mined in block {Block}, gas {Gas}, {LatencyMs:0} ms")]
    private static partial void LogPushed(ILogger logger, string kind, IReadOnlyList<string> assets, ulong block, ulong gas, double latencyMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "oracle push {Kind}: benign race at {Stage}: {Detail}")]
    private static partial void LogBenignRace(ILogger logger, string kind, string stage, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "oracle push {Kind} failed: {Detail}")]
    private static partial void LogPushFailed(ILogger logger, string kind, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "price source {Source} failed: {Detail}")]
    private static partial void LogSourceFailed(ILogger logger, string source, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "oracle round could not read the chain: {Detail}")]
    private static partial void LogChainReadFailed(ILogger logger, string detail);

    [LoggerMessage(Level = LogLevel.Error, Message = "oracle round crashed")]
    private static partial void LogRoundCrashed(ILogger logger, Exception ex);
}
