using System.CommandLine;
using CrossMargin.Keeper.Execution;
using CrossMargin.Keeper.Reporting;

namespace CrossMargin.Keeper.Cli;

/// <summary>`crossmargin report --journal keeper.db --out report.html`: one self-contained HTML page from a journal.</summary>
public static class ReportCommand
{
    public static Command Create()
    {
        var journal = new Option<string>("--journal") { Description = "The keeper's transaction journal (SQLite), opened read-only.", Required = true };
        var output = new Option<string>("--out") { Description = "The HTML file to write.", DefaultValueFactory = _ => "report.html" };
        var report = new Command("report", "Write an HTML report (latencies, gas and fees, liquidations won and lost, oracle deviation) from a journal.")
        {
            journal, output,
        };
        report.SetAction((p, ct) => RunAsync(p.GetValue(journal)!, p.GetValue(output)!, Console.Out, Console.Error, TimeProvider.System));
        return report;
    }

    /// <summary>Builds and writes the report; 0 on success, <see cref="CliApp.BadArguments"/> for a bad journal or output path, 1 when writing fails.</summary>
    internal static async Task<int> RunAsync(string journalPath, string outputPath, TextWriter stdout, TextWriter stderr, TimeProvider time)
    {
        if (string.IsNullOrWhiteSpace(journalPath))
        {
            await stderr.WriteLineAsync("--journal: a journal file is required.").ConfigureAwait(false);
            return CliApp.BadArguments;
        }
        if (!File.Exists(journalPath))
        {
            string what = Directory.Exists(journalPath) ? "is a directory, not a journal file" : "does not exist";
            await stderr.WriteLineAsync($"--journal: '{journalPath}' {what}.").ConfigureAwait(false);
            return CliApp.BadArguments;
        }
        string? outDir = string.IsNullOrWhiteSpace(outputPath) ? null : Path.GetDirectoryName(Path.GetFullPath(outputPath));
        if (outDir is null || !Directory.Exists(outDir) || Directory.Exists(outputPath))
        {
            await stderr.WriteLineAsync($"--out: '{outputPath}' is not a file path in an existing directory.").ConfigureAwait(false);
            return CliApp.BadArguments;
        }

        KeeperReport report;
        try
        {
            report = ReportBuilder.BuildFromFile(journalPath, time.GetUtcNow());
        }
        catch (TxJournalException e)
        {
            await stderr.WriteLineAsync($"--journal: {e.Message}").ConfigureAwait(false);
            return CliApp.BadArguments;
        }
        try
        {
            HtmlReportWriter.WriteFile(report, outputPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await stderr.WriteLineAsync($"--out: cannot write '{outputPath}': {e.Message}").ConfigureAwait(false);
            return 1;
        }
        var s = report.Summary;
        await stdout.WriteLineAsync(
            $"Wrote {outputPath}: {s.Intents} intents ({s.Included} included, {s.Reverted} reverted), {s.MinedTransactions} mined transactions, " +
            $"gas used {s.GasUsedTotal}, fees paid {HtmlReportWriter.Eth(s.FeesPaidTotalWei)} ETH, rewards expected {HtmlReportWriter.Eth(s.RewardsExpectedWei)} ETH.").ConfigureAwait(false);
        return 0;
    }
}
