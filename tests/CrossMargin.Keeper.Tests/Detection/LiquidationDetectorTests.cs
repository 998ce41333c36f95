using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Detection;
using CrossMargin.Risk;

namespace CrossMargin.Keeper.Tests.Detection;

public sealed class LiquidationDetectorTests
{
    // 10 ETH long opened at $3000 with $2000 cash: equity = 2000 + 10p − 30000, MM = 0.5p + 10 → liquidatable below p ≈ 2957.9
    private static RiskWorld OneEthLong(out Address a)
    {
        var w = new RiskWorld();
        a = RiskWorld.Addr(1);
        w.SetAccount(a, 2000, 0, (0, 10_000, 3000));
        return w;
    }

    [Fact]
    public async Task First_block_loads_everything_and_reads_prices_pinned_to_the_block()
    {
        var w = OneEthLong(out Address a);
        var d = new LiquidationDetector(w, w.Book);
        var r = await d.ProcessAsync(RiskWorld.Block(100, 1_000));
        Assert.True(r.FullResync);
        Assert.Empty(r.Liquidatable);
        Assert.Equal([100UL], w.PriceReads);
        Assert.Equal(1, w.ConfigReads);
        Assert.Equal(1, w.FundingReads);
        Assert.Equal(RiskWorld.Usd(3000), r.NativePrice);

        w.Prices = [RiskWorld.Usd(2900), w.Prices[1]];
        r = await d.ProcessAsync(RiskWorld.Block(101, 1_012));
        Assert.False(r.FullResync);
        Assert.Equal([100UL, 101UL], w.PriceReads);
        Assert.Equal(1, w.ConfigReads);
        Assert.Equal(1, w.FundingReads); // no funding change reported: not re-read
        var c = Assert.Single(r.Liquidatable);
        Assert.Equal(a, c.Account);
        // equity = 2000 + 29000 − 30000 = 1000; MM = 0.05·29000 + 10 = 1460
        Assert.Equal(RiskWorld.SUsd(1000), c.Health.Equity);
        Assert.Equal(RiskWorld.Usd(1460), c.Health.MaintenanceMargin);
        Assert.Equal(RiskWorld.Usd(460), c.Shortfall);
    }

    [Fact]
    public async Task Only_accounts_exposed_to_a_moved_price_or_changed_are_recomputed()
    {
        var w = new RiskWorld();
        for (int i = 0; i < 5; i++) w.SetAccount(RiskWorld.Addr(i), 5000, 0, (0, 1_000, 3000));      // ETH only
        for (int i = 5; i < 8; i++) w.SetAccount(RiskWorld.Addr(i), 20_000, 0, (1, 100, 60_000));    // BTC only
        var d = new LiquidationDetector(w, w.Book);
        await d.ProcessAsync(RiskWorld.Block(1, 100));

        w.Prices = [w.Prices[0], RiskWorld.Usd(59_000)];
        var r = await d.ProcessAsync(RiskWorld.Block(2, 112));
        Assert.Equal(3, r.Recomputed);
        Assert.Equal(1, r.MovedSlots);

        w.SetAccount(RiskWorld.Addr(0), 4000, 0, (0, 1_000, 3000));
        r = await d.ProcessAsync(RiskWorld.Block(3, 124, [RiskWorld.Addr(0)]));
        Assert.Equal(1, r.Recomputed);
        Assert.Equal(0, r.MovedSlots);
        Assert.Equal(RiskWorld.SUsd(4000), d.StateOf(RiskWorld.Addr(0))!.Cash);
    }

    [Fact]
    public async Task Funding_accrues_to_the_estimated_next_block_timestamp()
    {
        var w = OneEthLong(out Address a);
        // at $2958: equity 1580, MM 1489, margin 91 USD. Rate 1e-6/s: the 10 ETH long owes 0.02958 USD per second
        // since t=1000, so it crosses after ~3076 s.
        w.Prices = [RiskWorld.Usd(2958), w.Prices[1]];
        w.Funding = [new FundingState(Int256.Zero, (Int256)new UInt256(1_000_000_000_000UL), 1_000), default];
        var d = new LiquidationDetector(w, w.Book, new DetectionOptions { DefaultBlockTimeSeconds = 12 });
        var r = await d.ProcessAsync(RiskWorld.Block(10, 4_050));
        Assert.Equal(4_062UL, r.NextTimestamp);
        Assert.Equal(4_062UL, r.Context.Timestamp);
        Assert.Empty(r.Liquidatable);

        r = await d.ProcessAsync(RiskWorld.Block(11, 4_070)); // observed interval 20 s → next 4090
        Assert.Equal(4_090UL, r.NextTimestamp);
        Assert.Equal(a, Assert.Single(r.Liquidatable).Account);
        // at the block's own timestamp (3070 s of accrual) it is still healthy: the next-block estimate matters
        Assert.False(Margin.ComputeHealth(new RiskContext(w.Config, w.Funding, w.Prices, 4_070), w.Model(a)).IsLiquidatable);
        Assert.True(Margin.ComputeHealth(new RiskContext(w.Config, w.Funding, w.Prices, 4_090), w.Model(a)).IsLiquidatable);
    }

