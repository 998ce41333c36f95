using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Oracle;
using CrossMargin.Keeper.Oracle.OnChain;
using CrossMargin.Keeper.Oracle.Push;
using Xunit;

namespace CrossMargin.Keeper.Tests.Oracle.Push;

public sealed class LiquidationPriceGateTests
{
    private static PriceSample S(ManualTimeProvider t, string source, string asset, string price) =>
        new(asset, WadDecimal.Parse(price), UInt256.Zero, t.GetUtcNow(), t.GetUtcNow(), source);

    [Fact]
    public void Allows_agreeing_prices_and_blocks_halted_deviating_and_missing_ones()
    {
        var time = new ManualTimeProvider();
        var aggregator = new PriceAggregator(new OracleOptions(), time);
        string[] assets = ["ETH", "BTC", "SOL"];
        for (int i = 0; i < 3; i++)
            aggregator.ProcessRound(assets, [S(time, "a", "ETH", "3000"), S(time, "b", "ETH", "3000"), S(time, "a", "BTC", "60000"), S(time, "b", "BTC", "60000"), S(time, "a", "SOL", "150"), S(time, "b", "SOL", "150")]);
        aggregator.ProcessRound(assets, [S(time, "a", "ETH", "3000"), S(time, "b", "ETH", "3000"), S(time, "a", "SOL", "150"), S(time, "b", "SOL", "150")]); // BTC: no sample -> Halted
        using var metrics = new OracleMetrics();
        var gate = new LiquidationPriceGate(new SanityGate(aggregator, time), metrics);
        var snapshot = new HubPriceSnapshot(42, new Dictionary<string, HubPrice>
        {
            ["ETH"] = new("ETH", Hash32.Zero, WadDecimal.Parse("3030"), null),   // 100 bps: within the 200 bps band
            ["BTC"] = new("BTC", Hash32.Zero, WadDecimal.Parse("60000"), null),
            ["SOL"] = new("SOL", Hash32.Zero, WadDecimal.Parse("160"), null),    // 625 bps off
        });
        var all = gate.CheckAll(snapshot);
        Assert.True(all["ETH"].IsAllowed);
        Assert.Equal(42ul, all["ETH"].BlockNumber);
        Assert.Equal(SanityBlockReason.Halted, Assert.IsType<SanityDecision.Blocked>(all["BTC"].Decision).Reason);
        Assert.Equal(SanityBlockReason.Deviation, Assert.IsType<SanityDecision.Blocked>(all["SOL"].Decision).Reason);

        var missing = new HubPriceSnapshot(43, new Dictionary<string, HubPrice> { ["ETH"] = new("ETH", Hash32.Zero, null, "OracleUnavailableError") });
        var r = gate.Check(missing, "ETH");
        Assert.Equal(LiquidationGateVerdict.Blocked, r.Verdict);
        Assert.Contains("OracleUnavailable", Assert.IsType<SanityDecision.Blocked>(r.Decision).Detail, StringComparison.Ordinal);
        Assert.Equal(LiquidationGateVerdict.Blocked, gate.Check(missing, "DOGE").Verdict);

        // stale aggregate
        time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(SanityBlockReason.StaleAggregate, Assert.IsType<SanityDecision.Blocked>(gate.Check(snapshot, "ETH").Decision).Reason);
    }
}
