using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Detection;
using CrossMargin.Keeper.Execution;
using CrossMargin.Keeper.Planning;
using CrossMargin.Keeper.Tests.Detection;
using CrossMargin.Risk;

namespace CrossMargin.Keeper.Tests.Planning;

public sealed class LiquidationPlannerTests
{
    private static readonly Address Keeper = RiskWorld.Addr(9_999);

    // 10 gwei, ETH at $3000: 75k gas = 0.00075 ETH = $2.25
    private static GasQuote Gas => new(new UInt256(10_000_000_000UL), RiskWorld.Usd(3000));

    private static async Task<(RiskWorld World, LiquidationDetector Detector, DetectionResult Result)> DetectAsync(Action<RiskWorld> setup, long ethPrice)
    {
        var w = new RiskWorld();
        setup(w);
        var d = new LiquidationDetector(w, w.Book);
        await d.ProcessAsync(RiskWorld.Block(1, 1_000));
        w.Prices = [RiskWorld.Usd(ethPrice), w.Prices[1]];
        var r = await d.ProcessAsync(RiskWorld.Block(2, 1_012));
        return (w, d, r);
    }

    /// <summary>Accounts 10 ETH long at $3000 with cash 2000 − 100·i: the larger i, the larger the shortfall.</summary>
    private static void Longs(RiskWorld w, int count)
    {
        for (int i = 0; i < count; i++) w.SetAccount(RiskWorld.Addr(i), 2000 - (100 * i), 0, (0, 10_000, 3000));
    }

    [Fact]
    public void Gas_quote_converts_with_the_native_price()
    {
        Assert.Equal(RiskWorld.Usd(225) / new UInt256(100UL), Gas.CostUsd(75_000));
        Assert.Equal(new UInt256(1_000_000_000_000_000UL), Gas.ToWei(RiskWorld.Usd(3))); // $3 = 0.001 ETH
    }

    [Fact]
    public async Task Accounts_are_ranked_by_shortfall_and_sized_through_the_mirror()
    {
        var (w, d, r) = await DetectAsync(w => Longs(w, 5), 2900);
        Assert.Equal(5, r.Liquidatable.Count);
        var planner = new LiquidationPlanner(new PlannerOptions { MinProfit = UInt256.Zero, GasPerRequest = 75_000 }, Keeper);
        var plan = planner.Plan(r, d.StateOf, Gas);
        var batch = Assert.Single(plan.Batches);
        Assert.Equal(Enumerable.Range(0, 5).Reverse().Select(RiskWorld.Addr), batch.Accounts.Select(p => p.Account));
        foreach (var p in batch.Accounts)
        {
            var step = Assert.Single(p.Steps);
            Assert.True(step.Executed);
            // the close restores maintenance (with the buffer) unless capped at the max fraction (half of 10 ETH)
            Assert.True(!step.HealthAfter.IsLiquidatable || step.SizeClosed == new UInt256(5UL) * RiskMath.Wad);
            Assert.True(step.HealthAfter.MaintenanceShortfall < step.HealthBefore.MaintenanceShortfall);
            // the reward is the market's keeper share of the penalty on the closed notional
            var (_, reward, _) = Liquidation.Penalty(w.Config.Markets[0], step.SizeClosed, RiskWorld.Usd(2900));
            Assert.Equal(reward, step.KeeperReward);
            Assert.Equal(reward, p.Reward);
            Assert.Equal(Gas.CostUsd(75_000), p.GasCost);
            // deep accounts (2·equity < MM) close fully, the others partially
            bool deep = r.Liquidatable.Single(c => c.Account == p.Account).Status == AccountStatus.Deep;
            Assert.Equal(deep, step.SizeClosed == new UInt256(10UL) * RiskMath.Wad);
        }
        Assert.Equal(batch.Accounts.Select(p => new LiquidationRequest(p.Account, 0, UInt256.Zero)), batch.Requests);
        Assert.Equal(200_000UL + (5 * 75_000UL), batch.EstimatedGas);
        Assert.Equal(batch.EstimatedGas * 2, batch.GasLimit);
        Assert.Equal(Gas.ToWei(batch.Reward), batch.RewardWei);
    }

