using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Keeper.Indexing;

namespace CrossMargin.Keeper.Tests.Indexing;

public sealed class ChainIndexerTests
{
    private static readonly Address Engine = EngineLogs.Account(4000);

    internal static IndexerOptions Options(int reorgDepth = 8) => new()
    {
        Engine = Engine, DeploymentBlock = 1, ReorgDepth = reorgDepth, InitialPageSize = 50, MaxPageSize = 400,
        RetryDelay = TimeSpan.Zero, MaxRetryDelay = TimeSpan.Zero, PollInterval = TimeSpan.FromMilliseconds(2),
        WebSocketRetryInterval = TimeSpan.FromMilliseconds(50), ReconcileEveryBlocks = 0,
    };

    internal static FakeChain Chain(Random rng, int seed, int blocks)
    {
        var chain = new FakeChain(Engine) { Seed = seed };
        for (int i = 0; i < blocks; i++) chain.Mine(EngineLogs.RandomEvents(rng, 25, 5));
        return chain;
    }

    private static List<BlockProcessed> Drain(ChainIndexer indexer)
    {
        var list = new List<BlockProcessed>();
        while (indexer.Blocks.TryRead(out var b)) list.Add(b);
        return list;
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(2, 5)]
    [InlineData(3, 300)]
    public async Task Cold_sync_equals_a_replay_of_the_chain(int seed, int blocks)
    {
        var rng = new Random(seed);
        var chain = Chain(rng, seed, blocks);
        chain.MaxRange = 33;
        var indexer = new ChainIndexer(chain, Options());
        await indexer.SyncAsync(chain.Head);
        Assert.Equal(chain.Head, indexer.Book.Head);
        Assert.Equal(chain.HeaderAt(chain.Head).Hash, indexer.Book.HeadHash);
        BookAssert.Equal(BookAssert.Replay(chain), indexer.Book, $"seed {seed}");
        // Only the last ReorgDepth blocks are processed one by one (and notified).
        var notes = Drain(indexer);
        Assert.True(notes.Count <= 8);
        Assert.Equal(notes.Select(n => n.Number), notes.Select(n => n.Number).Order());
    }

    [Fact]
    public async Task A_cold_sync_failing_part_way_leaves_an_empty_book_and_the_next_sync_starts_over()
    {
        var rng = new Random(9);
        var chain = Chain(rng, 9, 300);
        chain.MaxRange = 33;
        int calls = 0;
        // the first pages apply, then the node keeps failing until the backfill gives up
        chain.BeforeGetLogs = _ =>
        {
            if (++calls == 4)
                for (int i = 0; i < 50; i++) chain.FailGetLogs.Enqueue(new RpcException(-32000, "header not found", null, null));
        };
        var indexer = new ChainIndexer(chain, Options());
        await Assert.ThrowsAnyAsync<Exception>(() => indexer.SyncAsync(chain.Head));
        Assert.True(calls > 4);
        Assert.False(indexer.Book.IsStarted);
        Assert.Equal(0, indexer.Book.AccountCount);

        chain.FailGetLogs.Clear();
        chain.BeforeGetLogs = null;
        await indexer.SyncAsync(chain.Head);
        Assert.Equal(chain.Head, indexer.Book.Head);
        BookAssert.Equal(BookAssert.Replay(chain), indexer.Book, "after the failed cold sync");
    }

    [Theory]
    [InlineData(101, 1)]
    [InlineData(102, 2)]
    [InlineData(103, 3)]
    [InlineData(104, 4)]
    [InlineData(105, 5)]
    public async Task Reorg_of_1_to_5_blocks_ends_equal_to_a_fresh_replay(int seed, int depth)
    {
        var rng = new Random(seed);
        var chain = Chain(rng, seed, 120);
        var indexer = new ChainIndexer(chain, Options());
        await indexer.SyncAsync(chain.Head);
        for (int i = 0; i < 6; i++) chain.Mine(EngineLogs.RandomEvents(rng, 25, 5));
        await indexer.OnNewHeadAsync(chain.HeaderAt(chain.Head));
        Drain(indexer);
        var before = indexer.Book.GetAllAccounts().ToDictionary(a => a.Account);

        int extra = rng.Next(0, 3);
        chain.Reorg(depth, Enumerable.Range(0, depth + extra).Select(_ => EngineLogs.RandomEvents(rng, 30, 5)));
        await indexer.OnNewHeadAsync(chain.HeaderAt(chain.Head));

        BookAssert.Equal(BookAssert.Replay(chain), indexer.Book, $"seed {seed} depth {depth}");
        Assert.Equal(1, indexer.Stats.Reorgs);
        Assert.Equal(depth, indexer.Stats.ReorgedBlocks);
        var notes = Drain(indexer);
        Assert.Equal(chain.Head - (ulong)(depth + extra) + 1, notes[0].Number);
        Assert.Equal(chain.Head - (ulong)(depth + extra), notes[0].ReorgAncestor);
        Assert.All(notes.Skip(1), n => Assert.Null(n.ReorgAncestor));
        // Every account whose state differs between the two forks is announced.
        var replay = BookAssert.Replay(chain);
        var announced = notes.SelectMany(n => n.ChangedAccounts).ToHashSet();
        int differing = 0;
        foreach (var acc in before.Keys.Union(replay.Accounts()))
        {
            bool same = before.TryGetValue(acc, out var old) && replay.TryGetAccount(acc, out var now) && old.SameState(now);
            if (same) continue;
            differing++;
            Assert.True(announced.Contains(acc), $"seed {seed}: {acc} changed by the reorg but not announced");
        }
        Assert.True(differing > 0, $"seed {seed}: the reorg changed nothing");
    }

