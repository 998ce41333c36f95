using System.Globalization;
using CrossMargin.Contracts;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Contracts;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Ethereum.Signing;
using Xunit.Abstractions;

namespace CrossMargin.Devnet.Tests.Protocol;

/// <summary>
/// The seeding's bulk path (few large blocks, success read from the logs, receipts only for the rest): the seeded accounts
/// hold on chain what their plans say, and failures are still reported per transaction and per account with their reason.
/// </summary>
public sealed class SeedingStateTests(ProtocolDevnet devnet, ITestOutputHelper output) : IClassFixture<ProtocolDevnet>
{
    [Fact]
    public async Task Seeded_accounts_hold_the_planned_collateral_and_positions()
    {
        int positions = await AssertHeldAsPlannedAsync(devnet.SeedResult);
        output.WriteLine($"{devnet.SeedResult.Accounts.Count} accounts, {positions} positions, all as planned");
        Assert.True(positions >= devnet.SeedResult.Accounts.Count);
    }

    [Fact]
    public async Task Seeding_in_many_small_runner_calls_holds_as_planned_too()
    {
        await devnet.IsolateAsync(async () =>
        {
            var result = await DevnetSeeder.SeedAsync(devnet.Deployment, new DevnetSeedOptions { Accounts = 40, Seed = 503, TransactionsPerBlock = 50 });
            Assert.Equal(0, result.FailedAccounts);
            Assert.Equal(40, result.Accounts.Count);
            Assert.True(await AssertHeldAsPlannedAsync(result) >= 40);
        });
    }

    private async Task<int> AssertHeldAsPlannedAsync(DevnetSeedResult result)
    {
        var d = devnet.Deployment;
        int positions = 0;
        foreach (var account in result.Accounts)
        {
            var deposited = new HashSet<string>();
            var sizes = new Dictionary<string, Int256>();
            foreach (string line in account.Plan)
            {
                string[] parts = line.Split(' ');
                if (parts[0] == "deposit")
                {
                    deposited.Add(parts[2]);
                    continue;
                }

                Assert.True(parts[0] is "long" or "short", line);
                var size = (Int256)DevnetDefaults.ToWad(decimal.Parse(parts[1], CultureInfo.CurrentCulture));
                sizes[parts[2]] = parts[0] == "long" ? size : -size;
            }

            foreach (var asset in d.Assets)
            {
                if (asset.Id == 0)
                {
                    Int256 cash = await devnet.Eth.CallAsync(devnet.Engine.CashOf(account.Address));
                    // trading fees come out of cash: only accounts that deposited USDC end with positive cash
                    Assert.Equal(deposited.Contains(asset.Symbol), cash > Int256.Zero);
                    continue;
                }

                UInt256 balance = await devnet.Eth.CallAsync(devnet.Engine.CollateralOf(account.Address, (UInt256)(ulong)asset.Id));
                Assert.Equal(deposited.Contains(asset.Symbol), !balance.IsZero);
            }

            foreach (var market in d.Markets)
            {
                var position = await devnet.Eth.CallAsync(devnet.Engine.GetPosition(account.Address, (UInt256)(ulong)market.Id));
                Assert.Equal(sizes.GetValueOrDefault(market.Symbol), position.Size);
                if (!position.Size.IsZero) positions++;
            }
        }

        return positions;
    }

