using CrossMargin.Ethereum.Numerics;
using static CrossMargin.Risk.Tests.World;

namespace CrossMargin.Risk.Tests;

/// <summary>Hand-computed rounding edges: values exactly on and one wei off every boundary.</summary>
public class EdgeCaseTests
{
    private static Int256 I(long v) => v;

    private static World BobLong4At1840()
    {
        var w = new World();
        w.Fund(Bob, 1_000_000_000, UInt256.Zero);
        w.Trade(Bob, EthMkt, W("4"));
        w.SetEth("1840"); // equity 356, MM 378, IM 746
        return w;
    }

    [Fact]
    public void Equity_exactly_on_maintenance_is_not_liquidatable_one_wei_below_is()
    {
        World w = BobLong4At1840();
        w.Acct(Bob).Cash = checked(w.Acct(Bob).Cash + W("22"));
        Health h = w.Health(Bob);
        Assert.Equal(W("378"), h.Equity);
        Assert.False(h.IsLiquidatable);
        Assert.Equal(AccountStatus.Restricted, h.Status);
        Assert.Equal(Health.RatioScale, h.MarginRatio);
        Assert.Equal(SkipReason.NotLiquidatable, w.Begin(Keeper).Liquidate(Bob, EthMkt, UInt256.Zero).Skip);

        w.Acct(Bob).Cash = checked(w.Acct(Bob).Cash - I(1));
        h = w.Health(Bob);
        Assert.True(h.IsLiquidatable);
        Assert.Equal(AccountStatus.Liquidatable, h.Status);
        Assert.Equal(Health.RatioScale - 1, h.MarginRatio);
        Assert.Equal(UInt256.One, h.MaintenanceShortfall);
        Assert.True(w.Begin(Keeper).Liquidate(Bob, EthMkt, UInt256.Zero).Executed);
    }

    [Fact]
    public void Initial_boundary_exactly_on_is_healthy_one_wei_below_is_restricted()
    {
        World w = BobLong4At1840();
        w.Acct(Bob).Cash = checked(w.Acct(Bob).Cash + W("390")); // initial equity 746 == IM
        Assert.Equal(AccountStatus.Healthy, w.Health(Bob).Status);
        Assert.Equal(Int256.Zero, w.Health(Bob).InitialHealth);
        w.Acct(Bob).Cash = checked(w.Acct(Bob).Cash - I(1));
        Assert.Equal(AccountStatus.Restricted, w.Health(Bob).Status);
    }

    [Fact]
    public void Deep_boundary_two_equity_equal_to_maintenance_is_partial_one_wei_less_is_full()
    {
        World w = BobLong4At1840();
        w.Acct(Bob).Cash = checked(w.Acct(Bob).Cash - W("167")); // equity 189, 2*189 == 378
        Health h = w.Health(Bob);
        Assert.Equal(W("189"), h.Equity);
        Assert.Equal(AccountStatus.Liquidatable, h.Status);
        UInt256 partial = w.Begin(Keeper).Liquidate(Bob, EthMkt, UInt256.Zero).SizeClosed;
        Assert.Equal(U("2"), partial); // capped at 50% of 4
        w.Acct(Bob).Cash = checked(w.Acct(Bob).Cash - I(1));
        Assert.Equal(AccountStatus.Deep, w.Health(Bob).Status);
        Assert.Equal(U("4"), w.Begin(Keeper).Liquidate(Bob, EthMkt, UInt256.Zero).SizeClosed);
        // the caller's maxSize still caps a deep full close
        Assert.Equal(U("1.5"), w.Begin(Keeper).Liquidate(Bob, EthMkt, U("1.5")).SizeClosed);
        // equity exactly zero is deep too
        w.Acct(Bob).Cash = checked(w.Acct(Bob).Cash - W("189") + I(1));
        Assert.Equal(Int256.Zero, w.Health(Bob).Equity);
        Assert.Equal(AccountStatus.Deep, w.Health(Bob).Status);
    }

    [Fact]
    public void Position_value_floors_and_notional_ceils_for_both_sides()
    {
        UInt256 p = U("1234.56789012");
        Assert.Equal(I(3703), RiskMath.PositionValue(I(3), p));
        Assert.Equal(I(-3704), RiskMath.PositionValue(I(-3), p));
        Assert.Equal(new UInt256(3704UL), RiskMath.NotionalUp(new UInt256(3UL), p));
        // exact products do not round
        Assert.Equal(W("-3703.70367036"), RiskMath.PositionValue(W("-3"), p));
        Assert.Equal(U("3703.70367036"), RiskMath.NotionalUp(U("3"), p));
    }

