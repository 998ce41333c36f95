using Xunit.Abstractions;

namespace CrossMargin.Devnet.Tests.Protocol;

/// <summary>
/// Seeding 1,000 accounts on a fresh anvil: a measurement, not a timing assertion. Logs the total and the
/// per-phase times (sign / send / mine+receipts). Asserts only that every account is reported.
/// </summary>
public sealed class SeedingBenchmark(ITestOutputHelper output)
{
    [Fact]
    public async Task Seed_1000_accounts_and_log_the_time()
    {
        await using var anvil = await AnvilProcess.StartAsync(ProtocolDevnet.Options);
        var deployment = await DevnetDeployer.DeployAsync(anvil.RpcUrl, anvil.ChainId);
        var result = await DevnetSeeder.SeedAsync(deployment, new DevnetSeedOptions { Accounts = 1000, Seed = 1000 });
        output.WriteLine($"seeded {result.Accounts.Count} accounts, {result.Transactions} txs, {result.FailedTransactions} failed txs, {result.FailedAccounts} failed accounts in {result.Elapsed.TotalSeconds:0.00} s");
        foreach (var (name, t) in result.Phases) output.WriteLine($"  {name}: {t.TotalMilliseconds:0} ms");
        foreach (var a in result.Accounts.Where(a => !a.Succeeded).Take(10)) output.WriteLine($"  account {a.Index}: {string.Join("; ", a.Failures)}");
        Assert.Equal(1000, result.Accounts.Count);
    }
}