    [Fact]
    public async Task Sequential_steps_within_one_account_follow_the_contract()
    {
        // deep account with ETH and BTC longs: the first request closes the larger (BTC) position fully, the account
        // is still liquidatable, so the second request sees the first one's effects
        var (w, d, r) = await DetectAsync(w => w.SetAccount(RiskWorld.Addr(1), -1000, 0, (0, 10_000, 3000), (1, 1_000, 60_000)), 2800);
        var planner = new LiquidationPlanner(new PlannerOptions { MinProfit = UInt256.Zero, CapRequestSize = true }, Keeper);
        var plan = planner.Plan(r, d.StateOf, Gas);
        var p = Assert.Single(Assert.Single(plan.Batches).Accounts);
        Assert.Equal(2, p.Steps.Count);
        Assert.Equal(1, p.Steps[0].MarketId);
        Assert.Equal(0, p.Steps[1].MarketId);
        Assert.Equal(p.Steps[0].HealthAfter, p.Steps[1].HealthBefore);
        Assert.Equal(p.Steps[0].KeeperReward + p.Steps[1].KeeperReward, p.Reward);
        Assert.Equal(p.Steps.Select(s => new LiquidationRequest(s.Account, s.MarketId, s.SizeClosed)), plan.Batches[0].Requests);
        // the same requests in the mirror's batch call give the same outcomes
        var sim = new LiquidationSimulator(r.Context, Keeper, d.StateOf, Int256.Zero, UInt256.Zero);
        var outcomes = sim.Batch([.. plan.Batches[0].Requests]);
        Assert.Equal(p.Steps, outcomes);
    }

    [Fact]
    public async Task Minimum_profit_is_applied_per_account_and_per_batch()
    {
        var (w, d, r) = await DetectAsync(w => Longs(w, 1), 2900);
        var free = new LiquidationPlanner(new PlannerOptions { MinProfit = UInt256.Zero, BatchBaseGas = 0 }, Keeper).Plan(r, d.StateOf, Gas);
        UInt256 profit = Assert.Single(Assert.Single(free.Batches).Accounts).Profit;
        Assert.False(profit.IsZero);

        var exact = new LiquidationPlanner(new PlannerOptions { MinProfit = profit, BatchBaseGas = 0 }, Keeper).Plan(r, d.StateOf, Gas);
        Assert.Single(exact.Batches);
        var above = new LiquidationPlanner(new PlannerOptions { MinProfit = profit + UInt256.One, BatchBaseGas = 0 }, Keeper).Plan(r, d.StateOf, Gas);
        Assert.Empty(above.Batches);
        Assert.Equal(PlanSkipReason.Unprofitable, Assert.Single(above.Skipped).Reason);

        // the batch's fixed gas must be covered too
        var withBase = new LiquidationPlanner(new PlannerOptions { MinProfit = profit, BatchBaseGas = 60_000 }, Keeper).Plan(r, d.StateOf, Gas);
        Assert.Empty(withBase.Batches);
        Assert.Equal(PlanSkipReason.Unprofitable, Assert.Single(withBase.Skipped).Reason);

        // expensive gas makes it unprofitable
        var dear = new LiquidationPlanner(new PlannerOptions { MinProfit = UInt256.Zero }, Keeper)
            .Plan(r, d.StateOf, new GasQuote(new UInt256(100_000_000_000_000UL), RiskWorld.Usd(3000)));
        Assert.Empty(dear.Batches);
    }

    [Fact]
    public async Task Batches_respect_the_gas_budget_and_keep_the_ranking()
    {
        var (w, d, r) = await DetectAsync(w => Longs(w, 10), 2900);
        var options = new PlannerOptions { MinProfit = UInt256.Zero, BatchBaseGas = 50_000, GasPerRequest = 70_000, GasLimitMarginBps = 0, BatchGasBudget = 50_000 + (3 * 70_000), MaxBatchesPerBlock = 10 };
        var plan = new LiquidationPlanner(options, Keeper).Plan(r, d.StateOf, Gas);
        Assert.Equal([3, 3, 3, 1], plan.Batches.Select(b => b.Requests.Count));
        Assert.All(plan.Batches, b => Assert.True(b.GasLimit <= options.BatchGasBudget));
        Assert.Equal(r.Liquidatable.Select(c => c.Account), plan.Batches.SelectMany(b => b.Accounts).Select(p => p.Account));

        options.MaxBatchesPerBlock = 2;
        plan = new LiquidationPlanner(options, Keeper).Plan(r, d.StateOf, Gas);
        Assert.Equal(2, plan.Batches.Count);
        Assert.Equal(4, plan.Skipped.Count(s => s.Reason == PlanSkipReason.OverBatchLimit));
        // the block budget caps the estimated gas of all batches together: two full batches and a one-request batch fit
        options.MaxBatchesPerBlock = 10;
        options.BlockGasBudget = (2 * (50_000 + (3 * 70_000))) + 50_000 + 70_000;
        plan = new LiquidationPlanner(options, Keeper).Plan(r, d.StateOf, Gas);
        Assert.Equal([3, 3, 1], plan.Batches.Select(b => b.Requests.Count));
        Assert.Equal(options.BlockGasBudget, plan.EstimatedGas);
        Assert.Equal(3, plan.Skipped.Count(s => s.Reason == PlanSkipReason.OverBatchLimit && s.Detail == "block gas budget used"));
    }