    [Fact]
    public void Collateral_value_floors_twice_and_zero_weight_counts_nothing()
    {
        Assert.Equal(new UInt256(1800UL), RiskMath.CollateralValue(UInt256.One, U("2000"), U("0.9").u0));
        Assert.Equal(UInt256.Zero, RiskMath.CollateralValue(UInt256.One, U("0.5"), U("0.9").u0));
        Assert.Equal(new UInt256(6UL), RiskMath.CollateralValue(new UInt256(7UL), RiskMath.Wad, U("0.9").u0));
        Assert.Equal(new UInt256(5UL), RiskMath.CollateralValue(new UInt256(7UL), RiskMath.Wad, U("0.8").u0));

        RiskConfig baseCfg = DevnetConfig();
        AssetParams[] assets = [.. baseCfg.Assets];
        assets[WbtcId] = assets[WbtcId] with { InitialWeight = 0, MaintenanceWeight = 0 };
        var w = new World(new RiskConfig(assets, baseCfg.Markets, 3));
        w.Acct(Alice).Collateral[WbtcId] = U("10");
        w.Acct(Alice).Cash = W("-1");
        Health h = w.Health(Alice);
        Assert.Equal(W("-1"), h.Equity);
        Assert.Equal(AccountStatus.Insolvent, h.Status);
        var book = new RiskBook(w.Config, 1);
        book.SetAccount(0, w.Acct(Alice));
        book.SetMarketState(w.Prices, w.Funding, w.Now);
        Assert.Equal(1, book.ExposedCount(1)); // still exposed to BTC's slot
        Assert.Equal(h, book.HealthOf(0));
    }

    [Fact]
    public void No_positions_and_negative_cash()
    {
        var w = new World();
        Health empty = w.Health(Alice);
        Assert.Equal(default, empty);
        Assert.Equal(AccountStatus.Healthy, empty.Status);
        Assert.Equal(long.MaxValue, empty.MarginRatio);
        w.Acct(Alice).Cash = I(-1);
        Health h = w.Health(Alice);
        Assert.True(h.IsLiquidatable); // equity -1 < MM 0, as isLiquidatable returns on chain
        Assert.Equal(AccountStatus.Insolvent, h.Status);
        Assert.Equal(-long.MaxValue, h.MarginRatio);
        Assert.Equal(SkipReason.NoPosition, w.Begin(Keeper).Liquidate(Alice, EthMkt, UInt256.Zero).Skip);
    }

    [Fact]
    public void Dust_position_requirements_include_the_minimum_margin()
    {
        var w = new World();
        w.Acct(Alice).Cash = W("100");
        w.Acct(Alice).Positions[EthMkt] = new Position(I(1), I(2000), Int256.Zero);
        Health h = w.Health(Alice);
        Assert.Equal(checked(U("10") + new UInt256(100UL)), h.MaintenanceMargin);
        Assert.Equal(checked(U("10") + new UInt256(200UL)), h.InitialMargin);
        // 1 wei short: value floor(-2000) = -2000, notional 2000
        w.Acct(Alice).Positions[EthMkt] = new Position(I(-1), I(-2000), Int256.Zero);
        Assert.Equal(W("100"), w.Health(Alice).Equity);
    }

    [Fact]
    public void Funding_owed_rounds_against_the_account_in_both_directions()
    {
        Int256 size = W("1.5"), one = I(1), zero = Int256.Zero;
        Assert.Equal(I(2), RiskMath.FundingOwed(size, one, zero)); // long pays ceil(1.5)
        Assert.Equal(I(-1), RiskMath.FundingOwed(checked(-size), one, zero)); // short receives floor(1.5)
        Assert.Equal(I(-1), RiskMath.FundingOwed(size, I(-1), zero)); // negative rate: long receives 1
        Assert.Equal(I(2), RiskMath.FundingOwed(checked(-size), I(-1), zero)); // short pays 2
        Assert.Equal(I(0), RiskMath.FundingOwed(size, W("5"), W("5")));
        Assert.Equal(W("3"), RiskMath.FundingOwed(size, W("7"), W("5")));
    }

