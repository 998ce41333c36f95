using System.CommandLine;
using System.Globalization;
using CrossMargin.Keeper.Bench;

namespace CrossMargin.Keeper.Cli;

/// <summary>`crossmargin bench e2e --accounts 1000,10000`: the end-to-end latency harness on the embedded devnet.</summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var accounts = new Option<string>("--accounts") { Description = "Comma-separated account counts (each 10..50000).", DefaultValueFactory = _ => "1000,10000" };
        var blockMs = new Option<int>("--block-ms") { Description = "Milliseconds between blocks during the crash (200..12000).", DefaultValueFactory = _ => 1000 };
        var e2e = new Command("e2e", "Seed a devnet per account count, cold-sync the keeper, crash ETH and BTC, and measure the keeper end to end.")
        {
            accounts, blockMs,
        };
        e2e.SetAction(async (parseResult, ct) =>
        {
            string text = parseResult.GetValue(accounts) ?? "";
            var counts = new List<int>();
            foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n is < 10 or > 50_000)
                {
                    await Console.Error.WriteLineAsync($"--accounts: '{part}' is not a count between 10 and 50000.").ConfigureAwait(false);
                    return CliApp.BadArguments;
                }
                counts.Add(n);
            }
            int ms = parseResult.GetValue(blockMs);
            if (counts.Count == 0 || ms is < 200 or > 12_000)
            {
                await Console.Error.WriteLineAsync(counts.Count == 0 ? "--accounts: give at least one count." : "--block-ms must be between 200 and 12000.").ConfigureAwait(false);
                return CliApp.BadArguments;
            }
            var results = new List<E2eResult>();
            foreach (int n in counts)
            {
                Console.WriteLine($"{n} accounts:");
                results.Add(await E2eBench.RunAsync(n, ms, Console.Out, ct).ConfigureAwait(false));
            }
            Console.WriteLine();
            Console.WriteLine(Table(results, ms));
            return results.All(r => r.Reverted == 0 && r.BlocksToClear != ulong.MaxValue) ? 0 : 1;
        });
        var bench = new Command("bench", "Performance harnesses on the embedded devnet.") { e2e, CreateMemory() };
        return bench;
    }

    private static Command CreateMemory()
    {
        var accounts = new Option<int>("--accounts") { Description = "Accounts to seed (1000..200000).", DefaultValueFactory = _ => 100_000 };
        var blockMs = new Option<int>("--block-ms") { Description = "Milliseconds between blocks (200..12000).", DefaultValueFactory = _ => 1000 };
        var crashBlocks = new Option<int>("--crash-blocks") { Description = "Blocks mined after the crash (1..500).", DefaultValueFactory = _ => 30 };
        var deployment = new Option<string?>("--deployment")
        {
            Description = "Measure against this already seeded devnet (deployment JSON; its deployer must be anvil's first dev account) instead of seeding a fresh one; --accounts is then the count to wait for.",
        };
        var memory = new Command("memory", "Seed a devnet, run the keeper daemon as a child process against it, and measure its resident set through a cold sync and a crash.")
        {
            accounts, blockMs, crashBlocks, deployment,
        };
        memory.SetAction(async (parseResult, ct) =>
        {
            int n = parseResult.GetValue(accounts), ms = parseResult.GetValue(blockMs), blocks = parseResult.GetValue(crashBlocks);
            string? path = parseResult.GetValue(deployment);
            string? error = n is < 1000 or > 200_000 ? "--accounts must be between 1000 and 200000."
                : ms is < 200 or > 12_000 ? "--block-ms must be between 200 and 12000."
                : blocks is < 1 or > 500 ? "--crash-blocks must be between 1 and 500."
                : path is not null && !File.Exists(path) ? $"--deployment: '{path}' does not exist."
                : null;
            Devnet.DevnetDeployment? existing = null;
            if (error is null && path is not null)
            {
                try
                {
                    existing = Devnet.DevnetDeployment.Load(path);
                }
                catch (Exception e) when (e is IOException or Devnet.DevnetException or Devnet.DevnetDeploymentException)
                {
                    error = $"--deployment: '{path}' is not a deployment file: {e.Message}";
                }
            }
            if (error is not null)
            {
                await Console.Error.WriteLineAsync(error).ConfigureAwait(false);
                return CliApp.BadArguments;
            }
            Console.WriteLine(existing is null ? $"{n} accounts:" : $"devnet at {existing.RpcUrl}, waiting for {n} accounts:");
            MemoryResult r = await MemoryBench.RunAsync(n, ms, blocks, Console.Out, ct, existing).ConfigureAwait(false);
            Console.WriteLine();
            Console.WriteLine(MemoryTable(r));
            return 0;
        });
        return memory;
    }

    /// <summary>One memory run as a Markdown table.</summary>
    public static string MemoryTable(MemoryResult r)
    {
        ArgumentNullException.ThrowIfNull(r);
        static string Mb(long b) => (b / (1024.0 * 1024.0)).ToString("F0", CultureInfo.InvariantCulture);
        var w = new StringWriter(CultureInfo.InvariantCulture);
        w.WriteLine("| accounts | seeding s | keeper start to all indexed s | peak RSS after sync + 5 blocks MB | liquidatable | requests sent | peak RSS with the crash MB | RSS at the end MB |");
        w.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
        w.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {r.Indexed:N0} | {r.Seeding.TotalSeconds:F0} | {r.Ready.TotalSeconds:F1} | {Mb(r.PeakRssQuietBytes)} | {r.LiquidatableAtCrash} | {r.RequestsSent} ({r.CrashBlocks} blocks) | {Mb(r.PeakRssBytes)} | {Mb(r.RssEndBytes)} |"));
        return w.ToString();
    }

    /// <summary>The results as a Markdown table (medians and p99 over the run).</summary>
    public static string Table(IReadOnlyList<E2eResult> results, int blockMs)
    {
        ArgumentNullException.ThrowIfNull(results);
        var w = new StringWriter(CultureInfo.InvariantCulture);
        w.WriteLine($"| accounts | seeding s | cold sync ms | below maintenance | txs | reverted | detection-to-send p50 / p99 ms | first send of a block p50 / p99 ms | send-to-inclusion p50 / p99 ms ({blockMs} ms blocks) | RPC round trips per block p50 / max | blocks to clear / bound | peak RSS MB (with seeding) | RSS / managed heap after the run MB |");
        w.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (E2eResult r in results)
        {
            w.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Accounts:N0} | {r.Seeding.TotalSeconds:F1} | {r.ColdSync.TotalMilliseconds:F0} | {r.BelowMaintenance} | {r.Transactions} | {r.Reverted} | {P(r.DetectionToSend, 50)} / {P(r.DetectionToSend, 99)} | {P(r.FirstSend, 50)} / {P(r.FirstSend, 99)} | {P(r.SendToInclusion, 50)} / {P(r.SendToInclusion, 99)} | {P(r.RoundTripsPerBlock, 50)} / {(r.RoundTripsPerBlock.Length == 0 ? "-" : r.RoundTripsPerBlock[^1].ToString("F1", CultureInfo.InvariantCulture))} | {(r.BlocksToClear == ulong.MaxValue ? "not cleared" : r.BlocksToClear.ToString(CultureInfo.InvariantCulture))} / {r.GasBound} | {r.PeakRssBytes / (1024.0 * 1024.0):F0} | {r.RssAfterRunBytes / (1024.0 * 1024.0):F0} / {r.ManagedHeapBytes / (1024.0 * 1024.0):F0} |"));
        }
        return w.ToString();
    }

    private static string P(double[] sorted, int p) => sorted.Length == 0
        ? "-"
        : sorted[Math.Clamp((int)Math.Ceiling(p / 100.0 * sorted.Length) - 1, 0, sorted.Length - 1)].ToString("F2", CultureInfo.InvariantCulture);
}