    [Theory]
    [InlineData(201, 3)]
    [InlineData(202, 1)]
    public async Task Same_height_reorg_seen_by_polling_is_followed(int seed, int depth)
    {
        var rng = new Random(seed);
        var chain = Chain(rng, seed, 60);
        var indexer = new ChainIndexer(chain, Options());
        await indexer.SyncAsync(chain.Head);
        chain.Reorg(depth, Enumerable.Range(0, depth).Select(_ => EngineLogs.RandomEvents(rng, 30, 5))); // anvil_reorg: same height
        await indexer.OnNewHeadAsync(chain.HeaderAt(chain.Head));
        BookAssert.Equal(BookAssert.Replay(chain), indexer.Book, $"seed {seed}");
        Assert.Equal(chain.HeaderAt(chain.Head).Hash, indexer.Book.HeadHash);
    }

    [Fact]
    public async Task Shorter_chain_after_rollback_is_followed()
    {
        var rng = new Random(301);
        var chain = Chain(rng, 301, 60);
        var indexer = new ChainIndexer(chain, Options());
        await indexer.SyncAsync(chain.Head);
        chain.Rollback(4); // anvil_rollback: no new blocks
        await indexer.OnNewHeadAsync(chain.HeaderAt(chain.Head));
        Assert.Equal(chain.Head, indexer.Book.Head);
        BookAssert.Equal(BookAssert.Replay(chain), indexer.Book, "rollback");
    }

    [Fact]
    public async Task Removed_logs_trigger_a_rollback_instead_of_being_applied()
    {
        var rng = new Random(401);
        var chain = Chain(rng, 401, 40);
        var indexer = new ChainIndexer(chain, Options());
        await indexer.SyncAsync(chain.Head);
        chain.Mine(EngineLogs.RandomEvents(rng, 25, 5).Append(EngineLogs.Cash(EngineLogs.Account(77), 777)).ToList());
        bool reorged = false;
        chain.BeforeGetLogs = f =>
        {
            // The block is replaced between its header read and its logs read: the node reports its logs as removed.
            if (f.BlockHash is not null && !reorged)
            {
                reorged = true;
                chain.Reorg(1, [EngineLogs.RandomEvents(rng, 25, 5)]);
            }
        };
        await indexer.OnNewHeadAsync(chain.HeaderAt(chain.Head));
        await indexer.OnNewHeadAsync(chain.HeaderAt(chain.Head));
        Assert.True(reorged);
        BookAssert.Equal(BookAssert.Replay(chain), indexer.Book, "removed logs");
        Assert.False(indexer.Book.Contains(EngineLogs.Account(77)));
    }

    [Fact]
    public async Task Reorg_below_the_window_throws_and_a_resync_recovers()
    {
        var rng = new Random(501);
        var chain = Chain(rng, 501, 80);
        var indexer = new ChainIndexer(chain, Options(reorgDepth: 4));
        await indexer.SyncAsync(chain.Head);
        chain.Reorg(10, Enumerable.Range(0, 11).Select(_ => EngineLogs.RandomEvents(rng, 30, 5)));
        await Assert.ThrowsAsync<ReorgTooDeepException>(() => indexer.OnNewHeadAsync(chain.HeaderAt(chain.Head)));
        await indexer.ResyncAsync(chain.Head);
        BookAssert.Equal(BookAssert.Replay(chain), indexer.Book, "resync");
    }

    [Fact]
    public async Task A_gap_of_many_blocks_is_filled_from_the_book_head()
    {
        var rng = new Random(601);
        var chain = Chain(rng, 601, 30);
        var indexer = new ChainIndexer(chain, Options());
        await indexer.SyncAsync(chain.Head);
        Drain(indexer);
        ulong from = chain.Head + 1;
        for (int i = 0; i < 25; i++) chain.Mine(EngineLogs.RandomEvents(rng, 25, 5));
        await indexer.OnNewHeadAsync(chain.HeaderAt(chain.Head));
        BookAssert.Equal(BookAssert.Replay(chain), indexer.Book, "gap");
        Assert.Equal(Enumerable.Range((int)from, 25).Select(i => (ulong)i), Drain(indexer).Select(n => n.Number));
    }

    [Fact]
    public async Task Failed_reads_surface_and_the_next_head_resumes_cleanly()
    {
        var rng = new Random(701);
        var chain = Chain(rng, 701, 30);
        var opts = Options();
        opts.MaxAttempts = 1;
        var indexer = new ChainIndexer(chain, opts);
        await indexer.SyncAsync(chain.Head);
        for (int i = 0; i < 5; i++) chain.Mine(EngineLogs.RandomEvents(rng, 25, 5));
        chain.FailHeaders.Enqueue(new RpcTimeoutException(TimeSpan.FromSeconds(1)));
        await Assert.ThrowsAsync<RpcTimeoutException>(() => indexer.OnNewHeadAsync(chain.HeaderAt(chain.Head)));
        chain.FailGetLogs.Enqueue(new RpcConnectionException("reset"));
        await Assert.ThrowsAsync<RpcConnectionException>(() => indexer.OnNewHeadAsync(chain.HeaderAt(chain.Head)));
        await indexer.OnNewHeadAsync(chain.HeaderAt(chain.Head));
        BookAssert.Equal(BookAssert.Replay(chain), indexer.Book, "after failures");
    }
}
