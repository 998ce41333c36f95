using System.Diagnostics;
using System.Threading.Channels;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Rpc;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CrossMargin.Keeper.Indexing;

/// <summary>
/// A block was applied to the book. <see cref="ChangedAccounts"/> are the accounts whose state changed in this block,
/// plus, after a reorg (<see cref="ReorgAncestor"/> set), every account whose state was rolled back.
/// </summary>
public sealed record BlockProcessed(ulong Number, Hash32 Hash, ulong Timestamp, IReadOnlyList<Address> ChangedAccounts, bool FundingChanged, ulong? ReorgAncestor);

/// <summary>Counters of the indexer.</summary>
public readonly record struct IndexerStats(long Blocks, long Reorgs, long ReorgedBlocks, long Resyncs, long Reconciliations, TimeSpan? LastColdSync);

/// <summary>
/// Keeps an <see cref="AccountBook"/> in step with the chain: cold sync (paginated eth_getLogs up to K blocks below the
/// target, then block by block), per-block processing (header by number, logs by block hash, parent-hash check),
/// reorg handling (find the common ancestor, roll the book back, replay) and <see cref="BlockProcessed"/>
/// notifications. Every read of one block is pinned to that block (number or hash); "latest" is never read here.
/// Not thread-safe: one caller (the <see cref="HeadFollower"/> loop) drives it.
/// </summary>
public sealed partial class ChainIndexer
{
    private readonly IEthClient _eth;
    private readonly IndexerOptions _options;
    private readonly LogBackfiller _backfiller;
    private readonly AccountReconciler? _reconciler;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Channel<BlockProcessed> _blocks;
    private readonly HashSet<Address> _pendingRollback = [];
    private ulong? _pendingAncestor;
    private int _sinceReconcile;
    private long _processed, _reorgs, _reorgedBlocks, _resyncs, _reconciliations;
    private TimeSpan? _lastColdSync;
    private int _catchUpBlocks; // blocks per read-ahead, fitted to the log density seen (0: not fitted yet)

