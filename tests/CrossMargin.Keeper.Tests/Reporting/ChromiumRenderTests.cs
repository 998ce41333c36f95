using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using CrossMargin.Keeper.Cli;
using CrossMargin.Keeper.Execution;
using CrossMargin.Keeper.Reporting;
using CrossMargin.Keeper.Tests.Oracle;
using Microsoft.Data.Sqlite;

namespace CrossMargin.Keeper.Tests.Reporting;

/// <summary>Headless Chromium (Debian's <c>chromium</c> package) for rendering the report and reading the DOM after its script ran.</summary>
internal static class HeadlessChromium
{
    public const string SkipVariable = "CROSSMARGIN_SKIP_BROWSER_TESTS";

    public static bool Skipped => Environment.GetEnvironmentVariable(SkipVariable) == "1";

    /// <summary>The browser binary: $CROSSMARGIN_CHROMIUM, /usr/bin/chromium, or chromium / chromium-browser on PATH.</summary>
    public static string? Find()
    {
        if (Environment.GetEnvironmentVariable("CROSSMARGIN_CHROMIUM") is { Length: > 0 } configured && File.Exists(configured)) return configured;
        if (File.Exists("/usr/bin/chromium")) return "/usr/bin/chromium";
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            foreach (string name in (string[])["chromium", "chromium-browser"])
                if (File.Exists(Path.Combine(dir, name))) return Path.Combine(dir, name);
        return null;
    }

    /// <summary>The browser, or a failed assertion that says how to install it.</summary>
    public static string Require() => Find() ?? throw new Xunit.Sdk.XunitException(
        "Headless Chromium is required for the report rendering tests but was not found (looked at $CROSSMARGIN_CHROMIUM, /usr/bin/chromium and PATH). " +
        $"Install it with `apt-get install -y chromium` (Debian/Ubuntu), or set {SkipVariable}=1 to skip browser tests.");

    /// <summary>Loads <paramref name="htmlFile"/> with networking disabled, lets its scripts run, and returns the serialised DOM.</summary>
    public static async Task<string> DumpDomAsync(string browser, string htmlFile, string profileDir)
    {
        var psi = new ProcessStartInfo(browser)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in (string[])
                 [
                     "--headless", "--disable-gpu", "--no-sandbox", "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions",
                     "--disable-background-networking", "--host-resolver-rules=MAP * ~NOTFOUND", "--window-size=1280,4000",
                     "--user-data-dir=" + profileDir, "--virtual-time-budget=5000", "--dump-dom", new Uri(htmlFile).AbsoluteUri,
                 ])
            psi.ArgumentList.Add(arg);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("chromium did not start");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("chromium did not finish within 2 minutes: " + await stderr);
        }
        string dom = await stdout;
        if (process.ExitCode != 0 || dom.Length == 0)
            throw new InvalidOperationException($"chromium exited with {process.ExitCode}: {await stderr}");
        return dom;
    }
}

public sealed partial class ChromiumRenderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cm-chromium-").FullName;
    private readonly ManualTimeProvider _time = new();

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

    /// <summary>The start tag of the element with <paramref name="id"/> in Chromium's serialisation.</summary>
    private static string Tag(string dom, string id)
    {
        var matches = Regex.Matches(dom, "<[a-zA-Z][^<>]*\\sid=\"" + Regex.Escape(id) + "\"[^<>]*>");
        Assert.True(matches.Count == 1, $"expected one element with id '{id}' in the rendered DOM, found {matches.Count}");
        return matches[0].Value;
    }

    private static string? Attr(string tag, string name)
    {
        var m = Regex.Match(tag, "\\s" + Regex.Escape(name) + "=\"([^\"]*)\"");
        return m.Success ? m.Groups[1].Value : null;
    }

    private static long NearestRank(List<long> samples, int percent)
    {
        var sorted = samples.Order().ToList();
        return sorted[(int)Math.Ceiling(percent / 100.0 * sorted.Count) - 1];
    }

    [Fact]
    public async Task The_report_renders_in_headless_chromium_with_the_journal_numbers()
    {
        if (HeadlessChromium.Skipped) return;
        string browser = HeadlessChromium.Require();

        string journal = Path.Combine(_dir, "journal.db");
        ReportScenario s;
        using (var j = TxJournal.Open(journal, _time)) s = ReportScenario.Random(j, _time, 21, 250);
        string html = Path.Combine(_dir, "report.html");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.Equal(0, await ReportCommand.RunAsync(journal, html, stdout, stderr, _time));

        string dom = await HeadlessChromium.DumpDomAsync(browser, html, Path.Combine(_dir, "profile"));

        // the page script ran and every chart was laid out with a width
        string root = Regex.Match(dom, "<html[^>]*>").Value;
        Assert.Equal("true", Attr(root, "data-report-ready"));
        string charts = HtmlReportWriterTests.ChartIds.Length.ToString(CultureInfo.InvariantCulture);
        Assert.Equal(charts, Attr(root, "data-charts"));
        Assert.Equal(charts, Attr(root, "data-charts-rendered"));
        foreach (string id in HtmlReportWriterTests.ChartIds)
        {
            string svg = Tag(dom, id);
            Assert.True(int.Parse(Attr(svg, "data-rendered-width")!, CultureInfo.InvariantCulture) > 300, $"{id} rendered too narrow: {svg}");
            Assert.Equal(Attr(svg, "data-marks"), Attr(svg, "data-rendered-marks"));
        }

        // numbers computed from the journal inputs
        string V(string id) => Attr(Tag(dom, id), "data-value")!;
        Assert.Equal(s.Intents.ToString(CultureInfo.InvariantCulture), V("summary-intents"));
        Assert.Equal(s.StatesByKind.Values.Sum(x => x.GetValueOrDefault(IntentState.Included)).ToString(CultureInfo.InvariantCulture), V("summary-included"));
        Assert.Equal(s.StatesByKind.Values.Sum(x => x.GetValueOrDefault(IntentState.Reverted)).ToString(CultureInfo.InvariantCulture), V("summary-reverted"));
        Assert.Equal(s.GasUsed.ToString(CultureInfo.InvariantCulture), V("summary-gas-used"));
        Assert.Equal(s.FeesWei.ToString(CultureInfo.InvariantCulture), V("summary-fees-paid"));
        Assert.Equal(s.RewardsExpectedWei.ToString(CultureInfo.InvariantCulture), V("summary-rewards-expected"));
        Assert.Equal(NearestRank(s.DetectionToSend, 50).ToString(CultureInfo.InvariantCulture), V("latency-detection-to-send-p50"));
        Assert.Equal(NearestRank(s.DetectionToSend, 90).ToString(CultureInfo.InvariantCulture), V("latency-detection-to-send-p90"));
        Assert.Equal(NearestRank(s.SendToInclusion, 50).ToString(CultureInfo.InvariantCulture), V("latency-send-to-inclusion-p50"));
        Assert.Equal(NearestRank(s.SendToInclusion, 99).ToString(CultureInfo.InvariantCulture), V("latency-send-to-inclusion-p99"));

        // the visible text of a card is what a person reads
        Assert.Matches("id=\"summary-intents\"[^<>]*><div class=\"label\">Intents</div><div class=\"value\">" + s.Intents.ToString(CultureInfo.InvariantCulture) + "</div>", dom);
        Assert.Contains("Wrote", stdout.ToString(), StringComparison.Ordinal);
    }
}
