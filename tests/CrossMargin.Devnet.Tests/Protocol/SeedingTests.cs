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