    [Fact]
    public async Task Runner_reading_logs_reports_logged_successes_failures_with_reasons_and_successes_without_logs()
    {
        await devnet.IsolateAsync(async () =>
        {
            using var key = DevnetAccounts.Derive(9_999, 0);
            await devnet.Rpc.SetBalanceAsync(key.Address, DevnetDefaults.ToWad(10m));
            ulong nonce = await devnet.Eth.GetTransactionCountAsync(key.Address, BlockTag.Pending);
            var usdc = new MockERC20(devnet.Deployment.Assets[0].Token);
            Address other = DevnetAccounts.Derive(9_999, 1).Address;
            DevnetTxRequest[] requests =
            [
                DevnetTxRequest.Call(key, nonce, usdc.Mint(key.Address, 1_000_000UL), 120_000, "mint"),
                // no WETH and no allowance: the engine's transferFrom reverts
                DevnetTxRequest.Call(key, nonce + 1, devnet.Engine.Deposit(1UL, DevnetDefaults.ToWad(1m)), 250_000, "deposit"),
                new DevnetTxRequest(key, nonce + 2, other, [], UInt256.One, 21_000, "transfer"),
            ];
            var runner = new DevnetTxRunner(devnet.Rpc, devnet.Deployment.ChainId) { LogsProveSuccess = true, TransactionsPerBlock = 10_000 };
            var outcomes = await runner.RunAsync(requests);
            foreach (var o in outcomes) output.WriteLine(o.ToString());

            Assert.True(outcomes[0].Succeeded);
            Assert.True(outcomes[0].EmittedLogs);
            Assert.Null(outcomes[0].Receipt);

            Assert.False(outcomes[1].Succeeded);
            Assert.NotNull(outcomes[1].Receipt);
            Assert.StartsWith("reverted", outcomes[1].Error, StringComparison.Ordinal);
            Assert.Contains("deposit: FAILED", outcomes[1].ToString(), StringComparison.Ordinal);

            Assert.True(outcomes[2].Succeeded);
            Assert.False(outcomes[2].EmittedLogs);
            Assert.True(outcomes[2].Receipt!.Succeeded);
            Assert.Equal(UInt256.One, await devnet.Eth.GetBalanceAsync(other, BlockTag.Latest));
        });
    }

    [Fact]
    public async Task Deposits_over_the_cap_fail_per_account_with_the_reason_and_RaiseDepositCaps_lifts_the_cap()
    {
        await devnet.IsolateAsync(async () =>
        {
            var weth = devnet.Deployment.Assets.Single(a => a.Symbol == "WETH");
            var sender = devnet.Sender();
            await sender.SendAndWaitAsync(devnet.Engine.SetAssetParams((UInt256)(ulong)weth.Id, weth.InitialWeight, weth.MaintenanceWeight, weth.LiquidationDiscount,
                await devnet.Eth.CallAsync(devnet.Engine.TotalCollateral((UInt256)(ulong)weth.Id)) + DevnetDefaults.ToWad(0.001m)));

            var capped = await DevnetSeeder.SeedAsync(devnet.Deployment, new DevnetSeedOptions { Accounts = 30, Seed = 501 });
            var withWeth = capped.Accounts.Where(a => a.Plan.Any(p => p.StartsWith("deposit", StringComparison.Ordinal) && p.EndsWith(" WETH", StringComparison.Ordinal))).ToArray();
            output.WriteLine($"{capped.FailedAccounts} of {capped.Accounts.Count} accounts failed; {withWeth.Length} planned WETH");
            Assert.NotEmpty(withWeth);
            Assert.Equal(withWeth.Select(a => a.Index), capped.Accounts.Where(a => !a.Succeeded).Select(a => a.Index));
            Assert.All(withWeth, a => Assert.Contains(a.Failures,
                f => f.Request.Label == "deposit WETH" && f.Error!.Contains("DepositCapExceeded", StringComparison.Ordinal)));

            var raised = await DevnetSeeder.SeedAsync(devnet.Deployment, new DevnetSeedOptions { Accounts = 30, Seed = 502, RaiseDepositCaps = true });
            Assert.Equal(0, raised.FailedAccounts);
            var after = await devnet.Eth.CallAsync(devnet.Engine.GetAsset((UInt256)(ulong)weth.Id));
            Assert.True(after.DepositCap >= await devnet.Eth.CallAsync(devnet.Engine.TotalCollateral((UInt256)(ulong)weth.Id)));
            Assert.Equal(weth.InitialWeight, (UInt256)after.InitialWeight);
        });
    }
}