    public ChainIndexer(IEthClient eth, IndexerOptions options, AccountBook? book = null, AccountReconciler? reconciler = null,
        ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(eth);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _eth = eth;
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        loggerFactory ??= NullLoggerFactory.Instance;
        _logger = loggerFactory.CreateLogger<ChainIndexer>();
        _backfiller = new LogBackfiller(eth, options, loggerFactory.CreateLogger<LogBackfiller>(), _time);
        _reconciler = reconciler;
        Book = book ?? new AccountBook(options.ReorgDepth);
        _blocks = Channel.CreateBounded<BlockProcessed>(new BoundedChannelOptions(options.NotificationCapacity)
        {
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    public AccountBook Book { get; }

    public LogBackfiller Backfiller => _backfiller;

    /// <summary>One notification per applied block, in order (the detection loop reads this).</summary>
    public ChannelReader<BlockProcessed> Blocks => _blocks.Reader;

    public IndexerStats Stats => new(_processed, _reorgs, _reorgedBlocks, _resyncs, _reconciliations, _lastColdSync);

    /// <summary>
    /// Brings the book to <paramref name="target"/>. An empty book is built first: engine logs from the deployment
    /// block to <c>target − ReorgDepth</c> by pages, then the last blocks one by one (hashes and undo records).
    /// </summary>
    public async Task SyncAsync(ulong target, CancellationToken cancellationToken = default)
    {
        if (!Book.IsStarted) await ColdSyncAsync(target, cancellationToken).ConfigureAwait(false);
        await AdvanceAsync(target, cancellationToken).ConfigureAwait(false);
    }

    private async Task ColdSyncAsync(ulong target, CancellationToken cancellationToken)
    {
        long started = _time.GetTimestamp();
        ulong deployment = _options.DeploymentBlock;
        ulong deep = target > (ulong)_options.ReorgDepth ? target - (ulong)_options.ReorgDepth : 0;
        if (deep >= deployment)
        {
            try
            {
                // page by page as they arrive: one page of logs in memory at a time, not the whole history
                await foreach (var page in _backfiller.ReadAsync(deployment, deep, cancellationToken).ConfigureAwait(false))
                {
                    Book.ApplyHistory(page.Logs, page.To);
                    FitCatchUp(page.To - page.From + 1, page.Logs.Count);
                }
                if (Book.Head is null) Book.ApplyHistory([], deep);
                var anchor = await GetHeaderAsync(deep, cancellationToken).ConfigureAwait(false)
                    ?? throw new IndexerDataException($"The node does not have block {deep}.");
                Book.SetHeadHash(anchor.Hash);
            }
            catch
            {
                Book.Reset(); // a partial history is no book: the next sync starts over
                throw;
            }
        }
        else
        {
            Hash32? parent = null;
            if (deployment > 0)
                parent = (await GetHeaderAsync(deployment - 1, cancellationToken).ConfigureAwait(false))?.Hash;
            Book.Start(deployment, parent);
        }
        _lastColdSync = _time.GetElapsedTime(started);
        Log.ColdSync(_logger, deployment, deep, Book.AccountCount, _lastColdSync.Value.TotalMilliseconds);
    }

    /// <summary>
    /// A new head was announced (subscription or poll). Handles same-height and shorter-chain reorgs, then advances the
    /// book to the head.
    /// </summary>
    public async Task OnNewHeadAsync(BlockHeader head, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(head);
        if (!Book.IsStarted || Book.Head is not { } mine)
        {
            await SyncAsync(head.Number, cancellationToken).ConfigureAwait(false);
            return;
        }
        if (head.Number <= mine && Book.HashAt(head.Number) is var known && (known != head.Hash || head.Number < mine))
            await ResolveReorgAsync(cancellationToken).ConfigureAwait(false);
        await AdvanceAsync(head.Number, head, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Applies blocks Head+1 .. <paramref name="target"/> one at a time, following reorgs on the way.</summary>
    public Task AdvanceAsync(ulong target, CancellationToken cancellationToken = default) => AdvanceAsync(target, null, cancellationToken);

    /// <param name="known">The announced head's header: used as is when it is the next block (saves a header read).</param>
    /// <remarks>
    /// Over a batching transport the blocks are read ahead: the headers of up to <see cref="IndexerOptions.CatchUpBatchBlocks"/>
    /// blocks in one batch (none when the announced header is the only block missing), then their logs by block hash in
    /// one more batch, which also carries the <see cref="HeadReads"/> of the newest block. Each block is then checked and
    /// applied exactly as when read on its own; a read that failed in the batch is made again on its own (with retries).
    /// </remarks>
    public async Task AdvanceAsync(ulong target, BlockHeader? known, CancellationToken cancellationToken = default)
    {
        int reorgsHere = 0;
        var ahead = new ReadAhead();
        while (Book.Head is not { } h ? true : h < target)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ulong n = Book.Head is { } head ? head + 1 : 0;
            if (_eth.Rpc is { } rpc && !ahead.Covers(n)) await ReadAheadAsync(rpc, n, target, known, ahead, cancellationToken).ConfigureAwait(false);
            var header = ahead.Headers.GetValueOrDefault(n)
                ?? (known is not null && known.Number == n ? known : await GetHeaderAsync(n, cancellationToken).ConfigureAwait(false));
            if (header is null) return; // the node is behind the announced head; the next head continues
            if (header.Number != n) throw new IndexerDataException($"Asked for block {n}, got {header.Number}.");
            var parent = Book.HashAt(n - 1);
            if (n > 0 && parent is { } p && p != header.ParentHash)
            {
                if (++reorgsHere > _options.ReorgDepth) throw new IndexerDataException("The chain keeps reorganising; giving up this round.");
                known = null; // the announced header is no longer to be trusted
                ahead.Clear();
                await ResolveReorgAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }
            var logs = ahead.Logs.Remove(header.Hash, out var read) && read.IsCompletedSuccessfully
                ? BookLogs(header, read.Result)
                : await GetBlockLogsAsync(header, cancellationToken).ConfigureAwait(false);
            if (logs is null)
            {
                // Removed or foreign logs: the block is no longer canonical.
                if (++reorgsHere > _options.ReorgDepth) throw new IndexerDataException("The chain keeps reorganising; giving up this round.");
                known = null; // the announced header is no longer to be trusted
                ahead.Clear();
                await ResolveReorgAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }
            var changes = Book.ApplyBlock(n, header.Hash, header.ParentHash, logs);
            _processed++;
            _sinceReconcile++;
            IReadOnlyList<Address> changed = changes.ChangedAccounts;
            ulong? ancestor = _pendingAncestor;
            if (_pendingRollback.Count > 0 || ancestor is not null)
            {
                _pendingRollback.UnionWith(changes.ChangedAccounts);
                changed = [.. _pendingRollback];
                _pendingRollback.Clear();
                _pendingAncestor = null;
            }
            await _blocks.Writer.WriteAsync(new BlockProcessed(n, header.Hash, header.Timestamp, changed, changes.FundingChanged, ancestor), cancellationToken).ConfigureAwait(false);
            if (_reconciler is not null && _options.ReconcileEveryBlocks > 0 && _sinceReconcile >= _options.ReconcileEveryBlocks)
                await ReconcileAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Reads a consumer adds to the batch that reads the logs of the newest block of a step (the announced head), so that
    /// they share its round trip: called on the indexer's loop, before that batch is sent, with the block's header. It
    /// must not block for long; an exception it throws is logged and ignored. Only over a batching transport.
    /// </summary>
    public Action<IRpcBatch, BlockHeader>? HeadReads { get; set; }

    /// <summary>Headers and log reads of the blocks read ahead by <see cref="ReadAheadAsync"/>.</summary>
    private sealed class ReadAhead
    {
        private ulong _first = 1, _last; // empty while _first > _last

        public Dictionary<ulong, BlockHeader> Headers { get; } = [];

        public Dictionary<Hash32, Task<LogEntry[]>> Logs { get; } = [];

        /// <summary>True when block <paramref name="n"/> was part of the last read-ahead (read or tried).</summary>
        public bool Covers(ulong n) => n >= _first && n <= _last;

        public void Start(ulong first, ulong last)
        {
            Clear();
            (_first, _last) = (first, last);
        }

        public void Clear()
        {
            Headers.Clear();
            Logs.Clear();
            (_first, _last) = (1, 0);
        }
    }

    /// <summary>
    /// Reads blocks <paramref name="n"/>.. ahead (at most <see cref="IndexerOptions.CatchUpBatchBlocks"/>, up to
    /// <paramref name="target"/>): one batch of headers (skipped when <paramref name="known"/> is the only block), one batch
    /// of logs by block hash for the headers that link up, with the <see cref="HeadReads"/> when the last is the target.
    /// Failures are left to the per-block reads.
    /// </summary>
    private async Task ReadAheadAsync(IRpcClient rpc, ulong n, ulong target, BlockHeader? known, ReadAhead ahead, CancellationToken cancellationToken)
    {
        // before any density is known (no backfilled page, no read-ahead yet), the first read-ahead is as small as the
        // backfill's first page: a node may hold thousands of logs per block
        ulong blocks = _catchUpBlocks > 0 ? (ulong)_catchUpBlocks
            : _options.TargetLogsPerPage > 0 ? Math.Clamp(_options.InitialPageSize, 1, (ulong)_options.CatchUpBatchBlocks)
            : (ulong)_options.CatchUpBatchBlocks;
        ulong last = target - n >= blocks ? n + blocks - 1 : target;
        ahead.Start(n, last);
        var headers = new List<BlockHeader>();
        if (known is not null && known.Number == n && last == n)
        {
            headers.Add(known);
        }
        else
        {
            var batch = rpc.StartBatch();
            var reads = new List<Task<BlockHeader?>>();
            for (ulong m = n; m <= last; m++)
                reads.Add(known is not null && known.Number == m ? Task.FromResult<BlockHeader?>(known) : batch.Add(EthRequests.GetBlockByNumber(BlockTag.Number(m))));
            try
            {
                await batch.SendAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (RpcClientException ex)
            {
                Log.BatchFailed(_logger, "eth_getBlockByNumber", n, last, ex.Message);
                return;
            }
            for (int i = 0; i < reads.Count; i++)
            {
                // the first gap, or a header that does not link to the one before, ends the batch (read on its own later)
                if (!reads[i].IsCompletedSuccessfully || reads[i].Result is not { } header || header.Number != n + (ulong)i) break;
                if (headers.Count > 0 && header.ParentHash != headers[^1].Hash) break;
                headers.Add(header);
            }
        }
        if (headers.Count == 0) return;
        foreach (BlockHeader header in headers) ahead.Headers[header.Number] = header;
        var logs = rpc.StartBatch();
        foreach (BlockHeader header in headers) ahead.Logs[header.Hash] = logs.Add(EthRequests.GetLogs(EngineEvents.BlockFilter(_options.Engine, header.Hash)));
        if (HeadReads is { } hook && headers[^1].Number == target)
        {
            try
            {
                hook(logs, headers[^1]);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.HeadReadsFailed(_logger, target, ex.GetType().Name, ex.Message);
            }
        }
        try
        {
            await logs.SendAsync(cancellationToken).ConfigureAwait(false);
            int count = 0;
            foreach (BlockHeader header in headers)
                if (ahead.Logs[header.Hash] is { IsCompletedSuccessfully: true } read) count += read.Result.Length;
            FitCatchUp((ulong)headers.Count, count);
        }
        catch (RpcClientException ex)
        {
            Log.BatchFailed(_logger, "eth_getLogs", n, headers[^1].Number, ex.Message);
        }
    }

    /// <summary>
    /// Sizes the next read-ahead from a density just seen (<paramref name="logs"/> over <paramref name="blocks"/>) so that its
    /// logs batch returns about <see cref="IndexerOptions.TargetLogsPerPage"/> logs, at most
    /// <see cref="IndexerOptions.CatchUpBatchBlocks"/> blocks and at least one: after the cold sync of a dense chain the
    /// newest blocks are read a few at a time instead of a hundred in one answer of tens of megabytes.
    /// </summary>
    private void FitCatchUp(ulong blocks, int logs)
    {
        int target = _options.TargetLogsPerPage;
        if (target <= 0 || blocks == 0) return;
        _catchUpBlocks = (int)Math.Min(LogBackfiller.BlocksForLogs(blocks, logs, (ulong)target), (ulong)_options.CatchUpBatchBlocks);
    }

    /// <summary>Reconciles the book at its head now (no-op without a reconciler).</summary>
    public async Task<ReconcileResult?> ReconcileAsync(CancellationToken cancellationToken = default)
    {
        if (_reconciler is null) return null;
        _sinceReconcile = 0;
        var result = await _reconciler.ReconcileAsync(Book, cancellationToken).ConfigureAwait(false);
        _reconciliations++;
        return result;
    }

    /// <summary>Drops the book and rebuilds it from the deployment block up to <paramref name="target"/>.</summary>
    public async Task ResyncAsync(ulong target, CancellationToken cancellationToken = default)
    {
        var before = Book.Accounts();
        Book.Reset();
        _resyncs++;
        _pendingRollback.UnionWith(before);
        _pendingAncestor ??= 0;
        await SyncAsync(target, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Walks back from the head to the newest block whose hash the node still reports, and rolls the book back to it.
    /// </summary>
    private async Task ResolveReorgAsync(CancellationToken cancellationToken)
    {
        if (Book.Head is not { } head) return;
        ulong floor = Book.RollbackFloor;
        ulong m = head;
        while (true)
        {
            var known = Book.HashAt(m);
            var canonical = await GetHeaderAsync(m, cancellationToken).ConfigureAwait(false);
            if (known is null || (canonical is not null && canonical.Hash == known)) break;
            if (m <= floor) throw new ReorgTooDeepException(floor, head);
            m--;
        }
        if (m == head) return;
        var touched = Book.RollbackTo(m);
        _pendingRollback.UnionWith(touched);
        _pendingAncestor = _pendingAncestor is { } a ? Math.Min(a, m) : m;
        _reorgs++;
        _reorgedBlocks += (long)(head - m);
        Log.Reorg(_logger, head, m, head - m, touched.Count);
    }

    private async Task<BlockHeader?> GetHeaderAsync(ulong number, CancellationToken cancellationToken) =>
        await RetryAsync(ct => _eth.GetBlockByNumberAsync(BlockTag.Number(number), ct), "eth_getBlockByNumber", number, cancellationToken).ConfigureAwait(false);

    /// <summary>The block's book logs by block hash, sorted; null when the node reports them removed or for another block.</summary>
    private async Task<LogEntry[]?> GetBlockLogsAsync(BlockHeader header, CancellationToken cancellationToken)
    {
        var logs = await RetryAsync(ct => _eth.GetLogsAsync(EngineEvents.BlockFilter(_options.Engine, header.Hash), ct), "eth_getLogs", header.Number, cancellationToken).ConfigureAwait(false);
        return BookLogs(header, logs);
    }

    /// <summary>The book logs of an eth_getLogs answer for the block, sorted; null when they are removed or of another block.</summary>
    private LogEntry[]? BookLogs(BlockHeader header, LogEntry[] logs)
    {
        var list = new List<LogEntry>(logs.Length);
        foreach (var log in logs)
        {
            if (log.Removed || log.BlockHash != header.Hash || log.BlockNumber != header.Number) return null;
            if (log.Address != _options.Engine || log.LogIndex is null) throw new IndexerDataException($"eth_getLogs of block {header.Number} returned a foreign or incomplete log.");
            if (EngineEvents.IsBookTopic(log)) list.Add(log);
        }
        list.Sort(static (x, y) => x.LogIndex!.Value.CompareTo(y.LogIndex!.Value));
        return [.. list];
    }

    private async Task<T> RetryAsync<T>(Func<CancellationToken, Task<T>> call, string method, ulong block, CancellationToken cancellationToken)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await call(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (LogBackfiller.IsRetryable(ex) && attempt < _options.MaxAttempts)
            {
                Log.CallFailed(_logger, method, block, attempt, ex.Message);
                await Task.Delay(_options.BackoffFor(attempt - 1), _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4201, Level = LogLevel.Information, Message = "Cold sync from block {From} to {To}: {Accounts} accounts in {Milliseconds:0} ms")]
        public static partial void ColdSync(ILogger logger, ulong from, ulong to, int accounts, double milliseconds);

        [LoggerMessage(EventId = 4202, Level = LogLevel.Warning, Message = "Reorg: head {Head} rolled back to common ancestor {Ancestor} ({Depth} blocks, {Accounts} accounts touched)")]
        public static partial void Reorg(ILogger logger, ulong head, ulong ancestor, ulong depth, int accounts);

        [LoggerMessage(EventId = 4203, Level = LogLevel.Warning, Message = "{Method} for block {Block} failed (attempt {Attempt}): {Reason}")]
        public static partial void CallFailed(ILogger logger, string method, ulong block, int attempt, string reason);

        [LoggerMessage(EventId = 4204, Level = LogLevel.Warning, Message = "Batched {Method} for blocks {From}..{To} failed, reading block by block: {Reason}")]
        public static partial void BatchFailed(ILogger logger, string method, ulong from, ulong to, string reason);

        [LoggerMessage(EventId = 4205, Level = LogLevel.Warning, Message = "Queuing the head reads of block {Block} failed: {Type}: {Reason}")]
        public static partial void HeadReadsFailed(ILogger logger, ulong block, string type, string reason);
    }
}
