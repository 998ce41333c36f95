using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Keeper.Indexing;

namespace CrossMargin.Keeper.Tests.Indexing;

public sealed class LogBackfillerTests
{
    private static readonly Address Engine = EngineLogs.Account(4000);

    private static FakeChain BuildChain(int seed, int blocks, int maxEvents = 4)
    {
        var rng = new Random(seed);
        var chain = new FakeChain(Engine) { Seed = seed };
        for (int i = 0; i < blocks; i++) chain.Mine(EngineLogs.RandomEvents(rng, 30, maxEvents), withForeign: i % 7 == 0);
        return chain;
    }

    private static IndexerOptions Options(ulong initialPage, ulong maxPage = 10_000) => new()
    {
        Engine = Engine, InitialPageSize = initialPage, MaxPageSize = maxPage, RetryDelay = TimeSpan.Zero, MaxRetryDelay = TimeSpan.Zero,
    };

    private static async Task<List<LogPage>> ReadAll(LogBackfiller b, ulong from, ulong to)
    {
        var pages = new List<LogPage>();
        await foreach (var p in b.ReadAsync(from, to)) pages.Add(p);
        return pages;
    }

    private static void AssertComplete(FakeChain chain, List<LogPage> pages, ulong from, ulong to)
    {
        Assert.Equal(from, pages[0].From);
        Assert.Equal(to, pages[^1].To);
        for (int i = 1; i < pages.Count; i++) Assert.Equal(pages[i - 1].To + 1, pages[i].From);
        var expected = chain.AllLogs().Where(l => l.Address == Engine && EngineEvents.IsBookTopic(l) && l.BlockNumber >= from && l.BlockNumber <= to)
            .Select(l => (l.BlockNumber, l.LogIndex)).ToList();
        var got = pages.SelectMany(p => p.Logs).Select(l => (l.BlockNumber, l.LogIndex)).ToList();
        Assert.Equal(expected, got);
    }

    [Theory]
    [InlineData(11, 37UL)]
    [InlineData(12, 1UL)]
    [InlineData(13, 250UL)]
    public async Task Range_refusal_shrinks_the_page_and_the_result_is_complete(int seed, ulong maxRange)
    {
        var chain = BuildChain(seed, 900);
        chain.MaxRange = maxRange;
        var b = new LogBackfiller(chain, Options(500));
        var pages = await ReadAll(b, 1, chain.Head);
        AssertComplete(chain, pages, 1, chain.Head);
        Assert.True(b.Stats.Refusals > 0);
        Assert.All(chain.RangeRequests.Where(r => r.Ok), r => Assert.True(r.To - r.From + 1 <= maxRange));
        // Refusals stay rare: the refused size is remembered, so the page does not keep hitting the limit.
        Assert.True(b.Stats.Refusals <= 4 + b.Stats.Pages / 8, $"seed {seed}: {b.Stats.Refusals} refusals for {b.Stats.Pages} pages");
    }

    [Fact]
    public async Task Too_many_results_shrinks_then_grows_back_after_successes()
    {
        var rng = new Random(21);
        var chain = new FakeChain(Engine) { Seed = 21 };
        for (int i = 0; i < 200; i++) chain.Mine(EngineLogs.RandomEvents(rng, 10, 8)); // dense region
        for (int i = 0; i < 3000; i++) chain.Mine([]); // sparse region
        chain.MaxResults = 100;
        var b = new LogBackfiller(chain, Options(1_000, 4_000));
        var pages = await ReadAll(b, 0, chain.Head);
        AssertComplete(chain, pages, 0, chain.Head);
        Assert.True(b.Stats.Refusals > 0);
        var okSpans = chain.RangeRequests.Where(r => r.Ok).Select(r => r.To - r.From + 1).ToList();
        Assert.True(okSpans.Min() < 100, "the page shrank in the dense region");
        Assert.True(b.PageSize > okSpans.Min(), "the page grew back in the sparse region");
    }

    [Fact]
    public async Task Dense_pages_are_fitted_to_the_log_target_and_grow_back_when_sparse()
    {
        var rng = new Random(23);
        var chain = new FakeChain(Engine) { Seed = 23 };
        for (int i = 0; i < 2500; i++) chain.Mine(EngineLogs.RandomEvents(rng, 10, 8)); // dense: several logs per block
        for (int i = 0; i < 3000; i++) chain.Mine([]); // sparse
        var options = Options(1_000, 4_000);
        options.TargetLogsPerPage = 60;
        var b = new LogBackfiller(chain, options);
        var pages = await ReadAll(b, 0, chain.Head);
        AssertComplete(chain, pages, 0, chain.Head);
        Assert.Equal(0, b.Stats.Refusals);
        int LogsIn(ulong from, ulong to) => chain.AllLogs().Count(l => l.Address == Engine && l.BlockNumber >= from && l.BlockNumber <= to);
        var ok = chain.RangeRequests.Where(r => r.Ok).ToList();
        Assert.True(LogsIn(ok[0].From, ok[0].To) > 60, "the first page found the dense region");
        // after the first page, every page of the dense region is sized to about the target (density varies per block)
        var dense = ok.Skip(1).Where(r => r.To < 2500).ToList();
        Assert.True(dense.Count >= LogsIn(ok[0].To + 1, 2499) / 60 / 2, $"{dense.Count} pages for {LogsIn(ok[0].To + 1, 2499)} logs");
        foreach (var r in dense) Assert.InRange(LogsIn(r.From, r.To), 1, 60 * 3);
        Assert.True(b.PageSize > 100, $"the page grew back in the sparse region ({b.PageSize})");
    }

