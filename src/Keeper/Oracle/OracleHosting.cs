using System.Diagnostics.Metrics;
using System.Numerics;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Ethereum.Transactions;
using CrossMargin.Keeper.Configuration;
using CrossMargin.Keeper.Execution;
using CrossMargin.Keeper.Oracle.OnChain;
using CrossMargin.Keeper.Oracle.Push;
using CrossMargin.Keeper.Oracle.Sources;
using CrossMargin.Keeper.Planning;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CrossMargin.Keeper.Oracle;

/// <summary>Registers the oracle part of the keeper daemon.</summary>
public static class OracleHosting
{
    /// <summary>
    /// When <see cref="KeeperSettings.Oracle"/> is set: the price sources, the <see cref="PriceAggregator"/>, the
    /// <see cref="HubPriceReader"/>, the <see cref="AggregatorPriceGate"/> (as the planner's
    /// <see cref="ILiquidationPriceGate"/> when the gate is on), the pusher (when pushing: over the keeper's own
    /// <see cref="TxExecutor"/>, or over a second executor for <paramref name="oracleSigner"/>) and the
    /// <see cref="OracleService"/> round loop. Otherwise only a start-up line saying why the part is inactive.
    /// Call after the keeper's own registrations (its gate registration is overridden).
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="settings">Validated keeper settings.</param>
    /// <param name="eth">The keeper's RPC client.</param>
    /// <param name="oracleSigner">A separate pusher key, or null to share the keeper's executor.</param>
    public static IServiceCollection AddOracle(this IServiceCollection services, KeeperSettings settings, IEthClient eth, ITxSigner? oracleSigner = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(eth);
        if (settings.Oracle is not { } o)
        {
            services.AddHostedService(sp => new OracleStatusService(settings, sp.GetRequiredService<ILogger<OracleService>>()));
            return services;
        }
        services.AddSingleton(o);
        services.TryAddSingleton(sp => new OracleMetrics(sp.GetService<IMeterFactory>())); // monitoring may have registered it
        services.AddSingleton(sp => new PriceAggregator(o.Aggregation, Time(sp)));
        services.AddSingleton(sp => OracleSourceSet.Create(o, eth, Time(sp)));
        services.AddSingleton(sp => new HubPriceReader(eth, settings.OracleHub, o.Assets.ToDictionary(a => a.Symbol, a => a.OracleId, StringComparer.Ordinal)));
        services.AddSingleton(sp => new AggregatorPriceGate(sp.GetRequiredService<PriceAggregator>(), o.Assets.ToDictionary(a => a.OracleId, a => a.Symbol),
            sp.GetRequiredService<OracleMetrics>(), o.BlockUnknownOracles, Time(sp), sp.GetRequiredService<ILogger<AggregatorPriceGate>>()));
        if (o.Gate) services.AddSingleton<ILiquidationPriceGate>(sp => sp.GetRequiredService<AggregatorPriceGate>());
        if (o.Push)
        {
            services.AddSingleton(sp => OraclePushSetup.Create(o, settings, eth, oracleSigner, sp));
            services.AddSingleton(sp => sp.GetRequiredService<OraclePushSetup>().Pusher); // monitoring subscribes to its rounds
        }
        services.AddSingleton(sp => new OracleService(o, sp.GetRequiredService<PriceAggregator>(), sp.GetRequiredService<OracleSourceSet>().Sources,
            sp.GetRequiredService<HubPriceReader>(), sp.GetRequiredService<OracleMetrics>(), o.Push ? sp.GetRequiredService<OraclePushSetup>() : null,
            settings.DryRun ? null : sp.GetRequiredService<TxJournal>(), Time(sp), sp.GetRequiredService<ILogger<OracleService>>()));
        services.AddHostedService(sp => sp.GetRequiredService<OracleService>());
        return services;
    }

    private static TimeProvider Time(IServiceProvider sp) => sp.GetService<TimeProvider>() ?? TimeProvider.System;
}

/// <summary>The price sources of the oracle part, with the HTTP clients they own.</summary>
public sealed class OracleSourceSet : IDisposable
{
    private readonly List<HttpClient> _http;

