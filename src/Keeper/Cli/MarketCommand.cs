using System.CommandLine;
using System.Globalization;
using CrossMargin.Devnet;
using CrossMargin.Keeper.Market;

namespace CrossMargin.Keeper.Cli;

/// <summary>
/// `crossmargin devnet market --scenario &lt;name|path&gt; [--port P] [--step-seconds S]`: serves a market scenario in the
/// Binance, Coinbase, Kraken and Pyth Hermes formats on 127.0.0.1 until Ctrl+C.
/// </summary>
public static class MarketCommand
{
    public static Command Create()
    {
        var scenario = new Option<string>("--scenario")
        {
            Description = "Scenario name (devnet/scenarios/<name>.json) or path to a scenario file.",
            Required = true,
        };
        var port = new Option<int>("--port") { Description = "Port on 127.0.0.1 (default: a free port).", DefaultValueFactory = _ => 0 };
        var step = new Option<double?>("--step-seconds") { Description = "Override the scenario's step interval (seconds)." };
        var market = new Command("market", "Serve a simulated market (Binance, Coinbase, Kraken, Pyth Hermes) from a scenario until Ctrl+C.")
        {
            scenario, port, step,
        };
        market.SetAction((parseResult, ct) => RunAsync(parseResult.GetValue(scenario)!, parseResult.GetValue(port), parseResult.GetValue(step), ct));
        return market;
    }

    /// <summary>Resolves a scenario argument: an existing file path, or a name under devnet/scenarios.</summary>
    internal static string ResolveScenarioPath(string nameOrPath)
    {
        if (File.Exists(nameOrPath)) return Path.GetFullPath(nameOrPath);
        bool looksLikeName = nameOrPath.IndexOfAny(['/', '\\']) < 0 && !nameOrPath.EndsWith(".json", StringComparison.OrdinalIgnoreCase);
        if (looksLikeName)
        {
            string candidate = Path.Combine(DevnetPaths.DevnetDir, "scenarios", nameOrPath + ".json");
            if (File.Exists(candidate)) return candidate;
        }
        throw new ScenarioFormatException($"No scenario '{nameOrPath}': not a file, and not a name in devnet/scenarios ({ListScenarios()}).");
    }

    private static string ListScenarios()
    {
        try
        {
            string dir = Path.Combine(DevnetPaths.DevnetDir, "scenarios");
            return Directory.Exists(dir)
                ? string.Join(", ", Directory.EnumerateFiles(dir, "*.json").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal))
                : "none found";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            return "none found";
        }
    }

    /// <summary>Loads and checks the scenario and options; returns an error message or null.</summary>
    internal static string? TryLoad(string nameOrPath, int port, double? stepSeconds, out MarketScenario? scenario)
    {
        scenario = null;
        if (port is < 0 or > 65535) return "--port must be between 0 and 65535.";
        if (stepSeconds is { } s && !(s > 0 && s <= 86_400)) return "--step-seconds must be a number of seconds in (0, 86400].";
        try
        {
            MarketScenario loaded = MarketScenario.Load(ResolveScenarioPath(nameOrPath));
            scenario = stepSeconds is { } st ? loaded with { StepInterval = TimeSpan.FromSeconds(st) } : loaded;
            return null;
        }
        catch (ScenarioFormatException e)
        {
            return "Bad scenario: " + e.Message;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"Cannot read scenario '{nameOrPath}': {e.Message}";
        }
    }

    private static async Task<int> RunAsync(string nameOrPath, int port, double? stepSeconds, CancellationToken ct)
    {
        string? error = TryLoad(nameOrPath, port, stepSeconds, out MarketScenario? scenario);
        if (error is not null)
        {
            await Console.Error.WriteLineAsync(error).ConfigureAwait(false);
            return CliApp.BadArguments;
        }

        var simulation = new MarketSimulation(scenario!);
        await using MarketSimulatorServer server = await MarketSimulatorServer.StartAsync(simulation, port, ct).ConfigureAwait(false);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"market scenario '{scenario!.Name}' ({scenario.Assets.Count} assets, step {scenario.StepInterval.TotalSeconds:0.###} s): {scenario.Description}"));
        Console.WriteLine($"serving on {server.BaseUri}");
        foreach (string source in MarketScenario.SourceIds) Console.WriteLine($"  {source,-9} {server.SourceBaseUri(source)}");
        Console.WriteLine("running; Ctrl+C to stop");
        try
        {
            await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C
        }
        Console.WriteLine("stopping");
        return 0;
    }
}
