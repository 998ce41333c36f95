using CrossMargin.Ethereum;

namespace CrossMargin.Keeper.Indexing;

/// <summary>Settings of the account indexer (backfill, head following, reorg window, reconciliation).</summary>
public sealed class IndexerOptions
{
    /// <summary>The CrossMarginEngine contract.</summary>
    public Address Engine { get; set; }

    /// <summary>The engine's deployment block: the backfill starts here.</summary>
    public ulong DeploymentBlock { get; set; }

    /// <summary>Blocks kept with hashes and undo records; the deepest reorg handled without a full resync. Default 64.</summary>
    public int ReorgDepth { get; set; } = 64;

    /// <summary>
    /// First eth_getLogs page (blocks). Default 10: small, because a chain's density is unknown before the first page
    /// (a seeded devnet has thousands of logs per block); with <see cref="TargetLogsPerPage"/> the page then grows up
    /// to 4 times per page where logs are sparse.
    /// </summary>
    public ulong InitialPageSize { get; set; } = 10;

    /// <summary>Largest eth_getLogs page (blocks). Default 10 000.</summary>
    public ulong MaxPageSize { get; set; } = 10_000;

    /// <summary>
    /// Logs one eth_getLogs page should return (0: no target; the page then grows by half after
    /// <see cref="GrowAfterSuccesses"/> successes). Each page is sized from the density of the one before, so the
    /// answer's size, and the memory its reading takes (body, parsed document, log objects), stays near this many logs
    /// whatever the chain's density. Default 10 000 (about 7 MB of JSON).
    /// </summary>
    public int TargetLogsPerPage { get; set; } = 10_000;

    /// <summary>Consecutive successful pages before the page grows by half (without a log target), and, times 8, before a refused size is forgotten. Default 4.</summary>
    public int GrowAfterSuccesses { get; set; } = 4;

    /// <summary>Attempts of one request (page, header, logs) before the error reaches the caller. Default 5.</summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>Delay before the first retry; doubles per attempt up to <see cref="MaxRetryDelay"/>. Default 200 ms.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>HTTP polling interval when no WebSocket subscription is running. Default 1 s.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long to poll over HTTP before trying the WebSocket subscription again. Default 30 s.</summary>
    public TimeSpan WebSocketRetryInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Reconcile the book against accountState reads every this many processed blocks (0: never). Default 600.</summary>
    public int ReconcileEveryBlocks { get; set; } = 600;

    /// <summary>accountState calls per JSON-RPC batch (one POST). Default 100.</summary>
    public int ReconcileBatchSize { get; set; } = 100;

    /// <summary>
    /// Blocks read together when the indexer is behind the head: their headers in one JSON-RPC batch, then their logs (by
    /// block hash) in another. Default 100.
    /// </summary>
    public int CatchUpBatchBlocks { get; set; } = 100;

    /// <summary>Capacity of the <see cref="BlockProcessed"/> channel; a full channel holds the indexer back. Default 4 096.</summary>
    public int NotificationCapacity { get; set; } = 4_096;

    /// <summary>Throws on inconsistent settings.</summary>
    public void Validate()
    {
        if (Engine.IsZero) throw new ArgumentException("The engine address is required.", nameof(Engine));
        if (ReorgDepth < 1) throw new ArgumentOutOfRangeException(nameof(ReorgDepth), ReorgDepth, "must be at least 1");
        if (InitialPageSize < 1) throw new ArgumentOutOfRangeException(nameof(InitialPageSize));
        if (MaxPageSize < InitialPageSize) throw new ArgumentOutOfRangeException(nameof(MaxPageSize), "must be >= InitialPageSize");
        if (TargetLogsPerPage < 0) throw new ArgumentOutOfRangeException(nameof(TargetLogsPerPage), TargetLogsPerPage, "must be 0 (no target) or positive");
        if (GrowAfterSuccesses < 1) throw new ArgumentOutOfRangeException(nameof(GrowAfterSuccesses));
        if (MaxAttempts < 1) throw new ArgumentOutOfRangeException(nameof(MaxAttempts));
        if (RetryDelay < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(RetryDelay));
        if (MaxRetryDelay < RetryDelay) throw new ArgumentOutOfRangeException(nameof(MaxRetryDelay));
        if (PollInterval < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(PollInterval));
        if (WebSocketRetryInterval < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(WebSocketRetryInterval));
        if (ReconcileEveryBlocks < 0) throw new ArgumentOutOfRangeException(nameof(ReconcileEveryBlocks));
        if (ReconcileBatchSize < 1) throw new ArgumentOutOfRangeException(nameof(ReconcileBatchSize));
        if (CatchUpBatchBlocks < 1) throw new ArgumentOutOfRangeException(nameof(CatchUpBatchBlocks));
        if (NotificationCapacity < 1) throw new ArgumentOutOfRangeException(nameof(NotificationCapacity));
    }

    internal TimeSpan BackoffFor(int attempt)
    {
        double ms = RetryDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 20));
        return TimeSpan.FromMilliseconds(Math.Min(ms, MaxRetryDelay.TotalMilliseconds));
    }
}
