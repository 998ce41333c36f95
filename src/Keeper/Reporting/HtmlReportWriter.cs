using System.Globalization;
using System.Numerics;
using System.Text;
using System.Xml;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Execution;

namespace CrossMargin.Keeper.Reporting;

/// <summary>
/// Renders a <see cref="KeeperReport"/> as one self-contained HTML page: inline CSS, inline SVG charts and a small inline
/// script (hover read-outs, legend toggles). Nothing is fetched from anywhere. The output is also well-formed XML.
/// Values a reader or a test may want are on elements with ids and <c>data-value</c> attributes (exact integers).
/// </summary>
public static class HtmlReportWriter
{
    /// <summary>Mined transactions listed in the table (the most recent).</summary>
    public const int TransactionTableRows = 100;

    /// <summary>The page as a string.</summary>
    public static string Render(KeeperReport report)
    {
        var sb = new StringBuilder(64 * 1024);
        using (var sw = new StringWriter(sb, CultureInfo.InvariantCulture)) Write(report, sw);
        return sb.ToString();
    }

    /// <summary>Writes the page to <paramref name="path"/> (through a temporary file, replaced at the end).</summary>
    public static void WriteFile(KeeperReport report, string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string full = Path.GetFullPath(path);
        string temp = full + ".tmp";
        using (var writer = new StreamWriter(temp, false, new UTF8Encoding(false))) Write(report, writer);
        File.Move(temp, full, overwrite: true);
    }

    /// <summary>Writes the page to <paramref name="output"/>.</summary>
    public static void Write(KeeperReport report, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(output);
        var settings = new XmlWriterSettings { OmitXmlDeclaration = true, Indent = false, NewLineHandling = NewLineHandling.None, CloseOutput = false };
        using var w = XmlWriter.Create(output, settings);
        w.WriteRaw("<!DOCTYPE html>\n");
        var h = new Html(w);
        h.Open("html", ("lang", "en"), ("data-report-ready", "false"));
        h.Open("head");
        h.Void("meta", ("charset", "utf-8"));
        h.Void("meta", ("name", "viewport"), ("content", "width=device-width, initial-scale=1"));
        h.Text("title", "CrossMargin keeper report");
        h.Open("style");
        w.WriteRaw(Css);
        h.Close();
        h.Close();
        h.Open("body");

        Header(h, report);
        Summary(h, report);
        Latency(h, report);
        GasAndFees(h, report);
        Liquidations(h, report);
        Outcomes(h, report);
        Oracle(h, report);
        Observations(h, report);
        Transactions(h, report);

        h.Open("script");
        w.WriteRaw("//<![CDATA[\n" + Script + "\n//]]>");
        h.Close();
        h.Close();
        h.Close();
        w.WriteEndDocument();
    }

    // ------------------------------------------------------------------ sections

    private static void Header(Html h, KeeperReport r)
    {
        h.Open("header");
        h.Text("h1", "CrossMargin keeper report");
        h.Open("p", ("class", "meta"));
        h.Text("span", $"Journal {Path.GetFileName(r.JournalPath)} (schema v{Int(r.SchemaVersion)})", ("id", "journal"), ("title", r.JournalPath));
        h.Text("span", " · generated " + Time(r.GeneratedAt));
        var s = r.Summary;
        if (s.From is { } from && s.To is { } to) h.Text("span", $" · covering {Time(from)} to {Time(to)}", ("id", "period"));
        if (s.FirstBlock is { } fb && s.LastBlock is { } lb)
            h.Text("span", $" · blocks {Int(fb)} to {Int(lb)}", ("id", "blocks-range"), ("data-first", Int(fb)), ("data-last", Int(lb)));
        h.Close();
        h.Close();
    }

