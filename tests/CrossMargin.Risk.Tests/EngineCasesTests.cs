using CrossMargin.Ethereum.Numerics;
using static CrossMargin.Risk.Tests.World;

namespace CrossMargin.Risk.Tests;

/// <summary>The hand-computed numbers of devnet/test/Engine.t.sol (checked there against the contract), replayed on the mirror.</summary>
public class EngineCasesTests
{
    private static Int256 I(long v) => v;

    [Fact]
    public void Deposit_usdc_and_weth_health()
    {
        var w = new World();
        w.Fund(Alice, 10_000_000_000, U("1"));
        Health h = w.Health(Alice);
        Assert.Equal(W("11800"), h.Equity);
        Assert.Equal(W("11600"), h.InitialEquity);
        Assert.Equal(UInt256.Zero, h.InitialMargin);
        Assert.Equal(UInt256.Zero, h.MaintenanceMargin);
        Assert.Equal(AccountStatus.Healthy, h.Status);
        Assert.Equal(long.MaxValue, h.MarginRatio);
    }

    [Fact]
    public void Deposit_wbtc_scaled_to_wad()
    {
        var w = new World();
        Assert.Equal(U("0.5"), RiskMath.ToWad(50_000_000UL, 8));
        w.Acct(Bob).Collateral[WbtcId] = RiskMath.ToWad(50_000_000UL, 8);
        Assert.Equal(W("22500"), w.Health(Bob).Equity);
    }

    [Fact]
    public void Withdraw_blocked_by_initial_health()
    {
        var w = new World();
        w.Fund(Alice, 1_000_000_000, U("1"));
        w.Trade(Alice, EthMkt, W("10"));
        // after withdrawing 601 USDC: initial equity 1989 < IM 2010
        AccountState a = w.Acct(Alice).Clone();
        a.Cash = checked(a.Cash - W("601"));
        Health h = Margin.ComputeHealth(w.Ctx(), a);
        Assert.Equal(W("1989"), h.InitialEquity);
        Assert.Equal(U("2010"), h.InitialMargin);
        Assert.Equal(AccountStatus.Restricted, h.Status);
        a.Cash = checked(a.Cash + W("21"));
        h = Margin.ComputeHealth(w.Ctx(), a);
        Assert.Equal(W("2010"), h.InitialEquity);
        Assert.Equal(AccountStatus.Healthy, h.Status); // exactly on the boundary is allowed
        a.Collateral[WethId] = U("0.99");
        Assert.Equal(W("1994"), Margin.ComputeHealth(w.Ctx(), a).InitialEquity);
    }

    [Fact]
    public void Trade_open_fee_and_health_then_price_move()
    {
        var w = new World();
        w.Fund(Alice, 10_000_000_000, U("1"));
        (UInt256 fee, _) = w.Trade(Alice, EthMkt, W("5"));
        Assert.Equal(U("5"), fee);
        Position p = w.Acct(Alice).Positions[EthMkt];
        Assert.Equal(W("5"), p.Size);
        Assert.Equal(W("10000"), p.OpenNotional);
        Assert.Equal(W("9995"), w.Acct(Alice).Cash);
        Health h = w.Health(Alice);
        Assert.Equal(W("11795"), h.Equity);
        Assert.Equal(U("1010"), h.InitialMargin);
        Assert.Equal(U("510"), h.MaintenanceMargin);
        Assert.Equal(W("1000005"), w.VaultCash);
        w.SetEth("2100");
        h = w.Health(Alice);
        Assert.Equal(W("12385"), h.Equity);
        Assert.Equal(U("535"), h.MaintenanceMargin);
        Assert.Equal(U("1060"), h.InitialMargin);
    }

