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
    /// <summary>The options that say which chain and block `scan` and `simulate` read, and the loading they share.</summary>
    internal sealed class SnapshotOptions
    {
        public Option<string?> Deployment { get; } = new("--deployment") { Description = "Devnet deployment JSON (RPC URL, engine, hub, deployment block)." };
        public Option<string?> Rpc { get; } = new("--rpc") { Description = "JSON-RPC HTTP URL." };
        public Option<string?> Engine { get; } = new("--engine") { Description = "CrossMarginEngine address." };
        public Option<string?> Hub { get; } = new("--hub") { Description = "OracleHub address." };
        public Option<ulong?> FromBlock { get; } = new("--from-block") { Description = "Engine deployment block (log scan start)." };
        public Option<ulong?> Block { get; } = new("--block") { Description = "Block to read (default: latest)." };

        public void AddTo(Command command)
        {
            command.Options.Add(Deployment);
            command.Options.Add(Rpc);
            command.Options.Add(Engine);
            command.Options.Add(Hub);
            command.Options.Add(FromBlock);
            command.Options.Add(Block);
        }

        /// <summary>Resolves the target and loads the snapshot; null after printing configuration errors (exit 2).</summary>
        public async Task<ChainSnapshot?> TryLoadAsync(ParseResult p, CancellationToken ct)
        {
            ChainTarget target;
            try
            {
                target = ChainTarget.Resolve(p.GetValue(Deployment), p.GetValue(Rpc), p.GetValue(Engine), p.GetValue(Hub), p.GetValue(FromBlock));
            }
            catch (KeeperConfigurationException e)
            {
                foreach (string f in e.Failures) await Console.Error.WriteLineAsync(f).ConfigureAwait(false);
                return null;
            }
            using var client = new JsonRpcClient(target.RpcUrl);
            return await ChainSnapshot.LoadAsync(new EthClient(client), target, p.GetValue(Block), ct).ConfigureAwait(false);
        }
    }

    public static Command Create()
    {
        var chain = new SnapshotOptions();
        var top = new Option<int>("--top") { Description = "Rows to show.", DefaultValueFactory = _ => 25 };
        var scan = new Command("scan", "Accounts by margin ratio (equity / maintenance margin) at a block, as a table.") { top };
        chain.AddTo(scan);
        scan.SetAction(async (p, ct) =>
        {
            int n = p.GetValue(top);
            if (n < 1)
            {
                await Console.Error.WriteLineAsync("--top must be at least 1.").ConfigureAwait(false);
                return CliApp.BadArguments;
            }
            var snapshot = await chain.TryLoadAsync(p, ct).ConfigureAwait(false);
            if (snapshot is null) return CliApp.BadArguments;
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
