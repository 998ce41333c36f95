using CrossMargin.Keeper.Cli;
using CrossMargin.Keeper.Execution;
using CrossMargin.Keeper.Tests.Oracle;
using Microsoft.Data.Sqlite;

namespace CrossMargin.Keeper.Tests.Reporting;

[Collection(CrossMargin.Keeper.Tests.Cli.ConsoleCollection.Name)]
public sealed class ReportCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cm-report-cli-").FullName;
    private readonly ManualTimeProvider _time = new();
    private readonly StringWriter _out = new();
    private readonly StringWriter _err = new();

    private string PathOf(string name) => Path.Combine(_dir, name);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_dir, true);
        }
        catch (IOException)
        {
        }
    }

    private Task<int> Run(string journal, string output) => ReportCommand.RunAsync(journal, output, _out, _err, _time);

    [Fact]
    public async Task A_missing_journal_is_exit_code_2_with_a_message_and_creates_nothing()
    {
        Assert.Equal(CliApp.BadArguments, await Run(PathOf("nope.db"), PathOf("r.html")));
        Assert.Contains("nope.db' does not exist", _err.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(PathOf("nope.db")));
        Assert.False(File.Exists(PathOf("r.html")));
    }

    [Fact]
    public async Task A_directory_or_a_file_that_is_not_a_journal_is_exit_code_2()
    {
        Assert.Equal(CliApp.BadArguments, await Run(_dir, PathOf("r.html")));
        Assert.Contains("is a directory", _err.ToString(), StringComparison.Ordinal);

        File.WriteAllText(PathOf("notes.txt"), "these are not the rows you are looking for " + new string('.', 2000));
        Assert.Equal(CliApp.BadArguments, await Run(PathOf("notes.txt"), PathOf("r.html")));
        Assert.Contains("notes.txt", _err.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(PathOf("r.html")));
    }

    [Fact]
    public async Task An_output_in_a_missing_directory_is_exit_code_2()
    {
        using (TxJournal.Open(PathOf("j.db"), _time)) { }
        Assert.Equal(CliApp.BadArguments, await Run(PathOf("j.db"), Path.Combine(_dir, "missing", "r.html")));
        Assert.Contains("--out", _err.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_journal_gives_a_page_and_a_one_line_summary()
    {
        using (var j = TxJournal.Open(PathOf("j.db"), _time)) ReportScenario.Random(j, _time, 2, 30);
        Assert.Equal(0, await Run(PathOf("j.db"), PathOf("r.html")));
        Assert.StartsWith("<!DOCTYPE html>", File.ReadAllText(PathOf("r.html")), StringComparison.Ordinal);
        Assert.False(File.Exists(PathOf("r.html.tmp")));
        Assert.Contains("Wrote", _out.ToString(), StringComparison.Ordinal);
        Assert.Equal("", _err.ToString());
    }

    [Fact]
    public async Task The_cli_requires_the_journal_option_and_maps_a_bad_path_to_2()
    {
        Assert.Equal(CliApp.BadArguments, await CliApp.RunAsync(["report", "--out", PathOf("r.html")]));
        Assert.Equal(CliApp.BadArguments, await CliApp.RunAsync(["report", "--journal", PathOf("nope.db"), "--out", PathOf("r.html")]));
        using (TxJournal.Open(PathOf("j.db"), _time)) { }
        Assert.Equal(0, await CliApp.RunAsync(["report", "--journal", PathOf("j.db"), "--out", PathOf("r.html")]));
        Assert.True(File.Exists(PathOf("r.html")));
    }
}