    [Fact]
    public void Trade_partial_close_flip_and_full_close()
    {
        var w = new World();
        w.Fund(Alice, 10_000_000_000, UInt256.Zero);
        w.Trade(Alice, EthMkt, W("5"));
        w.SetEth("2100");
        w.Trade(Alice, EthMkt, W("-2"));
        Assert.Equal(new Position(W("3"), W("6000"), Int256.Zero), w.Acct(Alice).Positions[EthMkt]);
        Assert.Equal(W("10192.9"), w.Acct(Alice).Cash);

        var v = new World();
        v.Fund(Alice, 10_000_000_000, UInt256.Zero);
        v.Trade(Alice, EthMkt, W("3"));
        v.SetEth("2100");
        (_, Int256 realized) = v.Trade(Alice, EthMkt, W("-5"));
        Assert.Equal(W("300"), realized);
        Assert.Equal(new Position(W("-2"), W("-4200"), Int256.Zero), v.Acct(Alice).Positions[EthMkt]);
        Assert.Equal(W("10291.75"), v.Acct(Alice).Cash);
        v.SetEth("2000");
        v.Trade(Alice, EthMkt, W("2"));
        Assert.Equal(default, v.Acct(Alice).Positions[EthMkt]);
        Assert.Equal(W("10489.75"), v.Acct(Alice).Cash);
        Assert.Equal(0UL, v.Acct(Alice).PositionMask);
    }

    [Fact]
    public void Trade_rounding_against_account()
    {
        var w = new World();
        w.Fund(Alice, 10_000_000_000, UInt256.Zero);
        w.SetEth("1234.56789012");
        w.Trade(Alice, EthMkt, I(3));
        Assert.Equal(I(3704), w.Acct(Alice).Positions[EthMkt].OpenNotional);
        Assert.Equal(checked(W("10000") - I(2)), w.Acct(Alice).Cash);
        w.Trade(Alice, EthMkt, I(-1));
        Assert.Equal(I(2469), w.Acct(Alice).Positions[EthMkt].OpenNotional);
        Assert.Equal(checked(W("10000") - I(4)), w.Acct(Alice).Cash);
    }

    [Fact]
    public void Trade_insufficient_margin_is_rejected()
    {
        var w = new World();
        w.Fund(Alice, 1_000_000_000, UInt256.Zero);
        LiquidationSimulator sim = w.Begin(Alice);
        (_, _, bool ok) = sim.Trade(Alice, EthMkt, W("5"));
        Assert.False(ok);
        Health h = Margin.ComputeHealth(sim.Context, sim.Account(Alice));
        Assert.Equal(W("995"), h.InitialEquity);
        Assert.Equal(U("1010"), h.InitialMargin);
    }

    [Fact]
    public void Reduction_below_initial_allowed_not_below_maintenance()
    {
        var w = new World();
        w.Fund(Bob, 1_000_000_000, UInt256.Zero);
        w.Trade(Bob, EthMkt, W("4"));
        w.SetEth("1880");
        Health h = w.Health(Bob);
        Assert.Equal(W("516"), h.Equity);
        Assert.Equal(U("762"), h.InitialMargin);
        Assert.Equal(U("386"), h.MaintenanceMargin);
        Assert.Equal(AccountStatus.Restricted, h.Status);
        w.Trade(Bob, EthMkt, W("-1"));
        Assert.False(w.Begin(Bob).Trade(Bob, EthMkt, W("0.1")).Accepted);
        w.SetEth("1700");
        Assert.True(w.Health(Bob).IsLiquidatable);
        Assert.False(w.Begin(Bob).Trade(Bob, EthMkt, W("-0.1")).Accepted);
    }

    [Fact]
    public void Funding_accrual_and_settlement()
    {
        var w = new World();
        w.Fund(Alice, 10_000_000_000, UInt256.Zero);
        w.Fund(Bob, 10_000_000_000, UInt256.Zero);
        w.Trade(Alice, EthMkt, W("5"));
        w.Trade(Bob, EthMkt, W("-1"));
        Int256 eqA = w.Health(Alice).Equity, eqB = w.Health(Bob).Equity;
        w.SetFundingRate(EthMkt, (Int256)1_000_000_000_000L);
        w.Now += 1000;
        Assert.Equal(W("2"), w.Ctx().Index(EthMkt));
        Assert.Equal(checked(eqA - W("10")), w.Health(Alice).Equity);
        Assert.Equal(checked(eqB + W("2")), w.Health(Bob).Equity);
        Assert.Equal(W("10"), Margin.PositionPnl(w.Ctx(), w.Acct(Alice).Positions[EthMkt], EthMkt).PendingFunding);
        Int256 vault0 = w.VaultCash;
        w.Trade(Alice, EthMkt, W("-1"));
        Assert.Equal(W("2"), w.Acct(Alice).Positions[EthMkt].FundingSnapshot);
        Assert.Equal(checked(vault0 + W("11")), w.VaultCash);
        Assert.Equal(W("2"), w.Funding[EthMkt].Index);
        Assert.Equal(w.Now, w.Funding[EthMkt].LastFundingTime);
    }