    private static void Summary(Html h, KeeperReport r)
    {
        var s = r.Summary;
        h.Open("section", ("id", "summary"));
        h.Text("h2", "Summary");
        h.Open("div", ("class", "cards"));
        Card(h, "summary-intents", "Intents", s.Intents, $"{Int(s.LiquidationIntents)} liquidations, {Int(s.Intents - s.LiquidationIntents)} other");
        Card(h, "summary-liquidation-intents", "Liquidation intents", s.LiquidationIntents, null);
        Card(h, "summary-included", "Included", s.Included, "mined and succeeded (every kind)");
        Card(h, "summary-reverted", "Reverted", s.Reverted, "mined and reverted (every kind)");
        Card(h, "summary-attempts", "Transactions signed", s.Attempts, $"{Int(s.MinedTransactions)} mined");
        Card(h, "summary-mined", "Transactions mined", s.MinedTransactions, null);
        Card(h, "summary-gas-used", "Gas used", s.GasUsedTotal, Group(s.GasUsedTotal), "sum over mined transactions");
        WeiCard(h, "summary-fees-paid", "Fees paid", s.FeesPaidTotalWei, Group(s.FeesPaidTotalWei) + " wei");
        WeiCard(h, "summary-rewards-expected", "Rewards expected", s.RewardsExpectedWei, "all liquidation intents, " + Group(s.RewardsExpectedWei) + " wei");
        WeiCard(h, "summary-rewards-expected-included", "Rewards expected, included", s.RewardsExpectedIncludedWei, "included liquidation intents, " + Group(s.RewardsExpectedIncludedWei) + " wei");
        WeiCard(h, "summary-rewards-realised", "Rewards realised", s.RewardsRealisedWei, "reward observations, " + Group(s.RewardsRealisedWei) + " wei");
        Card(h, "summary-accounts-won", "Accounts liquidated", s.AccountsWon, $"accounts targeted by included intents; {Int(s.AccountsWonObserved)} observed");
        Card(h, "summary-accounts-lost", "Accounts lost to others", s.AccountsLost, "observations");
        h.Close();
        h.Close();
    }

    private static void Latency(Html h, KeeperReport r)
    {
        h.Open("section", ("id", "latency"));
        h.Text("h2", "Latency (liquidation intents)");
        h.Open("table", ("class", "stats"));
        h.Open("thead");
        h.Open("tr");
        foreach (string c in (string[])["", "count", "min", "p50", "p90", "p99", "max", "mean"]) h.Text("th", c);
        h.Close();
        h.Close();
        h.Open("tbody");
        StatsRow(h, "detection-to-send", "Detection to send (ms)", r.DetectionToSend);
        StatsRow(h, "send-to-inclusion", "Send to inclusion (ms)", r.SendToInclusion);
        StatsRow(h, "blocks-to-inclusion", "Detection block to inclusion block", r.BlocksToInclusion);
        h.Close();
        h.Close();
        h.Open("div", ("class", "grid"));
        Figure(h, "Detection to send", HistogramPlot("chart-detection-to-send", "Detection to send, ms", r.DetectionToSend, "ms"));
        Figure(h, "Send to inclusion", HistogramPlot("chart-send-to-inclusion", "Send to inclusion, ms", r.SendToInclusion, "ms"));
        h.Close();
        h.Close();
    }

