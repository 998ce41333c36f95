using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using CrossMargin.Contracts;
using CrossMargin.Devnet;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Contracts;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Ethereum.Signing;
using CrossMargin.Ethereum.Transactions;
using CrossMargin.Keeper.Monitoring;

namespace CrossMargin.Keeper.Bench;

/// <summary>What one memory run measured, all of the keeper daemon's own process.</summary>
/// <param name="Ready">From the keeper's start to its /metrics showing every account indexed and the head processed.</param>
/// <param name="PeakRssQuietBytes">Peak resident set (VmHWM) after the cold sync and a few quiet blocks.</param>
/// <param name="PeakRssBytes">Peak resident set over the keeper's whole life, the crash included.</param>
/// <param name="RssEndBytes">Resident set at the end of the run.</param>
public sealed record MemoryResult(int Accounts, TimeSpan Seeding, TimeSpan Ready, long Indexed, long PeakRssQuietBytes, long PeakRssBytes,
    long RssEndBytes, long LiquidatableAtCrash, long RequestsSent, int CrashBlocks);

/// <summary>
/// <c>crossmargin bench memory</c>: a fresh anvil seeded with N accounts, then the keeper daemon (<c>crossmargin run</c>,
/// the same executable) started as a child process against it; its resident set is read from /proc while it cold-syncs,
/// follows quiet blocks, and works through a one-block −28% move of ETH and BTC. The number is the daemon's, not this
/// harness's (which holds the seeding state).
/// </summary>
public static class MemoryBench
{
    /// <param name="accounts">Accounts to seed on a fresh anvil; with <paramref name="existing"/>, the accounts the keeper must have indexed before measuring.</param>
    /// <param name="existing">A devnet already deployed and seeded (its deployment JSON): no anvil is started and nothing is seeded.</param>
    public static async Task<MemoryResult> RunAsync(int accounts, int blockMs, int crashBlocks, TextWriter log, CancellationToken ct, DevnetDeployment? existing = null)
    {
        ArgumentNullException.ThrowIfNull(log);
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("bench memory reads /proc/<pid>/status (Linux only)");
        if (existing is not null) return await MeasureAsync(existing, accounts, TimeSpan.Zero, blockMs, crashBlocks, log, ct).ConfigureAwait(false);
        // anvil keeps every block's state in memory by default (tens of GB over a 100,000-account seeding): keep the
        // 64 most recent (the keeper reads state at recent blocks; logs and blocks stay)
        await using var anvil = await AnvilProcess.StartAsync(new AnvilOptions { GasLimit = 1_000_000_000, ExtraArguments = ["--prune-history", "64"] }, ct)
            .ConfigureAwait(false);
        var deployment = await DevnetDeployer.DeployAsync(anvil.RpcUrl, anvil.ChainId, wsUrl: anvil.WsUrl, cancellationToken: ct).ConfigureAwait(false);
        var (_, seeding) = await BenchDevnet.SeedAsync(deployment, accounts, log, ct).ConfigureAwait(false);
        return await MeasureAsync(deployment, accounts, seeding, blockMs, crashBlocks, log, ct).ConfigureAwait(false);
    }

