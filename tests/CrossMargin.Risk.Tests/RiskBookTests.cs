using CrossMargin.Ethereum.Numerics;
using FsCheck;
using FsCheck.Fluent;

namespace CrossMargin.Risk.Tests;

public class RiskBookTests
{
    private static Health? ExactOrNull(RiskContext ctx, AccountState a)
    {
        try
        {
            return Margin.ComputeHealth(ctx, a);
        }
        catch (ArithmeticException)
        {
            return null;
        }
        catch (PriceUnavailableException)
        {
            return null;
        }
    }

    private static Gen<(RiskConfig, UInt256[], FundingState[], AccountState[])> Books(Gen<UInt256> mag, int accounts) =>
        from cfg in Gens.Config_
        from prices in Gens.Prices(cfg.PriceSlotCount, Gens.Realistic)
        from funding in Gens.Funding(cfg.MarketCount, Gens.Realistic)
        from accts in Gens.Account(cfg, mag).ArrayOf(accounts)
        select (cfg, prices, funding, accts);

    private static void AssertBookMatchesExact(RiskBook book, RiskContext ctx, AccountState[] accts)
    {
        for (int i = 0; i < accts.Length; i++)
        {
            Health? h = ExactOrNull(ctx, accts[i]);
            if (h is null)
            {
                Assert.Equal(AccountStatus.Reverts, book.StatusOf(i));
                continue;
            }
            Assert.Equal(h.Value, book.HealthOf(i));
            Assert.Equal(h.Value.Status, book.StatusOf(i));
            Assert.Equal(h.Value.MarginRatio, book.RatioOf(i));
        }
    }

    [Fact]
    public void Fast_path_equals_exact_health_on_realistic_and_extreme_accounts()
    {
        Gen<UInt256> mixed = Gen.Frequency((6, Gens.Realistic), (1, Gens.Amount));
        Gens.Check(Books(mixed, 30), t =>
        {
            (RiskConfig cfg, UInt256[] prices, FundingState[] funding, AccountState[] accts) = t;
            var book = new RiskBook(cfg, accts.Length, maxCollaterals: 2, maxPositions: 3);
            for (int i = 0; i < accts.Length; i++) book.SetAccount(i, accts[i]);
            book.SetMarketState(prices, funding, 1_000_000);
            AssertBookMatchesExact(book, new RiskContext(cfg, funding, prices, 1_000_000), accts);
            for (int i = 0; i < accts.Length; i++)
            {
                AccountState back = book.GetAccount(i);
                Assert.Equal(accts[i].Cash, back.Cash);
                Assert.Equal(accts[i].Collateral.Skip(1), back.Collateral.Skip(1));
                Assert.Equal(accts[i].Positions, back.Positions);
            }
        }, 300);
    }

    [Fact]
    public void Price_tick_recomputes_only_exposed_accounts_and_matches_full_sweep()
    {
        Gens.Check(Gens.Z3(Books(Gens.Realistic, 40), Gens.Realistic, Gen.Choose(0, 3)), t =>
        {
            ((RiskConfig cfg, UInt256[] prices, FundingState[] funding, AccountState[] accts), UInt256 newPrice, int slotSeed) = t;
            int slot = slotSeed % cfg.PriceSlotCount;
            if (newPrice.IsZero) newPrice = UInt256.One;
            var book = new RiskBook(cfg, accts.Length);
            for (int i = 0; i < accts.Length; i++) book.SetAccount(i, accts[i]);
            book.SetMarketState(prices, funding, 1_000_000);
            int recomputed = book.UpdatePrice(slot, newPrice);
            UInt256[] after = (UInt256[])prices.Clone();
            after[slot] = newPrice;
            int exposed = accts.Count(a =>
                Enumerable.Range(1, cfg.AssetCount - 1).Any(i => !a.Collateral[i].IsZero && cfg.Assets[i].PriceSlot == slot)
                || Enumerable.Range(0, cfg.MarketCount).Any(m => a.Positions[m].IsOpen && cfg.Markets[m].PriceSlot == slot));
            Assert.Equal(exposed, recomputed);
            AssertBookMatchesExact(book, new RiskContext(cfg, funding, after, 1_000_000), accts);

            var liq = new List<int>();
            book.Liquidatable(liq);
            var expected = Enumerable.Range(0, accts.Length)
                .Where(i => book.StatusOf(i) == AccountStatus.Reverts || book.HealthOf(i).IsLiquidatable).ToHashSet();
            Assert.Equal(expected.Order(), liq.Order());
            if (book.ByRatio.Count > 0)
            {
                Assert.Equal(Enumerable.Range(0, accts.Length).Min(i => book.RatioOf(i)), book.RatioOf(book.ByRatio.PeekMin()));
            }
        }, 200);
    }

    [Fact]
    public void Parallel_sweep_equals_single_threaded_sweep()
    {
        Gens.Check(Books(Gens.Realistic, 200), t =>
        {
            (RiskConfig cfg, UInt256[] prices, FundingState[] funding, AccountState[] accts) = t;
            var a = new RiskBook(cfg, accts.Length);
            var b = new RiskBook(cfg, accts.Length);
            for (int i = 0; i < accts.Length; i++)
            {
                a.SetAccount(i, accts[i]);
                b.SetAccount(i, accts[i]);
            }
            a.SetMarketState(prices, funding, 1_000_000);
            b.SetMarketState(prices, funding, 1_000_000, parallel: true);
            for (int i = 0; i < accts.Length; i++) Assert.Equal(a.HealthOf(i), b.HealthOf(i));
        }, 20);
    }