    private static void GasAndFees(Html h, KeeperReport r)
    {
        var txs = r.MinedTransactions;
        string[] kinds = [.. txs.Select(KindOf).Distinct(StringComparer.Ordinal)
            .OrderBy(k => k == ReportBuilder.LiquidationKind ? 0 : 1).ThenBy(k => k, StringComparer.Ordinal)];
        var legend = kinds.Select((k, i) => (Slug(k), "s" + Int(i % 8), k)).ToList();
        string Css(MinedTransaction t) => "s" + Int(Array.IndexOf(kinds, KindOf(t)) % 8);
        (double lo, double hi) = txs.Count == 0 ? (0d, 1d) : (txs[0].Block - 0.5, txs[^1].Block + 0.5);

        double maxGas = txs.Count == 0 ? 0 : txs.Max(t => (double)t.GasUsed);
        var gas = new SvgPlot("chart-gas", "Gas used per mined transaction", lo, hi, 0, SvgPlot.NiceMax(maxGas))
        {
            XLabel = "block", YLabel = "gas used", IntegerX = true, Legend = legend, XFormat = BlockLabel, YFormat = Compact,
        };
        double maxFee = txs.Count == 0 ? 0 : txs.Max(t => EthDouble(t.FeeWei));
        var fee = new SvgPlot("chart-fees", "Fee paid per mined transaction (ETH)", lo, hi, 0, SvgPlot.NiceMax(maxFee))
        {
            XLabel = "block", YLabel = "fee (ETH)", IntegerX = true, Legend = legend, XFormat = BlockLabel, YFormat = Compact,
        };
        foreach (var t in txs)
        {
            string label = $"block {Int(t.Block)} · {KindOf(t)} {t.AttemptKind} {t.State} · gas {Group(t.GasUsed)} · fee {Eth(t.FeeWei)} · {Gwei(t.EffectiveGasPrice)} gwei · {t.Hash}";
            (string, string)[] data = [("block", Int(t.Block)), ("gas", Int(t.GasUsed)), ("fee-wei", t.FeeWei.ToString()), ("hash", t.Hash.ToString())];
            gas.Point(Slug(KindOf(t)), t.Block, t.GasUsed, Css(t), label, data);
            fee.Point(Slug(KindOf(t)), t.Block, EthDouble(t.FeeWei), Css(t), label, data);
        }

        // cumulative fees by block
        var cumulative = new List<(ulong Block, UInt256 Wei)>();
        UInt256 running = UInt256.Zero;
        foreach (var g in txs.GroupBy(t => t.Block))
        {
            foreach (var t in g) running = checked(running + t.FeeWei);
            cumulative.Add((g.Key, running));
        }
        var cum = new SvgPlot("chart-fees-cumulative", "Cumulative fees paid (ETH)", lo, hi, 0, SvgPlot.NiceMax(EthDouble(running)))
        {
            XLabel = "block", YLabel = "fees (ETH)", IntegerX = true, XFormat = BlockLabel, YFormat = Compact,
        };
        if (cumulative.Count > 0) cum.Line(null, [.. cumulative.Select(c => ((double)c.Block, EthDouble(c.Wei)))], "s0");
        foreach (var (block, wei) in cumulative)
            cum.Point(null, block, EthDouble(wei), "s0", $"block {Int(block)} · cumulative fees {Eth(wei)} ETH", ("block", Int(block)), ("cumulative-wei", wei.ToString()));

        h.Open("section", ("id", "gas"));
        h.Text("h2", "Gas and fees");
        h.Open("div", ("class", "grid"));
        Figure(h, "Gas used per mined transaction", gas);
        Figure(h, "Fee paid per mined transaction", fee);
        Figure(h, "Cumulative fees paid", cum);
        h.Close();
        h.Close();
    }

    private static void Liquidations(Html h, KeeperReport r)
    {
        var blocks = r.Blocks.Where(b => b.AccountsWon + b.AccountsLost > 0).ToList();
        (double lo, double hi) = blocks.Count == 0 ? (0d, 1d) : (blocks[0].Block - 0.5, blocks[^1].Block + 0.5);
        int max = blocks.Count == 0 ? 0 : blocks.Max(b => b.AccountsWon + b.AccountsLost);
        var plot = new SvgPlot("chart-liquidations-per-block", "Accounts liquidated per block: won and lost to others", lo, hi, 0, SvgPlot.NiceMax(max))
        {
            XLabel = "block", YLabel = "accounts", IntegerX = true, XFormat = BlockLabel,
            Legend = [("won", "won", "won (ours)"), ("lost", "lost", "lost to others")],
        };
        foreach (var b in blocks)
        {
            if (b.AccountsWon > 0)
                plot.SeriesBar("won", b.Block - 0.4, b.Block + 0.4, 0, b.AccountsWon, "won", $"block {Int(b.Block)} · won {Int(b.AccountsWon)}",
                    ("block", Int(b.Block)), ("won", Int(b.AccountsWon)));
            if (b.AccountsLost > 0)
                plot.SeriesBar("lost", b.Block - 0.4, b.Block + 0.4, b.AccountsWon, b.AccountsWon + b.AccountsLost, "lost",
                    $"block {Int(b.Block)} · lost to others {Int(b.AccountsLost)}", ("block", Int(b.Block)), ("lost", Int(b.AccountsLost)));
        }
        h.Open("section", ("id", "liquidations"));
        h.Text("h2", "Liquidations per block");
        h.Open("div", ("class", "grid"));
        Figure(h, "Accounts liquidated per block", plot);
        h.Close();
        h.Close();
    }

