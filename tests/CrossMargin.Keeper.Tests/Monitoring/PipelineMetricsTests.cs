using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Detection;
using CrossMargin.Keeper.Execution;
using CrossMargin.Keeper.Hosting;
using CrossMargin.Keeper.Indexing;
using CrossMargin.Keeper.Monitoring;
using CrossMargin.Keeper.Planning;
using CrossMargin.Keeper.Tests.Detection;
using FakeChain = CrossMargin.Keeper.Tests.Execution.FakeChain;

namespace CrossMargin.Keeper.Tests.Monitoring;

public sealed class PipelineMetricsTests
{
    [Fact]
    public async Task The_keeper_loop_reports_blocks_detection_sends_and_failures()
    {
        var w = new RiskWorld();
        for (int i = 0; i < 3; i++) w.SetAccount(RiskWorld.Addr(i), 2000 - (100 * i), 0, (0, 10_000, 3000));
        var chain = new FakeChain();
        using var meters = new KeeperMeterFactory();
        using var collector = MetricsCollector.ForFactory(meters);
        var metrics = new KeeperMetrics(meters);
        var indexer = new ChainIndexer(chain, new IndexerOptions { Engine = RiskWorld.Addr(500) }, w.Book);
        var pipeline = new KeeperPipeline(indexer, new LiquidationDetector(w, w.Book),
            new LiquidationPlanner(new PlannerOptions { MinProfit = UInt256.Zero }, RiskWorld.Addr(9_999)), chain, RiskWorld.Addr(500),
            new FeeEstimator(chain, new FeeOptions()), null, metrics: metrics);

        w.FailNextPriceRead = new InvalidOperationException("malformed getPrices answer");
        Assert.Null(await pipeline.ProcessSafelyAsync(RiskWorld.Block(1, 1_000), CancellationToken.None));
        var s = PrometheusText.Parse(collector.Scrape());
        Assert.Equal(1, s.Value(KeeperMetrics.BlockFailuresName));
        Assert.Equal(0, s.Value(KeeperMetrics.BlocksName));
        Assert.Null(s.ValueOrNull(KeeperMetrics.ProcessedBlockName));

        w.Prices = [RiskWorld.Usd(2900), w.Prices[1]];
        chain.CallRevertData = [0x01, 0x02, 0x03, 0x04]; // the dry-run simulation reverts: nothing counts as sent
        var report = await pipeline.ProcessSafelyAsync(RiskWorld.Block(2, 1_012), CancellationToken.None);
        Assert.NotNull(report);
        Assert.Equal(0, report.BatchesSent);
        s = PrometheusText.Parse(collector.Scrape());
        Assert.Equal(1, s.Value(KeeperMetrics.BlocksName));
        Assert.Equal(2, s.Value(KeeperMetrics.ProcessedBlockName));
        Assert.Equal(3, s.Value(KeeperMetrics.AccountsIndexedName));
        Assert.Equal(report.Liquidatable, s.Value(KeeperMetrics.AccountsLiquidatableName));
        Assert.Equal(3, s.Value(KeeperMetrics.AccountsLiquidatableName));
        Assert.Equal(1, s.Value(KeeperMetrics.DetectionName + "_count"));
        Assert.Null(s.ValueOrNull(KeeperMetrics.DetectionToSendName + "_count"));
        Assert.Equal(0, s.Value(KeeperMetrics.LiquidationsSentName));
        Assert.Equal(2UL, metrics.Status.ProcessedBlock);
    }
}