    private static async Task<MemoryResult> MeasureAsync(DevnetDeployment deployment, int accounts, TimeSpan seeding, int blockMs, int crashBlocks, TextWriter log,
        CancellationToken ct)
    {
        using var http = new JsonRpcClient(deployment.RpcUrl, timeout: TimeSpan.FromSeconds(120));
        var eth = new EthClient(http);
        await http.SetAutomineAsync(true, ct).ConfigureAwait(false); // an attached devnet may have been left without it
        using var deployerSigner = new LocalTxSigner(PrivateKey.FromHex(AnvilDevAccounts.Deployer.PrivateKeyHex), ownsKey: true);
        var sender = new TransactionSender(eth, deployerSigner, deployment.ChainId);
        var keeperAccount = AnvilDevAccounts.All[2];
        var prices = await BenchDevnet.PrepareAsync(deployment, http, sender, keeperAccount.Address, ct).ConfigureAwait(false);

        string dir = Directory.CreateTempSubdirectory("crossmargin-bench-memory-").FullName;
        string deploymentPath = Path.Combine(dir, "deployment.json");
        deployment.Save(deploymentPath);
        int port = FreePort();
        using var keeper = ChildKeeper.Start(
        [
            "run", "--deployment", deploymentPath, "--dev-allow-raw-key", "--no-oracle",
            "--Keeper:JournalPath=" + Path.Combine(dir, "journal.db"),
            "--Keeper:Detection:DefaultBlockTimeSeconds=1",
            "--Keeper:MinProfitUsd=0.1",
            "--Keeper:Monitoring:Port=" + port.ToString(CultureInfo.InvariantCulture),
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:" + typeof(Hosting.KeeperPipeline).FullName + "=Information", // its memory compaction line is echoed
        ], dir, new Dictionary<string, string> { ["CROSSMARGIN_DEV_PRIVATE_KEY"] = keeperAccount.PrivateKeyHex });
        using var scrape = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(10) };
        try
        {
            int pid = await keeper.WaitForPidAsync(TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
            var started = Stopwatch.StartNew();
            ulong head = await eth.BlockNumberAsync(ct).ConfigureAwait(false);
            IReadOnlyDictionary<string, double> metrics = new Dictionary<string, double>();
            while (true)
            {
                keeper.ThrowIfExited();
                metrics = await ScrapeAsync(scrape, ct).ConfigureAwait(false);
                if (Value(metrics, KeeperMetrics.AccountsIndexedName) >= accounts && Value(metrics, KeeperMetrics.ProcessedBlockName) >= head) break;
                if (started.Elapsed > TimeSpan.FromMinutes(10)) throw new TimeoutException("the keeper did not index every account within 10 minutes");
                await Task.Delay(100, ct).ConfigureAwait(false);
            }
            started.Stop();
            long indexed = (long)Value(metrics, KeeperMetrics.AccountsIndexedName);
            await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"  keeper pid {pid}: {indexed} accounts indexed, head {head} processed {started.Elapsed.TotalSeconds:F1} s after start; RSS {Mb(BenchDevnet.ProcStatus("VmRSS:", pid))} MB, {Heap(metrics)}")).ConfigureAwait(false);

            await http.SetAutomineAsync(false, ct).ConfigureAwait(false);
            for (int i = 0; i < 5; i++)
            {
                await http.MineAsync(cancellationToken: ct).ConfigureAwait(false);
                await Task.Delay(blockMs, ct).ConfigureAwait(false);
            }
            keeper.ThrowIfExited();
            long peakQuiet = BenchDevnet.ProcStatus("VmHWM:", pid);
            await log.WriteLineAsync($"  after 5 quiet blocks: peak RSS {Mb(peakQuiet)} MB, RSS {Mb(BenchDevnet.ProcStatus("VmRSS:", pid))} MB").ConfigureAwait(false);