    [Fact]
    public void Funding_rounds_up_for_payer()
    {
        var w = new World();
        w.Fund(Alice, 10_000_000_000, UInt256.Zero);
        w.Trade(Alice, EthMkt, I(3));
        w.Trade(Alice, EthMkt, I(-6));
        w.SetFundingRate(EthMkt, I(-1));
        w.Now += 1;
        Assert.Equal(I(-2000), w.Ctx().Index(EthMkt));
        Assert.Equal(I(1), Margin.PositionPnl(w.Ctx(), w.Acct(Alice).Positions[EthMkt], EthMkt).PendingFunding);
    }

    private static World BobLong4()
    {
        var w = new World();
        w.Fund(Bob, 1_000_000_000, UInt256.Zero);
        w.Trade(Bob, EthMkt, W("4"));
        return w;
    }

    [Fact]
    public void Not_liquidatable_at_1850()
    {
        World w = BobLong4();
        w.SetEth("1850");
        LiquidationOutcome o = w.Liquidate(Bob, EthMkt, UInt256.Zero);
        Assert.Equal(SkipReason.NotLiquidatable, o.Skip);
        Assert.Equal(W("396"), o.HealthBefore.Equity);
        Assert.Equal(U("380"), o.HealthBefore.MaintenanceMargin);
    }

    [Fact]
    public void Partial_liquidation_exact_size_reward_and_fee()
    {
        World w = BobLong4();
        w.SetEth("1840");
        Assert.Equal(W("356"), w.Health(Bob).Equity);
        Assert.Equal(U("378"), w.Health(Bob).MaintenanceMargin);
        Assert.Equal(AccountStatus.Liquidatable, w.Health(Bob).Status);
        UInt256 ins0 = w.Insurance;
        LiquidationOutcome o = w.Liquidate(Bob, EthMkt, UInt256.Zero);
        Assert.True(o.Executed);
        Assert.Equal(U("0.8125"), o.SizeClosed);
        Assert.Equal(U("1840"), o.Price);
        Assert.Equal(U("11.2125"), o.KeeperReward);
        Assert.Equal(U("11.2125"), o.InsuranceFee);
        Assert.Equal(new Position(W("3.1875"), W("6375"), Int256.Zero), w.Acct(Bob).Positions[EthMkt]);
        Assert.Equal(W("11.2125"), w.Acct(Keeper).Cash);
        Assert.Equal(checked(ins0 + U("11.2125")), w.Insurance);
        Assert.Equal(W("843.575"), w.Acct(Bob).Cash);
        Assert.Equal(W("333.575"), o.HealthAfter.Equity);
        Assert.Equal(U("303.25"), o.HealthAfter.MaintenanceMargin);
        Assert.False(o.HealthAfter.IsLiquidatable);
        Assert.Equal(o.HealthAfter, w.Health(Bob));
    }

    [Fact]
    public void Liquidation_capped_by_max_size_then_by_fraction()
    {
        World w = BobLong4();
        w.SetEth("1840");
        Assert.Equal(U("0.1"), w.Liquidate(Bob, EthMkt, U("0.1")).SizeClosed);
        w.SetConfig(DevnetConfig(ethMaxFraction: 250_000_000_000_000_000, ethBuffer: RiskMath.WadU64));
        Assert.Equal(U("0.975"), w.Liquidate(Bob, EthMkt, UInt256.Zero).SizeClosed);
    }

    [Fact]
    public void Dust_remainder_closes_fully()
    {
        var w = new World();
        w.Fund(Bob, 40_000_000, UInt256.Zero);
        w.Trade(Bob, EthMkt, W("0.1"));
        w.SetEth("1700");
        Health h = w.Health(Bob);
        Assert.Equal(W("9.9"), h.Equity);
        Assert.Equal(U("18.5"), h.MaintenanceMargin);
        Assert.Equal(AccountStatus.Liquidatable, h.Status); // not deep: 19.8 >= 18.5
        Assert.Equal(U("0.1"), w.Liquidate(Bob, EthMkt, UInt256.Zero).SizeClosed);
        Assert.True(w.Acct(Bob).Positions[EthMkt].Size.IsZero);
    }

