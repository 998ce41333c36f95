using CrossMargin.Contracts;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Contracts;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Devnet.Tests.Protocol;
using CrossMargin.Risk;
using Xunit.Abstractions;
using RiskHealth = CrossMargin.Risk.Health;

namespace CrossMargin.Devnet.Tests.Risk;

/// <summary>
/// The devnet for the parity tests: 2,000 seeded accounts, seeded in chunks of 250 (one seeding call of 2,000
/// accounts leaves transactions unmined on anvil).
/// </summary>
public sealed class RiskParityDevnet : ProtocolDevnet, IAsyncLifetime
{
    public const int Accounts = 2000;
    private const int Chunk = 250;

    public override int SeededAccounts => 0;

    public IReadOnlyList<Address> Seeded { get; private set; } = [];

    async Task IAsyncLifetime.InitializeAsync()
    {
        await InitializeAsync();
        var all = new List<Address>();
        for (int first = 0; first < Accounts; first += Chunk)
        {
            DevnetSeedResult r = await DevnetSeeder.SeedAsync(Deployment, new DevnetSeedOptions { Accounts = Chunk, Seed = Seed, FirstIndex = first });
            all.AddRange(r.Addresses);
        }
        Seeded = all;
    }
}

/// <summary>
/// The off-chain mirror (CrossMargin.Risk) against the contract on anvil: health of every account equals
/// healthBatch at the same block across random price moves and funding accruals, and predicted liquidations
/// equal the Liquidated events. Zero mismatches allowed.
/// </summary>
public sealed class RiskParityTests(RiskParityDevnet devnet, ITestOutputHelper output) : IClassFixture<RiskParityDevnet>
{
    private const int KeeperIndex = 1;
    private const int Seed = 20261122;

    private static bool Same(RiskHealth mine, CrossMarginEngine.HealthData chain) =>
        mine.Equity == chain.Equity && mine.InitialEquity == chain.InitialEquity
        && mine.InitialMargin == chain.InitialMargin && mine.MaintenanceMargin == chain.MaintenanceMargin;

    /// <summary>Compares the mirror (exact path and book fast path) with healthBatch for every account; returns the mismatch count.</summary>
    private int CompareHealth(ChainMirror mirror, ChainMirror.Snapshot snap, string label)
    {
        var ctx = new RiskContext(mirror.Config, snap.Funding, snap.Prices, snap.Timestamp);
        var book = new RiskBook(mirror.Config, snap.Accounts.Length);
        for (int i = 0; i < snap.Accounts.Length; i++) book.SetAccount(i, snap.Accounts[i]);
        book.SetMarketState(snap.Prices, snap.Funding, snap.Timestamp);
        int mismatches = 0, liquidatable = 0;
        for (int i = 0; i < snap.Accounts.Length; i++)
        {
            RiskHealth exact = Margin.ComputeHealth(ctx, snap.Accounts[i]);
            bool ok = Same(exact, snap.ChainHealth[i]) && book.HealthOf(i) == exact;
            if (!ok)
            {
                mismatches++;
                if (mismatches <= 5) output.WriteLine($"{label}: account {i} mirror {exact} book {book.HealthOf(i)} chain {snap.ChainHealth[i]}");
            }
            if (exact.IsLiquidatable) liquidatable++;
        }
        output.WriteLine($"{label}: block {snap.Block} t={snap.Timestamp}: {snap.Accounts.Length} accounts, {liquidatable} liquidatable, {mismatches} mismatches, {book.ExactPathCount} on the book's exact path");
        return mismatches;
    }

