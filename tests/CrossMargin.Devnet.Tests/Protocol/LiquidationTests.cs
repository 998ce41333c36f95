using System.Numerics;
using CrossMargin.Contracts;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Contracts;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using Xunit.Abstractions;

namespace CrossMargin.Devnet.Tests.Protocol;

/// <summary>Price moves, liquidation, batch liquidation and gas, each test isolated by evm_snapshot.</summary>
public sealed class LiquidationTests(ProtocolDevnet devnet, ITestOutputHelper output) : IClassFixture<ProtocolDevnet>
{
    private const int Keeper = 1;

    private async Task<(Address Account, ulong Market)[]> CrashAndFindLiquidatableAsync(decimal percent)
    {
        var driver = await devnet.DriverAtInitialPricesAsync(devnet.Sender());
        await driver.MovePercentAsync(new Dictionary<string, decimal> { ["ETH/USD"] = percent, ["BTC/USD"] = percent, ["SOL/USD"] = percent });
        Address[] accounts = [.. devnet.Deployment.Accounts];
        var health = await devnet.Eth.CallAsync(devnet.Engine.HealthBatch(accounts));
        var found = new List<(Address, ulong)>();
        for (int i = 0; i < accounts.Length; i++)
        {
            if (health[i].Equity >= (Int256)health[i].MaintenanceMargin) continue;
            var state = await devnet.Eth.CallAsync(devnet.Engine.AccountState(accounts[i]));
            var pos = state.Positions.Where(p => !p.Size.IsZero).OrderByDescending(p => BigInteger.Abs((BigInteger)p.Size * 1)).First();
            found.Add((accounts[i], (ulong)pos.MarketId));
        }

        output.WriteLine($"{percent}% move: {found.Count}/{accounts.Length} accounts liquidatable");
        return [.. found];
    }

    [Fact]
    public async Task A_price_crash_makes_a_share_liquidatable_and_liquidate_emits_Liquidated()
    {
        await devnet.IsolateAsync(async () =>
        {
            var targets = await CrashAndFindLiquidatableAsync(-25m);
            Assert.InRange(targets.Length, 1, devnet.Deployment.Accounts.Count - 1);
            var (account, market) = targets[0];
            Assert.True(await devnet.Eth.CallAsync(devnet.Engine.IsLiquidatable(account)));
            var before = await devnet.Eth.CallAsync(devnet.Engine.GetPosition(account, market));

            var keeper = devnet.Sender(Keeper);
            var receipt = await keeper.SendAndWaitAsync(devnet.Engine.Liquidate(account, market, UInt256.Zero));
            output.WriteLine($"gas liquidate: {receipt.GasUsed}");
            var liquidated = receipt.Logs.Select(l => CrossMarginEngine.LiquidatedEvent.TryDecode(l.Topics, l.Data, out var e) ? e : null).Single(e => e is not null)!;
            Assert.Equal(account, liquidated.Account);
            Assert.Equal((UInt256)market, liquidated.MarketId);
            Assert.Equal(keeper.Address, liquidated.Liquidator);
            Assert.True(liquidated.SizeClosed > UInt256.Zero);
            Assert.True(liquidated.KeeperReward > UInt256.Zero);
            var after = await devnet.Eth.CallAsync(devnet.Engine.GetPosition(account, market));
            Assert.Equal(BigInteger.Abs((BigInteger)before.Size) - (BigInteger)liquidated.SizeClosed, BigInteger.Abs((BigInteger)after.Size));
            Assert.Equal((Int256)liquidated.KeeperReward, await devnet.Eth.CallAsync(devnet.Engine.CashOf(keeper.Address)));
        });
    }