    private OracleSourceSet(IReadOnlyList<IPriceSource> sources, List<HttpClient> http)
    {
        Sources = sources;
        _http = http;
    }

    /// <summary>The sources, in a fixed order (binance, coinbase, kraken, pyth, reference).</summary>
    public IReadOnlyList<IPriceSource> Sources { get; }

    /// <summary>Builds one source per configured base URL, and the reference-feed source when an asset has one.</summary>
    public static OracleSourceSet Create(OracleSettings settings, IEthClient eth, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(eth);
        var http = new List<HttpClient>();
        HttpClient Client(Uri baseUri)
        {
            var c = new HttpClient { BaseAddress = baseUri };
            c.DefaultRequestHeaders.UserAgent.ParseAdd("crossmargin-keeper");
            http.Add(c);
            return c;
        }
        var sources = new List<IPriceSource>();
        IReadOnlyList<OracleAssetSettings> assets = settings.Assets;
        if (settings.Binance is { } b)
        {
            var map = new Dictionary<string, string>(BinancePriceSource.DefaultSymbols, StringComparer.Ordinal);
            foreach (OracleAssetSettings a in assets) if (a.BinanceSymbol is { } s) map[a.Symbol] = s;
            sources.Add(new BinancePriceSource(Client(b), map, settings.Resilience, time));
        }
        if (settings.Coinbase is { } c)
        {
            var map = new Dictionary<string, string>(CoinbasePriceSource.DefaultProducts, StringComparer.Ordinal);
            foreach (OracleAssetSettings a in assets) if (a.CoinbaseProduct is { } p) map[a.Symbol] = p;
            sources.Add(new CoinbasePriceSource(Client(c), map, settings.Resilience, time));
        }
        if (settings.Kraken is { } k)
        {
            var map = new Dictionary<string, KrakenPair>(KrakenPriceSource.DefaultPairs, StringComparer.Ordinal);
            foreach (OracleAssetSettings a in assets)
            {
                if (a.KrakenPair is not { } pair) continue;
                IEnumerable<string> keys = map.TryGetValue(a.Symbol, out KrakenPair? known) ? known.ResultKeys : [];
                map[a.Symbol] = new KrakenPair(pair, [.. keys.Prepend(pair).Distinct(StringComparer.Ordinal)]);
            }
            sources.Add(new KrakenPriceSource(Client(k), map, settings.Resilience, time));
        }
        if (settings.PythHermes is { } h)
        {
            var ids = assets.Where(a => a.PythPriceId is not null).ToDictionary(a => a.Symbol, a => a.PythPriceId!.Value.ToString(), StringComparer.Ordinal);
            sources.Add(new PythHermesPriceSource(Client(h), ids, settings.Resilience, time));
        }
        var references = assets.Where(a => a.ReferenceFeed is not null).ToDictionary(a => a.Symbol, a => a.ReferenceFeed!.Value, StringComparer.Ordinal);
        if (references.Count > 0)
            sources.Add(new AggregatorV3PriceSource(new RpcAggregatorV3Reader(eth), references, settings.Resilience, time, OracleSourceIds.Reference));
        return new OracleSourceSet(sources, http);
    }

    public void Dispose()
    {
        foreach (HttpClient h in _http) h.Dispose();
        _http.Clear();
    }
}

/// <summary>The pusher and the executor it sends through (the keeper's, or its own for a separate key).</summary>
public sealed class OraclePushSetup : IAsyncDisposable
{
    private OraclePushSetup(OraclePusher pusher, TxExecutor executor, bool ownsExecutor)
    {
        Pusher = pusher;
        Executor = executor;
        OwnsExecutor = ownsExecutor;
    }

    public OraclePusher Pusher { get; }

    public TxExecutor Executor { get; }

    /// <summary>True when the executor belongs to the pusher (separate key): the oracle service starts it.</summary>
    public bool OwnsExecutor { get; }

