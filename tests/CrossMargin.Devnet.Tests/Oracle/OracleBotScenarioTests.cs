using System.Globalization;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Oracle;
using CrossMargin.Keeper.Oracle.OnChain;
using CrossMargin.Keeper.Oracle.Push;
using Xunit;
using Xunit.Abstractions;

namespace CrossMargin.Devnet.Tests.Oracle;

/// <summary>
/// The oracle bot end to end per market scenario. Prints push latency (round start → receipt, wall clock), pushes per
/// simulated hour and gas per push; no timing assertions.
/// </summary>
[Collection(AnvilCollection.Name)]
public sealed class OracleBotScenarioTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(5);

    private sealed record Run(List<OracleRoundReport> Reports, TimeSpan Simulated);

    private static async Task<Run> RunAsync(OracleBotDevnet bot, int steps, Func<OracleRoundReport, Task>? afterRound = null)
    {
        var reports = new List<OracleRoundReport>();
        DateTimeOffset start = bot.Clock.GetUtcNow();
        for (int i = 0; i < steps; i++)
        {
            OracleRoundReport r = await bot.StepAsync(Step);
            Assert.True(r.Feeds.Status != PushStatus.Failed, $"feed push failed at round {i}: {r.Feeds.Detail}");
            Assert.True(r.Pyth.Status != PushStatus.Failed, $"pyth push failed at round {i}: {r.Pyth.Detail}");
            reports.Add(r);
            if (afterRound is not null) await afterRound(r);
        }
        return new Run(reports, bot.Clock.GetUtcNow() - start);
    }

    /// <summary>After a round, every non-halted asset's feed is within its threshold of the aggregate.</summary>
    private static async Task AssertFollowsAsync(OracleBotDevnet bot, OracleRoundReport r)
    {
        Dictionary<string, UInt256> onChain = await bot.OnChainAsync();
        foreach (AssetPushConfig a in bot.Assets)
        {
            AggregatePrice agg = r.Aggregates[a.Asset];
            if (agg.State == OracleState.Halted || !agg.HasPrice) continue;
            long dev = PushPolicy.DeviationBps(agg.PriceWad, onChain[a.Asset]);
            Assert.True(dev < a.DeviationBps, $"{a.Asset}: on-chain {onChain[a.Asset]} is {dev} bps from the aggregate {agg.PriceWad} after a round");
        }
    }

    private void Report(string scenario, Run run)
    {
        var sent = run.Reports.SelectMany(r => new[] { r.Feeds, r.Pyth }).Where(p => p.Status == PushStatus.Sent).ToList();
        var feeds = sent.Where(p => p.Kind == "feeds").ToList();
        var pyth = sent.Where(p => p.Kind == "pyth").ToList();
        double hours = run.Simulated.TotalHours;
        string Stats(List<PushAttempt> ps) => ps.Count == 0 ? "none" : string.Create(CultureInfo.InvariantCulture,
            $"{ps.Count} pushes, {ps.Count / hours:0} /h, latency mean {ps.Average(p => p.Latency.TotalMilliseconds):0} ms max {ps.Max(p => p.Latency.TotalMilliseconds):0} ms, gas mean {ps.Average(p => (double)p.Receipt!.GasUsed):0} min {ps.Min(p => p.Receipt!.GasUsed)} max {ps.Max(p => p.Receipt!.GasUsed)}");
        output.WriteLine($"[{scenario}] {run.Reports.Count} rounds over {run.Simulated.TotalSeconds:0} simulated s");
        output.WriteLine($"[{scenario}] feeds: {Stats(feeds)}");
        output.WriteLine($"[{scenario}] pyth:  {Stats(pyth)}");
        output.WriteLine($"[{scenario}] benign races {run.Reports.Count(r => r.Feeds.Status == PushStatus.BenignRace || r.Pyth.Status == PushStatus.BenignRace)}, halted asset-rounds {run.Reports.Sum(r => r.HaltedAssets.Count)}");
    }

    [Fact]
    public async Task Calm_on_chain_feeds_follow_the_aggregate_within_thresholds()
    {
        await using var bot = await OracleBotDevnet.StartAsync("calm");
        Run run = await RunAsync(bot, 60, r => AssertFollowsAsync(bot, r));
        Report("calm", run);
        Assert.Contains(run.Reports, r => r.Feeds.Status == PushStatus.Sent);
        Assert.Contains(run.Reports, r => r.Pyth.Status == PushStatus.Sent);
        // the hub reads both sources and agrees with the aggregate
        HubPriceSnapshot hub = await bot.Hub.ReadAsync();
        foreach (AssetPushConfig a in bot.Assets)
            Assert.True(PushPolicy.DeviationBps(hub.For(a.Asset)!.PriceWad!.Value, bot.Aggregator.Latest(a.Asset)!.PriceWad) < 100);
    }

    [Fact]
    public async Task Crash_on_chain_follows_down()
    {
        await using var bot = await OracleBotDevnet.StartAsync("crash");
        Run run = await RunAsync(bot, 30, r => AssertFollowsAsync(bot, r));
        Report("crash", run);
        Dictionary<string, UInt256> onChain = await bot.OnChainAsync();
        foreach (string asset in new[] { "ETH", "BTC" })
        {
            UInt256 truth = bot.Simulation.TruePrice(asset, bot.Simulation.CurrentStep);
            UInt256 start = bot.Simulation.Asset(asset).StartPriceWad;
            Assert.True(PushPolicy.DeviationBps(onChain[asset], truth) < 100, $"{asset} on-chain {onChain[asset]} vs market {truth}");
            Assert.True(onChain[asset] < Bps.Apply(start, -2000), $"{asset} did not follow the crash: {onChain[asset]}");
        }
        HubPriceSnapshot hub = await bot.Hub.ReadAsync();
        Assert.True(hub.For("ETH")!.PriceWad < Bps.Apply(bot.Simulation.Asset("ETH").StartPriceWad, -2000));
    }

    [Theory]
    [InlineData("frozen-source", 40)]
    [InlineData("outlier-source", 20)]
    public async Task A_stale_or_outlier_source_does_not_move_the_on_chain_price(string scenario, int steps)
    {
        await using var bot = await OracleBotDevnet.StartAsync(scenario);
        Run run = await RunAsync(bot, steps, async r =>
        {
            await AssertFollowsAsync(bot, r);
            Dictionary<string, UInt256> onChain = await bot.OnChainAsync();
            UInt256 truth = bot.Simulation.TruePrice("ETH", bot.Simulation.CurrentStep);
            long dev = PushPolicy.DeviationBps(onChain["ETH"], truth);
            // the bad source is 30 % (outlier) or up to 25 % (frozen) away; the on-chain price stays with the market
            Assert.True(dev < 150, $"{scenario}: on-chain ETH {onChain["ETH"]} is {dev} bps from the market {truth}");
        });
        Report(scenario, run);
    }

    [Fact]
    public async Task All_down_halts_pushes_and_the_gate_blocks_liquidations()
    {
        await using var bot = await OracleBotDevnet.StartAsync("all-down");
        var gate = new LiquidationPriceGate(new SanityGate(bot.Aggregator, bot.Clock), bot.Metrics);
        int haltedRounds = 0, blockedChecks = 0, allowedAfterRecovery = 0;
        Run run = await RunAsync(bot, 16, async r =>
        {
            HubPriceSnapshot hub = await bot.Hub.ReadAsync();
            var verdicts = gate.CheckAll(hub);
            foreach (AssetPushConfig a in bot.Assets)
            {
                if (r.Aggregates[a.Asset].State == OracleState.Halted)
                {
                    Assert.Equal(PushReason.Halted, r.Decisions.Single(d => d.Asset == a.Asset).Reason);
                    Assert.DoesNotContain(a.Asset, r.Feeds.Assets);
                    Assert.DoesNotContain(a.Asset, r.Pyth.Assets);
                    Assert.Equal(LiquidationGateVerdict.Blocked, verdicts[a.Asset].Verdict);
                    Assert.Equal(SanityBlockReason.Halted, Assert.IsType<SanityDecision.Blocked>(verdicts[a.Asset].Decision).Reason);
                    blockedChecks++;
                }
                else if (r.Aggregates[a.Asset].State == OracleState.Healthy && verdicts[a.Asset].IsAllowed)
                {
                    allowedAfterRecovery++;
                }
            }
            if (r.HaltedAssets.Count > 0) haltedRounds++;
        });
        Report("all-down", run);
        output.WriteLine($"[all-down] halted rounds {haltedRounds}, blocked gate checks {blockedChecks}, allowed healthy checks {allowedAfterRecovery}");
        Assert.True(haltedRounds >= 5, $"expected the outage to halt rounds, got {haltedRounds}");
        Assert.True(allowedAfterRecovery > 0, "the gate never allowed again after recovery");
        // pushes resumed after the outage
        Assert.Equal(PushStatus.Sent, run.Reports.Skip(haltedRounds + 2).Select(r => r.Feeds.Status).FirstOrDefault(s => s == PushStatus.Sent));
    }
}
