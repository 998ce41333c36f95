using System.CommandLine;
using CrossMargin.Keeper.Hosting;

namespace CrossMargin.Keeper.Cli;

/// <summary>
/// `crossmargin run`: the keeper daemon. Flags below; any other --Section:Key=value token is configuration
/// (same keys as appsettings.json, e.g. --Keeper:Engine=0x...).
/// </summary>
public static class RunCommand
{
    public static Command Create()
    {
        var deployment = new Option<string?>("--deployment") { Description = "Devnet deployment JSON: fills engine and hub addresses, chain id, RPC URL and deployment block." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Plan and simulate liquidations with eth_call; send nothing." };
        var noOracle = new Option<bool>("--no-oracle") { Description = "Switch the oracle part off (no price gate)." };
        var rawKey = new Option<bool>("--dev-allow-raw-key") { Description = "Development only: accept a raw key from CROSSMARGIN_DEV_PRIVATE_KEY." };
        var config = new Option<string?>("--config") { Description = "Additional JSON configuration file." };
        var run = new Command("run", "Run the keeper: follow the chain, detect liquidatable accounts and liquidate them with batchLiquidate.")
        {
            deployment, dryRun, noOracle, rawKey, config,
        };
        run.TreatUnmatchedTokensAsErrors = false;
        run.SetAction((parseResult, ct) =>
        {
            var overrides = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
            if (parseResult.GetValue(deployment) is { } d) overrides["Keeper:Deployment"] = d;
            if (parseResult.GetValue(dryRun)) overrides["Keeper:DryRun"] = "true";
            if (parseResult.GetValue(noOracle)) overrides["Keeper:OracleEnabled"] = "false";
            if (parseResult.GetValue(rawKey)) overrides["Keeper:AllowRawKey"] = "true";
            string[] configArgs = [.. parseResult.UnmatchedTokens];
            return KeeperHost.RunAsync(configArgs, overrides, parseResult.GetValue(config), Console.Error, cancellationToken: ct);
        });
        return run;
    }
}