    [Fact]
    public async Task A_sparse_range_grows_the_page_fourfold_and_its_clipped_last_page_does_not_shrink_it()
    {
        var chain = new FakeChain(Engine) { Seed = 24 };
        for (int i = 0; i < 1000; i++) chain.Mine([]);
        var b = new LogBackfiller(chain, Options(10));
        var pages = await ReadAll(b, 0, 999);
        Assert.Equal([10UL, 40, 160, 640, 150], pages.Select(p => p.To - p.From + 1));
        Assert.Equal(10_000UL, b.PageSize); // grown on (to MaxPageSize): the 150-block page was clipped by the range's end, not sized
    }

    [Fact]
    public void Negative_log_target_is_rejected()
    {
        var options = Options(10);
        options.TargetLogsPerPage = -1;
        Assert.Throws<ArgumentOutOfRangeException>(options.Validate);
    }

    [Fact]
    public async Task Shuffled_and_duplicated_answers_are_sorted_and_deduplicated()
    {
        var chain = BuildChain(31, 300, 6);
        chain.ShuffleAndDuplicate = true;
        var b = new LogBackfiller(chain, Options(64));
        var pages = await ReadAll(b, 0, chain.Head);
        AssertComplete(chain, pages, 0, chain.Head);
    }

    [Fact]
    public async Task Transient_failures_are_retried_then_surface()
    {
        var chain = BuildChain(41, 50);
        chain.FailGetLogs.Enqueue(new RpcConnectionException("reset"));
        chain.FailGetLogs.Enqueue(new RpcException(-32000, "header not found", null, null));
        var b = new LogBackfiller(chain, Options(1_000));
        AssertComplete(chain, await ReadAll(b, 0, chain.Head), 0, chain.Head);
        Assert.Equal(2, b.Stats.Retries);

        var opts = Options(1_000);
        opts.MaxAttempts = 2;
        for (int i = 0; i < 2; i++) chain.FailGetLogs.Enqueue(new RpcConnectionException("down"));
        await Assert.ThrowsAsync<RpcConnectionException>(() => ReadAll(new LogBackfiller(chain, opts), 0, chain.Head));
    }

    [Fact]
    public void Normalize_rejects_inconsistent_answers()
    {
        var (t, d) = EngineLogs.Cash(EngineLogs.Account(1), 5);
        var h = new Hash32(new byte[32]);
        LogEntry Log(ulong block, ulong index, bool removed = false, Address? addr = null, byte[]? data = null) =>
            new(addr ?? Engine, t, data ?? d, block, h, h, 0, index, removed);

        var sorted = LogBackfiller.Normalize([Log(5, 2), Log(4, 9), Log(5, 1), Log(5, 2)], Engine, 4, 5);
        Assert.Equal([(4UL, 9UL), (5UL, 1UL), (5UL, 2UL)], sorted.Select(l => (l.BlockNumber!.Value, l.LogIndex!.Value)));
        Assert.Throws<IndexerDataException>(() => LogBackfiller.Normalize([Log(6, 0)], Engine, 4, 5));
        Assert.Throws<IndexerDataException>(() => LogBackfiller.Normalize([Log(5, 0, removed: true)], Engine, 4, 5));
        Assert.Throws<IndexerDataException>(() => LogBackfiller.Normalize([Log(5, 0, addr: EngineLogs.Account(2))], Engine, 4, 5));
        Assert.Throws<IndexerDataException>(() => LogBackfiller.Normalize([Log(5, 0), Log(5, 0, data: new byte[32])], Engine, 4, 5));
    }

    [Fact]
    public void Range_refusals_are_recognised()
    {
        Assert.True(LogBackfiller.IsRangeRefusal(new RpcException(-32005, "limit exceeded", null, null)));
        Assert.True(LogBackfiller.IsRangeRefusal(new RpcException(-32000, "query returned more than 10000 results", null, null)));
        Assert.True(LogBackfiller.IsRangeRefusal(new RpcException(-32602, "block range too large", null, null)));
        Assert.True(LogBackfiller.IsRangeRefusal(new RpcException(-32000, "response size exceeded", null, null)));
        Assert.True(LogBackfiller.IsRangeRefusal(new RpcTimeoutException(TimeSpan.FromSeconds(1))));
        Assert.True(LogBackfiller.IsRangeRefusal(new RpcHttpStatusException(System.Net.HttpStatusCode.RequestEntityTooLarge, null)));
        Assert.True(LogBackfiller.IsRangeRefusal(new RpcResponseFormatException(RpcFormatError.ResponseTooLarge, "The answer exceeds the 1000-byte limit.")));
        Assert.True(LogBackfiller.IsRangeRefusal(new CrossMargin.Keeper.Rpc.RpcEndpointsExhaustedException("eth_getLogs: every RPC endpoint failed",
            new RpcTimeoutException(TimeSpan.FromSeconds(10)))));
        Assert.False(LogBackfiller.IsRangeRefusal(new CrossMargin.Keeper.Rpc.RpcEndpointsExhaustedException("eth_getLogs: every RPC endpoint failed",
            new RpcConnectionException("refused"))));
        Assert.False(LogBackfiller.IsRangeRefusal(new RpcResponseFormatException(RpcFormatError.InvalidJson, "The answer is not valid JSON: limit")));
        Assert.False(LogBackfiller.IsRangeRefusal(new RpcException(-32000, "header not found", null, null)));
        Assert.False(LogBackfiller.IsRangeRefusal(new RpcConnectionException("refused")));
    }
}
