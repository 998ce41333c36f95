using CrossMargin.Contracts;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Contracts;
using CrossMargin.Ethereum.Numerics;
using Xunit.Abstractions;

namespace CrossMargin.Devnet.Tests.Protocol;

public sealed class SeedingTests(ProtocolDevnet devnet, ITestOutputHelper output) : IClassFixture<ProtocolDevnet>
{
    [Fact]
    public void Seeding_reports_every_account_and_all_succeed()
    {
        var r = devnet.SeedResult;
        output.WriteLine($"seeded {r.Accounts.Count} accounts, {r.Transactions} txs, {r.FailedTransactions} failed, {r.Elapsed.TotalSeconds:0.00} s");
        foreach (var (name, t) in r.Phases) output.WriteLine($"  {name}: {t.TotalMilliseconds:0} ms");
        foreach (var a in r.Accounts.Where(a => !a.Succeeded).Take(10))
            output.WriteLine($"  account {a.Index} {a.Address}: " + string.Join("; ", a.Failures));
        Assert.Equal(devnet.SeededAccounts, r.Accounts.Count);
        Assert.Equal(devnet.SeededAccounts, r.Accounts.Select(a => a.Address).Distinct().Count());
        Assert.Equal(0, r.FailedTransactions);
        Assert.Equal(0, r.FailedAccounts);
    }
}

public sealed class HealthTests(ProtocolDevnet devnet, ITestOutputHelper output) : IClassFixture<ProtocolDevnet>
{
    [Fact]
    public async Task HealthBatch_matches_health_and_accountState_and_every_seeded_account_is_healthy()
    {
        Address[] accounts = [.. devnet.Deployment.Accounts];
        var batch = await devnet.Eth.CallAsync(devnet.Engine.HealthBatch(accounts));
        Assert.Equal(accounts.Length, batch.Length);
        int withPositions = 0;
        double minRatio = double.MaxValue, maxRatio = 0;
        for (int i = 0; i < accounts.Length; i += 7)
        {
            var h = await devnet.Eth.CallAsync(devnet.Engine.Health(accounts[i]));
            var s = await devnet.Eth.CallAsync(devnet.Engine.AccountState(accounts[i]));
            Assert.Equal(h.Equity, batch[i].Equity);
            Assert.Equal(h.InitialMargin, batch[i].InitialMargin);
            Assert.Equal(h.MaintenanceMargin, batch[i].MaintenanceMargin);
            Assert.Equal(s.Equity, batch[i].Equity);
            Assert.Equal(s.InitialEquity, batch[i].InitialEquity);
            Assert.Equal(s.InitialMargin, batch[i].InitialMargin);
            Assert.Equal(s.MaintenanceMargin, batch[i].MaintenanceMargin);
        }

        foreach (var h in batch)
        {
            Assert.True(h.Equity > Int256.Zero);
            Assert.True(h.InitialEquity <= h.Equity); // initial weights <= maintenance weights
            Assert.True(h.MaintenanceMargin <= h.InitialMargin);
            Assert.True(h.InitialEquity >= (Int256)h.InitialMargin, "a seeded account must pass the initial-margin check");
            if (!h.InitialMargin.IsZero)
            {
                withPositions++;
                double ratio = (double)h.InitialMargin / (double)(UInt256)h.InitialEquity;
                minRatio = Math.Min(minRatio, ratio);
                maxRatio = Math.Max(maxRatio, ratio);
            }
        }

        output.WriteLine($"{withPositions}/{accounts.Length} accounts with positions; IM/initialEquity from {minRatio:0.000} to {maxRatio:0.000}");
        Assert.True(withPositions > accounts.Length * 9 / 10);
        Assert.True(maxRatio > 0.8 && minRatio < 0.35, "utilisation spread");
        Assert.False(await devnet.Eth.CallAsync(devnet.Engine.IsLiquidatable(accounts[0])));
    }