    private static void Outcomes(Html h, KeeperReport r)
    {
        var o = r.Outcomes;
        (string Id, string Label, int Count, string Css)[] categories =
        [
            ("won", "won", o.Won, "won"),
            ("reverted", "reverted", o.Reverted, "lost"),
            ("cancelled", "cancelled", o.Cancelled, "lost"),
            ("dropped", "dropped", o.Dropped, "lost"),
            ("skipped", "skipped", o.Skipped, "neutral"),
            ("failed", "failed", o.Failed, "neutral"),
            ("open", "open", o.Open, "neutral"),
            ("lost-to-others", "lost (accts)", o.LostToOthers, "lost"),
        ];
        var plot = new SvgPlot("chart-won-lost", "Liquidation intents by outcome; accounts lost to other liquidators", 0, categories.Length, 0,
            SvgPlot.NiceMax(categories.Max(c => c.Count)))
        {
            YLabel = "count", CategoryTicks = [.. categories.Select((c, i) => (i + 0.5, c.Label))],
        };
        for (int i = 0; i < categories.Length; i++)
        {
            var c = categories[i];
            if (c.Count > 0)
                plot.Bar(i + 0.15, i + 0.85, 0, c.Count, c.Css, $"{c.Label}: {Int(c.Count)}", ("category", c.Id), ("count", Int(c.Count)));
        }

        h.Open("section", ("id", "outcomes"));
        h.Text("h2", "Won and lost");
        h.Open("div", ("class", "grid"));
        Figure(h, "Liquidation outcomes", plot);
        h.Open("table", ("class", "stats"), ("id", "outcomes-by-kind"));
        h.Open("thead");
        h.Open("tr");
        h.Text("th", "state");
        foreach (var (kind, _) in o.ByKind) h.Text("th", kind);
        h.Close();
        h.Close();
        h.Open("tbody");
        foreach (IntentState state in Enum.GetValues<IntentState>())
        {
            h.Open("tr");
            h.Text("th", state.ToString());
            foreach (var (kind, counts) in o.ByKind)
            {
                int n = counts[state];
                h.Text("td", Int(n), ("id", $"outcome-{Slug(kind)}-{Slug(state.ToString())}"), ("data-value", Int(n)));
            }
            h.Close();
        }
        h.Close();
        h.Close();
        h.Close();
        h.Close();
    }