    [Fact]
    public void Account_updates_and_removal_keep_index_and_order_consistent()
    {
        Gens.Check(Books(Gens.Realistic, 30), t =>
        {
            (RiskConfig cfg, UInt256[] prices, FundingState[] funding, AccountState[] accts) = t;
            var book = new RiskBook(cfg, 4);
            book.SetMarketState(prices, funding, 1_000_000);
            for (int i = 0; i < accts.Length; i++) book.SetAccount(i, accts[i]);
            for (int i = 0; i < accts.Length; i += 3) book.SetAccount(i, accts[(i + 1) % accts.Length]);
            for (int i = 1; i < accts.Length; i += 5) book.RemoveAccount(i);
            var ctx = new RiskContext(cfg, funding, prices, 1_000_000);
            int present = 0;
            for (int i = 0; i < accts.Length; i++)
            {
                if (!book.Contains(i)) continue;
                present++;
                AccountState s = i % 3 == 0 ? accts[(i + 1) % accts.Length] : accts[i];
                Health? h = ExactOrNull(ctx, s);
                if (h is not null) Assert.Equal(h.Value, book.HealthOf(i));
                for (int slot = 0; slot < cfg.PriceSlotCount; slot++)
                {
                    bool exposed = Enumerable.Range(1, cfg.AssetCount - 1).Any(k => !s.Collateral[k].IsZero && cfg.Assets[k].PriceSlot == slot)
                        || Enumerable.Range(0, cfg.MarketCount).Any(m => s.Positions[m].IsOpen && cfg.Markets[m].PriceSlot == slot);
                    Assert.Equal(exposed, book.ExposedTo(slot).Contains(i));
                }
            }
            Assert.Equal(present, book.ByRatio.Count);
        }, 100);
    }

    [Fact]
    public void Shock_lists_exactly_the_accounts_that_become_liquidatable()
    {
        Gens.Check(Gens.Z3(Books(Gens.Realistic, 40), Gen.Choose(-9_999, 5_000), Gen.Choose(0, 3)), t =>
        {
            ((RiskConfig cfg, UInt256[] prices, FundingState[] funding, AccountState[] accts), int bps, int slotSeed) = t;
            int slot = slotSeed % cfg.PriceSlotCount;
            var book = new RiskBook(cfg, accts.Length);
            for (int i = 0; i < accts.Length; i++) book.SetAccount(i, accts[i]);
            book.SetMarketState(prices, funding, 1_000_000);
            List<ShockHit> hits = book.Shock([(slot, bps)]);
            UInt256[] shocked = (UInt256[])prices.Clone();
            shocked[slot] = (UInt256)System.Numerics.BigInteger.Max(1, (Oracle.B(prices[slot]) * (10_000 + bps)) / 10_000);
            var ctx = new RiskContext(cfg, funding, shocked, 1_000_000);
            var expected = new List<int>();
            for (int i = 0; i < accts.Length; i++)
            {
                if (book.StatusOf(i) >= AccountStatus.Liquidatable) continue;
                Health? h = ExactOrNull(ctx, accts[i]);
                if (h is { IsLiquidatable: true }) expected.Add(i);
            }
            Assert.Equal(expected, hits.Select(h => h.AccountId).Order());
            foreach (ShockHit hit in hits)
            {
                Assert.Equal(Margin.ComputeHealth(ctx, accts[hit.AccountId]), hit.Health);
                Assert.Equal(Oracle.B(hit.Health.MaintenanceMargin) - Oracle.B(hit.Health.Equity), Oracle.B(hit.Shortfall));
            }
            Assert.Equal(prices[slot], book.Context!.Prices[slot]); // the book is unchanged
        }, 200);
    }

    [Fact]
    public void Isolated_versus_cross_margin_hand_computed()
    {
        var w = new World();
        // long 1 ETH from 2000 and short 0.1 BTC from 50000; ETH moves to 1900, BTC to 49000
        AccountState a = w.Acct(World.Alice);
        a.Cash = World.W("500");
        a.Positions[World.EthMkt] = new Position(World.W("1"), World.W("2000"), Int256.Zero);
        a.Positions[World.BtcMkt] = new Position(World.W("-0.1"), World.W("-5000"), Int256.Zero);
        w.SetEth("1900");
        w.Prices[1] = World.U("49000");
        var book = new RiskBook(w.Config, 1);
        book.SetAccount(0, a);
        book.SetMarketState(w.Prices, w.Funding, w.Now);
        // ETH: IM = 190 + 10 = 200, pnl = -100 -> isolated need 300
        // BTC: IM = 490 + 10 = 500, pnl = +100 -> isolated need 400 ; total 700
        // cross: 700 - 0 = 700 ... pnl nets to 0 so cross = IM 700 - 0
        (UInt256 iso, UInt256 cross) = book.IsolatedVersusCross(0);
        Assert.Equal(World.U("700"), iso);
        Assert.Equal(World.U("700"), cross);
        w.Prices[1] = World.U("45000"); // BTC short gains 500: isolated BTC need 0 (450+10-500 < 0)
        book.UpdatePrice(1, w.Prices[1]);
        (iso, cross) = book.IsolatedVersusCross(0);
        Assert.Equal(World.U("300"), iso); // ETH 300 + BTC 0
        Assert.Equal(World.U("260"), cross); // (200 + 460) - (-100 + 500)
    }
}