    [Fact]
    public void Deployment_json_round_trips()
    {
        var d = devnet.Deployment;
        var back = DevnetDeployment.Parse(System.Text.Encoding.UTF8.GetBytes(d.ToJson()));
        Assert.Equal(d.ChainId, back.ChainId);
        Assert.Equal(d.Engine, back.Engine);
        Assert.Equal(d.Contracts.Count, back.Contracts.Count);
        Assert.Equal(d.Assets, back.Assets);
        Assert.Equal(d.Markets, back.Markets);
        Assert.Equal(d.Oracles, back.Oracles);
        Assert.Equal(d.Accounts, back.Accounts);
        Assert.Equal(d.AccountSeed, back.AccountSeed);
        Assert.Equal(d.Accounts[5], DevnetAccounts.Derive(ProtocolDevnet.Seed, 5).Address);
    }

    [Fact]
    public async Task Deployed_configuration_matches_the_devnet_defaults()
    {
        Assert.Equal((UInt256)3UL, await devnet.Eth.CallAsync(devnet.Engine.AssetCount()));
        Assert.Equal((UInt256)3UL, await devnet.Eth.CallAsync(devnet.Engine.MarketCount()));
        var sol = await devnet.Eth.CallAsync(devnet.Engine.GetMarket(2UL));
        Assert.Equal((ulong)(0.2m * 1e18m), sol.InitialMarginFraction);
        Assert.Equal((ulong)(0.03m * 1e18m), sol.LiquidationPenalty);
        var weth = await devnet.Eth.CallAsync(devnet.Engine.GetAsset(1UL));
        Assert.Equal((ulong)(0.8m * 1e18m), weth.InitialWeight);
        Assert.Equal(DevnetDefaults.ToWad(10_000m), weth.DepositCap);
        Assert.Equal(DevnetDefaults.ToWad(10_000m), await devnet.Eth.CallAsync(devnet.Engine.InsuranceFund()));
        Assert.Equal(2UL, (ulong)await devnet.Eth.CallAsync(devnet.Hub.SourceCount(DevnetDefaults.OracleId("ETH/USD"))));
        Assert.Equal(DevnetDefaults.ToWad(3000m), await devnet.Eth.CallAsync(devnet.Hub.GetPrice(DevnetDefaults.OracleId("ETH/USD"))));
        Assert.Equal(DevnetDefaults.ToWad(150m), await devnet.Eth.CallAsync(devnet.Hub.GetPrice(DevnetDefaults.OracleId("SOL/USD"))));
    }
}

public sealed class DeploymentFileTests
{
    [Theory]
    [InlineData("{", DevnetDeploymentError.InvalidJson, "$")]
    [InlineData("{\"version\":1}", DevnetDeploymentError.MissingField, "$.contracts")]
    [InlineData("{\"version\":2}", DevnetDeploymentError.InvalidValue, "$.version")]
    [InlineData("{\"version\":1,\"contracts\":{\"CrossMarginEngine\":\"0x12\"}}", DevnetDeploymentError.InvalidValue, "$.contracts.CrossMarginEngine")]
    public void Invalid_files_give_typed_errors(string json, DevnetDeploymentError error, string field)
    {
        var ex = Assert.Throws<DevnetDeploymentException>(() => DevnetDeployment.Parse(System.Text.Encoding.UTF8.GetBytes(json)));
        Assert.Equal(error, ex.Error);
        Assert.Equal(field, ex.Field);
    }

    [Fact]
    public void Missing_file_is_FileNotFound()
    {
        var ex = Assert.Throws<DevnetDeploymentException>(() => DevnetDeployment.Load(Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N"), "none.json")));
        Assert.Equal(DevnetDeploymentError.FileNotFound, ex.Error);
    }

    [Fact]
    public void Account_keys_are_deterministic_and_distinct()
    {
        var a = DevnetAccounts.DeriveKeyBytes(7, 0);
        Assert.Equal(a, DevnetAccounts.DeriveKeyBytes(7, 0));
        Assert.NotEqual(a, DevnetAccounts.DeriveKeyBytes(7, 1));
        Assert.NotEqual(a, DevnetAccounts.DeriveKeyBytes(8, 0));
        var expected = CrossMargin.Ethereum.Crypto.Keccak256.Compute([.. "crossmargin-devnet"u8, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0]);
        Assert.Equal(expected.ToArray(), a);
    }
}
