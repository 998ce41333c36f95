using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Execution;
using CrossMargin.Keeper.Monitoring;
using CrossMargin.Keeper.Oracle;
using CrossMargin.Keeper.Oracle.Push;
using CrossMargin.Keeper.Tests.Oracle;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CrossMargin.Keeper.Tests.Monitoring;

public sealed class ReadinessCheckTests : IDisposable
{
    private static readonly UInt256 Eth = new(1_000_000_000_000_000_000UL);
    private readonly ManualTimeProvider _time = new();
    private readonly KeeperMetrics _metrics;
    private readonly MonitoringSettings _settings = MonitoringSettings.Default with
    {
        MaxHeadAge = TimeSpan.FromSeconds(60),
        MaxBlocksBehind = 3,
        MinWalletBalanceWei = Eth / new UInt256(10UL),
        MaxHalted = TimeSpan.FromMinutes(5),
    };
    private readonly string _dir = Directory.CreateTempSubdirectory("cm-readiness-").FullName;

    public ReadinessCheckTests() => _metrics = new KeeperMetrics(null, null, _time);

    public void Dispose()
    {
        _metrics.Dispose();
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private static HealthCheckResult Run(IHealthCheck check) => check.CheckHealthAsync(new HealthCheckContext()).GetAwaiter().GetResult();

    [Fact]
    public void Head_must_be_processed_recently_and_close_to_the_chain_head()
    {
        var check = new HeadFreshnessCheck(_metrics, _settings, _time);
        var r = Run(check);
        Assert.Equal(HealthStatus.Unhealthy, r.Status);
        Assert.Equal("no block processed yet", r.Description);

        _metrics.ChainHead(101);
        _metrics.BlockProcessed(100);
        Assert.Equal(HealthStatus.Healthy, Run(check).Status);

        _time.Advance(TimeSpan.FromSeconds(61));
        r = Run(check);
        Assert.Equal(HealthStatus.Unhealthy, r.Status);
        Assert.StartsWith("stale: block 100, head 101, 1 behind, processed 61 s ago", r.Description, StringComparison.Ordinal);

        _metrics.BlockProcessed(101);
        Assert.Equal(HealthStatus.Healthy, Run(check).Status);
        _metrics.ChainHead(105);
        r = Run(check);
        Assert.Equal(HealthStatus.Unhealthy, r.Status);
        Assert.StartsWith("behind: block 101, head 105, 4 behind", r.Description, StringComparison.Ordinal);
        _metrics.BlockProcessed(102);
        Assert.Equal(HealthStatus.Healthy, Run(check).Status);
    }

    [Fact]
    public void Head_source_must_be_live()
    {
        var check = new HeadSourceCheck(_metrics, _settings, _time);
        Assert.Equal("no head received yet", Run(check).Description);
        Assert.Equal(HealthStatus.Unhealthy, Run(check).Status);

        _metrics.HeadSourceActive(subscribed: true);
        var r = Run(check);
        Assert.Equal(HealthStatus.Healthy, r.Status);
        Assert.StartsWith("newHeads subscription", r.Description, StringComparison.Ordinal);

        _time.Advance(TimeSpan.FromSeconds(90));
        r = Run(check);
        Assert.Equal(HealthStatus.Unhealthy, r.Status);
        Assert.StartsWith("no live head source: newHeads subscription, last head 90 s ago", r.Description, StringComparison.Ordinal);

        _metrics.HeadSourceActive(subscribed: false);
        r = Run(check);
        Assert.Equal(HealthStatus.Healthy, r.Status);
        Assert.StartsWith("HTTP polling", r.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void Journal_must_take_a_write()
    {
        string path = Path.Combine(_dir, "journal.db");
        using (TxJournal.Open(path)) { }
        var r = Run(JournalCheck.ForPath(path));
        Assert.Equal(HealthStatus.Healthy, r.Status);

        // while the keeper holds it open, the probe still gets its turn
        using (var journal = TxJournal.Open(path))
        {
            Assert.Equal(HealthStatus.Healthy, Run(JournalCheck.ForPath(path)).Status);
            Assert.Equal(TxJournal.SchemaVersion, journal.StoredSchemaVersion); // the probe's write was rolled back
        }

        r = Run(JournalCheck.ForPath(Path.Combine(_dir, "missing.db")));
        Assert.Equal(HealthStatus.Unhealthy, r.Status);
        Assert.StartsWith("journal not writable: ", r.Description, StringComparison.Ordinal);
        Assert.Contains("does not exist", r.Description, StringComparison.Ordinal);

        string garbage = Path.Combine(_dir, "garbage.db");
        File.WriteAllBytes(garbage, [.. Enumerable.Repeat((byte)0x5A, 4096)]);
        Assert.Equal(HealthStatus.Unhealthy, Run(JournalCheck.ForPath(garbage)).Status);

        var failing = new JournalCheck(_ => "disk I/O error", "injected");
        Assert.Equal("journal not writable: disk I/O error", Run(failing).Description);
        Assert.Equal(HealthStatus.Healthy, Run(JournalCheck.DryRun()).Status);
    }

    [Fact]
    public void Wallet_must_hold_the_floor()
    {
        var check = new WalletBalanceCheck(_metrics, _settings, _time);
        var r = Run(check);
        Assert.Equal(HealthStatus.Unhealthy, r.Status);
        Assert.Equal("wallet balance not read yet", r.Description);

        _metrics.WalletBalance(Eth / new UInt256(20UL));
        r = Run(check);
        Assert.Equal(HealthStatus.Unhealthy, r.Status);
        Assert.Equal("balance 0.05 is below the floor 0.1", r.Description);

        _metrics.WalletBalance(Eth / new UInt256(10UL));
        Assert.Equal(HealthStatus.Healthy, Run(check).Status);

        // the reads keep failing: an old balance is not trusted (limit: MaxHeadAge x WalletBalanceEveryBlocks = 60 s x 10)
        Assert.Equal(TimeSpan.FromSeconds(600), check.MaxAge);
        _time.Advance(TimeSpan.FromSeconds(600));
        Assert.Equal(HealthStatus.Healthy, Run(check).Status);
        _time.Advance(TimeSpan.FromSeconds(1));
        r = Run(check);
        Assert.Equal(HealthStatus.Unhealthy, r.Status);
        Assert.Equal("balance 0.1 read 601 s ago (limit 600 s): the balance reads fail", r.Description);
        _metrics.WalletBalance(Eth);
        Assert.Equal(HealthStatus.Healthy, Run(check).Status);
    }

    private static OracleServiceRound Round(DateTimeOffset t, params (string Asset, OracleState State)[] assets)
    {
        var aggregates = assets.ToDictionary(a => a.Asset, a => new AggregatePrice(a.Asset, UInt256.One, UInt256.One, UInt256.One, a.State, [], t, [], 0, ""));
        return new OracleServiceRound(null, aggregates, new Dictionary<string, double>(), null);
    }

    [Fact]
    public void No_asset_may_stay_halted_too_long()
    {
        var check = new OracleHaltedCheck(_metrics, _settings, _time);
        var r = Run(check);
        Assert.Equal(HealthStatus.Healthy, r.Status);
        Assert.Equal("oracle part not running", r.Description);

        _metrics.OracleRound(Round(_time.GetUtcNow(), ("ETH", OracleState.Healthy), ("BTC", OracleState.Halted)));
        _time.Advance(TimeSpan.FromMinutes(4));
        _metrics.OracleRound(Round(_time.GetUtcNow(), ("ETH", OracleState.Halted), ("BTC", OracleState.Halted)));
        r = Run(check);
        Assert.Equal(HealthStatus.Healthy, r.Status);
        Assert.Equal("Halted within the limit: BTC, ETH", r.Description);

        _time.Advance(TimeSpan.FromMinutes(2));
        r = Run(check);
        Assert.Equal(HealthStatus.Unhealthy, r.Status);
        Assert.Equal("Halted longer than 300 s: BTC for 360 s", r.Description);

        _metrics.OracleRound(Round(_time.GetUtcNow(), ("ETH", OracleState.Halted), ("BTC", OracleState.Degraded)));
        Assert.Equal(HealthStatus.Healthy, Run(check).Status);
    }

    [Fact]
    public void Oracle_rounds_must_keep_completing_while_the_oracle_part_runs()
    {
        var settings = _settings with { MaxOracleRoundAge = TimeSpan.FromSeconds(30) };
        var check = new OracleHaltedCheck(_metrics, settings, _time);
        _metrics.OracleExpected();
        var r = Run(check);
        Assert.Equal(HealthStatus.Healthy, r.Status);
        Assert.Equal("no oracle round yet", r.Description);

        _time.Advance(TimeSpan.FromSeconds(31));
        r = Run(check);
        Assert.Equal(HealthStatus.Unhealthy, r.Status);
        Assert.Equal("no oracle round completed in 31 s (limit 30 s)", r.Description);

        _metrics.OracleRound(Round(_time.GetUtcNow(), ("ETH", OracleState.Healthy)));
        Assert.Equal(HealthStatus.Healthy, Run(check).Status);

        // every later round fails (the service logs it and goes on): readiness says so instead of showing the old round
        _time.Advance(TimeSpan.FromSeconds(45));
        r = Run(check);
        Assert.Equal(HealthStatus.Unhealthy, r.Status);
        Assert.Equal("last oracle round 45 s ago (limit 30 s)", r.Description);
    }
}
