using System.CommandLine;
using System.Globalization;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Keeper.Configuration;
using CrossMargin.Keeper.Hosting;
using CrossMargin.Keeper.Oracle;
using CrossMargin.Risk;
using Spectre.Console;

namespace CrossMargin.Keeper.Cli;

/// <summary>`crossmargin scan`: accounts by margin ratio at a block, most at risk first.</summary>
public static class ScanCommand
{
    internal static Option<string?> DeploymentOption() => new("--deployment") { Description = "Devnet deployment JSON (RPC URL, engine, hub, deployment block)." };
    internal static Option<string?> RpcOption() => new("--rpc") { Description = "JSON-RPC HTTP URL." };
    internal static Option<string?> EngineOption() => new("--engine") { Description = "CrossMarginEngine address." };
    internal static Option<string?> HubOption() => new("--hub") { Description = "OracleHub address." };
    internal static Option<ulong?> FromBlockOption() => new("--from-block") { Description = "Engine deployment block (log scan start)." };
    internal static Option<ulong?> BlockOption() => new("--block") { Description = "Block to read (default: latest)." };

    public static Command Create()
    {
        var deployment = DeploymentOption();
        var rpc = RpcOption();
        var engine = EngineOption();
        var hub = HubOption();
        var fromBlock = FromBlockOption();
        var block = BlockOption();
        var top = new Option<int>("--top") { Description = "Rows to show.", DefaultValueFactory = _ => 25 };
        var scan = new Command("scan", "Accounts by margin ratio (equity / maintenance margin) at a block, as a table.")
        {
            deployment, rpc, engine, hub, fromBlock, block, top,
        };
        scan.SetAction(async (p, ct) =>
        {
            int n = p.GetValue(top);
            if (n < 1)
            {
                await Console.Error.WriteLineAsync("--top must be at least 1.").ConfigureAwait(false);
                return CliApp.BadArguments;
            }
            ChainTarget target;
            try
            {
                target = ChainTarget.Resolve(p.GetValue(deployment), p.GetValue(rpc), p.GetValue(engine), p.GetValue(hub), p.GetValue(fromBlock));
            }
            catch (KeeperConfigurationException e)
            {
                foreach (string f in e.Failures) await Console.Error.WriteLineAsync(f).ConfigureAwait(false);
                return CliApp.BadArguments;
            }
            using var client = new JsonRpcClient(target.RpcUrl);
            var snapshot = await ChainSnapshot.LoadAsync(new EthClient(client), target, p.GetValue(block), ct).ConfigureAwait(false);
            Render(snapshot, n);
            return 0;
        });
        return scan;
    }

    private static void Render(ChainSnapshot s, int top)
    {
        RiskBook risk = s.Risk;
        var rows = s.Detector.Accounts().Where(a => risk.HealthOf(a.Id).MaintenanceMargin > UInt256.Zero || risk.HealthOf(a.Id).Equity.IsNegative)
            .OrderBy(a => risk.RatioOf(a.Id)).ToList();
        var table = new Table().Title($"block {s.Block}: {rows.Count} accounts with positions or negative equity, {rows.Count(r => risk.HealthOf(r.Id).IsLiquidatable)} liquidatable");
        table.AddColumn("Account");
        table.AddColumn("Status");
        table.AddColumn(new TableColumn("Margin ratio").RightAligned());
        table.AddColumn(new TableColumn("Equity (USD)").RightAligned());
        table.AddColumn(new TableColumn("Maint. margin (USD)").RightAligned());
        table.AddColumn(new TableColumn("Shortfall (USD)").RightAligned());
        foreach (var (account, id) in rows.Take(top))
        {
            Health h = risk.HealthOf(id);
            table.AddRow(account.ToString(), risk.StatusOf(id).ToString(), Ratio(risk.RatioOf(id)), Usd(h.Equity), Usd(h.MaintenanceMargin), Usd(h.MaintenanceShortfall));
        }
        AnsiConsole.Write(table);
    }

    internal static string Ratio(long ratio) =>
        ratio == long.MaxValue ? "∞" : ratio == -long.MaxValue ? "-∞" : (ratio / (decimal)Health.RatioScale).ToString("0.0000", CultureInfo.InvariantCulture);

    internal static string Usd(UInt256 wad) => WadDecimal.Format(wad, 2);

    internal static string Usd(Int256 wad) => wad.IsNegative ? "-" + WadDecimal.Format(RiskMath.Abs(wad), 2) : WadDecimal.Format(wad.Bits, 2);
}
