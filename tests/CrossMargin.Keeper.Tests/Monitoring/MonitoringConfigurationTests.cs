using System.Net;
using CrossMargin.Devnet;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Configuration;
using CrossMargin.Keeper.Hosting;
using CrossMargin.Keeper.Monitoring;

namespace CrossMargin.Keeper.Tests.Monitoring;

public sealed class MonitoringConfigurationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cm-monitoring-config-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private static List<string> Failures(MonitoringOptions o)
    {
        var failures = new List<string>();
        o.Validate(failures);
        return failures;
    }

    [Fact]
    public void Defaults_are_valid_and_loopback()
    {
        Assert.Empty(Failures(new MonitoringOptions()));
        var s = MonitoringSettings.Default;
        Assert.True(s.Enabled);
        Assert.Equal(IPAddress.Loopback, s.BindAddress);
        Assert.Equal(9464, s.Port);
        Assert.Equal(new UInt256(50_000_000_000_000_000UL), s.MinWalletBalanceWei);
    }

    [Fact]
    public void Each_bad_value_has_its_message()
    {
        Assert.Equal(["Keeper:Monitoring:BindAddress: 'localhost:80' is not an IP address (e.g. 127.0.0.1, 0.0.0.0 or ::1)."],
            Failures(new MonitoringOptions { BindAddress = "localhost:80" }));
        Assert.Equal(["Keeper:Monitoring:Port: 70000 is not a TCP port (0-65535; 0 picks a free one)."], Failures(new MonitoringOptions { Port = 70000 }));
        Assert.Equal(["Keeper:Monitoring:Port: -1 is not a TCP port (0-65535; 0 picks a free one)."], Failures(new MonitoringOptions { Port = -1 }));
        Assert.Equal(["Keeper:Monitoring:MaxHeadAgeSeconds: 0 must be at least 1."], Failures(new MonitoringOptions { MaxHeadAgeSeconds = 0 }));
        Assert.Equal(["Keeper:Monitoring:MaxBlocksBehind: -2 must not be negative."], Failures(new MonitoringOptions { MaxBlocksBehind = -2 }));
        Assert.Equal(["Keeper:Monitoring:WalletBalanceEveryBlocks: 0 must be at least 1."], Failures(new MonitoringOptions { WalletBalanceEveryBlocks = 0 }));
        Assert.Equal(["Keeper:Monitoring:MaxHaltedSeconds: 0 must be at least 1."], Failures(new MonitoringOptions { MaxHaltedSeconds = 0 }));
        Assert.Equal(["Keeper:Monitoring:MinWalletBalance: '-0.1' is not a non-negative decimal amount of the gas token."],
            Failures(new MonitoringOptions { MinWalletBalance = "-0.1" }));
        Assert.Equal(3, Failures(new MonitoringOptions { Port = 1 << 20, BindAddress = "x", MinWalletBalance = "1e18" }).Count);
    }

    [Fact]
    public void The_section_binds_and_validates_with_the_keeper_options()
    {
        var builder = KeeperHost.CreateBuilder(["--Keeper:Monitoring:Port=0", "--Keeper:Monitoring:BindAddress=0.0.0.0",
            "--Keeper:Monitoring:MinWalletBalance=1.25", "--Keeper:Monitoring:Enabled=false", "--Keeper:Monitoring:MaxBlocksBehind=9"]);
        var o = KeeperHost.BindOptions(builder.Configuration);
        o.RpcUrls = ["http://127.0.0.1:8545"];
        o.ChainId = "31337";
        o.Engine = AnvilDevAccounts.AnvilDevAddress1;
        o.OracleHub = AnvilDevAccounts.AnvilDevAddress2;
        o.JournalPath = Path.Combine(_dir, "journal.db");
        var s = KeeperOptionsValidator.Validate(o).Monitoring;
        Assert.Equal(0, s.Port);
        Assert.Equal(IPAddress.Any, s.BindAddress);
        Assert.False(s.Enabled);
        Assert.Equal(9, s.MaxBlocksBehind);
        Assert.Equal(new UInt256(1_250_000_000_000_000_000UL), s.MinWalletBalanceWei);
    }

    [Fact]
    public async Task A_bad_monitoring_value_exits_with_2()
    {
        var errors = new StringWriter();
        int code = await KeeperHost.RunAsync(["--Keeper:RpcUrls:0=http://127.0.0.1:1", "--Keeper:ChainId=31337",
            "--Keeper:Engine=" + AnvilDevAccounts.AnvilDevAddress1, "--Keeper:OracleHub=" + AnvilDevAccounts.AnvilDevAddress2,
            "--Keeper:JournalPath=" + Path.Combine(_dir, "journal.db"), "--Keeper:Monitoring:Port=99999", "--Keeper:Monitoring:BindAddress=nowhere"],
            null, null, errors, _ => null);
        Assert.Equal(KeeperHost.BadConfiguration, code);
        string[] lines = errors.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Contains("Keeper:Monitoring:Port: 99999 is not a TCP port (0-65535; 0 picks a free one).", lines);
        Assert.Contains(lines, l => l.StartsWith("Keeper:Monitoring:BindAddress: 'nowhere'", StringComparison.Ordinal));

        errors = new StringWriter();
        code = await KeeperHost.RunAsync(["--Keeper:Monitoring:Port=lots"], null, null, errors, _ => null);
        Assert.Equal(KeeperHost.BadConfiguration, code);
        Assert.Contains("Port", errors.ToString(), StringComparison.Ordinal);
    }
}