    [Fact]
    public void Deep_full_close_and_bad_debt_covered_by_insurance()
    {
        World w = BobLong4();
        w.SetEth("1760");
        Assert.Equal(AccountStatus.Deep, w.Health(Bob).Status);
        UInt256 ins0 = w.Insurance;
        LiquidationOutcome o = w.Liquidate(Bob, EthMkt, UInt256.Zero);
        Assert.Equal(U("4"), o.SizeClosed);
        Assert.Equal(U("52.8"), o.KeeperReward);
        Assert.Equal(U("69.6"), o.BadDebtCovered);
        Assert.Equal(UInt256.Zero, o.BadDebtSocialized);
        Assert.Equal(Int256.Zero, w.Acct(Bob).Cash);
        Assert.Equal(W("52.8"), w.Acct(Keeper).Cash);
        Assert.Equal(checked(ins0 + U("52.8") - U("69.6")), w.Insurance);
    }

    [Fact]
    public void Bad_debt_socialized_to_vault()
    {
        World w = BobLong4();
        w.Insurance = UInt256.Zero;
        w.SetEth("1760");
        Int256 v0 = w.VaultCash;
        LiquidationOutcome o = w.Liquidate(Bob, EthMkt, UInt256.Zero);
        Assert.Equal(U("52.8"), o.BadDebtCovered);
        Assert.Equal(U("16.8"), o.BadDebtSocialized);
        Assert.Equal(checked(v0 + W("960") - W("16.8")), w.VaultCash);
        Assert.Equal(UInt256.Zero, w.Insurance);
    }

    [Fact]
    public void Self_liquidation_and_no_position()
    {
        World w = BobLong4();
        w.SetEth("1760");
        Assert.Equal(SkipReason.SelfLiquidation, w.Liquidate(Bob, EthMkt, UInt256.Zero, Bob).Skip);
        Assert.Equal(SkipReason.NoPosition, w.Liquidate(Bob, BtcMkt, UInt256.Zero).Skip);
    }

    [Fact]
    public void Batch_liquidate_skips_and_sequential_effects()
    {
        World w = BobLong4();
        w.Fund(Alice, 10_000_000_000, UInt256.Zero);
        w.Trade(Alice, EthMkt, W("1"));
        w.SetEth("1760");
        LiquidationOutcome[] o = w.Batch(
            new LiquidationRequest(Alice, EthMkt, UInt256.Zero),
            new LiquidationRequest(Bob, EthMkt, UInt256.Zero),
            new LiquidationRequest(Bob, EthMkt, UInt256.Zero),
            new LiquidationRequest(Bob, 42, UInt256.Zero),
            new LiquidationRequest(Keeper, EthMkt, UInt256.Zero));
        Assert.Equal([SkipReason.NotLiquidatable, SkipReason.None, SkipReason.NoPosition, SkipReason.UnknownMarket, SkipReason.SelfLiquidation], o.Select(x => x.Skip));
        Assert.Equal(U("4"), o[1].SizeClosed);
        Assert.Equal(W("52.8"), w.Acct(Keeper).Cash);
    }

    [Fact]
    public void Collateral_backed_deep_liquidation_leaves_negative_cash()
    {
        var w = new World();
        w.Fund(Carol, 0, U("1"));
        w.Trade(Carol, EthMkt, W("5"));
        w.SetEth("1700");
        Health h = w.Health(Carol);
        Assert.Equal(W("25"), h.Equity);
        Assert.Equal(U("435"), h.MaintenanceMargin);
        Assert.Equal(AccountStatus.Deep, h.Status);
        LiquidationOutcome o = w.Liquidate(Carol, EthMkt, UInt256.Zero);
        Assert.Equal(U("5"), o.SizeClosed);
        Assert.Equal(W("-1632.5"), w.Acct(Carol).Cash);
        Assert.Equal(W("-102.5"), w.Health(Carol).Equity);
        Assert.Equal(AccountStatus.Insolvent, w.Health(Carol).Status);
        Assert.Equal(UInt256.Zero, o.BadDebtCovered); // collateral remains: no settlement
    }
}
