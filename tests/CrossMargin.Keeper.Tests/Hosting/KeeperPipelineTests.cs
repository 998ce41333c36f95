using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Detection;
using CrossMargin.Keeper.Execution;
using CrossMargin.Keeper.Hosting;
using CrossMargin.Keeper.Indexing;
using CrossMargin.Keeper.Planning;
using CrossMargin.Keeper.Tests.Detection;
using FakeChain = CrossMargin.Keeper.Tests.Execution.FakeChain;

namespace CrossMargin.Keeper.Tests.Hosting;

public sealed class KeeperPipelineTests
{
    private static (RiskWorld World, FakeChain Chain, KeeperPipeline Pipeline) DryRun()
    {
        var w = new RiskWorld();
        for (int i = 0; i < 3; i++) w.SetAccount(RiskWorld.Addr(i), 2000 - (100 * i), 0, (0, 10_000, 3000));
        var chain = new FakeChain();
        var indexer = new ChainIndexer(chain, new IndexerOptions { Engine = RiskWorld.Addr(500) }, w.Book);
        var detector = new LiquidationDetector(w, w.Book);
        var planner = new LiquidationPlanner(new PlannerOptions { MinProfit = UInt256.Zero }, RiskWorld.Addr(9_999));
        var pipeline = new KeeperPipeline(indexer, detector, planner, chain, RiskWorld.Addr(500), new FeeEstimator(chain, new FeeOptions()), null);
        return (w, chain, pipeline);
    }

    [Fact]
    public async Task Memory_is_compacted_after_the_block_that_loads_every_account_and_not_after_others()
    {
        var (w, chain, pipeline) = DryRun();
        w.Prices = [RiskWorld.Usd(2900), w.Prices[1]];
        chain.CallRevertData = [0x01, 0x02, 0x03, 0x04];
        Assert.NotNull(await pipeline.ProcessSafelyAsync(RiskWorld.Block(1, 1_000), CancellationToken.None));
        Assert.Equal(1, pipeline.Compactions);
        Assert.NotNull(await pipeline.ProcessSafelyAsync(RiskWorld.Block(2, 1_012), CancellationToken.None));
        Assert.Equal(1, pipeline.Compactions);
        var (w2, chain2, off) = DryRun();
        w2.Prices = [RiskWorld.Usd(2900), w2.Prices[1]];
        chain2.CallRevertData = [0x01, 0x02, 0x03, 0x04];
        off.CompactAfterFullLoad = false;
        Assert.NotNull(await off.ProcessSafelyAsync(RiskWorld.Block(1, 1_000), CancellationToken.None));
        Assert.Equal(0, off.Compactions);
    }

    [Fact]
    public async Task A_bad_answer_fails_only_its_block()
    {
        var (w, chain, pipeline) = DryRun();
        chain.CallRevertData = [0x01, 0x02, 0x03, 0x04];
        w.FailNextPriceRead = new InvalidOperationException("malformed getPrices answer");
        Assert.Null(await pipeline.ProcessSafelyAsync(RiskWorld.Block(1, 1_000), CancellationToken.None));
        Assert.Equal(1, pipeline.Stats.Failures);
        w.Prices = [RiskWorld.Usd(2900), w.Prices[1]];
        var report = await pipeline.ProcessSafelyAsync(RiskWorld.Block(2, 1_012), CancellationToken.None);
        Assert.NotNull(report);
        Assert.Equal(3, report.Liquidatable);
        Assert.Equal(1, pipeline.Stats.Failures);
        Assert.Equal(2, pipeline.Stats.Blocks);
    }

    [Fact]
    public async Task Dry_run_simulates_with_eth_call_and_sends_nothing()
    {
        var (w, chain, pipeline) = DryRun();
        w.Prices = [RiskWorld.Usd(2900), w.Prices[1]];
        chain.CallRevertData = [0x01, 0x02, 0x03, 0x04];
        var report = await pipeline.ProcessSafelyAsync(RiskWorld.Block(1, 1_000), CancellationToken.None);
        Assert.NotNull(report);
        Assert.Equal(3, report.Planned);
        Assert.Equal(0, report.BatchesSent);
        Assert.Equal(1, pipeline.Stats.DryRunCalls);
        Assert.Equal(1, pipeline.Stats.DryRunReverts);
        Assert.Contains("eth_call", chain.Calls);
        Assert.Empty(chain.Sent);
        Assert.Equal(0, pipeline.InFlight.Count);
    }

    [Fact]
    public void Backlog_notifications_coalesce_into_the_newest_block()
    {
        var a = RiskWorld.Addr(1);
        var b = RiskWorld.Addr(2);
        var merged = KeeperPipeline.Coalesce(new BlockProcessed(5, Hash32.Zero, 50, [a], true, 3), new BlockProcessed(6, Hash32.Zero, 62, [b, a], false, null));
        Assert.Equal(6UL, merged.Number);
        Assert.Equal(62UL, merged.Timestamp);
        Assert.Equal([a, b], merged.ChangedAccounts);
        Assert.True(merged.FundingChanged);
        Assert.Equal(3UL, merged.ReorgAncestor);
    }
}