    [Fact]
    public async Task BatchLiquidate_skips_a_healthy_account_without_reverting()
    {
        await devnet.IsolateAsync(async () =>
        {
            var targets = await CrashAndFindLiquidatableAsync(-25m);
            Address healthy = devnet.Deployment.Accounts.First(a => targets.All(t => t.Account != a));
            var requests = targets.Take(3).Select(t => new CrossMarginEngine.LiquidationRequest(t.Account, t.Market, UInt256.Zero))
                .Append(new CrossMarginEngine.LiquidationRequest(healthy, 0UL, UInt256.Zero))
                .ToArray();
            var receipt = await devnet.Sender(Keeper).SendAndWaitAsync(devnet.Engine.BatchLiquidate(requests), gas: 5_000_000);
            Assert.True(receipt.Succeeded);
            var skipped = receipt.Logs.Select(l => CrossMarginEngine.LiquidationSkippedEvent.TryDecode(l.Topics, l.Data, out var e) ? e : null).Where(e => e is not null).ToArray();
            var done = receipt.Logs.Select(l => CrossMarginEngine.LiquidatedEvent.TryDecode(l.Topics, l.Data, out var e) ? e : null).Where(e => e is not null).ToArray();
            var skip = Assert.Single(skipped);
            Assert.Equal(healthy, skip!.Account);
            // reason 1 = not liquidatable, 2 = no position in that market: both are healthy-account skips
            Assert.Contains(skip.Reason, new byte[] { 1, 2 });
            Assert.Equal(Math.Min(3, targets.Length), done.Length);
        });
    }

    [Fact]
    public async Task Gas_of_deposit_trade_and_batch_liquidation()
    {
        await devnet.IsolateAsync(async () =>
        {
            // deposit and trade through TransactionSender (gas estimated) by a fresh dev account
            var user = devnet.Sender(2);
            var usdc = new MockERC20(devnet.Deployment.Asset("USDC").Token);
            await user.SendAndWaitAsync(usdc.Mint(user.Address, 10_000_000_000UL));
            await user.SendAndWaitAsync(usdc.Approve(devnet.Deployment.Engine, 10_000_000_000UL));
            var deposit = await user.SendAndWaitAsync(devnet.Engine.Deposit(0UL, 10_000_000_000UL));
            var trade = await user.SendAndWaitAsync(devnet.Engine.Trade(0UL, (Int256)DevnetDefaults.ToWad(1m), UInt256.Zero));
            output.WriteLine($"gas deposit USDC (first): {deposit.GasUsed}");
            output.WriteLine($"gas trade open (1 position): {trade.GasUsed}");
            Assert.InRange(deposit.GasUsed, 21_000UL, 200_000UL);
            Assert.InRange(trade.GasUsed, 50_000UL, 600_000UL);

            var targets = await CrashAndFindLiquidatableAsync(-40m);
            foreach (int n in new[] { 10, 50 })
            {
                if (targets.Length < n)
                {
                    output.WriteLine($"only {targets.Length} liquidatable accounts: batch of {n} not measured");
                    continue;
                }

                UInt256 snapshot = await devnet.Rpc.SnapshotAsync();
                var requests = targets.Take(n).Select(t => new CrossMarginEngine.LiquidationRequest(t.Account, t.Market, UInt256.Zero)).ToArray();
                var receipt = await devnet.Sender(Keeper).SendAndWaitAsync(devnet.Engine.BatchLiquidate(requests), gas: 29_000_000);
                int liquidated = receipt.Logs.Count(l => CrossMarginEngine.LiquidatedEvent.TryDecode(l.Topics, l.Data, out _));
                var skipped = receipt.Logs.Select(l => CrossMarginEngine.LiquidationSkippedEvent.TryDecode(l.Topics, l.Data, out var e) ? e : null).Where(e => e is not null).ToArray();
                output.WriteLine($"gas batchLiquidate {n}: {receipt.GasUsed} total, {receipt.GasUsed / (ulong)n} per account ({liquidated} Liquidated, {skipped.Length} skipped: {string.Join(",", skipped.Select(e => e!.Reason))})");
                // every request is accounted for: liquidated, or skipped with a reason, never dropped; a skip happens
                // when the account's health at execution (the next block's time and funding) differs from the read
                Assert.Equal(n, liquidated + skipped.Length);
                Assert.True(liquidated >= n * 3 / 4, $"only {liquidated} of {n} requests liquidated");
                Assert.True(await devnet.Rpc.RevertAsync(snapshot));
            }
        });
    }
}
