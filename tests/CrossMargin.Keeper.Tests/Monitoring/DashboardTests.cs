using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Text.RegularExpressions;
using CrossMargin.Keeper.Execution;
using CrossMargin.Keeper.Monitoring;
using CrossMargin.Keeper.Oracle;
using CrossMargin.Keeper.Oracle.Push;
using CrossMargin.Keeper.Rpc;

namespace CrossMargin.Keeper.Tests.Monitoring;

/// <summary>The Grafana dashboard and the monitoring page use the names the keeper really exposes.</summary>
public sealed partial class DashboardTests
{
    private static string RepoFile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "CrossMargin.sln"))) return Path.Combine(dir.FullName, relative);
        }
        throw new InvalidOperationException("repository root not found");
    }

    /// <summary>Every family the keeper's instruments produce once each has a measurement.</summary>
    private static HashSet<string> ExposedFamilies()
    {
        using var factory = new KeeperMeterFactory();
        using var collector = MetricsCollector.ForFactory(factory);
        var keeper = new KeeperMetrics(factory);
        keeper.ChainHead(1);
        keeper.BlockProcessed(1);
        keeper.Detection(1, 1, 1, TimeSpan.FromMilliseconds(1));
        keeper.DetectionToSend(TimeSpan.FromMilliseconds(1));
        keeper.LiquidationSent("i", 1);
        keeper.Outcome(new ExecutionOutcome(ExecutionOutcomeKind.Sent, "i", null, 1, DateTimeOffset.UnixEpoch));
        keeper.Outcome(new ExecutionOutcome(ExecutionOutcomeKind.Included, "i", null, 1, DateTimeOffset.UnixEpoch, 1, 21_000, Ethereum.Numerics.UInt256.One, Logs: []));
        keeper.WalletBalance(Ethereum.Numerics.UInt256.One);
        keeper.CollateralSaleSent("c");
        keeper.Outcome(new ExecutionOutcome(ExecutionOutcomeKind.Included, "c", null, 2, DateTimeOffset.UnixEpoch, 1, 90_000, Ethereum.Numerics.UInt256.One));
        var agg = new AggregatePrice("ETH", Ethereum.Numerics.UInt256.One, Ethereum.Numerics.UInt256.One, Ethereum.Numerics.UInt256.One, OracleState.Halted, [], DateTimeOffset.UnixEpoch, [], 0, "");
        keeper.OracleRound(new OracleServiceRound(1, new Dictionary<string, AggregatePrice> { ["ETH"] = agg }, new Dictionary<string, double> { ["ETH"] = 3 }, null));
        using var rpc = new RpcMetrics(factory, () => [("rpc0", 0)]);
        rpc.Call("rpc0", "eth_call");
        rpc.Error("rpc0", "eth_call", RpcFailureKind.Transient);
        rpc.Latency("rpc0", "eth_call", TimeSpan.FromMilliseconds(3));
        rpc.Failover("rpc0");
        using var exec = new ExecutionMetrics(factory);
        exec.Outcome(new ExecutionOutcome(ExecutionOutcomeKind.Included, null, null, 1, DateTimeOffset.UnixEpoch, 1, 21_000));
        exec.Error("send");
        using var oracle = new OracleMetrics(factory);
        oracle.Pushed("feeds", 120, 80_000);
        oracle.AssetPushed("ETH", PushReason.Deviation);
        oracle.Benign("feeds", PushRejection.Error);
        oracle.Error("feeds", "send");
        oracle.HaltedSkip("ETH");
        oracle.Deviation("ETH", 4);
        oracle.State("ETH", OracleState.Healthy);
        oracle.LiquidationBlocked("ETH", default);
        return [.. collector.Collect().Select(f => f.Name)];
    }

    [GeneratedRegex(@"crossmargin_[a-z_]+")]
    private static partial Regex MetricName();

    private static string Family(string sample) =>
        sample.EndsWith("_bucket", StringComparison.Ordinal) ? sample[..^"_bucket".Length]
        : sample.EndsWith("_count", StringComparison.Ordinal) ? sample[..^"_count".Length]
        : sample.EndsWith("_sum", StringComparison.Ordinal) ? sample[..^"_sum".Length]
        : sample;

    [Fact]
    public void Dashboard_is_a_grafana_model_over_exposed_metrics()
    {
        var exposed = ExposedFamilies();
        using var doc = JsonDocument.Parse(File.ReadAllText(RepoFile("docs/grafana-dashboard.json")));
        var root = doc.RootElement;
        Assert.Equal("crossmargin-keeper", root.GetProperty("uid").GetString());
        Assert.True(root.GetProperty("schemaVersion").GetInt32() >= 36);
        var panels = root.GetProperty("panels").EnumerateArray().ToList();
        Assert.Equal(panels.Count, panels.Select(p => p.GetProperty("id").GetInt32()).Distinct().Count());
        var used = new HashSet<string>();
        foreach (var p in panels)
        {
            var grid = p.GetProperty("gridPos");
            Assert.InRange(grid.GetProperty("x").GetInt32() + grid.GetProperty("w").GetInt32(), 1, 24);
            if (p.GetProperty("type").GetString() == "row") continue;
            Assert.Contains(p.GetProperty("type").GetString(), new[] { "stat", "timeseries" });
            foreach (var t in p.GetProperty("targets").EnumerateArray())
            {
                string expr = t.GetProperty("expr").GetString()!;
                foreach (Match m in MetricName().Matches(expr))
                {
                    string family = Family(m.Value);
                    Assert.True(exposed.Contains(family), $"panel '{p.GetProperty("title").GetString()}' uses {m.Value}, which is not exposed");
                    used.Add(family);
                }
            }
        }
        foreach (string name in new[] { KeeperMetrics.HeadBlockName, KeeperMetrics.AccountsLiquidatableName, KeeperMetrics.DetectionToSendName,
                     KeeperMetrics.SendToInclusionName, KeeperMetrics.LiquidationsWonName, KeeperMetrics.GasUsedName, KeeperMetrics.WalletBalanceName,
                     "crossmargin_rpc_calls_total", "crossmargin_rpc_latency_seconds", "crossmargin_oracle_state" })
            Assert.Contains(name, used);
    }

    [Fact]
    public void Monitoring_page_lists_every_exposed_metric()
    {
        string page = File.ReadAllText(RepoFile("docs/monitoring.md"));
        var missing = ExposedFamilies().Where(f => !page.Contains("`" + f + "`", StringComparison.Ordinal)).Order().ToList();
        Assert.Empty(missing);
        foreach (string check in KeeperHealthChecks.ReadinessNames) Assert.Contains("`" + check + "`", page, StringComparison.Ordinal);
    }
}
