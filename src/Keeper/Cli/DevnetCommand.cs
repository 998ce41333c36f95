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
        var dumpState = new Option<string?>("--dump-state")
        {
            Description = "Once seeded, write anvil's state (anvil_dumpState, as JSON) to this file; --load-state starts from it later.",
        };
        var loadState = new Option<string?>("--load-state")
        {
            Description = "Start anvil from a state written by --dump-state instead of deploying and seeding; needs --deployment.",
        };
        var deploymentPath = new Option<string?>("--deployment") { Description = "With --load-state: the deployment JSON written when the state was dumped." };
        var pruneHistory = new Option<int?>("--prune-history")
        {
            Description = "Keep only this many recent block states in anvil's memory (default: all; each costs about a copy of the state, "
                + "over 20 GB while seeding 100,000 accounts).",
        };
        var up = new Command("up", "Start anvil, deploy, seed, write the deployment JSON and keep running until Ctrl+C.")
        {
            accounts, port, blockTime, seed, outPath, dumpState, loadState, deploymentPath, pruneHistory,
        };
        up.SetAction((parseResult, ct) => UpAsync(
            parseResult.GetValue(accounts), parseResult.GetValue(port), parseResult.GetValue(blockTime),
            parseResult.GetValue(seed), parseResult.GetValue(outPath),
            new StateFiles(parseResult.GetValue(dumpState), parseResult.GetValue(loadState), parseResult.GetValue(deploymentPath)),
            parseResult.GetValue(pruneHistory), ct));
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

    /// <summary>--dump-state, --load-state and --deployment of `devnet up`.</summary>
    internal sealed record StateFiles(string? Dump, string? Load, string? Deployment);

    internal static string? ValidateStateFiles(StateFiles files)
    {
        if (files.Load is null) return files.Deployment is null ? null : "--deployment goes with --load-state.";
        if (files.Dump is not null) return "--dump-state and --load-state exclude each other.";
        if (files.Deployment is null) return "--load-state needs --deployment (the deployment JSON written with the dumped devnet).";
        if (!File.Exists(files.Load)) return $"--load-state: {files.Load} not found.";
        return null;
    }

    private static async Task<int> UpAsync(int accounts, int? port, double? blockTime, ulong seed, string? outPath, StateFiles files, int? pruneHistory,
        CancellationToken ct)
    {
        string? error = ValidateArguments(accounts, port, blockTime) ?? ValidateStateFiles(files)
            ?? (pruneHistory is < 1 ? "--prune-history must be at least 1." : null);
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
            ExtraArguments =
            [
                .. files.Load is null ? [] : new[] { "--load-state", Path.GetFullPath(files.Load) },
                .. pruneHistory is { } keep ? new[] { "--prune-history", keep.ToString(CultureInfo.InvariantCulture) } : [],
            ],
            StartupTimeout = files.Load is null ? TimeSpan.FromSeconds(30) : TimeSpan.FromMinutes(10),
        };
        Console.WriteLine("starting anvil...");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        await using var anvil = await AnvilProcess.StartAsync(options, ct).ConfigureAwait(false);
        Console.WriteLine($"anvil at {anvil.RpcUrl} (chain {anvil.ChainId}), {sw.Elapsed.TotalSeconds:0.0} s");
        sw.Restart();
        DevnetDeployment deployment;
        if (files.Load is not null)
        {
            deployment = DevnetDeployment.Load(files.Deployment!) with { RpcUrl = anvil.RpcUrl, WsUrl = anvil.WsUrl };
            if (deployment.ChainId != anvil.ChainId) throw new DevnetException($"{files.Deployment} is for chain {deployment.ChainId}, anvil runs {anvil.ChainId}.");
            Console.WriteLine($"state loaded: engine {deployment.Engine}, {deployment.Accounts.Count} seeded accounts");
        }
        else
        {
            deployment = await DevnetDeployer.DeployAsync(anvil.RpcUrl, anvil.ChainId, wsUrl: anvil.WsUrl, cancellationToken: ct).ConfigureAwait(false);
            Console.WriteLine($"deployed in {sw.Elapsed.TotalSeconds:0.0} s: engine {deployment.Engine}, hub {deployment.OracleHub}, pyth {deployment.MockPyth}");
        }

        if (accounts > 0 && files.Load is null)
        {
            var seeded = await DevnetSeeder.SeedAsync(deployment, new DevnetSeedOptions { Accounts = accounts, Seed = seed, RaiseDepositCaps = true }, ct).ConfigureAwait(false);
            deployment = deployment with { AccountSeed = seed, Accounts = seeded.Addresses.ToArray() };
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"seeded {seeded.Accounts.Count} accounts ({seeded.Transactions} txs) in {seeded.Elapsed.TotalSeconds:0.0} s; {seeded.FailedAccounts} account(s) with failures"));
            foreach (var a in seeded.Accounts.Where(a => !a.Succeeded).Take(20))
                Console.WriteLine($"  account {a.Index} {a.Address}: {string.Join("; ", a.Failures)}");
        }

        string path = Path.GetFullPath(outPath ?? DevnetDeployment.DefaultPath(deployment.ChainId));
        deployment.Save(path);
        Console.WriteLine($"deployment written to {path}");
        if (files.Dump is not null)
        {
            sw.Restart();
            long bytes = await DevnetState.DumpAsync(anvil.RpcUrl, files.Dump, ct).ConfigureAwait(false);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"state ({bytes / 1_000_000} MB) written to {Path.GetFullPath(files.Dump)} in {sw.Elapsed.TotalSeconds:0.0} s"));
        }

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
