using System.Runtime.CompilerServices;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Keeper.Monitoring;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CrossMargin.Keeper.Indexing;

/// <summary>An item of a new-heads stream: a header, or a gap (notifications may have been missed before it).</summary>
public readonly record struct HeadEvent(BlockHeader? Header, SubscriptionGap? Gap);

/// <summary>A source of new-head notifications (newHeads over WebSocket in production).</summary>
public interface INewHeadsSource
{
    /// <summary>Subscribes; the stream ends when the connection is gone for good. Throws when the source is unavailable.</summary>
    Task<IAsyncEnumerable<HeadEvent>> SubscribeAsync(CancellationToken cancellationToken);
}

/// <summary><see cref="INewHeadsSource"/> over <see cref="WebSocketRpcClient.SubscribeNewHeadsAsync"/>.</summary>
public sealed class WebSocketNewHeadsSource(WebSocketRpcClient client) : INewHeadsSource
{
    public async Task<IAsyncEnumerable<HeadEvent>> SubscribeAsync(CancellationToken cancellationToken)
    {
        var subscription = await client.SubscribeNewHeadsAsync(cancellationToken).ConfigureAwait(false);
        return Read(subscription, cancellationToken);

        static async IAsyncEnumerable<HeadEvent> Read(RpcSubscription<BlockHeader> s, [EnumeratorCancellation] CancellationToken ct)
        {
            await using (s.ConfigureAwait(false))
            {
                await foreach (var e in s.ReadAllAsync(ct).ConfigureAwait(false))
                    yield return e.IsGap ? new HeadEvent(null, e.Gap) : new HeadEvent(e.Value, null);
            }
        }
    }
}

/// <summary>
/// The indexer's worker: initial sync, then follows new heads over the subscription (falls back to HTTP polling of
/// eth_blockNumber + eth_getBlockByNumber while the subscription is unavailable or after it ends), and backfills the
/// missed range on a gap. Error policy per iteration: a failed head is logged and retried after a backoff (the next
/// head covers the missed blocks); a reorg below the undo window triggers a full resync; nothing but cancellation
/// ends the loop.
/// </summary>
public sealed partial class HeadFollower : BackgroundService
{
    private readonly ChainIndexer _indexer;
    private readonly IEthClient _http;
    private readonly INewHeadsSource? _heads;
    private readonly IndexerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly KeeperMetrics? _metrics;
    private int _consecutiveFailures;
    private long _failures, _gaps, _fallbacks;

    public HeadFollower(ChainIndexer indexer, IEthClient http, INewHeadsSource? heads, IndexerOptions options,
        ILogger<HeadFollower>? logger = null, TimeProvider? timeProvider = null, KeeperMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(indexer);
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _indexer = indexer;
        _http = http;
        _heads = heads;
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _metrics = metrics;
    }

    /// <summary>Iterations that failed (and were retried).</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Subscription gaps backfilled.</summary>
    public long Gaps => Interlocked.Read(ref _gaps);

    /// <summary>Times the follower fell back to HTTP polling.</summary>
    public long Fallbacks => Interlocked.Read(ref _fallbacks);

    /// <summary>True while heads arrive over the subscription.</summary>
    public bool Subscribed { get; private set; }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => RunAsync(stoppingToken);

