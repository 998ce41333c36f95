using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Ethereum.Transactions;
using CrossMargin.Keeper.Detection;
using CrossMargin.Keeper.Execution;
using CrossMargin.Keeper.Indexing;
using CrossMargin.Keeper.Planning;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace CrossMargin.Keeper.Hosting;

/// <summary>What <see cref="KeeperStack"/> wires: the chain, the keeper's key and journal, and the component options.</summary>
public sealed record KeeperStackOptions
{
    public required Address Engine { get; init; }
    public required Address OracleHub { get; init; }
    public required ulong DeploymentBlock { get; init; }

    /// <summary>WebSocket endpoint for newHeads; null follows heads by polling.</summary>
    public Uri? WebSocketUrl { get; init; }

    public required ITxSigner Signer { get; init; }
    public required string JournalPath { get; init; }
    public PlannerOptions Planner { get; init; } = new();
    public ExecutionOptions Execution { get; init; } = new();
    public DetectionOptions Detection { get; init; } = new();

    /// <summary>Head polling interval (also the follower's fallback when the subscription drops).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Delay before a failed indexer read is retried.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Blocks between two reconciliations of the book with the chain (0 = never).</summary>
    public int ReconcileEveryBlocks { get; init; }

    /// <summary>Logger of the keeper loop (none when null).</summary>
    public ILogger<KeeperPipeline>? PipelineLogger { get; init; }
}

/// <summary>
/// The keeper's components wired as <c>crossmargin run</c> wires them, without the host: indexer, detector, planner,
/// fee estimator, journal, executor, the keeper loop and a head follower. For the end-to-end harness and the devnet
/// tests, which drive the chain themselves. Order of use: <see cref="Create"/>, optionally <see cref="SyncAsync"/>
/// (a cold sync to be timed on its own), <see cref="StartAsync"/>, then <see cref="DisposeAsync"/>, which stops the
/// loop and the follower and closes the executor, the WebSocket and the journal.
/// </summary>
public sealed class KeeperStack : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly WebSocketRpcClient? _ws;
    private Task? _follow, _run;
    private bool _disposed;

    private KeeperStack(IEthClient eth, KeeperStackOptions o)
    {
        IndexerOptions = new IndexerOptions
        {
            Engine = o.Engine, DeploymentBlock = o.DeploymentBlock,
            PollInterval = o.PollInterval, RetryDelay = o.RetryDelay, ReconcileEveryBlocks = o.ReconcileEveryBlocks,
        };
        Indexer = new ChainIndexer(eth, IndexerOptions);
        Detector = new LiquidationDetector(new EngineMarketReader(eth, o.Engine, o.OracleHub), Indexer.Book, o.Detection);
        Planner = new LiquidationPlanner(o.Planner, o.Signer.Address);
        Fees = new FeeEstimator(eth, o.Execution.Fees);
        Journal = TxJournal.Open(o.JournalPath);
        Executor = new TxExecutor(eth, o.Signer, new NonceManager(eth), Fees, Journal, o.Execution);
        Pipeline = new KeeperPipeline(Indexer, Detector, Planner, eth, o.Engine, Fees, Executor, logger: o.PipelineLogger);
        if (o.WebSocketUrl is { } ws) _ws = new WebSocketRpcClient(new WebSocketRpcClientOptions { Endpoint = ws });
        Follower = new HeadFollower(Indexer, eth, _ws is null ? null : new WebSocketNewHeadsSource(_ws), IndexerOptions);
    }

    public IndexerOptions IndexerOptions { get; }
    public ChainIndexer Indexer { get; }
    public LiquidationDetector Detector { get; }
    public LiquidationPlanner Planner { get; }
    public FeeEstimator Fees { get; }
    public TxJournal Journal { get; }
    public TxExecutor Executor { get; }
    public KeeperPipeline Pipeline { get; }
    public HeadFollower Follower { get; }

    /// <summary>Wires the components (nothing is read from the chain yet).</summary>
    public static KeeperStack Create(IEthClient eth, KeeperStackOptions options)
    {
        ArgumentNullException.ThrowIfNull(eth);
        ArgumentNullException.ThrowIfNull(options);
        return new KeeperStack(eth, options);
    }

    /// <summary>Cold sync of the indexer up to <paramref name="head"/>.</summary>
    public Task SyncAsync(ulong head, CancellationToken cancellationToken = default) => Indexer.SyncAsync(head, cancellationToken);

    /// <summary>Starts the executor (journal reconciled with the chain), then the head follower and the keeper loop.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_run is not null) throw new InvalidOperationException("The keeper stack is already running.");
        await Executor.StartAsync(cancellationToken).ConfigureAwait(false);
        _follow = Follower.RunAsync(_stop.Token);
        _run = Pipeline.RunAsync(_stop.Token);
    }

    /// <summary>Throws the keeper loop's or the follower's failure, if one of them stopped with one.</summary>
    public void ThrowIfFaulted()
    {
        if (_run is { IsFaulted: true } r) r.GetAwaiter().GetResult();
        if (_follow is { IsFaulted: true } f) f.GetAwaiter().GetResult();
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (Task? t in (Task?[])[_follow, _run])
        {
            if (t is null) continue;
            try
            {
                await t.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // stopped
            }
        }
        await Executor.DisposeAsync().ConfigureAwait(false);
        if (_ws is not null) await _ws.DisposeAsync().ConfigureAwait(false);
        Journal.Dispose();
        SqliteConnection.ClearAllPools();
        _stop.Dispose();
    }
}