    [Fact]
    public async Task Mirror_health_and_liquidations_equal_the_contract()
    {
        await devnet.IsolateAsync(async () =>
        {
            output.WriteLine($"seed {Seed}");
            var rnd = new Random(Seed);
            ChainMirror mirror = await ChainMirror.LoadAsync(devnet);
            Address[] accounts = [.. devnet.Seeded];
            Assert.True(accounts.Length >= 2000, $"{accounts.Length} accounts seeded");
            var deployer = devnet.Sender();
            var driver = await devnet.DriverAtInitialPricesAsync(deployer);
            string[] oracles = [.. DevnetDefaults.Oracles.Select(o => o.Symbol)];
            int totalMismatches = 0, healthChecks = 0;

            // ---------------------------------------------------------------- health parity
            for (int step = 0; step < 6; step++)
            {
                for (int m = 0; m < mirror.Config.MarketCount; m++)
                {
                    long rate = rnd.NextInt64(-3_000_000_000L, 3_000_000_000L); // up to ~1% of price per hour
                    await deployer.SendAndWaitAsync(devnet.Engine.SetFundingRate((ulong)m, (Int256)rate));
                }
                await driver.MovePercentAsync(oracles.ToDictionary(o => o, _ => (decimal)Math.Round(rnd.NextDouble() * 12 - 6, 4)));
                await driver.AdvanceTimeAsync((ulong)rnd.Next(30, 1500));
                ulong block = await devnet.Eth.BlockNumberAsync();
                ChainMirror.Snapshot snap = await mirror.ReadAsync(accounts, block);
                totalMismatches += CompareHealth(mirror, snap, $"step {step}");
                healthChecks += accounts.Length;
            }

            // ---------------------------------------------------------------- liquidation parity
            await driver.MovePercentAsync(oracles.ToDictionary(o => o, _ => -18m));
            var keeper = devnet.Sender(KeeperIndex);
            int executed = 0, compared = 0, eventMismatches = 0, round = 0;
            while (executed < 120 && round < 30)
            {
                round++;
                ulong block = await devnet.Eth.BlockNumberAsync();
                ChainMirror.Snapshot snap = await mirror.ReadAsync(accounts, block, withHealth: round % 4 == 1);
                if (snap.ChainHealth.Length > 0)
                {
                    totalMismatches += CompareHealth(mirror, snap, $"round {round}");
                    healthChecks += accounts.Length;
                }
                ulong next = snap.Timestamp + 1;
                var ctx = new RiskContext(mirror.Config, snap.Funding, snap.Prices, next);
                var byAddress = new Dictionary<Address, AccountState>();
                for (int i = 0; i < accounts.Length; i++) byAddress[accounts[i]] = snap.Accounts[i];
                byAddress[keeper.Address] = mirror.ToModel(await devnet.Eth.CallAsync(devnet.Engine.AccountState(keeper.Address), BlockTag.Number(snap.Block)));

                // requests: liquidatable accounts (largest position), some with a maxSize cap, plus a few healthy ones
                var requests = new List<LiquidationRequest>();
                for (int i = 0; i < accounts.Length && requests.Count < 40; i++)
                {
                    AccountState s = snap.Accounts[i];
                    if (!Margin.ComputeHealth(ctx, s).IsLiquidatable || s.PositionMask == 0) continue;
                    int market = Enumerable.Range(0, mirror.Config.MarketCount).Where(m => s.Positions[m].IsOpen)
                        .OrderBy(_ => rnd.Next()).First();
                    UInt256 cap = rnd.Next(5) == 0 ? RiskMath.Abs(s.Positions[market].Size) / 3UL + UInt256.One : UInt256.Zero;
                    requests.Add(new LiquidationRequest(accounts[i], market, cap));
                    if (rnd.Next(4) == 0) requests.Add(new LiquidationRequest(accounts[i], market, UInt256.Zero)); // same account again
                }
                if (requests.Count == 0)
                {
                    await driver.MovePercentAsync(oracles.ToDictionary(o => o, _ => -6m));
                    continue;
                }
                requests.Add(new LiquidationRequest(accounts[rnd.Next(accounts.Length)], 0, UInt256.Zero));

                var sim = new LiquidationSimulator(ctx, keeper.Address, a => byAddress.GetValueOrDefault(a), snap.VaultCash, snap.Insurance);
                LiquidationOutcome[] predicted = sim.Batch(requests.ToArray());

                await devnet.Rpc.SetNextBlockTimestampAsync(next);
                var chainRequests = requests.Select(r => new CrossMarginEngine.LiquidationRequest(r.Account, (ulong)r.MarketId, r.MaxSize)).ToArray();
                TransactionReceipt receipt = await keeper.SendAndWaitAsync(devnet.Engine.BatchLiquidate(chainRequests), gas: 30_000_000);
                Assert.True(receipt.Succeeded);

                // events in order: one Liquidated or LiquidationSkipped per request
                var events = new List<(SkipReason Skip, CrossMarginEngine.LiquidatedEvent? Liq)>();
                var badDebts = new List<CrossMarginEngine.BadDebtEvent>();
                foreach (LogEntry l in receipt.Logs)
                {
                    if (CrossMarginEngine.LiquidatedEvent.TryDecode(l.Topics, l.Data, out var e)) events.Add((SkipReason.None, e));
                    else if (CrossMarginEngine.LiquidationSkippedEvent.TryDecode(l.Topics, l.Data, out var k)) events.Add(((SkipReason)k.Reason, null));
                    else if (CrossMarginEngine.BadDebtEvent.TryDecode(l.Topics, l.Data, out var b)) badDebts.Add(b);
                }
                Assert.Equal(predicted.Length, events.Count);
                for (int i = 0; i < predicted.Length; i++)
                {
                    LiquidationOutcome p = predicted[i];
                    (SkipReason skip, CrossMarginEngine.LiquidatedEvent? liq) = events[i];
                    bool ok = p.Skip == skip && (liq is null
                        || (liq.Account == p.Account && liq.MarketId == (UInt256)(ulong)p.MarketId && liq.Liquidator == keeper.Address
                            && liq.SizeClosed == p.SizeClosed && liq.Price == p.Price && liq.KeeperReward == p.KeeperReward && liq.InsuranceFee == p.InsuranceFee));
                    if (!ok)
                    {
                        eventMismatches++;
                        output.WriteLine($"round {round} request {i}: predicted {p.Skip} q={p.SizeClosed} p={p.Price} r={p.KeeperReward} f={p.InsuranceFee}; chain {skip} {liq}");
                    }
                    if (liq is not null) executed++;
                    compared++;
                }
                var predictedBadDebt = predicted.Where(p => !p.BadDebtCovered.IsZero || !p.BadDebtSocialized.IsZero).ToArray();
                Assert.Equal(predictedBadDebt.Length, badDebts.Count);
                for (int i = 0; i < badDebts.Count; i++)
                {
                    Assert.Equal(predictedBadDebt[i].Account, badDebts[i].Account);
                    Assert.Equal(predictedBadDebt[i].BadDebtCovered, badDebts[i].CoveredByInsurance);
                    Assert.Equal(predictedBadDebt[i].BadDebtSocialized, badDebts[i].Socialized);
                }

                // the simulated end state of every touched account equals storage after the batch
                foreach ((Address a, AccountState s) in sim.TouchedAccounts)
                {
                    AccountState chain = mirror.ToModel(await devnet.Eth.CallAsync(devnet.Engine.AccountState(a)));
                    Assert.Equal(chain.Cash, s.Cash);
                    Assert.Equal(chain.Collateral.Skip(1), s.Collateral.Skip(1));
                    // a closed position keeps its last snapshot in storage, which accountState does not return (and which
                    // never matters: a reopened position owes fundingOwed(0, ...) = 0 and is re-snapshotted)
                    Assert.Equal(chain.Positions, s.Positions.Select(p => p.IsOpen ? p : default));
                }
                Assert.Equal(sim.InsuranceFund, await devnet.Eth.CallAsync(devnet.Engine.InsuranceFund()));
                Assert.Equal(sim.VaultCash, await devnet.Eth.CallAsync(devnet.Engine.VaultCash()));
                output.WriteLine($"round {round}: {requests.Count} requests, {executed} executed so far, {badDebts.Count} bad debts");
            }

            output.WriteLine($"health: {healthChecks} account checks, {totalMismatches} mismatches; liquidations: {compared} requests compared, {executed} executed, {eventMismatches} mismatches");
            Assert.Equal(0, totalMismatches);
            Assert.Equal(0, eventMismatches);
            Assert.True(executed >= 100, $"only {executed} liquidations executed");
            Assert.True(healthChecks >= 10_000);
        });
    }
}