    /// <summary>The follow loop (what the hosted service runs); returns only on cancellation.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!await IterateAsync(PollOnceAsync, cancellationToken).ConfigureAwait(false)) { }
        while (true)
        {
            if (_heads is not null) await FollowSubscriptionAsync(_heads, cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _fallbacks);
            var until = _time.GetTimestamp() + (long)(_options.WebSocketRetryInterval.TotalSeconds * _time.TimestampFrequency);
            do
            {
                await IterateAsync(PollOnceAsync, cancellationToken).ConfigureAwait(false);
                await Task.Delay(_options.PollInterval, _time, cancellationToken).ConfigureAwait(false);
            }
            while (_heads is null || _time.GetTimestamp() < until);
        }
    }

    private async Task FollowSubscriptionAsync(INewHeadsSource source, CancellationToken cancellationToken)
    {
        IAsyncEnumerable<HeadEvent> stream;
        try
        {
            stream = await source.SubscribeAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log.SubscribeFailed(_logger, ex.Message);
            return;
        }
        Subscribed = true;
        try
        {
            // A subscription starts after the head it first reports: catch up by polling once.
            await IterateAsync(PollOnceAsync, cancellationToken).ConfigureAwait(false);
            await foreach (var e in stream.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                if (e.Gap is { } gap)
                {
                    Interlocked.Increment(ref _gaps);
                    Log.Gap(_logger, gap.LastSeenBlock, gap.Reason);
                    await IterateAsync(PollOnceAsync, cancellationToken).ConfigureAwait(false);
                }
                else if (e.Header is { } header)
                {
                    _metrics?.ChainHead(header.Number);
                    await IterateAsync(ct => _indexer.OnNewHeadAsync(header, ct), cancellationToken).ConfigureAwait(false);
                }
            }
            Log.SubscriptionEnded(_logger);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log.SubscriptionFailed(_logger, ex.Message);
        }
        finally
        {
            Subscribed = false;
            _metrics?.SubscriptionEnded(); // the gauge drops now, not at the next successful poll
        }
    }

    /// <summary>Reads the node's head by number and hands it to the indexer (covers gaps: the indexer continues from its own head).</summary>
    private async Task PollOnceAsync(CancellationToken cancellationToken)
    {
        var header = await _http.GetBlockByNumberAsync(BlockTag.Latest, cancellationToken).ConfigureAwait(false);
        if (header is null) return; // a node without blocks
        _metrics?.ChainHead(header.Number);
        await _indexer.OnNewHeadAsync(header, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs one step with the error policy; true when it succeeded.</summary>
    private async Task<bool> IterateAsync(Func<CancellationToken, Task> step, CancellationToken cancellationToken)
    {
        try
        {
            await step(cancellationToken).ConfigureAwait(false);
            _consecutiveFailures = 0;
            _metrics?.HeadSourceActive(Subscribed);
            return true;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (ReorgTooDeepException ex)
        {
            Log.DeepReorg(_logger, ex.RollbackFloor, ex.Head);
            try
            {
                ulong head = await _http.BlockNumberAsync(cancellationToken).ConfigureAwait(false);
                await _indexer.ResyncAsync(head, cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (Exception inner) when (inner is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                _indexer.Book.Reset();
                return await FailAsync(inner, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            return await FailAsync(ex, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<bool> FailAsync(Exception ex, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _failures);
        int n = ++_consecutiveFailures;
        Log.IterationFailed(_logger, n, ex.GetType().Name, ex.Message);
        await Task.Delay(_options.BackoffFor(n - 1), _time, cancellationToken).ConfigureAwait(false);
        return false;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4301, Level = LogLevel.Warning, Message = "newHeads subscription unavailable, polling over HTTP: {Reason}")]
        public static partial void SubscribeFailed(ILogger logger, string reason);

        [LoggerMessage(EventId = 4302, Level = LogLevel.Warning, Message = "newHeads subscription failed, polling over HTTP: {Reason}")]
        public static partial void SubscriptionFailed(ILogger logger, string reason);

        [LoggerMessage(EventId = 4303, Level = LogLevel.Warning, Message = "newHeads subscription ended, polling over HTTP")]
        public static partial void SubscriptionEnded(ILogger logger);

        [LoggerMessage(EventId = 4304, Level = LogLevel.Information, Message = "newHeads gap after block {LastSeen} ({Reason}); backfilling")]
        public static partial void Gap(ILogger logger, ulong? lastSeen, SubscriptionGapReason reason);

        [LoggerMessage(EventId = 4305, Level = LogLevel.Warning, Message = "Indexer iteration failed ({Consecutive} in a row), retrying after backoff: {Type}: {Reason}")]
        public static partial void IterationFailed(ILogger logger, int consecutive, string type, string reason);

        [LoggerMessage(EventId = 4306, Level = LogLevel.Error, Message = "Reorg below the undo window (floor {Floor}, head {Head}): full resync")]
        public static partial void DeepReorg(ILogger logger, ulong floor, ulong head);
    }
}
