using System.Net;
using System.Runtime.CompilerServices;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Rpc;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CrossMargin.Keeper.Indexing;

/// <summary>The logs of blocks [<see cref="From"/>, <see cref="To"/>], sorted by (block, logIndex), without duplicates.</summary>
public sealed record LogPage(ulong From, ulong To, IReadOnlyList<LogEntry> Logs);

/// <summary>Counters of a backfiller.</summary>
public readonly record struct BackfillStats(long Pages, long Requests, long Refusals, long Retries, long Logs);

/// <summary>
/// Reads the book's engine logs of a block range with paginated eth_getLogs. The page shrinks by half when the node
/// refuses a range (too many results, range too large, response too big, timeout) and grows by half after
/// <see cref="IndexerOptions.GrowAfterSuccesses"/> consecutive successes, never back to a size refused within the last
/// pages. With <see cref="IndexerOptions.TargetLogsPerPage"/> (the default), the page is instead sized after every success
/// to return about that many logs at the density just seen (at most 4 times larger per page, never back to a refused
/// size), so one answer stays near the target whatever the chain's density. Other failures are retried with backoff up to <see cref="IndexerOptions.MaxAttempts"/> times.
/// </summary>
public sealed partial class LogBackfiller
{
    private readonly IEthClient _eth;
    private readonly IndexerOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private ulong _pageSize;
    private ulong _ceiling; // smallest refused size that is still remembered (0: none)
    private int _successes;
    private int _sinceRefusal;
    private long _pages, _requests, _refusals, _retries, _logs;

    public LogBackfiller(IEthClient eth, IndexerOptions options, ILogger<LogBackfiller>? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(eth);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _eth = eth;
        _options = options;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
        _pageSize = options.InitialPageSize;
    }

    /// <summary>The current page size in blocks.</summary>
    public ulong PageSize => _pageSize;

    public BackfillStats Stats => new(_pages, _requests, _refusals, _retries, _logs);

    /// <summary>Pages of [from, to] in order. Each page is complete and sorted; pages never overlap.</summary>
    public async IAsyncEnumerable<LogPage> ReadAsync(ulong from, ulong to, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ulong next = from;
        while (next <= to)
        {
            var page = await ReadPageAsync(next, to, cancellationToken).ConfigureAwait(false);
            yield return page;
            if (page.To == ulong.MaxValue) yield break;
            next = page.To + 1;
        }
    }