    private static void Oracle(Html h, KeeperReport r)
    {
        var series = r.OracleDeviation;
        var points = series.SelectMany(s => s.Points).ToList();
        double xMin = points.Count == 0 ? 0 : points.Min(p => p.At.ToUnixTimeMilliseconds());
        double xMax = points.Count == 0 ? 1 : points.Max(p => p.At.ToUnixTimeMilliseconds());
        double yLo = points.Count == 0 ? 0 : Math.Min(0, points.Min(p => p.Bps));
        double yHi = points.Count == 0 ? 0 : Math.Max(0, points.Max(p => p.Bps));
        double yMax = SvgPlot.NiceMax(yHi), yMin = yLo < 0 ? -SvgPlot.NiceMax(-yLo) : 0;
        bool longRange = xMax - xMin > TimeSpan.FromDays(1).TotalMilliseconds;
        var plot = new SvgPlot("chart-oracle-deviation", "Oracle deviation per asset (bps)", xMin, xMax, yMin, yMax)
        {
            XLabel = "time (UTC)", YLabel = "deviation (bps)", YFormat = Compact,
            XFormat = v => DateTimeOffset.FromUnixTimeMilliseconds((long)v).ToString(longRange ? "MM-dd HH:mm" : "HH:mm:ss", CultureInfo.InvariantCulture),
            Legend = [.. series.Select((s, i) => ("asset-" + Slug(s.Asset), "s" + Int(i % 8), s.Asset))],
        };
        for (int i = 0; i < series.Count; i++)
        {
            var s = series[i];
            string key = "asset-" + Slug(s.Asset), css = "s" + Int(i % 8);
            plot.Line(key, [.. s.Points.Select(p => ((double)p.At.ToUnixTimeMilliseconds(), p.Bps))], css);
            foreach (var p in s.Points)
            {
                string value = p.Bps.ToString("R", CultureInfo.InvariantCulture);
                plot.Point(key, p.At.ToUnixTimeMilliseconds(), p.Bps, css,
                    $"{s.Asset} · {Time(p.At)}{(p.Block is { } b ? " · block " + Int(b) : "")} · {p.Bps.ToString("0.##", CultureInfo.InvariantCulture)} bps",
                    ("asset", s.Asset), ("bps", value), ("at", Int(p.At.ToUnixTimeMilliseconds())));
            }
        }

        h.Open("section", ("id", "oracle"));
        h.Text("h2", "Oracle deviation");
        h.Open("div", ("class", "grid"));
        Figure(h, "Deviation of the on-chain price from the reference", plot);
        h.Open("table", ("class", "stats"), ("id", "oracle-stats"));
        h.Open("thead");
        h.Open("tr");
        foreach (string c in (string[])["asset", "samples", "min bps", "max bps", "max |bps|", "last bps"]) h.Text("th", c);
        h.Close();
        h.Close();
        h.Open("tbody");
        foreach (var s in series)
        {
            string slug = Slug(s.Asset);
            h.Open("tr", ("id", "oracle-" + slug), ("data-asset", s.Asset));
            h.Text("th", s.Asset);
            h.Text("td", Int(s.Points.Count), ("data-value", Int(s.Points.Count)));
            Bps(h, s.Points.Min(p => p.Bps));
            Bps(h, s.Points.Max(p => p.Bps));
            Bps(h, s.Points.Max(p => Math.Abs(p.Bps)), "oracle-" + slug + "-max-abs");
            Bps(h, s.Points[^1].Bps);
            h.Close();
        }
        h.Close();
        h.Close();
        h.Close();
        h.Close();
    }

    private static void Observations(Html h, KeeperReport r)
    {
        h.Open("section", ("id", "observations"));
        h.Text("h2", "Observations recorded");
        if (r.ObservationCounts.Count == 0)
        {
            h.Text("p", r.SchemaVersion < 2 ? "This journal predates observations (schema v1)." : "None.", ("class", "note"));
        }
        else
        {
            h.Open("table", ("class", "stats"));
            h.Open("tbody");
            foreach (var (kind, count) in r.ObservationCounts)
            {
                h.Open("tr");
                h.Text("th", kind);
                h.Text("td", Int(count), ("id", "observations-" + Slug(kind)), ("data-value", Int(count)));
                h.Close();
            }
            h.Close();
            h.Close();
        }
        h.Close();
    }

    private static void Transactions(Html h, KeeperReport r)
    {
        h.Open("section", ("id", "transactions"));
        h.Open("details");
        int shown = Math.Min(TransactionTableRows, r.MinedTransactions.Count);
        h.Text("summary", $"Mined transactions (latest {Int(shown)} of {Int(r.MinedTransactions.Count)})");
        h.Open("table", ("class", "stats"));
        h.Open("thead");
        h.Open("tr");
        foreach (string c in (string[])["block", "kind", "attempt", "state", "gas used", "gas price (gwei)", "fee (ETH)", "hash"]) h.Text("th", c);
        h.Close();
        h.Close();
        h.Open("tbody");
        foreach (var t in r.MinedTransactions.Skip(r.MinedTransactions.Count - shown).Reverse())
        {
            h.Open("tr");
            h.Text("td", Int(t.Block));
            h.Text("td", KindOf(t));
            h.Text("td", t.AttemptKind.ToString());
            h.Text("td", t.State.ToString());
            h.Text("td", Group(t.GasUsed));
            h.Text("td", Gwei(t.EffectiveGasPrice));
            h.Text("td", Eth(t.FeeWei), ("data-value", t.FeeWei.ToString()));
            h.Text("td", t.Hash.ToString(), ("class", "hash"));
            h.Close();
        }
        h.Close();
        h.Close();
        h.Close();
        h.Close();
    }