    internal static OraclePushSetup Create(OracleSettings o, KeeperSettings settings, IEthClient eth, ITxSigner? oracleSigner, IServiceProvider sp)
    {
        TimeProvider time = sp.GetService<TimeProvider>() ?? TimeProvider.System;
        TxExecutor executor;
        bool owns = oracleSigner is not null;
        if (oracleSigner is not null)
        {
            var options = new ExecutionOptions();
            // on the host's meters: its outcomes, errors and gas are scraped on /metrics with the keeper's (crossmargin_tx_*)
            executor = new TxExecutor(eth, oracleSigner, new NonceManager(eth), new FeeEstimator(eth, options.Fees), sp.GetRequiredService<TxJournal>(), options,
                time, sp.GetRequiredService<ILogger<TxExecutor>>(), metrics: new ExecutionMetrics(sp.GetService<IMeterFactory>()));
        }
        else
        {
            executor = sp.GetRequiredService<TxExecutor>();
        }
        var sender = new ExecutorOracleTxSender(executor, eth, new ExecutorOracleTxOptions { DriveBlocks = owns }, time);
        var chain = new RpcOracleChain(eth, sender, settings.OracleHub, o.PythContract);
        var pushOptions = new OraclePusherOptions
        {
            Interval = o.RoundInterval,
            PythDeviationBps = o.PythDeviationBps,
            PythHeartbeat = o.PythHeartbeat,
        };
        foreach (OracleAssetSettings a in o.Assets)
        {
            if (a.Feed is not { } feed) continue;
            pushOptions.Assets.Add(new AssetPushConfig
            {
                Asset = a.Symbol, Feed = feed, FeedDecimals = a.FeedDecimals, PythPriceId = o.PythContract is null ? null : a.PythPriceId,
                DeviationBps = a.DeviationBps, EarlyBps = a.EarlyBps, Heartbeat = a.Heartbeat,
            });
        }
        var pusher = new OraclePusher(pushOptions, sp.GetRequiredService<PriceAggregator>(), sp.GetRequiredService<OracleSourceSet>().Sources, chain, time,
            sp.GetRequiredService<OracleMetrics>(), sp.GetRequiredService<ILogger<OraclePusher>>());
        return new OraclePushSetup(pusher, executor, owns);
    }