    /// <summary>One page starting at <paramref name="from"/>, at most up to <paramref name="limit"/>.</summary>
    public async Task<LogPage> ReadPageAsync(ulong from, ulong limit, CancellationToken cancellationToken = default)
    {
        int failures = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ulong to = Math.Min(limit, from + (_pageSize - 1));
            if (to < from) to = limit; // overflow guard
            try
            {
                _requests++;
                var logs = await _eth.GetLogsAsync(EngineEvents.RangeFilter(_options.Engine, from, to), cancellationToken).ConfigureAwait(false);
                var sorted = Normalize(logs, _options.Engine, from, to);
                OnSuccess(to - from + 1, logs.Length);
                _pages++;
                _logs += sorted.Count;
                return new LogPage(from, to, sorted);
            }
            catch (Exception ex) when (IsRangeRefusal(ex) && to > from)
            {
                _refusals++;
                ulong span = to - from + 1;
                _ceiling = _ceiling == 0 ? span : Math.Min(_ceiling, span);
                _pageSize = Math.Max(1, span / 2);
                _successes = 0;
                _sinceRefusal = 0;
                Log.RangeRefused(_logger, from, to, _pageSize, ex.Message);
            }
            catch (Exception ex) when (IsRetryable(ex) && ++failures < _options.MaxAttempts)
            {
                _retries++;
                Log.PageFailed(_logger, from, to, failures, ex.Message);
                await Task.Delay(_options.BackoffFor(failures - 1), _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private void OnSuccess(ulong span, int logs)
    {
        _sinceRefusal++;
        // A refused size is forgotten after many successes (nodes' limits vary with load).
        if (_ceiling != 0 && _sinceRefusal >= 8 * _options.GrowAfterSuccesses) _ceiling = 0;
        ulong target = (ulong)_options.TargetLogsPerPage;
        ulong fit = _options.MaxPageSize;
        if (target > 0)
        {
            // the page that returns about the target at this page's density: smaller at once when dense; larger, up
            // to 4 times, when sparse (so a small first page reaches full size in a few pages). A last page clipped
            // by the range's end says nothing about size, only about density.
            ulong fourfold = _pageSize > ulong.MaxValue / 4 ? ulong.MaxValue : _pageSize * 4;
            fit = Math.Clamp(Math.Min(BlocksForLogs(span, logs, target), fourfold), 1, _options.MaxPageSize);
            if (fit < _pageSize)
            {
                Log.PageFitted(_logger, span, logs, fit);
                _pageSize = fit;
                _successes = 0;
                return;
            }
            if (_ceiling == 0)
            {
                _pageSize = fit;
                return;
            }
        }
        // below a size the node refused: grow slowly, by half after several successes, never back to the refused size
        if (++_successes < _options.GrowAfterSuccesses) return;
        _successes = 0;
        ulong grown = Math.Min(fit, _pageSize + Math.Max(1, _pageSize / 2));
        if (_ceiling != 0 && grown >= _ceiling) grown = Math.Max(_pageSize, _ceiling - 1);
        _pageSize = Math.Max(_pageSize, grown);
    }

    /// <summary>
    /// Blocks that return about <paramref name="target"/> logs at the density of <paramref name="logs"/> over
    /// <paramref name="blocks"/> (at least 1; <see cref="ulong.MaxValue"/> when no log was seen).
    /// </summary>
    internal static ulong BlocksForLogs(ulong blocks, int logs, ulong target) =>
        logs <= 0 ? ulong.MaxValue : (ulong)UInt128.Clamp((UInt128)blocks * target / (ulong)logs, 1, ulong.MaxValue);

    /// <summary>
    /// Checks that every log belongs to the engine and to [from, to], is not removed and has its position; sorts by
    /// (block, logIndex) and drops exact duplicates. Two different logs at one position, or any other inconsistency,
    /// throw <see cref="IndexerDataException"/> (the page is fetched again).
    /// </summary>
    public static List<LogEntry> Normalize(IReadOnlyList<LogEntry> logs, Address engine, ulong from, ulong to)
    {
        ArgumentNullException.ThrowIfNull(logs);
        var list = new List<LogEntry>(logs.Count);
        foreach (var log in logs)
        {
            if (log.Removed) throw new IndexerDataException("eth_getLogs returned a removed log.");
            if (log.BlockNumber is not { } b || log.LogIndex is null || log.BlockHash is null)
                throw new IndexerDataException("eth_getLogs returned a log without block number, hash or index.");
            if (b < from || b > to) throw new IndexerDataException($"eth_getLogs for [{from}, {to}] returned a log of block {b}.");
            if (log.Address != engine) throw new IndexerDataException($"eth_getLogs returned a log of {log.Address}.");
            if (!EngineEvents.IsBookTopic(log)) continue;
            list.Add(log);
        }
        list.Sort(static (x, y) =>
        {
            int c = x.BlockNumber!.Value.CompareTo(y.BlockNumber!.Value);
            return c != 0 ? c : x.LogIndex!.Value.CompareTo(y.LogIndex!.Value);
        });
        int w = 0;
        for (int r = 0; r < list.Count; r++)
        {
            if (w > 0 && list[w - 1].BlockNumber == list[r].BlockNumber && list[w - 1].LogIndex == list[r].LogIndex)
            {
                if (!SameLog(list[w - 1], list[r]))
                    throw new IndexerDataException($"Two different logs at block {list[r].BlockNumber}, index {list[r].LogIndex}.");
                continue;
            }
            list[w++] = list[r];
        }
        list.RemoveRange(w, list.Count - w);
        for (int i = 1; i < list.Count; i++)
            if (list[i].BlockNumber == list[i - 1].BlockNumber && list[i].BlockHash != list[i - 1].BlockHash)
                throw new IndexerDataException($"Logs of block {list[i].BlockNumber} carry two block hashes.");
        return list;
    }

    private static bool SameLog(LogEntry a, LogEntry b) =>
        a.BlockHash == b.BlockHash && a.TransactionHash == b.TransactionHash && a.Address == b.Address
        && a.Topics.SequenceEqual(b.Topics) && a.Data.AsSpan().SequenceEqual(b.Data);

    /// <summary>
    /// True when the node refused the range as too large: JSON-RPC -32005 (limit exceeded), messages about too many
    /// results / too large a range or response, HTTP 413, timeouts and oversized answers.
    /// </summary>
    public static bool IsRangeRefusal(Exception ex) => ex switch
    {
        RpcException r => r.Code == -32005 || LooksLikeRangeRefusal(r.RpcMessage),
        RpcTimeoutException => true,
        RpcHttpStatusException h => h.StatusCode is HttpStatusCode.RequestEntityTooLarge or HttpStatusCode.GatewayTimeout or HttpStatusCode.RequestTimeout,
        RpcResponseFormatException f => f.Error == RpcFormatError.ResponseTooLarge,
        // every endpoint of a failover client failed the same way
        Rpc.RpcEndpointsExhaustedException { InnerException: { } inner } => IsRangeRefusal(inner),
        _ => false,
    };

    private static readonly string[] s_refusalPhrases =
    [
        "more than", "too many", "range too large", "block range", "range is too", "too large", "too big", "exceed",
        "limit", "timeout", "timed out", "response size", "max results", "query returned",
    ];

    private static bool LooksLikeRangeRefusal(string message)
    {
        foreach (var p in s_refusalPhrases) if (message.Contains(p, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    /// <summary>Failures worth another attempt: transport, malformed answers, inconsistent data, node errors.</summary>
    internal static bool IsRetryable(Exception ex) => ex is RpcClientException or IndexerDataException;

    private static partial class Log
    {
        [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "eth_getLogs [{From}, {To}] refused; page shrinks to {PageSize} blocks: {Reason}")]
        public static partial void RangeRefused(ILogger logger, ulong from, ulong to, ulong pageSize, string reason);

        [LoggerMessage(EventId = 4003, Level = LogLevel.Debug, Message = "eth_getLogs page of {Span} blocks returned {Logs} logs; the next page is {PageSize} blocks")]
        public static partial void PageFitted(ILogger logger, ulong span, int logs, ulong pageSize);

        [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "eth_getLogs [{From}, {To}] failed (attempt {Attempt}): {Reason}")]
        public static partial void PageFailed(ILogger logger, ulong from, ulong to, int attempt, string reason);
    }
}