    [Fact]
    public async Task Candidates_past_a_full_block_budget_are_not_sized()
    {
        var (w, d, r) = await DetectAsync(w => Longs(w, 19), 2900);
        Assert.Equal(19, r.Liquidatable.Count);
        var options = new PlannerOptions
        {
            MinProfit = UInt256.Zero, BatchBaseGas = 50_000, GasPerRequest = 70_000, GasLimitMarginBps = 0, BatchGasBudget = 50_000 + (3 * 70_000),
            MaxBatchesPerBlock = 10, BlockGasBudget = (2 * (50_000 + (3 * 70_000))) + 50_000 + 70_000,
        };
        var states = new List<Address>();
        var plan = new LiquidationPlanner(options, Keeper).Plan(r, a => { states.Add(a); return d.StateOf(a); }, Gas);
        Assert.Equal([3, 3, 1], plan.Batches.Select(b => b.Requests.Count)); // what sizing every candidate packs too
        Assert.Equal(r.Liquidatable.Take(7).Select(c => c.Account), plan.Batches.SelectMany(b => b.Accounts).Select(p => p.Account));
        // 10 one-request accounts (700k gas of requests) fill the 640k budget: the other 9 are not sized
        Assert.Equal(r.Liquidatable.Take(10).Select(c => c.Account), states.Distinct());
        Assert.Equal(9, plan.Skipped.Count(s => s.Detail == LiquidationPlanner.NotSized));
        Assert.Equal(3, plan.Skipped.Count(s => s.Detail == "block gas budget used"));
    }

    [Fact]
    public async Task Accounts_in_flight_are_excluded_until_a_final_outcome()
    {
        var (w, d, r) = await DetectAsync(w => Longs(w, 3), 2900);
        var planner = new LiquidationPlanner(new PlannerOptions { MinProfit = UInt256.Zero }, Keeper);
        var tracker = new InFlightTracker();
        tracker.Add("intent-1", [RiskWorld.Addr(2)]);
        var plan = planner.Plan(r, d.StateOf, Gas, tracker);
        Assert.DoesNotContain(RiskWorld.Addr(2), plan.Batches.SelectMany(b => b.Accounts).Select(p => p.Account));
        Assert.Equal(new PlanSkip(RiskWorld.Addr(2), PlanSkipReason.InFlight), Assert.Single(plan.Skipped));

        Assert.False(tracker.Observe(new ExecutionOutcome(ExecutionOutcomeKind.Sent, "intent-1", null, 1, DateTimeOffset.UnixEpoch)));
        Assert.False(tracker.Observe(new ExecutionOutcome(ExecutionOutcomeKind.Replaced, "intent-1", null, 1, DateTimeOffset.UnixEpoch)));
        Assert.True(tracker.Contains(RiskWorld.Addr(2)));
        Assert.Throws<InvalidOperationException>(() => tracker.Add("intent-2", [RiskWorld.Addr(2)]));
        Assert.True(tracker.Observe(new ExecutionOutcome(ExecutionOutcomeKind.Included, "intent-1", null, 1, DateTimeOffset.UnixEpoch)));
        Assert.Equal(0, tracker.Count);
        plan = planner.Plan(r, d.StateOf, Gas, tracker);
        Assert.Equal(3, plan.RequestCount);
    }

    [Fact]
    public async Task The_keeper_itself_and_gated_prices_are_not_planned()
    {
        var (w, d, r) = await DetectAsync(w => Longs(w, 2), 2900);
        var self = new LiquidationPlanner(new PlannerOptions { MinProfit = UInt256.Zero }, RiskWorld.Addr(1)).Plan(r, d.StateOf, Gas);
        Assert.Equal(new PlanSkip(RiskWorld.Addr(1), PlanSkipReason.SelfLiquidation), Assert.Single(self.Skipped));
        var gated = new LiquidationPlanner(new PlannerOptions { MinProfit = UInt256.Zero }, Keeper, new DenyEth())
            .Plan(r, d.StateOf, Gas, null, [RiskWorld.EthOracle, RiskWorld.BtcOracle]);
        Assert.Empty(gated.Batches);
        Assert.All(gated.Skipped, s => Assert.Equal(PlanSkipReason.PriceGated, s.Reason));
        var noPrice = new LiquidationPlanner(new PlannerOptions(), Keeper).Plan(r, d.StateOf, new GasQuote(Gas.GasPriceWei, UInt256.Zero));
        Assert.All(noPrice.Skipped, s => Assert.Equal(PlanSkipReason.NoGasPrice, s.Reason));
    }

    [Fact]
    public void Invalid_options_are_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => new LiquidationPlanner(new PlannerOptions { BatchGasBudget = 1_000 }, Keeper));
        Assert.Contains("BatchGasBudget", e.Message, StringComparison.Ordinal);
    }

    private sealed class DenyEth : ILiquidationPriceGate
    {
        public bool Allows(Hash32 oracleId, UInt256 price, ulong block) => oracleId != RiskWorld.EthOracle;
    }
}