            var crash = new Dictionary<string, decimal>();
            foreach (string o in (string[])["ETH/USD", "BTC/USD"]) crash[o] = DevnetDefaults.Oracles.First(x => x.Symbol == o).InitialPrice * 0.72m;
            // the price driver pins block timestamps: no block is mined here while it works (automine mines its updates)
            await http.SetAutomineAsync(true, ct).ConfigureAwait(false);
            await prices.SetPricesAsync(crash, cancellationToken: ct).ConfigureAwait(false);
            await http.SetAutomineAsync(false, ct).ConfigureAwait(false);
            long liquidatable = 0;
            for (int i = 0; i < crashBlocks; i++)
            {
                await http.MineAsync(cancellationToken: ct).ConfigureAwait(false);
                await Task.Delay(blockMs, ct).ConfigureAwait(false);
                keeper.ThrowIfExited();
                metrics = await ScrapeAsync(scrape, ct).ConfigureAwait(false);
                liquidatable = Math.Max(liquidatable, (long)Value(metrics, KeeperMetrics.AccountsLiquidatableName));
            }
            long sent = (long)Value(metrics, KeeperMetrics.LiquidationsSentName);
            long peak = BenchDevnet.ProcStatus("VmHWM:", pid), rss = BenchDevnet.ProcStatus("VmRSS:", pid);
            await log.WriteLineAsync($"  crash: {liquidatable} liquidatable at most, {sent} requests sent in {crashBlocks} blocks; peak RSS {Mb(peak)} MB, RSS {Mb(rss)} MB, {Heap(metrics)}")
                .ConfigureAwait(false);
            return new MemoryResult(accounts, seeding, started.Elapsed, indexed, peakQuiet, peak, rss, liquidatable, sent, crashBlocks);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            foreach (string line in keeper.Tail(20)) await log.WriteLineAsync("  keeper> " + line).ConfigureAwait(false);
            throw;
        }
        finally
        {
            keeper.Kill();
            try { Directory.Delete(dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>The keeper's own view of its memory, from its /metrics.</summary>
    private static string Heap(IReadOnlyDictionary<string, double> metrics) =>
        $"managed heap {Mb((long)Value(metrics, KeeperMetrics.GcHeapName))} MB, GC committed {Mb((long)Value(metrics, KeeperMetrics.GcCommittedName))} MB";

    private static string Mb(long bytes) => (bytes / (1024.0 * 1024.0)).ToString("F0", CultureInfo.InvariantCulture);

    private static double Value(IReadOnlyDictionary<string, double> metrics, string name) => metrics.TryGetValue(name, out double v) ? v : 0;

    /// <summary>Unlabelled samples of the keeper's /metrics (labelled series summed under their name); empty while it is not up yet.</summary>
    private static async Task<IReadOnlyDictionary<string, double>> ScrapeAsync(HttpClient client, CancellationToken ct)
    {
        string text;
        try
        {
            text = await client.GetStringAsync(new Uri("metrics", UriKind.Relative), ct).ConfigureAwait(false);
        }
        catch (HttpRequestException)
        {
            return new Dictionary<string, double>();
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            return new Dictionary<string, double>();
        }
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (string line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            int space = line.LastIndexOf(' ');
            if (space <= 0) continue;
            string series = line[..space];
            int brace = series.IndexOf('{', StringComparison.Ordinal);
            string name = brace < 0 ? series : series[..brace];
            if (!double.TryParse(line.AsSpan(space + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out double v)) continue;
            values[name] = values.GetValueOrDefault(name) + v;
        }
        return values;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>This same executable as a child process under the watchdog; the last lines of its output are kept.</summary>
    private sealed class ChildKeeper : IDisposable
    {
        private readonly List<string> _lines = [];
        private readonly WatchedProcess _process;

        private ChildKeeper(IEnumerable<string> arguments, string workingDirectory, IReadOnlyDictionary<string, string> environment)
        {
            string self = Environment.ProcessPath ?? throw new InvalidOperationException("the path of this executable is unknown");
            // under `dotnet crossmargin.dll` the host is dotnet: the assembly goes first
            IEnumerable<string> args = Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase)
                ? arguments.Prepend(typeof(MemoryBench).Assembly.Location)
                : arguments;
            _process = WatchedProcess.Start(self, args, workingDirectory, environment, OnLine);
        }

        public static ChildKeeper Start(IEnumerable<string> arguments, string workingDirectory, IReadOnlyDictionary<string, string> environment) =>
            new(arguments, workingDirectory, environment);

        public Task<int> WaitForPidAsync(TimeSpan timeout, CancellationToken ct) => _process.WaitForChildPidAsync(timeout, ct);

        public void ThrowIfExited()
        {
            if (_process.HasExited) throw new InvalidOperationException($"the keeper exited with code {_process.ExitCode}");
        }

        public IReadOnlyList<string> Tail(int n)
        {
            lock (_lines) return [.. _lines.TakeLast(n)];
        }

        public void Kill() => _process.Kill();

        public void Dispose() => _process.Dispose();

        private void OnLine(string line)
        {
            if (line.Contains("memory compacted", StringComparison.Ordinal)) Console.Out.WriteLine("  keeper> " + line.Trim());
            lock (_lines)
            {
                _lines.Add(line);
                if (_lines.Count > 500) _lines.RemoveRange(0, 100);
            }
        }
    }
}