    public async ValueTask DisposeAsync()
    {
        await Pusher.DisposeAsync().ConfigureAwait(false);
        if (OwnsExecutor) await Executor.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>One round of the <see cref="OracleService"/>.</summary>
/// <param name="HubBlock">Block of the hub prices compared (null when the hub could not be read).</param>
/// <param name="Aggregates">The round's aggregates per asset.</param>
/// <param name="DeviationBps">Signed hub-vs-aggregate deviation per asset (basis points, 1/100 precision) for assets with both prices and a non-Halted aggregate.</param>
/// <param name="Push">The pusher's report, when the round pushed (null: aggregation only).</param>
public sealed record OracleServiceRound(ulong? HubBlock, IReadOnlyDictionary<string, AggregatePrice> Aggregates, IReadOnlyDictionary<string, double> DeviationBps,
    OracleRoundReport? Push);

/// <summary>
/// The oracle part's round loop in the keeper daemon. Every <see cref="OracleSettings.RoundInterval"/>: read the hub's
/// prices at the head, run a pusher round (fetch, aggregate, push what is due) — or, when not pushing (push off, dry
/// run, executor not started yet), fetch and aggregate only — then record each asset's signed deviation of the hub
/// price from the new aggregate as an <see cref="ObservationKinds.OracleDeviationBps"/> observation in the journal (one
/// per asset and round; none in dry-run mode). The aggregator it updates is what the <see cref="AggregatorPriceGate"/>
/// reads. A failing round is logged and the loop goes on.
/// </summary>
public sealed partial class OracleService : BackgroundService
{
    private readonly OracleSettings _settings;
    private readonly PriceAggregator _aggregator;
    private readonly IReadOnlyList<IPriceSource> _sources;
    private readonly HubPriceReader _hub;
    private readonly OracleMetrics _metrics;
    private readonly OraclePushSetup? _push;
    private readonly TxJournal? _journal;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string[] _assets;
    private readonly SemaphoreSlim _round = new(1, 1);
    private long _rounds, _pushRounds, _failures;

    public OracleService(OracleSettings settings, PriceAggregator aggregator, IReadOnlyList<IPriceSource> sources, HubPriceReader hub, OracleMetrics metrics,
        OraclePushSetup? push, TxJournal? journal, TimeProvider? timeProvider, ILogger<OracleService> logger)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(aggregator);
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentNullException.ThrowIfNull(hub);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(logger);
        _settings = settings;
        _aggregator = aggregator;
        _sources = sources;
        _hub = hub;
        _metrics = metrics;
        _push = push;
        _journal = journal;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger;
        _assets = [.. settings.Assets.Select(a => a.Symbol)];
    }

    /// <summary>Rounds completed.</summary>
    public long Rounds => Interlocked.Read(ref _rounds);

    /// <summary>Rounds that ran the pusher.</summary>
    public long PushRounds => Interlocked.Read(ref _pushRounds);

    /// <summary>Rounds that failed.</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>The latest round.</summary>
    public OracleServiceRound? LastRound { get; private set; }

    /// <summary>Raised after every round (on the round's thread).</summary>
    public event Action<OracleServiceRound>? RoundCompleted;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_logger.IsEnabled(LogLevel.Information))
        {
            string sources = string.Join(", ", _sources.Select(s => s.Id));
            string sender = _push is null ? "-" : _push.Executor.Sender + (_push.OwnsExecutor ? " (own key)" : " (keeper's executor)");
            LogStarting(_logger, _assets.Length, sources, _settings.Gate, _push is not null, sender);
        }
        if (_sources.Count < 2) LogFewSources(_logger, _sources.Count);
        if (_push is { OwnsExecutor: true } p) await StartExecutorAsync(p.Executor, stoppingToken).ConfigureAwait(false);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunRoundAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // a round must never take the daemon down: the next round tries again
                Interlocked.Increment(ref _failures);
                LogRoundFailed(_logger, e.GetType().Name, e.Message);
            }
            try
            {
                await Task.Delay(_settings.RoundInterval, _time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private async Task StartExecutorAsync(TxExecutor executor, CancellationToken stoppingToken)
    {
        for (int attempt = 1; !stoppingToken.IsCancellationRequested; attempt++)
        {
            try
            {
                await executor.StartAsync(stoppingToken).ConfigureAwait(false);
                return;
            }
            catch (RpcClientException e)
            {
                LogExecutorRetry(_logger, attempt, e.Message);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(Math.Min(30, attempt * 2)), _time, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Runs one round now (waits for a running one).</summary>
    public async Task<OracleServiceRound> RunRoundAsync(CancellationToken cancellationToken = default)
    {
        await _round.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await RunRoundCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _round.Release();
        }
    }

    private async Task<OracleServiceRound> RunRoundCoreAsync(CancellationToken cancellationToken)
    {
        HubPriceSnapshot? hub = null;
        try
        {
            hub = await _hub.ReadAsync(null, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RpcClientException or InvalidOperationException or HttpRequestException or CrossMargin.Ethereum.Abi.AbiDecodingException)
        {
            LogHubReadFailed(_logger, e.Message);
        }

        OracleRoundReport? report = null;
        IReadOnlyDictionary<string, AggregatePrice> aggregates;
        if (_push is { } p && p.Executor.Started)
        {
            report = await p.Pusher.RunRoundAsync(cancellationToken).ConfigureAwait(false);
            aggregates = report.Aggregates;
            Interlocked.Increment(ref _pushRounds);
        }
        else
        {
            aggregates = await AggregateAsync(cancellationToken).ConfigureAwait(false);
        }

        var deviations = new Dictionary<string, double>(StringComparer.Ordinal);
        if (hub is not null)
        {
            foreach (string asset in _assets)
            {
                if (hub.For(asset) is not { PriceWad: { } onChain }) continue;
                if (!aggregates.TryGetValue(asset, out AggregatePrice? a) || !a.HasPrice || a.State == OracleState.Halted) continue;
                deviations[asset] = SignedDeviationBps(onChain, a.PriceWad);
            }
        }
        if (_journal is not null && hub is not null && deviations.Count > 0)
        {
            DateTimeOffset at = _time.GetUtcNow();
            _journal.RecordObservations([.. deviations.Select(kv =>
                JournalObservation.Number(at, hub.BlockNumber, ObservationKinds.OracleDeviationBps, kv.Key, kv.Value))]);
        }
        var round = new OracleServiceRound(hub?.BlockNumber, aggregates, deviations, report);
        LastRound = round;
        Interlocked.Increment(ref _rounds);
        RoundCompleted?.Invoke(round);
        return round;
    }

    private async Task<IReadOnlyDictionary<string, AggregatePrice>> AggregateAsync(CancellationToken cancellationToken)
    {
        Task<IReadOnlyList<PriceSample>>[] fetches = [.. _sources.Select(s => s.FetchAsync(_assets, cancellationToken).AsTask())];
        var samples = new List<PriceSample>();
        for (int i = 0; i < fetches.Length; i++)
        {
            try
            {
                samples.AddRange(await fetches[i].ConfigureAwait(false));
            }
            catch (PriceSourceException e)
            {
                LogSourceFailed(_logger, _sources[i].Id, e.Message);
            }
        }
        IReadOnlyDictionary<string, AggregatePrice> aggregates = _aggregator.ProcessRound(_assets, samples);
        foreach (AggregatePrice a in aggregates.Values) _metrics.State(a.Asset, a.State);
        return aggregates;
    }

    /// <summary>(onChain − reference) × 10 000 / reference, truncated to 1/100 bps; positive when the on-chain price is above.</summary>
    public static double SignedDeviationBps(UInt256 onChainWad, UInt256 referenceWad)
    {
        if (referenceWad.IsZero) throw new ArgumentOutOfRangeException(nameof(referenceWad), "The reference price is zero.");
        BigInteger diff = onChainWad.ToBigInteger() - referenceWad.ToBigInteger();
        BigInteger hundredths = diff * (Bps.Scale * 100) / referenceWad.ToBigInteger();
        return (double)hundredths / 100.0;
    }

    public override void Dispose()
    {
        _round.Dispose();
        base.Dispose();
    }

    [LoggerMessage(EventId = 3310, Level = LogLevel.Information, Message = "Oracle part running: {Assets} assets, sources [{Sources}], gate {Gate}, push {Push} from {Sender}")]
    private static partial void LogStarting(ILogger logger, int assets, string sources, bool gate, bool push, string sender);

    [LoggerMessage(EventId = 3311, Level = LogLevel.Warning, Message = "Oracle part has only {Count} price source(s): aggregates are at best Degraded, and one bad source is not outvoted")]
    private static partial void LogFewSources(ILogger logger, int count);

    [LoggerMessage(EventId = 3312, Level = LogLevel.Warning, Message = "Oracle round failed, trying again next round: {Type}: {Reason}")]
    private static partial void LogRoundFailed(ILogger logger, string type, string reason);

    [LoggerMessage(EventId = 3313, Level = LogLevel.Warning, Message = "Oracle round could not read the hub's prices: {Reason}")]
    private static partial void LogHubReadFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 3314, Level = LogLevel.Warning, Message = "Price source {Source} failed: {Reason}")]
    private static partial void LogSourceFailed(ILogger logger, string source, string reason);

    [LoggerMessage(EventId = 3315, Level = LogLevel.Warning, Message = "Oracle pusher executor start failed (attempt {Attempt}), retrying: {Reason}")]
    private static partial void LogExecutorRetry(ILogger logger, int attempt, string reason);
}

/// <summary>Says at start-up why the oracle part does not run.</summary>
internal sealed partial class OracleStatusService(KeeperSettings settings, ILogger logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!settings.OracleEnabled) LogOff(logger);
        else LogNotConfigured(logger);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 3316, Level = LogLevel.Information, Message = "Oracle part switched off (--no-oracle): liquidations proceed at any hub price, nothing is pushed")]
    private static partial void LogOff(ILogger logger);

    [LoggerMessage(EventId = 3317, Level = LogLevel.Information, Message = "Oracle part not running (Keeper:Oracle:Enabled is false, or no source is configured under Keeper:Oracle): liquidations are not price-gated, nothing is pushed")]
    private static partial void LogNotConfigured(ILogger logger);
}