    // ------------------------------------------------------------------ pieces

    private static SvgPlot HistogramPlot(string id, string title, LatencyDistribution d, string unit)
    {
        var bins = d.Histogram();
        double lo = bins.Count == 0 ? 0 : bins[0].From, hi = bins.Count == 0 ? 1 : bins[^1].To;
        var plot = new SvgPlot(id, title, lo, hi, 0, SvgPlot.NiceMax(bins.Count == 0 ? 0 : bins.Max(b => b.Count)))
        {
            XLabel = unit, YLabel = "intents", IntegerX = true, XFormat = Compact,
        };
        foreach (var b in bins)
        {
            if (b.Count == 0) continue;
            plot.Bar(b.From, b.To, 0, b.Count, "s0", $"{Int(b.From)} to {Int(b.To)} {unit}: {Int(b.Count)}",
                ("from", Int(b.From)), ("to", Int(b.To)), ("count", Int(b.Count)));
        }
        return plot;
    }

    private static void StatsRow(Html h, string id, string label, LatencyDistribution d)
    {
        h.Open("tr", ("id", "latency-" + id));
        h.Text("th", label);
        Stat(h, id, "count", d.Count);
        Stat(h, id, "min", d.Min);
        Stat(h, id, "p50", d.P50);
        Stat(h, id, "p90", d.P90);
        Stat(h, id, "p99", d.P99);
        Stat(h, id, "max", d.Max);
        Stat(h, id, "mean", d.Mean);
        h.Close();
    }

    private static void Stat(Html h, string row, string name, long? value) =>
        h.Text("td", value is { } v ? Int(v) : "–", ("id", $"latency-{row}-{name}"), ("data-value", value is { } x ? Int(x) : ""));

    private static void Bps(Html h, double value, string? id = null)
    {
        string text = value.ToString("0.##", CultureInfo.InvariantCulture);
        if (id is null) h.Text("td", text, ("data-value", value.ToString("R", CultureInfo.InvariantCulture)));
        else h.Text("td", text, ("id", id), ("data-value", value.ToString("R", CultureInfo.InvariantCulture)));
    }

    private static void Card(Html h, string id, string label, long value, string? note) => Card(h, id, label, Int(value), Int(value), note);

    private static void Card(Html h, string id, string label, UInt256 value, string display, string? note) => Card(h, id, label, value.ToString(), display, note);

    private static void WeiCard(Html h, string id, string label, UInt256 wei, string note) => Card(h, id, label, wei.ToString(), Eth(wei) + " ETH", note);

    private static void Card(Html h, string id, string label, string exact, string display, string? note)
    {
        h.Open("div", ("class", "card"), ("id", id), ("data-value", exact));
        h.Text("div", label, ("class", "label"));
        h.Text("div", display, ("class", "value"));
        if (note is not null) h.Text("div", note, ("class", "note"));
        h.Close();
    }

    private static void Figure(Html h, string caption, SvgPlot plot)
    {
        h.Open("figure", ("class", "chart-box"));
        h.Text("figcaption", caption);
        plot.Write(h.Writer);
        h.Text("div", "Hover a mark for its values.", ("class", "readout"));
        h.Close();
    }

    // ------------------------------------------------------------------ formatting

    private static string KindOf(MinedTransaction t) => t.IntentKind ?? (t.AttemptKind == AttemptKind.GapFill ? "gap-fill" : "no intent");

