using System.CommandLine;
using System.Globalization;
using CrossMargin.Devnet;

namespace CrossMargin.Keeper.Cli;

/// <summary>`crossmargin devnet up`: start anvil, deploy, seed, write the deployment JSON, run until Ctrl+C.</summary>
public static class DevnetCommand
{
    public const int BadArguments = 2;

    public static Command Create()
    {
        var devnet = new Command("devnet", "Local devnet (anvil) with the protocol deployed and seeded.");
        var accounts = new Option<int>("--accounts") { Description = "Accounts to seed (0..100000).", DefaultValueFactory = _ => 100 };
        var port = new Option<int?>("--port") { Description = "anvil port (default: a free port)." };
        var blockTime = new Option<double?>("--block-time") { Description = "Interval mining in seconds (default: automine)." };
        var seed = new Option<ulong>("--seed") { Description = "Seed of account keys and portfolios.", DefaultValueFactory = _ => 1 };
        var outPath = new Option<string?>("--out") { Description = "Deployment JSON path (default devnet/.deploy/devnet-<chainId>.json)." };
        var up = new Command("up", "Start anvil, deploy, seed, write the deployment JSON and keep running until Ctrl+C.")
        {
            accounts, port, blockTime, seed, outPath,
        };
        up.SetAction((parseResult, ct) => UpAsync(
            parseResult.GetValue(accounts), parseResult.GetValue(port), parseResult.GetValue(blockTime),
            parseResult.GetValue(seed), parseResult.GetValue(outPath), ct));
        devnet.Subcommands.Add(up);
        devnet.Subcommands.Add(MarketCommand.Create());
        return devnet;
    }

    internal static string? ValidateArguments(int accounts, int? port, double? blockTime)
    {
        if (accounts is < 0 or > 100_000) return "--accounts must be between 0 and 100000.";
        if (port is < 1 or > 65535) return "--port must be between 1 and 65535.";

        if (blockTime is { } bt && !(bt > 0 && bt <= 3600)) return "--block-time must be a number of seconds in (0, 3600].";
        return null;
    }

    private static async Task<int> UpAsync(int accounts, int? port, double? blockTime, ulong seed, string? outPath, CancellationToken ct)
    {
        string? error = ValidateArguments(accounts, port, blockTime);
        if (error is not null)
        {
            await Console.Error.WriteLineAsync(error).ConfigureAwait(false);
            return BadArguments;
        }

        var options = new AnvilOptions
        {
            BlockTime = blockTime is { } s ? TimeSpan.FromSeconds(s) : null,
            GasLimit = 1_000_000_000,
            Port = port,
        };
        Console.WriteLine("starting anvil...");
        await using var anvil = await AnvilProcess.StartAsync(options, ct).ConfigureAwait(false);
        Console.WriteLine($"anvil at {anvil.RpcUrl} (chain {anvil.ChainId})");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var deployment = await DevnetDeployer.DeployAsync(anvil.RpcUrl, anvil.ChainId, wsUrl: anvil.WsUrl, cancellationToken: ct).ConfigureAwait(false);
        Console.WriteLine($"deployed in {sw.Elapsed.TotalSeconds:0.0} s: engine {deployment.Engine}, hub {deployment.OracleHub}, pyth {deployment.MockPyth}");
        if (accounts > 0)
        {
            var seeded = await DevnetSeeder.SeedAsync(deployment, new DevnetSeedOptions { Accounts = accounts, Seed = seed }, ct).ConfigureAwait(false);
            deployment = deployment with { AccountSeed = seed, Accounts = seeded.Addresses.ToArray() };
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"seeded {seeded.Accounts.Count} accounts ({seeded.Transactions} txs) in {seeded.Elapsed.TotalSeconds:0.0} s; {seeded.FailedAccounts} account(s) with failures"));
            foreach (var a in seeded.Accounts.Where(a => !a.Succeeded).Take(20))
                Console.WriteLine($"  account {a.Index} {a.Address}: {string.Join("; ", a.Failures)}");
        }

        string path = Path.GetFullPath(outPath ?? DevnetDeployment.DefaultPath(deployment.ChainId));
        deployment.Save(path);
        Console.WriteLine($"deployment written to {path}");
        foreach (var m in deployment.Markets) Console.WriteLine($"  market {m.Id} {m.Symbol} oracle {m.OracleSymbol}");
        foreach (var a in deployment.Assets) Console.WriteLine($"  asset {a.Id} {a.Symbol} {a.Token}");
        Console.WriteLine("running; Ctrl+C to stop");
        try
        {
            await Task.WhenAny(Task.Delay(Timeout.Infinite, ct), anvil.Exited).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C: fall through to dispose anvil
        }

        if (anvil.HasExited)
        {
            await Console.Error.WriteLineAsync($"anvil exited unexpectedly with status {await anvil.Exited.ConfigureAwait(false)}").ConfigureAwait(false);
            return 1;
        }

        Console.WriteLine("stopping anvil");
        return 0;
    }
}