    [Fact]
    public async Task Next_timestamp_uses_the_observed_interval_clamped()
    {
        var w = OneEthLong(out _);
        var d = new LiquidationDetector(w, w.Book, new DetectionOptions { DefaultBlockTimeSeconds = 12, MaxBlockTimeSeconds = 60 });
        Assert.Equal(1_012UL, (await d.ProcessAsync(RiskWorld.Block(10, 1_000))).NextTimestamp);
        Assert.Equal(1_004UL, (await d.ProcessAsync(RiskWorld.Block(11, 1_002))).NextTimestamp);
        Assert.Equal(4_060UL, (await d.ProcessAsync(RiskWorld.Block(12, 4_000))).NextTimestamp);
        // a gap in block numbers keeps the previous estimate
        Assert.Equal(5_060UL, (await d.ProcessAsync(RiskWorld.Block(20, 5_000))).NextTimestamp);
    }

    [Fact]
    public async Task Funding_change_is_read_and_applied()
    {
        var w = OneEthLong(out Address a);
        w.Prices = [RiskWorld.Usd(2958), w.Prices[1]];
        var d = new LiquidationDetector(w, w.Book);
        Assert.Empty((await d.ProcessAsync(RiskWorld.Block(1, 1_000))).Liquidatable);
        // the stored index jumps by 10 USD per ETH: the long owes 100 > its 91 margin
        w.Funding = [new FundingState(RiskWorld.SUsd(10), Int256.Zero, 1_000), default];
        var r = await d.ProcessAsync(RiskWorld.Block(2, 1_012, funding: true));
        Assert.Equal(2, w.FundingReads);
        Assert.Equal(a, Assert.Single(r.Liquidatable).Account);
    }

    [Fact]
    public async Task Removed_account_leaves_and_reorg_reloads()
    {
        var w = OneEthLong(out Address a);
        w.Prices = [RiskWorld.Usd(2900), w.Prices[1]];
        var d = new LiquidationDetector(w, w.Book);
        Assert.Single((await d.ProcessAsync(RiskWorld.Block(1, 1_000))).Liquidatable);
        w.Book.Reset();
        var r = await d.ProcessAsync(RiskWorld.Block(2, 1_012, [a]));
        Assert.Empty(r.Liquidatable);
        Assert.Null(d.StateOf(a));
        w.SetAccount(a, 2000, 0, (0, 10_000, 3000));
        r = await d.ProcessAsync(RiskWorld.Block(3, 1_024, reorg: 1));
        Assert.True(r.FullResync);
        Assert.Single(r.Liquidatable);
    }

    /// <summary>
    /// Random accounts, random price moves, random account changes and funding: after every block the detector's set
    /// (and order) equals a brute-force evaluation of every account with the reference health function.
    /// </summary>
    [Theory]
    [InlineData(1, false)]
    [InlineData(2, true)]
    [InlineData(3, true)]
    public async Task Detected_set_equals_brute_force_reference(int seed, bool funding)
    {
        var rng = new Random(seed);
        var w = new RiskWorld();
        const int N = 150;
        void RandomAccount(int i)
        {
            var pos = new List<(int, long, long)>();
            if (rng.Next(3) > 0) pos.Add((0, rng.Next(-20_000, 20_000), 3000));
            if (rng.Next(3) > 0) pos.Add((1, rng.Next(-1_000, 1_000), 60_000));
            w.SetAccount(RiskWorld.Addr(i), rng.Next(-2_000, 12_000), rng.Next(0, 5_000), [.. pos]);
        }
        for (int i = 0; i < N; i++) RandomAccount(i);
        if (funding) w.Funding = [new FundingState(Int256.Zero, (Int256)new UInt256((ulong)rng.Next(1, 50) * 100_000_000_000UL), 0), new FundingState(Int256.Zero, -(Int256)new UInt256(300_000_000_000UL), 0)];
        var d = new LiquidationDetector(w, w.Book);
        ulong ts = 1_000;
        for (ulong b = 1; b <= 30; b++)
        {
            ts += (ulong)rng.Next(1, 20);
            if (rng.Next(2) == 0) w.Prices = [w.Prices[0] * new UInt256((ulong)rng.Next(9_500, 10_400)) / new UInt256(10_000UL), w.Prices[1]];
            if (rng.Next(2) == 0) w.Prices = [w.Prices[0], w.Prices[1] * new UInt256((ulong)rng.Next(9_500, 10_400)) / new UInt256(10_000UL)];
            var changed = new List<Address>();
            for (int k = rng.Next(0, 5); k > 0; k--)
            {
                int i = rng.Next(N);
                RandomAccount(i);
                changed.Add(RiskWorld.Addr(i));
            }
            var r = await d.ProcessAsync(RiskWorld.Block(b, ts, changed));

            var ctx = new RiskContext(w.Config, w.Funding, w.Prices, r.NextTimestamp);
            var expected = new List<(Address, UInt256)>();
            for (int i = 0; i < N; i++)
            {
                Health h = Margin.ComputeHealth(ctx, w.Model(RiskWorld.Addr(i)));
                if (h.IsLiquidatable) expected.Add((RiskWorld.Addr(i), h.MaintenanceShortfall));
            }
            expected.Sort((x, y) => y.Item2.CompareTo(x.Item2) is var c && c != 0 ? c : x.Item1.CompareTo(y.Item1));
            Assert.True(expected.SequenceEqual(r.Liquidatable.Select(c => (c.Account, c.Shortfall))), $"seed {seed} block {b}");
        }
    }
}