    private static string Int(long v) => v.ToString(CultureInfo.InvariantCulture);

    private static string Int(ulong v) => v.ToString(CultureInfo.InvariantCulture);

    private static string Group(ulong v) => v.ToString("N0", CultureInfo.InvariantCulture);

    private static string Group(UInt256 v) => v.ToBigInteger().ToString("N0", CultureInfo.InvariantCulture);

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string BlockLabel(double v) => ((long)Math.Round(v)).ToString(CultureInfo.InvariantCulture);

    /// <summary>Wei as ETH with 6 decimals (truncated), e.g. 0.001234.</summary>
    internal static string Eth(UInt256 wei) => Units(wei, 18, 6);

    internal static string Gwei(UInt256 wei) => Units(wei, 9, 3);

    internal static string Units(UInt256 value, int decimals, int fractionDigits)
    {
        BigInteger whole = BigInteger.DivRem(value.ToBigInteger(), BigInteger.Pow(10, decimals), out BigInteger frac);
        string f = frac.ToString(CultureInfo.InvariantCulture).PadLeft(decimals, '0')[..fractionDigits];
        return whole.ToString("N0", CultureInfo.InvariantCulture) + (fractionDigits > 0 ? "." + f : "");
    }

    private static double EthDouble(UInt256 wei) => (double)wei / 1e18;

    private static string Compact(double v)
    {
        double a = Math.Abs(v);
        if (a >= 1e9) return (v / 1e9).ToString("0.##", CultureInfo.InvariantCulture) + "G";
        if (a >= 1e6) return (v / 1e6).ToString("0.##", CultureInfo.InvariantCulture) + "M";
        if (a >= 1e4) return (v / 1e3).ToString("0.##", CultureInfo.InvariantCulture) + "k";
        if (a is > 0 and < 0.01) return v.ToString("0.###E+0", CultureInfo.InvariantCulture);
        return v.ToString("0.##", CultureInfo.InvariantCulture);
    }

    /// <summary>An id-safe form: lower-case letters and digits, other runs as '-'.</summary>
    internal static string Slug(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (char c in s.ToLowerInvariant())
        {
            if (c is >= 'a' and <= 'z' or >= '0' and <= '9') sb.Append(c);
            else if (sb.Length > 0 && sb[^1] != '-') sb.Append('-');
        }
        return sb.ToString().Trim('-') is { Length: > 0 } slug ? slug : "x";
    }

    /// <summary>HTML through an XmlWriter: non-void elements always get an end tag (HTML has no self-closing div).</summary>
    private sealed class Html(XmlWriter w)
    {
        public XmlWriter Writer => w;

        public void Open(string name, params (string Name, string Value)[] attributes)
        {
            w.WriteStartElement(name);
            foreach (var (n, v) in attributes) w.WriteAttributeString(n, v);
        }

        public void Close() => w.WriteFullEndElement();

        public void Void(string name, params (string Name, string Value)[] attributes)
        {
            Open(name, attributes);
            w.WriteEndElement();
        }

        public void Text(string name, string text, params (string Name, string Value)[] attributes)
        {
            Open(name, attributes);
            w.WriteString(text);
            Close();
        }
    }

