using System.Numerics;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Execution;
using CrossMargin.Keeper.Reporting;
using CrossMargin.Keeper.Tests.Oracle;
using Microsoft.Data.Sqlite;

namespace CrossMargin.Keeper.Tests.Reporting;

public sealed class ReportBuilderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cm-report-").FullName;
    private readonly ManualTimeProvider _time = new();

    private string PathOf(string name = "journal.db") => Path.Combine(_dir, name);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_dir, true);
        }
        catch (IOException)
        {
        }
    }

    private static readonly UInt256 Gwei = 1_000_000_000UL;

    [Fact]
    public void Hand_written_journal_gives_exact_totals_and_percentiles()
    {
        KeeperReport report;
        using (var j = TxJournal.Open(PathOf(), _time))
        {
            var s = new ReportScenario(j, _time) { Block = 100 };
            // detection-to-send 120, 80, 250, 40, 95 ms; send-to-inclusion 2000, 3500 (+replacement 1000), 12000 ms
            string a = s.Liquidation(IntentState.Included, 2, UInt256.Parse("3000000000000000000"), 120, 2_000, 1, gasUsed: 300_000, price: 20 * Gwei);
            s.Block = 103;
            s.Liquidation(IntentState.Included, 3, UInt256.Parse("5000000000000000000"), 80, 2_500, 2, replaceMs: 1_000, gasUsed: 410_000, price: 25 * Gwei);
            s.Block = 104;
            s.Liquidation(IntentState.Reverted, 1, UInt256.Parse("1000000000000000000"), 250, 12_000, 0, gasUsed: 90_000, price: 30 * Gwei);
            s.Liquidation(IntentState.Cancelled, 1, UInt256.Parse("2000000000000000000"), 40, 500, 1, replaceMs: 4_000, price: 31 * Gwei);
            s.Liquidation(IntentState.Dropped, 4, UInt256.Parse("4000000000000000000"), 95);
            s.Liquidation(IntentState.Skipped, 1, UInt256.Parse("9000000000000000000"), null);
            s.OraclePush(80_000, 10 * Gwei, UInt256.Parse("5000000000000000"));
            s.Lost(2, 104);
            s.Reward(a, UInt256.Parse("2900000000000000000"), 101);
            s.Deviate("ETH/USD", 12.5);
            s.Deviate("ETH/USD", -7.25);
            s.Deviate("BTC/USD", 3);
            report = ReportBuilder.Build(j, _time.GetUtcNow());
        }

        var sum = report.Summary;
        Assert.Equal(7, sum.Intents);
        Assert.Equal(6, sum.LiquidationIntents);
        Assert.Equal(3, sum.Included); // two liquidations and the oracle push
        Assert.Equal(1, sum.Reverted);
        Assert.Equal(8, sum.Attempts);
        Assert.Equal(5, sum.MinedTransactions); // 2 included, 1 reverted, 1 cancel, 1 oracle push
        Assert.Equal((UInt256)(300_000UL + 410_000 + 90_000 + 21_000 + 80_000), sum.GasUsedTotal);
        UInt256 fees = checked(300_000UL * 20 * Gwei + 410_000UL * 25 * Gwei + 90_000UL * 30 * Gwei + 21_000UL * 31 * Gwei + 80_000UL * 10 * Gwei);
        Assert.Equal(fees, sum.FeesPaidTotalWei);
        Assert.Equal(UInt256.Parse("24000000000000000000"), sum.RewardsExpectedWei); // the oracle push fee budget is not a reward
        Assert.Equal(UInt256.Parse("8000000000000000000"), sum.RewardsExpectedIncludedWei);
        Assert.Equal(UInt256.Parse("2900000000000000000"), sum.RewardsRealisedWei);
        Assert.Equal(5, sum.AccountsWon);
        Assert.Equal(2, sum.AccountsLost);
        Assert.Equal((ulong?)100UL, sum.FirstBlock);
        Assert.Equal((ulong?)105UL, sum.LastBlock);

        var d = report.DetectionToSend;
        Assert.Equal([40L, 80, 95, 120, 250], d.Samples);
        Assert.Equal((40L, 95L, 250L, 250L, 250L, 117L), (d.Min!.Value, d.P50!.Value, d.P90!.Value, d.P99!.Value, d.Max!.Value, d.Mean!.Value));
        var i = report.SendToInclusion;
        Assert.Equal([2_000L, 3_500, 12_000], i.Samples);
        Assert.Equal((3_500L, 12_000L), (i.P50!.Value, i.P90!.Value));
        Assert.Equal([0L, 1, 2], report.BlocksToInclusion.Samples);

        var o = report.Outcomes;
        Assert.Equal((2, 1, 1, 1, 1, 0, 0, 2), (o.Won, o.Reverted, o.Cancelled, o.Dropped, o.Skipped, o.Failed, o.Open, o.LostToOthers));
        var liq = o.ByKind.Single(k => k.Key == "liquidation").Value;
        Assert.Equal(2, liq[IntentState.Included]);
        Assert.Equal(0, liq[IntentState.Pending]);
        Assert.Equal(1, o.ByKind.Single(k => k.Key == "oracle-push").Value[IntentState.Included]);

        Assert.Equal(
            [new BlockActivity(101, 2, 0, UInt256.Parse("2900000000000000000")), new BlockActivity(104, 0, 2, UInt256.Zero), new BlockActivity(105, 3, 0, UInt256.Zero)],
            report.Blocks);

        Assert.Equal(["BTC/USD", "ETH/USD"], report.OracleDeviation.Select(x => x.Asset));
        Assert.Equal([12.5, -7.25], report.OracleDeviation[1].Points.Select(p => p.Bps));
        Assert.Equal(2, report.SchemaVersion);
        Assert.Equal(3, report.ObservationCounts.Count);
    }

    [Theory]
    [InlineData(1, 40)]
    [InlineData(7, 300)]
    [InlineData(42, 1_000)]
    public void Seeded_journal_totals_are_exact_and_percentiles_are_nearest_rank(int seed, int intents)
    {
        ReportScenario s;
        KeeperReport report;
        using (var j = TxJournal.Open(PathOf(), _time))
            s = ReportScenario.Random(j, _time, seed, intents);
        report = ReportBuilder.BuildFromFile(PathOf(), _time.GetUtcNow());

        var sum = report.Summary;
        Assert.Equal(s.Intents, sum.Intents);
        Assert.Equal(s.LiquidationIntents, sum.LiquidationIntents);
        Assert.Equal(s.Attempts, sum.Attempts);
        Assert.Equal(s.Mined, sum.MinedTransactions);
        Assert.Equal(s.GasUsed, sum.GasUsedTotal.ToBigInteger());
        Assert.Equal(s.FeesWei, sum.FeesPaidTotalWei.ToBigInteger());
        Assert.True(s.RewardsExpectedWei > ulong.MaxValue, "the scenario should exercise sums beyond 64 bits");
        Assert.Equal(s.RewardsExpectedWei, sum.RewardsExpectedWei.ToBigInteger());
        Assert.Equal(s.RewardsExpectedIncludedWei, sum.RewardsExpectedIncludedWei.ToBigInteger());
        Assert.Equal(s.RewardsRealisedWei, sum.RewardsRealisedWei.ToBigInteger());
        Assert.Equal(s.AccountsWon, sum.AccountsWon);
        Assert.Equal(s.AccountsLost, sum.AccountsLost);
        int Of(string kind, IntentState st) => s.StatesByKind.GetValueOrDefault(kind)?.GetValueOrDefault(st) ?? 0;
        Assert.Equal(s.StatesByKind.Values.Sum(x => x.GetValueOrDefault(IntentState.Included)), sum.Included);
        foreach (var (kind, counts) in report.Outcomes.ByKind)
            foreach (var (state, n) in counts)
                Assert.Equal(Of(kind, state), n);
        Assert.Equal(new[] { "liquidation", "collateral" }.Sum(k => Of(k, IntentState.Pending) + Of(k, IntentState.Sent)), report.Outcomes.Open);
        Assert.Equal(new[] { "liquidation", "collateral" }.Sum(k => Of(k, IntentState.Included)), report.Outcomes.Won);

        Assert.Equal(s.DetectionToSend.Order(), report.DetectionToSend.Samples);
        Assert.Equal(s.SendToInclusion.Order(), report.SendToInclusion.Samples);
        Assert.Equal(s.BlocksToInclusion.Order(), report.BlocksToInclusion.Samples);
        foreach (var dist in new[] { report.DetectionToSend, report.SendToInclusion })
        {
            foreach (int p in new[] { 50, 90, 99 })
            {
                long v = dist.Percentile(p)!.Value;
                // nearest rank: at least p% of samples are <= v, and fewer than p% are < v
                Assert.True(dist.Samples.Count(x => x <= v) * 100L >= p * (long)dist.Count);
                Assert.True(dist.Samples.Count(x => x < v) * 100L < p * (long)dist.Count);
            }
            var bins = dist.Histogram();
            Assert.Equal(dist.Count, bins.Sum(b => b.Count));
            Assert.All(dist.Samples, x => Assert.Equal(1, bins.Count(b => b.From <= x && x < b.To)));
        }

        Assert.Equal(s.WonByBlock.Where(kv => kv.Value > 0).OrderBy(kv => kv.Key), report.Blocks.Where(b => b.AccountsWon > 0).Select(b => KeyValuePair.Create(b.Block, b.AccountsWon)));
        Assert.Equal(s.LostByBlock.OrderBy(kv => kv.Key), report.Blocks.Where(b => b.AccountsLost > 0).Select(b => KeyValuePair.Create(b.Block, b.AccountsLost)));
        Assert.Equal(s.Deviation.Keys.Order(StringComparer.Ordinal), report.OracleDeviation.Select(x => x.Asset));
        foreach (var series in report.OracleDeviation) Assert.Equal(s.Deviation[series.Asset], series.Points.Select(p => p.Bps));

        BigInteger minedFees = report.MinedTransactions.Aggregate(BigInteger.Zero, (acc, t) => acc + (new BigInteger(t.GasUsed) * t.EffectiveGasPrice.ToBigInteger()));
        Assert.Equal(s.FeesWei, minedFees);
        Assert.True(report.MinedTransactions.Zip(report.MinedTransactions.Skip(1)).All(p => p.First.Block <= p.Second.Block));
    }

    [Fact]
    public void Collateral_sales_count_as_liquidations_and_approvals_are_not_rewards()
    {
        KeeperReport report;
        using (var j = TxJournal.Open(PathOf(), _time))
        {
            var s = new ReportScenario(j, _time) { Block = 50 };
            s.OraclePush(46_000, 2 * Gwei, UInt256.Parse("9000000000000000000"), "approve");
            s.Liquidation(IntentState.Included, 1, UInt256.Parse("700000000000000000"), 30, 1_500, 1, gasUsed: 180_000, price: 2 * Gwei, kind: "collateral");
            s.Liquidation(IntentState.Reverted, 2, UInt256.Parse("300000000000000000"), 10, 900, 0, gasUsed: 60_000, price: 2 * Gwei);
            report = ReportBuilder.Build(j, _time.GetUtcNow());
        }
        Assert.True(ReportBuilder.IsLiquidation("collateral"));
        Assert.False(ReportBuilder.IsLiquidation("approve"));
        Assert.Equal((3, 2), (report.Summary.Intents, report.Summary.LiquidationIntents));
        Assert.Equal(UInt256.Parse("1000000000000000000"), report.Summary.RewardsExpectedWei);
        Assert.Equal(UInt256.Parse("700000000000000000"), report.Summary.RewardsExpectedIncludedWei);
        Assert.Equal((UInt256)((46_000UL + 180_000 + 60_000) * 2_000_000_000), report.Summary.FeesPaidTotalWei);
        Assert.Equal((1, 1, 1), (report.Outcomes.Won, report.Outcomes.Reverted, report.Summary.AccountsWon));
        Assert.Equal([10L, 30], report.DetectionToSend.Samples);
        Assert.Equal([new BlockActivity(51, 1, 0, UInt256.Zero)], report.Blocks);
        Assert.Equal(["approve", "collateral", "liquidation"], report.Outcomes.ByKind.Select(k => k.Key));
    }

    [Fact]
    public void An_empty_journal_gives_an_empty_report()
    {
        using (TxJournal.Open(PathOf(), _time)) { }
        var report = ReportBuilder.BuildFromFile(PathOf(), _time.GetUtcNow());
        Assert.Equal(0, report.Summary.Intents);
        Assert.Equal(UInt256.Zero, report.Summary.FeesPaidTotalWei);
        Assert.Null(report.DetectionToSend.P50);
        Assert.Empty(report.DetectionToSend.Histogram());
        Assert.Null(report.Summary.From);
        Assert.Empty(report.Blocks);
    }

    [Fact]
    public void A_reward_observation_that_is_not_an_integer_is_a_corrupt_journal()
    {
        using var j = TxJournal.Open(PathOf(), _time);
        j.RecordObservation(ObservationKinds.RewardWei, "x", "12.5 ETH", 1);
        Assert.Equal(TxJournalError.Corrupt, Assert.Throws<TxJournalException>(() => ReportBuilder.Build(j, _time.GetUtcNow())).Error);
    }

    [Theory]
    [InlineData(new long[] { 7 }, 7, 7, 7, 7)]
    [InlineData(new long[] { 1, 2 }, 1, 2, 2, 1)]
    [InlineData(new long[] { 10, 20, 30, 40 }, 20, 40, 40, 25)]
    [InlineData(new long[] { -5, -1, 0, 3, 100 }, 0, 100, 100, 19)]
    [InlineData(new long[] { -3, -2 }, -3, -2, -2, -3)]
    public void Percentiles_use_the_nearest_rank_and_the_mean_rounds_down(long[] samples, long p50, long p90, long p99, long mean)
    {
        var d = new LatencyDistribution(samples.Reverse());
        Assert.Equal((p50, p90, p99, mean), (d.P50!.Value, d.P90!.Value, d.P99!.Value, d.Mean!.Value));
        Assert.Equal(samples.Min(), d.Min);
        Assert.Equal(samples.Max(), d.Max);
    }

    [Fact]
    public void Percentiles_of_one_to_a_hundred_are_the_ranks()
    {
        var d = new LatencyDistribution(Enumerable.Range(1, 100).Select(i => (long)i).Reverse());
        Assert.Equal((50L, 90L, 99L, 100L), (d.P50!.Value, d.P90!.Value, d.P99!.Value, d.Percentile(100)!.Value));
        Assert.Equal(1L, d.Percentile(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => d.Percentile(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => d.Percentile(101));
    }

    [Fact]
    public void Histogram_bins_have_a_1_2_5_width_and_cover_every_sample()
    {
        var d = new LatencyDistribution([3, 3, 17, 120, 399, 401]);
        var bins = d.Histogram(20);
        long width = bins[0].To - bins[0].From;
        Assert.Equal(20, width); // (401 - 3) / 20 = 19.9 -> 20
        Assert.Equal(0, bins[0].From);
        Assert.Equal(3, bins[0].Count); // 3, 3, 17
        Assert.Equal(6, bins.Sum(b => b.Count));
        Assert.All(bins.Zip(bins.Skip(1)), p => Assert.Equal(p.First.To, p.Second.From));
        Assert.Equal(400, bins[^1].From);

        var single = new LatencyDistribution([5, 5]).Histogram();
        Assert.Equal([new HistogramBin(5, 6, 2)], single);
        Assert.Equal(-20, new LatencyDistribution([-15, 0]).Histogram(1)[0].From);
    }
}
