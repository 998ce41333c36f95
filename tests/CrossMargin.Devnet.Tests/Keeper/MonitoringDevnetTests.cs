using System.Globalization;
using System.Net;
using System.Text.Json;
using CrossMargin.Devnet.Tests.Protocol;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Keeper.Hosting;
using CrossMargin.Keeper.Monitoring;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace CrossMargin.Devnet.Tests.Keeper;

public sealed class MonitoringDevnet : ProtocolDevnet
{
    public override int SeededAccounts => 150;
}

/// <summary>
/// The operator surfaces of a real keeper (<c>crossmargin run</c> through <see cref="KeeperHost.RunAsync"/>, sending
/// transactions) against anvil: /metrics and /readyz over HTTP before and after a 25% ETH/BTC crash.
/// </summary>
public sealed class MonitoringDevnetTests(MonitoringDevnet devnet, ITestOutputHelper output) : IClassFixture<MonitoringDevnet>
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    private sealed record Scrape(ParsedMetrics Metrics)
    {
        public double Value(string name) => Metrics.Value(name);
        public double Sum(string name) => Metrics.Sum(name);
    }

    [Fact]
    public async Task Metrics_and_readiness_follow_a_crash()
    {
        var d = devnet;
        string dir = Directory.CreateTempSubdirectory("cm-keeper-monitoring-").FullName;
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        IServiceProvider? services = null;
        Task<int>? run = null;
        Task? producer = null;
        using var producerCts = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
        try
        {
            string deployment = Path.Combine(dir, "deployment.json");
            d.Deployment.Save(deployment);
            string[] args =
            [
                "--Keeper:JournalPath=" + Path.Combine(dir, "journal.db"),
                "--Keeper:Detection:DefaultBlockTimeSeconds=1",
                "--Keeper:MinProfitUsd=0.1",
                "--Keeper:Monitoring:Port=0",
                "--Keeper:Monitoring:WalletBalanceEveryBlocks=5",
            ];
            var overrides = new Dictionary<string, string?> { ["Keeper:Deployment"] = deployment, ["Keeper:AllowRawKey"] = "true" };
            Func<string, string?> env = n => n == "CROSSMARGIN_DEV_PRIVATE_KEY" ? AnvilDevAccounts.AnvilDevPrivateKey2 : null;
            var driver = await d.DriverAtInitialPricesAsync(d.Sender(0)); // fresh prices

            var errors = new StringWriter();
            run = KeeperHost.RunAsync(args, overrides, null, errors, env, sp => services = sp, cts.Token);
            while (services is null)
            {
                if (run.IsCompleted) Assert.Fail($"the keeper stopped: exit {await run}, {errors}");
                await Task.Delay(50, cts.Token);
            }
            var server = (MonitoringServer)services.GetService(typeof(MonitoringServer))!;
            Uri url = await server.Started.WaitAsync(TimeSpan.FromSeconds(60), cts.Token);
            output.WriteLine($"monitoring at {url}");
            Assert.Equal("127.0.0.1", url.Host);

            // ready once blocks flow (mined here: anvil automines only with transactions)
            (HttpStatusCode status, JsonElement body) ready = default;
            for (int i = 0; i < 100; i++)
            {
                await d.Rpc.MineAsync();
                await Task.Delay(200, cts.Token);
                ready = await GetJsonAsync(url, "/readyz", cts.Token);
                if (ready.status == HttpStatusCode.OK) break;
            }
            output.WriteLine("readyz before: " + ready.body);
            AssertReady(ready);
            var (liveStatus, live) = await GetJsonAsync(url, "/healthz", cts.Token);
            Assert.Equal(HttpStatusCode.OK, liveStatus);
            Assert.Equal(KeeperHealthChecks.Alive, Assert.Single(live.GetProperty("checks").EnumerateArray()).GetProperty("name").GetString());

            Scrape before = await ScrapeAsync(url, cts.Token);
            Assert.True(before.Value(KeeperMetrics.AccountsIndexedName) >= 150);
            Assert.True(before.Value(KeeperMetrics.WalletBalanceName) > 0);
            Assert.Equal(0, before.Value(KeeperMetrics.LiquidationsSentName));

            // blocks every 300 ms with whatever is pending (see the crash test in KeeperDevnetTests), then −25% in 3 steps
            await d.Rpc.SetAutomineAsync(false);
            producer = Task.Run(async () =>
            {
                while (!producerCts.Token.IsCancellationRequested)
                {
                    await d.Rpc.MineAsync();
                    await Task.Delay(300, producerCts.Token);
                }
            });
            decimal[] factors = [1m - (0.25m / 3), 1m - (0.5m / 3), 0.75m];
            foreach (decimal f in factors)
                await driver.SetPricesAsync(KeeperDevnetTests.CrashOracles.ToDictionary(o => o, o => DevnetDefaults.Oracles.First(x => x.Symbol == o).InitialPrice * f));

            // scrape while the keeper works: the liquidatable gauge rises, then falls as accounts are liquidated
            double maxLiquidatable = before.Value(KeeperMetrics.AccountsLiquidatableName);
            Scrape after = before;
            int quiet = 0;
            for (int i = 0; i < 120 && quiet < 6; i++)
            {
                await Task.Delay(300, cts.Token);
                double sentBefore = after.Value(KeeperMetrics.LiquidationsSentName);
                after = await ScrapeAsync(url, cts.Token);
                maxLiquidatable = Math.Max(maxLiquidatable, after.Value(KeeperMetrics.AccountsLiquidatableName));
                // done when something was won, nothing is in flight and nothing new was sent for a few scrapes
                bool settled = after.Value(KeeperMetrics.LiquidationsWonName) > 0 && after.Metrics.ValueOrNull(KeeperMetrics.PendingName) is 0
                    && after.Value(KeeperMetrics.LiquidationsSentName) == sentBefore;
                quiet = settled ? quiet + 1 : 0;
            }
            await producerCts.CancelAsync();
            try { await producer; } catch (OperationCanceledException) { }
            await d.Rpc.SetAutomineAsync(true);

            // let the keeper catch up with the last blocks, then ready again
            for (int i = 0; i < 50; i++)
            {
                await d.Rpc.MineAsync();
                await Task.Delay(200, cts.Token);
                ready = await GetJsonAsync(url, "/readyz", cts.Token);
                if (ready.status == HttpStatusCode.OK) break;
            }
            output.WriteLine("readyz after: " + ready.body);
            AssertReady(ready);
            after = await ScrapeAsync(url, cts.Token);

            string Line(string name, Func<Scrape, double> value) =>
                $"{name}: {value(before).ToString(CultureInfo.InvariantCulture)} -> {value(after).ToString(CultureInfo.InvariantCulture)}";
            output.WriteLine(Line(KeeperMetrics.HeadBlockName, s => s.Value(KeeperMetrics.HeadBlockName)));
            output.WriteLine($"{KeeperMetrics.AccountsLiquidatableName}: {before.Value(KeeperMetrics.AccountsLiquidatableName)} -> max {maxLiquidatable} -> {after.Value(KeeperMetrics.AccountsLiquidatableName)}");
            output.WriteLine(Line(KeeperMetrics.LiquidationsSentName, s => s.Value(KeeperMetrics.LiquidationsSentName)));
            output.WriteLine(Line(KeeperMetrics.LiquidationsWonName, s => s.Value(KeeperMetrics.LiquidationsWonName)));
            output.WriteLine(Line(KeeperMetrics.LiquidationsLostName, s => s.Sum(KeeperMetrics.LiquidationsLostName)));
            output.WriteLine(Line(KeeperMetrics.RequestsSkippedName, s => s.Sum(KeeperMetrics.RequestsSkippedName)));
            output.WriteLine(Line(KeeperMetrics.LiquidationsRevertedName, s => s.Value(KeeperMetrics.LiquidationsRevertedName)));
            output.WriteLine(Line(KeeperMetrics.RewardsName, s => s.Value(KeeperMetrics.RewardsName)));
            output.WriteLine(Line(KeeperMetrics.DetectionToSendName + "_count", DetectionToSendCount));
            output.WriteLine(Line(KeeperMetrics.SendToInclusionName + "_count", s => s.Metrics.ValueOrNull(KeeperMetrics.SendToInclusionName + "_count") ?? 0));
            output.WriteLine(Line("crossmargin_rpc_calls_total", s => s.Sum("crossmargin_rpc_calls_total")));
            output.WriteLine(Line(KeeperMetrics.GasUsedName, s => s.Sum(KeeperMetrics.GasUsedName)));
            output.WriteLine(Line(KeeperMetrics.FeesPaidName, s => s.Sum(KeeperMetrics.FeesPaidName)));
            output.WriteLine(Line(KeeperMetrics.NonceName, s => s.Metrics.ValueOrNull(KeeperMetrics.NonceName) ?? -1));
            output.WriteLine(Line(KeeperMetrics.WalletBalanceName, s => s.Value(KeeperMetrics.WalletBalanceName)));

            Assert.True(after.Value(KeeperMetrics.HeadBlockName) > before.Value(KeeperMetrics.HeadBlockName));
            Assert.True(after.Value(KeeperMetrics.ProcessedBlockName) > before.Value(KeeperMetrics.ProcessedBlockName));
            Assert.True(maxLiquidatable > before.Value(KeeperMetrics.AccountsLiquidatableName));
            Assert.True(after.Value(KeeperMetrics.LiquidationsSentName) > before.Value(KeeperMetrics.LiquidationsSentName));
            Assert.True(after.Value(KeeperMetrics.LiquidationsWonName) > before.Value(KeeperMetrics.LiquidationsWonName));
            Assert.True(after.Value(KeeperMetrics.RewardsName) > before.Value(KeeperMetrics.RewardsName));
            Assert.True(DetectionToSendCount(after) > DetectionToSendCount(before));
            Assert.True(after.Metrics.Value(KeeperMetrics.SendToInclusionName + "_count") > 0);
            Assert.True(after.Sum("crossmargin_rpc_calls_total") > before.Sum("crossmargin_rpc_calls_total"));
            Assert.True(after.Metrics.Value(KeeperMetrics.GasUsedName, ("kind", "liquidation")) > 0);
            Assert.True(after.Metrics.Value(KeeperMetrics.FeesPaidName, ("kind", "liquidation")) > 0);
            Assert.Equal(0, after.Value(KeeperMetrics.LiquidationsRevertedName));
            Assert.Equal(0, after.Value(KeeperMetrics.BlockFailuresName));

            await cts.CancelAsync();
            Assert.Equal(0, await run);
        }
        finally
        {
            await cts.CancelAsync();
            if (producer is not null) try { await producer; } catch (OperationCanceledException) { }
            if (run is not null) try { await run; } catch (OperationCanceledException) { }
            try { await d.Rpc.SetAutomineAsync(true); } catch (RpcClientException) { }
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    private static double DetectionToSendCount(Scrape s) => s.Metrics.ValueOrNull(KeeperMetrics.DetectionToSendName + "_count") ?? 0;

    private static void AssertReady((HttpStatusCode Status, JsonElement Body) ready)
    {
        Assert.Equal(HttpStatusCode.OK, ready.Status);
        Assert.Equal("Healthy", ready.Body.GetProperty("status").GetString());
        Assert.Empty(ready.Body.GetProperty("failed").EnumerateArray());
        Assert.Equal(KeeperHealthChecks.ReadinessNames, ready.Body.GetProperty("checks").EnumerateArray().Select(c => c.GetProperty("name").GetString()));
    }

    private static async Task<(HttpStatusCode, JsonElement)> GetJsonAsync(Uri url, string path, CancellationToken ct)
    {
        using var response = await Http.GetAsync(new Uri(url, path), ct);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
        return (response.StatusCode, doc.RootElement.Clone());
    }

    private static async Task<Scrape> ScrapeAsync(Uri url, CancellationToken ct)
    {
        using var response = await Http.GetAsync(new Uri(url, "/metrics"), ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return new Scrape(ParsedMetrics.Parse(await response.Content.ReadAsStringAsync(ct)));
    }
}

/// <summary>A minimal reader of the Prometheus text format (sample lines only) for the devnet test.</summary>
public sealed class ParsedMetrics
{
    private readonly List<(string Name, Dictionary<string, string> Labels, double Value)> _samples = [];

    public static ParsedMetrics Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var m = new ParsedMetrics();
        foreach (string line in text.Split('\n'))
        {
            if (line.Length == 0 || line.StartsWith('#')) continue;
            int brace = line.IndexOf('{', StringComparison.Ordinal);
            int space = line.LastIndexOf(' ');
            string name = brace >= 0 && brace < space ? line[..brace] : line[..space];
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            if (brace >= 0 && brace < space)
            {
                string inner = line[(brace + 1)..line.LastIndexOf('}')];
                foreach (string pair in inner.Split("\",", StringSplitOptions.RemoveEmptyEntries))
                {
                    int eq = pair.IndexOf('=', StringComparison.Ordinal);
                    labels[pair[..eq]] = pair[(eq + 2)..].TrimEnd('"');
                }
            }
            string v = line[(space + 1)..];
            double value = v switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                _ => double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture),
            };
            m._samples.Add((name, labels, value));
        }
        return m;
    }

    private IEnumerable<(string Name, Dictionary<string, string> Labels, double Value)> Series(string name, (string Key, string Value)[] labels) =>
        _samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out string? v) && v == l.Value));

    public double Value(string name, params (string Key, string Value)[] labels) => Assert.Single(Series(name, labels)).Value;

    public double? ValueOrNull(string name, params (string Key, string Value)[] labels) =>
        Series(name, labels).Select(s => (double?)s.Value).SingleOrDefault();

    public double Sum(string name) => _samples.Where(s => s.Name == name).Sum(s => s.Value);
}