    [Fact]
    public void Funding_index_accrual_rules()
    {
        var f = new FundingState(W("1"), I(-1), 100);
        Assert.Equal(W("1"), RiskContext.FundingIndexAt(f, U("2000"), 100)); // now == last
        Assert.Equal(W("1"), RiskContext.FundingIndexAt(f, U("2000"), 50)); // now < last
        Assert.Equal(checked(W("1") - I(2000)), RiskContext.FundingIndexAt(f, U("2000"), 101));
        Assert.Equal(checked(W("1") - I(2)), RiskContext.FundingIndexAt(f, U("1.5"), 101)); // floor(-1.5) = -2
        Assert.Equal(checked(W("1") + I(1)), RiskContext.FundingIndexAt(f with { RatePerSecond = I(1) }, U("1.5"), 101)); // floor(1.5) = 1
        // rate 0: no price is read, so a missing price does not matter
        var cfg = DevnetConfig();
        var ctx = new RiskContext(cfg, [new FundingState(W("1"), Int256.Zero, 0), default, default], [UInt256.Zero, U("1"), U("1")], 1000);
        Assert.Equal(W("1"), ctx.Index(EthMkt));
        var ctx2 = new RiskContext(cfg, [new FundingState(W("1"), I(1), 0), default, default], [UInt256.Zero, U("1"), U("1")], 1000);
        Assert.Throws<PriceUnavailableException>(() => ctx2.Index(EthMkt));
    }

    [Fact]
    public void Penalty_split_rounds_reward_down_and_fee_takes_the_rest()
    {
        MarketParams m = DevnetConfig().Markets[EthMkt];
        (UInt256 pen, UInt256 reward, UInt256 fee) = Liquidation.Penalty(m, new UInt256(200UL), RiskMath.Wad);
        Assert.Equal((new UInt256(3UL), UInt256.One, new UInt256(2UL)), (pen, reward, fee));
        (pen, reward, fee) = Liquidation.Penalty(m, new UInt256(201UL), RiskMath.Wad);
        Assert.Equal((new UInt256(4UL), new UInt256(2UL), new UInt256(2UL)), (pen, reward, fee));
        (pen, reward, fee) = Liquidation.Penalty(m, new UInt256(1UL), new UInt256(1UL)); // notional ceil(1e-18) = 1
        Assert.Equal((UInt256.One, UInt256.Zero, UInt256.One), (pen, reward, fee));
    }

    [Fact]
    public void Overflow_is_reported_as_a_revert_not_wrapped()
    {
        var w = new World();
        w.Acct(Alice).Positions[EthMkt] = new Position((Int256)(UInt256.One << 250), Int256.Zero, Int256.Zero);
        Assert.Throws<OverflowException>(() => w.Health(Alice));
        var book = new RiskBook(w.Config, 1);
        book.SetAccount(0, w.Acct(Alice));
        book.SetMarketState(w.Prices, w.Funding, w.Now);
        Assert.Equal(AccountStatus.Reverts, book.StatusOf(0));
        var liq = new List<int>();
        Assert.Equal(1, book.Liquidatable(liq));
        Assert.Throws<OverflowException>(() => RiskMath.Abs(Int256.MinValue));
        Assert.Throws<OverflowException>(() => RiskMath.ToInt256(UInt256.One << 255));
    }

    [Fact]
    public void Storing_an_index_beyond_int192_reverts_the_liquidation_but_not_the_view()
    {
        World w = BobLong4At1840();
        Int256 nearMax = (Int256)((UInt256.One << 191) - UInt256.One);
        w.Acct(Bob).Positions[EthMkt] = w.Acct(Bob).Positions[EthMkt] with { FundingSnapshot = nearMax };
        w.Funding[EthMkt] = new FundingState(nearMax, I(1), w.Now);
        w.Now += 10;
        Health h = w.Health(Bob); // the view adds the accrual in int256: fine
        Assert.True(h.IsLiquidatable);
        Assert.Throws<OverflowException>(() => w.Begin(Keeper).Liquidate(Bob, EthMkt, UInt256.Zero));
    }

    [Fact]
    public void Batch_effects_are_sequential_on_the_same_account()
    {
        World w = BobLong4At1840();
        LiquidationSimulator sim = w.Begin(Keeper);
        LiquidationOutcome first = sim.Liquidate(Bob, EthMkt, U("0.1"));
        LiquidationOutcome second = sim.Liquidate(Bob, EthMkt, UInt256.Zero);
        Assert.Equal(first.HealthAfter, second.HealthBefore);
        Assert.Equal(U("0.1"), first.SizeClosed);
        var alone = new World();
        alone.Fund(Bob, 1_000_000_000, UInt256.Zero);
        alone.Trade(Bob, EthMkt, W("4"));
        alone.SetEth("1840");
        UInt256 direct = alone.Begin(Keeper).Liquidate(Bob, EthMkt, UInt256.Zero).SizeClosed;
        Assert.NotEqual(direct, second.SizeClosed); // the second request is sized on the state left by the first
        Assert.False(second.HealthAfter.IsLiquidatable);
    }
}