    // no '<' or '&' in either: both are written raw and the page must stay well-formed XML
    private const string Css = """
        :root { --fg: #1d2330; --muted: #667085; --line: #d0d5dd; --bg: #f7f8fa; --card: #ffffff;
          --s0: #2f6fde; --s1: #e07b00; --s2: #14915f; --s3: #9b3fc9; --s4: #c2185b; --s5: #00838f; --s6: #6d4c41; --s7: #546e7a;
          --won: #14915f; --lost: #d63b3b; --neutral: #98a2b3; }
        * { box-sizing: border-box; }
        body { margin: 0; padding: 24px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
        h1 { margin: 0 0 4px; font-size: 22px; }
        h2 { margin: 28px 0 10px; font-size: 17px; }
        .meta, .note { color: var(--muted); }
        .cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 10px; }
        .card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
        .card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
        .card .value { font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; }
        .card .note { font-size: 12px; overflow-wrap: anywhere; }
        .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 14px; align-items: start; }
        figure.chart-box { margin: 0; background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px; }
        figcaption { font-weight: 600; margin-bottom: 4px; }
        svg.chart { width: 100%; height: auto; display: block; }
        svg.chart text { font-size: 11px; fill: var(--muted); }
        svg.chart .axis-label { font-size: 12px; fill: var(--fg); }
        svg.chart .empty { font-size: 14px; }
        svg.chart line.grid { stroke: #eaecf0; }
        svg.chart line.zero, svg.chart line.baseline, svg.chart line.tick { stroke: #98a2b3; }
        svg.chart .line { fill: none; stroke-width: 1.6; }
        svg.chart .mark:hover { opacity: .7; stroke: var(--fg); }
        svg.chart .hidden { display: none; }
        svg.chart .legend-item { cursor: pointer; }
        svg.chart .legend-item.off { opacity: .35; }
        .s0 { fill: var(--s0); stroke: var(--s0); } .s1 { fill: var(--s1); stroke: var(--s1); } .s2 { fill: var(--s2); stroke: var(--s2); }
        .s3 { fill: var(--s3); stroke: var(--s3); } .s4 { fill: var(--s4); stroke: var(--s4); } .s5 { fill: var(--s5); stroke: var(--s5); }
        .s6 { fill: var(--s6); stroke: var(--s6); } .s7 { fill: var(--s7); stroke: var(--s7); }
        rect.s0, rect.s1, rect.s2, rect.s3, rect.s4, rect.s5, rect.s6, rect.s7, circle { stroke-width: 0; }
        .line.s0, .line.s1, .line.s2, .line.s3, .line.s4, .line.s5, .line.s6, .line.s7 { fill: none; }
        .won { fill: var(--won); } .lost { fill: var(--lost); } .neutral { fill: var(--neutral); }
        .readout { min-height: 1.45em; color: var(--muted); font-size: 12px; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
        table.stats { margin-bottom: 14px; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); font-variant-numeric: tabular-nums; }
        table.stats th, table.stats td { padding: 4px 10px; border-bottom: 1px solid #eaecf0; text-align: right; }
        table.stats th:first-child { text-align: left; }
        .grid > table.stats { width: 100%; }
        td.hash { font-family: ui-monospace, monospace; font-size: 11px; }
        details summary { cursor: pointer; font-weight: 600; margin: 24px 0 8px; }
        """;

    // no '<' or '&': written raw inside //<![CDATA[ ... //]]>
    private const string Script = """
        (function () {
          'use strict';
          var charts = document.querySelectorAll('svg.chart');
          var rendered = 0;
          charts.forEach(function (svg) {
            var box = svg.getBoundingClientRect();
            var marks = svg.querySelectorAll('.mark');
            svg.setAttribute('data-rendered-width', String(Math.round(box.width)));
            svg.setAttribute('data-rendered-marks', String(marks.length));
            if (box.width > 0) rendered++;
            var readout = svg.parentNode.querySelector('.readout');
            marks.forEach(function (mark) {
              mark.addEventListener('mouseenter', function () {
                var title = mark.querySelector('title');
                if (readout) readout.textContent = title ? title.textContent : '';
              });
            });
            svg.querySelectorAll('[data-series-toggle]').forEach(function (item) {
              item.addEventListener('click', function () {
                var key = item.getAttribute('data-series-toggle');
                item.classList.toggle('off');
                svg.querySelectorAll('[data-series]').forEach(function (m) {
                  if (m.getAttribute('data-series') === key) m.classList.toggle('hidden');
                });
              });
            });
          });
          document.documentElement.setAttribute('data-charts', String(charts.length));
          document.documentElement.setAttribute('data-charts-rendered', String(rendered));
          document.documentElement.setAttribute('data-report-ready', 'true');
        })();
        """;
}
