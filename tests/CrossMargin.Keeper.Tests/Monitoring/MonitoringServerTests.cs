using System.Net;
using System.Text.Json;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Monitoring;
using CrossMargin.Keeper.Tests.Oracle;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace CrossMargin.Keeper.Tests.Monitoring;

public sealed class MonitoringServerTests : IAsyncLifetime, IDisposable
{
    private readonly ManualTimeProvider _time = new();
    private readonly KeeperMeterFactory _factory = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private MetricsCollector _collector = null!;
    private KeeperMetrics _metrics = null!;
    private MonitoringServer _server = null!;
    private MonitoringSettings _settings = null!;

    public async Task InitializeAsync()
    {
        _collector = MetricsCollector.ForFactory(_factory);
        _metrics = new KeeperMetrics(_factory, null, _time);
        _settings = MonitoringSettings.Default with { Port = 0, MinWalletBalanceWei = new UInt256(1000UL) };
        _server = new MonitoringServer(_settings, _collector, Checks(_metrics, _settings));
        await _server.StartAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _server.StopAsync(CancellationToken.None);
        await _server.DisposeAsync();
    }

    public void Dispose()
    {
        _collector.Dispose();
        _metrics.Dispose();
        _factory.Dispose();
        _http.Dispose();
    }

    private HealthCheckRegistration[] Checks(KeeperMetrics m, MonitoringSettings s) =>
    [
        new(KeeperHealthChecks.Alive, new AliveCheck(_time), HealthStatus.Unhealthy, [KeeperHealthChecks.LiveTag]),
        new(KeeperHealthChecks.Head, new HeadFreshnessCheck(m, s, _time), HealthStatus.Unhealthy, [KeeperHealthChecks.ReadyTag]),
        new(KeeperHealthChecks.HeadSource, new HeadSourceCheck(m, s, _time), HealthStatus.Unhealthy, [KeeperHealthChecks.ReadyTag]),
        new(KeeperHealthChecks.Journal, JournalCheck.DryRun(), HealthStatus.Unhealthy, [KeeperHealthChecks.ReadyTag]),
        new(KeeperHealthChecks.Wallet, new WalletBalanceCheck(m, s, _time), HealthStatus.Unhealthy, [KeeperHealthChecks.ReadyTag]),
        new(KeeperHealthChecks.Oracle, new OracleHaltedCheck(m, s, _time), HealthStatus.Unhealthy, [KeeperHealthChecks.ReadyTag]),
    ];

    private async Task<(HttpStatusCode Status, JsonElement Body)> GetJsonAsync(string path)
    {
        using var response = await _http.GetAsync(new Uri(_server.Url!, path));
        Assert.StartsWith("application/json", response.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, doc.RootElement.Clone());
    }

    private static string[] Names(JsonElement body, string property) => [.. body.GetProperty(property).EnumerateArray().Select(e =>
        e.ValueKind == JsonValueKind.String ? e.GetString()! : e.GetProperty("name").GetString()!)];

    [Fact]
    public async Task Port_zero_binds_and_the_url_is_known()
    {
        Uri url = await _server.Started;
        Assert.Equal(url, _server.Url);
        Assert.Equal("127.0.0.1", url.Host);
        Assert.NotEqual(0, url.Port);
    }

    [Fact]
    public async Task Metrics_are_served_in_the_text_format()
    {
        _metrics.ChainHead(42);
        _metrics.BlockProcessed(41);
        using var response = await _http.GetAsync(new Uri(_server.Url!, "/metrics"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(PrometheusTextFormat.ContentType, response.Content.Headers.ContentType?.ToString());
        var scrape = PrometheusText.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(42, scrape.Value(KeeperMetrics.HeadBlockName));
        Assert.Equal(1, scrape.Value(KeeperMetrics.BlocksBehindName));
        Assert.Equal("gauge", scrape.Types[KeeperMetrics.HeadBlockName]);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync(new Uri(_server.Url!, "/nothing"))).StatusCode);
    }

    [Fact]
    public async Task Liveness_and_readiness_name_every_check_and_the_failed_ones()
    {
        var (status, body) = await GetJsonAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal([KeeperHealthChecks.Alive], Names(body, "checks"));

        (status, body) = await GetJsonAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("Unhealthy", body.GetProperty("status").GetString());
        Assert.Equal(KeeperHealthChecks.ReadinessNames, Names(body, "checks"));
        Assert.Equal([KeeperHealthChecks.Head, KeeperHealthChecks.HeadSource, KeeperHealthChecks.Wallet], Names(body, "failed"));
        var wallet = body.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == KeeperHealthChecks.Wallet);
        Assert.Equal("Unhealthy", wallet.GetProperty("status").GetString());
        Assert.Equal("wallet balance not read yet", wallet.GetProperty("description").GetString());

        _metrics.HeadSourceActive(subscribed: false);
        _metrics.BlockProcessed(10);
        _metrics.WalletBalance(new UInt256(1000UL));
        (status, body) = await GetJsonAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Healthy", body.GetProperty("status").GetString());
        Assert.Empty(Names(body, "failed"));
        Assert.All(body.GetProperty("checks").EnumerateArray(), c => Assert.Equal("Healthy", c.GetProperty("status").GetString()));

        _time.Advance(_settings.MaxHeadAge + TimeSpan.FromSeconds(1));
        (status, body) = await GetJsonAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal([KeeperHealthChecks.Head, KeeperHealthChecks.HeadSource], Names(body, "failed"));
    }

    [Fact]
    public async Task A_taken_port_is_reported_without_stopping_anything()
    {
        var second = new MonitoringServer(_settings with { Port = _server.Url!.Port }, _collector, []);
        await second.StartAsync(CancellationToken.None);
        await Assert.ThrowsAnyAsync<Exception>(() => second.Started);
        Assert.Null(second.Url);
        await second.StopAsync(CancellationToken.None);
        await second.DisposeAsync();
        Assert.Equal(HttpStatusCode.OK, (await _http.GetAsync(new Uri(_server.Url!, "/healthz"))).StatusCode);
    }

    [Fact]
    public async Task Disabled_means_no_listener()
    {
        var off = new MonitoringServer(_settings with { Enabled = false }, _collector, []);
        await off.StartAsync(CancellationToken.None);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => off.Started);
        Assert.Null(off.Url);
        await off.DisposeAsync();
    }
}
