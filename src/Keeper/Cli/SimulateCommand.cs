using System.CommandLine;
using System.Globalization;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Keeper.Configuration;
using CrossMargin.Keeper.Hosting;
using CrossMargin.Risk;
using Spectre.Console;

namespace CrossMargin.Keeper.Cli;

/// <summary>`crossmargin simulate --shock ETH=-20%`: what-if on the risk book at a block.</summary>
public static class SimulateCommand
{
    public static Command Create()
    {
        var chain = new ScanCommand.SnapshotOptions();
        var shock = new Option<string[]>("--shock") { Description = "Price shock per oracle, e.g. ETH=-20% (repeatable).", Required = true, AllowMultipleArgumentsPerToken = true };
        var top = new Option<int>("--top") { Description = "Rows to show.", DefaultValueFactory = _ => 25 };
        var simulate = new Command("simulate", "What-if: the accounts that become liquidatable after price shocks, with their shortfall.")
        { shock, top };
        chain.AddTo(simulate);
        simulate.SetAction(async (p, ct) =>
        {
            var shocks = new List<(string Oracle, int Bps)>();
            foreach (string text in p.GetValue(shock) ?? [])
            {
                if (TryParseShock(text, out var parsed)) shocks.Add(parsed);
                else
                {
                    await Console.Error.WriteLineAsync($"--shock: '{text}' is not ORACLE=±N% with N% > -100% (e.g. ETH=-20%).").ConfigureAwait(false);
                    return CliApp.BadArguments;
                }
            }
            var snapshot = await chain.TryLoadAsync(p, ct).ConfigureAwait(false);
            if (snapshot is null) return CliApp.BadArguments;
            var slots = new List<(int Slot, int Bps)>();
            foreach (var (oracle, bps) in shocks)
            {
                if (snapshot.SlotOf(oracle) is not { } slot)
                {
                    await Console.Error.WriteLineAsync($"--shock: unknown oracle '{oracle}'.").ConfigureAwait(false);
                    return CliApp.BadArguments;
                }
                slots.Add((slot, bps));
            }
            List<ShockHit> hits = snapshot.Risk.Shock([.. slots]);
            hits.Sort((a, b) => b.Shortfall.CompareTo(a.Shortfall));
            UInt256 total = UInt256.Zero;
            foreach (var h in hits) total = checked(total + h.Shortfall);
            var table = new Table().Title($"block {snapshot.Block}, shock {string.Join(", ", p.GetValue(shock) ?? [])}: {hits.Count} accounts become liquidatable, total shortfall {ScanCommand.Usd(total)} USD");
            table.AddColumn("Account");
            table.AddColumn("Status");
            table.AddColumn(new TableColumn("Equity (USD)").RightAligned());
            table.AddColumn(new TableColumn("Maint. margin (USD)").RightAligned());
            table.AddColumn(new TableColumn("Shortfall (USD)").RightAligned());
            foreach (var h in hits.Take(p.GetValue(top)))
            {
                table.AddRow(snapshot.Detector.AddressOf(h.AccountId).ToString(), h.Health.Status.ToString(), ScanCommand.Usd(h.Health.Equity),
                    ScanCommand.Usd(h.Health.MaintenanceMargin), ScanCommand.Usd(h.Shortfall));
            }
            AnsiConsole.Write(table);
            return 0;
        });
        return simulate;
    }

    /// <summary>Parses "ETH=-20%" (or "ETH=-20", "ETH=-12.5%") into the oracle name and basis points (&gt; −10000).</summary>
    public static bool TryParseShock(string text, out (string Oracle, int Bps) shock)
    {
        shock = default;
        if (string.IsNullOrWhiteSpace(text)) return false;
        int eq = text.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0) return false;
        string oracle = text[..eq].Trim();
        string value = text[(eq + 1)..].Trim().TrimEnd('%');
        if (oracle.Length == 0 || !decimal.TryParse(value, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal pct)) return false;
        decimal bps = pct * 100m;
        if (bps != decimal.Truncate(bps) || bps <= -10_000m || bps > 1_000_000m) return false;
        shock = (oracle, (int)bps);
        return true;
    }
}
