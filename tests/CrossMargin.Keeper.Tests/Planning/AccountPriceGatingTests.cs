using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Detection;
using CrossMargin.Keeper.Planning;
using CrossMargin.Keeper.Tests.Detection;

namespace CrossMargin.Keeper.Tests.Planning;

public sealed class AccountPriceGatingTests
{
    private static readonly Address Keeper = RiskWorld.Addr(9_999);
    private static readonly Address Mixed = RiskWorld.Addr(0);   // ETH long and BTC long
    private static readonly Address BtcOnly = RiskWorld.Addr(1); // BTC long only
    private static GasQuote Gas => new(new UInt256(10_000_000_000UL), RiskWorld.Usd(3000));
    private static readonly Hash32[] Slots = [RiskWorld.EthOracle, RiskWorld.BtcOracle];

    private sealed class DenyEth : ILiquidationPriceGate
    {
        public List<Hash32> Asked { get; } = [];

        public bool Allows(Hash32 oracleId, UInt256 price, ulong block)
        {
            Asked.Add(oracleId);
            return oracleId != RiskWorld.EthOracle;
        }
    }

    private static async Task<(LiquidationDetector Detector, DetectionResult Result)> DetectAsync()
    {
        var w = new RiskWorld();
        w.SetAccount(Mixed, 5000, 0, (0, 10_000, 3000), (1, 500, 60_000));
        w.SetAccount(BtcOnly, 4000, 0, (1, 1_000, 62_000));
        var d = new LiquidationDetector(w, w.Book);
        await d.ProcessAsync(RiskWorld.Block(1, 1_000));
        w.Prices = [RiskWorld.Usd(2700), w.Prices[1]]; // ETH -10 %
        DetectionResult r = await d.ProcessAsync(RiskWorld.Block(2, 1_012));
        Assert.Equal([Mixed, BtcOnly], r.Liquidatable.Select(c => c.Account).Order());
        return (d, r);
    }

    [Fact]
    public async Task A_disputed_price_stops_every_liquidation_of_an_account_that_holds_it()
    {
        var (d, r) = await DetectAsync();
        var gate = new DenyEth();
        LiquidationPlan plan = new LiquidationPlanner(new PlannerOptions { MinProfit = UInt256.Zero }, Keeper, gate).Plan(r, d.StateOf, Gas, null, Slots);

        // the mixed account's BTC position is not liquidated either: its shortfall comes from the disputed ETH price
        PlanSkip skip = Assert.Single(plan.Skipped);
        Assert.Equal((Mixed, PlanSkipReason.PriceGated), (skip.Account, skip.Reason));
        Assert.Contains(RiskWorld.EthOracle.ToString(), skip.Detail, StringComparison.Ordinal);
        Assert.Equal([BtcOnly], plan.Batches.SelectMany(b => b.Accounts).Select(p => p.Account));
        Assert.All(plan.Batches.SelectMany(b => b.Requests), q => Assert.Equal(1, q.MarketId));

        // without the gate both accounts are planned, the mixed one in both markets
        LiquidationPlan open = new LiquidationPlanner(new PlannerOptions { MinProfit = UInt256.Zero }, Keeper).Plan(r, d.StateOf, Gas, null, Slots);
        Assert.Empty(open.Skipped);
        Assert.Equal([0, 1], open.Batches.SelectMany(b => b.Requests).Where(q => q.Account == Mixed).Select(q => q.MarketId).Order());
    }

    [Fact]
    public void Collateral_prices_count_too()
    {
        var w = new RiskWorld();
        w.SetAccount(Mixed, 0, 2_000, (1, 100, 60_000)); // 2 WETH collateral, a BTC position
        w.SetAccount(BtcOnly, 1000, 0, (1, 100, 60_000));
        var ctx = new CrossMargin.Risk.RiskContext(w.Config, w.Funding, w.Prices, 1_000);
        var gate = new DenyEth();
        Assert.Equal(0, AccountPriceGating.FirstBlockedSlot(ctx, w.Model(Mixed), Slots, gate, 1)); // the WETH collateral is priced by ETH
        Assert.Null(AccountPriceGating.FirstBlockedSlot(ctx, w.Model(BtcOnly), Slots, gate, 1));
        Assert.Equal([RiskWorld.BtcOracle, RiskWorld.EthOracle, RiskWorld.BtcOracle], gate.Asked);
    }
}
