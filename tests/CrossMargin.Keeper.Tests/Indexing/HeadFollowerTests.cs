using System.Threading.Channels;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Keeper.Indexing;

namespace CrossMargin.Keeper.Tests.Indexing;

/// <summary>A scripted newHeads stream.</summary>
internal sealed class ScriptedHeads : INewHeadsSource
{
    public Channel<HeadEvent> Events { get; } = Channel.CreateUnbounded<HeadEvent>();
    public int FailSubscriptions { get; set; }
    public int Subscriptions { get; private set; }

    public Task<IAsyncEnumerable<HeadEvent>> SubscribeAsync(CancellationToken cancellationToken)
    {
        Subscriptions++;
        if (FailSubscriptions-- > 0) throw new RpcConnectionException("ws refused");
        return Task.FromResult(Events.Reader.ReadAllAsync(cancellationToken));
    }
}

public sealed class HeadFollowerTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>Waits (without timing assertions) until the indexer announced block <paramref name="number"/>.</summary>
    private static async Task<List<BlockProcessed>> WaitForBlock(ChainIndexer indexer, ulong number, List<BlockProcessed>? seen = null)
    {
        seen ??= [];
        using var cts = new CancellationTokenSource(Patience);
        while (seen.Count == 0 || seen[^1].Number < number || indexer.Book.Head != number)
            seen.Add(await indexer.Blocks.ReadAsync(cts.Token));
        return seen;
    }

    private static async Task Stop(CancellationTokenSource cts, Task run)
    {
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
    }

    [Fact]
    public async Task Polling_follows_new_blocks_when_there_is_no_subscription()
    {
        var rng = new Random(901);
        var chain = ChainIndexerTests.Chain(rng, 901, 50);
        var opts = ChainIndexerTests.Options();
        var indexer = new ChainIndexer(chain, opts);
        var follower = new HeadFollower(indexer, chain, heads: null, opts);
        using var cts = new CancellationTokenSource();
        var run = follower.RunAsync(cts.Token);
        await WaitForBlock(indexer, chain.Head);
        for (int i = 0; i < 10; i++) chain.Mine(EngineLogs.RandomEvents(rng, 25, 5));
        await WaitForBlock(indexer, chain.Head);
        await Stop(cts, run);
        BookAssert.Equal(BookAssert.Replay(chain), indexer.Book, "polling");
    }

    [Fact]
    public async Task Subscription_heads_are_followed_and_a_gap_is_backfilled()
    {
        var rng = new Random(902);
        var chain = ChainIndexerTests.Chain(rng, 902, 50);
        var opts = ChainIndexerTests.Options();
        opts.WebSocketRetryInterval = TimeSpan.FromHours(1);
        opts.PollInterval = TimeSpan.FromHours(1); // only the subscription can move the indexer after start
        var heads = new ScriptedHeads();
        var indexer = new ChainIndexer(chain, opts);
        var follower = new HeadFollower(indexer, chain, heads, opts);
        using var cts = new CancellationTokenSource();
        var run = follower.RunAsync(cts.Token);
        await WaitForBlock(indexer, chain.Head);

        for (int i = 0; i < 3; i++) await heads.Events.Writer.WriteAsync(new HeadEvent(chain.Mine(EngineLogs.RandomEvents(rng, 25, 5)), null));
        await WaitForBlock(indexer, chain.Head);

        ulong lastSeen = chain.Head;
        for (int i = 0; i < 7; i++) chain.Mine(EngineLogs.RandomEvents(rng, 25, 5)); // missed while reconnecting
        await heads.Events.Writer.WriteAsync(new HeadEvent(null, new SubscriptionGap(lastSeen, SubscriptionGapReason.Reconnected)));
        var notes = await WaitForBlock(indexer, chain.Head);
        Assert.Equal(1, follower.Gaps);
        Assert.Equal(Enumerable.Range((int)lastSeen + 1, 7).Select(i => (ulong)i), notes.Select(n => n.Number));
        await Stop(cts, run);
        BookAssert.Equal(BookAssert.Replay(chain), indexer.Book, "subscription + gap");
    }

    [Fact]
    public async Task Unavailable_subscription_falls_back_to_polling_and_errors_do_not_stop_the_loop()
    {
        var rng = new Random(903);
        var chain = ChainIndexerTests.Chain(rng, 903, 50);
        var opts = ChainIndexerTests.Options();
        opts.MaxAttempts = 1;
        var heads = new ScriptedHeads { FailSubscriptions = 1_000_000 };
        var indexer = new ChainIndexer(chain, opts);
        var follower = new HeadFollower(indexer, chain, heads, opts);
        chain.FailHeaders.Enqueue(new RpcTimeoutException(TimeSpan.FromSeconds(1)));
        chain.FailGetLogs.Enqueue(new RpcConnectionException("reset"));
        using var cts = new CancellationTokenSource();
        var run = follower.RunAsync(cts.Token);
        await WaitForBlock(indexer, chain.Head);
        for (int i = 0; i < 5; i++) chain.Mine(EngineLogs.RandomEvents(rng, 25, 5));
        chain.FailGetLogs.Enqueue(new RpcException(-32000, "internal error", null, null));
        chain.Reorg(2, Enumerable.Range(0, 3).Select(_ => EngineLogs.RandomEvents(rng, 25, 5)));
        await WaitForBlock(indexer, chain.Head);
        await Stop(cts, run);
        Assert.True(follower.Failures >= 2);
        Assert.True(follower.Fallbacks >= 1);
        BookAssert.Equal(BookAssert.Replay(chain), indexer.Book, "fallback");
    }

    [Fact]
    public async Task Deep_reorg_while_following_leads_to_a_full_resync()
    {
        var rng = new Random(904);
        var chain = ChainIndexerTests.Chain(rng, 904, 60);
        var opts = ChainIndexerTests.Options(reorgDepth: 3);
        var indexer = new ChainIndexer(chain, opts);
        var follower = new HeadFollower(indexer, chain, heads: null, opts);
        using var cts = new CancellationTokenSource();
        var run = follower.RunAsync(cts.Token);
        await WaitForBlock(indexer, chain.Head);
        chain.Reorg(6, Enumerable.Range(0, 8).Select(_ => EngineLogs.RandomEvents(rng, 25, 5)));
        using (var wait = new CancellationTokenSource(Patience))
            while (indexer.Stats.Resyncs == 0 || indexer.Book.Head != chain.Head) await Task.Delay(5, wait.Token);
        await Stop(cts, run);
        BookAssert.Equal(BookAssert.Replay(chain), indexer.Book, "deep reorg");
    }
}
