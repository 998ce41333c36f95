using System.Text.RegularExpressions;
using System.Xml;
using System.Xml.Linq;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Execution;
using CrossMargin.Keeper.Reporting;
using CrossMargin.Keeper.Tests.Oracle;
using Microsoft.Data.Sqlite;

namespace CrossMargin.Keeper.Tests.Reporting;

public sealed partial class HtmlReportWriterTests : IDisposable
{
    /// <summary>The charts every report has, empty or not.</summary>
    public static readonly string[] ChartIds =
    [
        "chart-detection-to-send", "chart-send-to-inclusion", "chart-gas", "chart-fees", "chart-fees-cumulative",
        "chart-liquidations-per-block", "chart-won-lost", "chart-oracle-deviation",
    ];

    private readonly string _dir = Directory.CreateTempSubdirectory("cm-html-").FullName;
    private readonly ManualTimeProvider _time = new();

    private string PathOf(string name = "journal.db") => Path.Combine(_dir, name);

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

    internal static XDocument ParseXml(string html)
    {
        var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore, XmlResolver = null };
        using var reader = XmlReader.Create(new StringReader(html), settings);
        return XDocument.Load(reader);
    }

    private static XElement ById(XDocument doc, string id) => Assert.Single(doc.Descendants(), e => (string?)e.Attribute("id") == id);

    private (ReportScenario Scenario, KeeperReport Report) Seeded(int seed, int intents)
    {
        ReportScenario s;
        using (var j = TxJournal.Open(PathOf(), _time)) s = ReportScenario.Random(j, _time, seed, intents);
        return (s, ReportBuilder.BuildFromFile(PathOf(), _time.GetUtcNow()));
    }

    [Fact]
    public void The_page_is_well_formed_xml_with_unique_ids_and_every_chart()
    {
        var (s, report) = Seeded(3, 200);
        string html = HtmlReportWriter.Render(report);
        Assert.StartsWith("<!DOCTYPE html>", html, StringComparison.Ordinal);
        var doc = ParseXml(html);
        Assert.Equal("html", doc.Root!.Name.LocalName);
        var ids = doc.Descendants().Select(e => (string?)e.Attribute("id")).Where(i => i is not null).ToList();
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(ChartIds.Order(StringComparer.Ordinal), doc.Descendants("svg").Select(e => (string)e.Attribute("id")!).Order(StringComparer.Ordinal));
        foreach (string id in ChartIds)
        {
            var svg = ById(doc, id);
            int marks = svg.Descendants().Count(e => ((string?)e.Attribute("class"))?.Split(' ').Contains("mark") == true);
            Assert.Equal(marks, (int)svg.Attribute("data-marks")!);
            Assert.True(marks > 0, $"{id} has no marks");
        }
        // one point per mined transaction in the gas chart, one bar per non-empty histogram bin
        Assert.Equal(s.Mined, (int)ById(doc, "chart-gas").Attribute("data-marks")!);
        Assert.Equal(report.DetectionToSend.Histogram().Count(b => b.Count > 0), (int)ById(doc, "chart-detection-to-send").Attribute("data-marks")!);
        Assert.Equal(report.DetectionToSend.Count,
            ById(doc, "chart-detection-to-send").Descendants("rect").Where(r => r.Attribute("data-count") is not null).Sum(r => (int)r.Attribute("data-count")!));
    }

    [Fact]
    public void Summary_and_latency_values_are_exact_in_data_attributes()
    {
        var (s, report) = Seeded(5, 150);
        var doc = ParseXml(HtmlReportWriter.Render(report));
        string Value(string id) => (string)ById(doc, id).Attribute("data-value")!;
        Assert.Equal(s.Intents.ToString(), Value("summary-intents"));
        Assert.Equal(s.StatesByKind.Values.Sum(x => x.GetValueOrDefault(IntentState.Included)).ToString(), Value("summary-included"));
        Assert.Equal(s.StatesByKind.Values.Sum(x => x.GetValueOrDefault(IntentState.Reverted)).ToString(), Value("summary-reverted"));
        Assert.Equal(s.GasUsed.ToString(), Value("summary-gas-used"));
        Assert.Equal(s.FeesWei.ToString(), Value("summary-fees-paid"));
        Assert.Equal(s.RewardsExpectedWei.ToString(), Value("summary-rewards-expected"));
        Assert.Equal(s.RewardsRealisedWei.ToString(), Value("summary-rewards-realised"));
        Assert.Equal(s.AccountsLost.ToString(), Value("summary-accounts-lost"));
        Assert.Equal(report.DetectionToSend.P50.ToString(), Value("latency-detection-to-send-p50"));
        Assert.Equal(report.SendToInclusion.P99.ToString(), Value("latency-send-to-inclusion-p99"));
        Assert.Equal(s.DetectionToSend.Count.ToString(), Value("latency-detection-to-send-count"));
        Assert.Equal(s.StatesByKind["liquidation"].GetValueOrDefault(IntentState.Dropped).ToString(), Value("outcome-liquidation-dropped"));
        // the displayed fee is the exact total in ETH, truncated to 6 decimals
        string eth = (string)ById(doc, "summary-fees-paid").Elements().Single(e => (string?)e.Attribute("class") == "value");
        Assert.Equal(HtmlReportWriter.Units(UInt256.Parse(s.FeesWei.ToString()), 18, 6) + " ETH", eth);
    }

    [Fact]
    public void The_page_fetches_nothing()
    {
        var (_, report) = Seeded(9, 60);
        string html = HtmlReportWriter.Render(report);
        Assert.DoesNotMatch(ExternalReference(), html);
        var doc = ParseXml(html);
        Assert.DoesNotContain(doc.Descendants(), e => e.Name.LocalName is "link" or "img" or "iframe" or "object" or "embed" or "image" or "use");
        Assert.All(doc.Descendants("script"), e => Assert.Null(e.Attribute("src")));
    }

    [GeneratedRegex(@"(?i)\b(src|href|xlink:href|action)\s*=|url\s*\(|@import|https?:|//[a-z0-9.-]+\.[a-z]{2,}/")]
    private static partial Regex ExternalReference();

    [Fact]
    public void Non_void_html_elements_are_never_self_closed()
    {
        var (_, report) = Seeded(11, 20);
        string html = HtmlReportWriter.Render(report);
        var selfClosed = SelfClosed().Matches(html).Select(m => m.Groups[1].Value).Distinct().ToList();
        Assert.All(selfClosed, name => Assert.Contains(name, (string[])["meta", "rect", "circle", "line", "polyline"]));
    }

    [GeneratedRegex(@"<([a-zA-Z][\w-]*)\b[^<>]*/>")]
    private static partial Regex SelfClosed();

    [Fact]
    public void Text_from_the_journal_is_escaped()
    {
        const string asset = "<script>alert('x')</script>&\"";
        using (var j = TxJournal.Open(PathOf(), _time))
        {
            j.RecordObservation(ObservationKinds.OracleDeviationBps, asset, 4.5, 7);
            j.RecordObservation("custom<kind>", "k", 1.0);
        }
        string html = HtmlReportWriter.Render(ReportBuilder.BuildFromFile(PathOf(), _time.GetUtcNow()));
        Assert.DoesNotContain("<script>alert", html, StringComparison.Ordinal);
        var doc = ParseXml(html);
        Assert.Single(doc.Descendants("script"));
        Assert.Contains(doc.Descendants("tr"), e => (string?)e.Attribute("data-asset") == asset);
        Assert.Contains(doc.Descendants("th"), e => e.Value == "custom<kind>");
    }

    [Fact]
    public void An_empty_journal_renders_every_chart_as_no_data()
    {
        using (TxJournal.Open(PathOf(), _time)) { }
        var doc = ParseXml(HtmlReportWriter.Render(ReportBuilder.BuildFromFile(PathOf(), _time.GetUtcNow())));
        foreach (string id in ChartIds.Where(i => i != "chart-won-lost"))
        {
            var svg = ById(doc, id);
            Assert.Equal("0", (string)svg.Attribute("data-marks")!);
            Assert.Contains(svg.Descendants("text"), t => t.Value == "no data");
        }
        Assert.Equal("0", (string)ById(doc, "summary-fees-paid").Attribute("data-value")!);
        Assert.Equal("", (string)ById(doc, "latency-detection-to-send-p50").Attribute("data-value")!);
    }

    [Fact]
    public void Units_truncate_and_group()
    {
        Assert.Equal("0.000000", HtmlReportWriter.Units(UInt256.Zero, 18, 6));
        Assert.Equal("1,234.567890", HtmlReportWriter.Units(UInt256.Parse("1234567890123456789012"), 18, 6));
        Assert.Equal("25.000", HtmlReportWriter.Units(25_000_000_000UL, 9, 3));
        Assert.Equal("eth-usd", HtmlReportWriter.Slug("ETH/USD"));
        Assert.Equal("x", HtmlReportWriter.Slug("//"));
    }
}
