using System.Globalization;
using System.Text;

namespace CrossMargin.Keeper.Monitoring;

/// <summary>
/// Writes metric families in the Prometheus text exposition format, version 0.0.4: per family a <c># HELP</c> and a
/// <c># TYPE</c> line, then one line per sample, <c>name{label="value",...} value</c>. Histograms are written as
/// cumulative <c>_bucket{le="..."}</c> lines ending with <c>le="+Inf"</c>, then <c>_sum</c> and <c>_count</c>.
/// Escaping: in HELP text backslash and line feed; in label values backslash, double quote and line feed.
/// Names are expected in Prometheus form already (see <see cref="PrometheusNaming"/>).
/// </summary>
public static class PrometheusTextFormat
{
    /// <summary>The Content-Type of the format.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Writes every family (in the given order); families without series are left out.</summary>
    public static void Write(TextWriter writer, IEnumerable<MetricFamily> families)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(families);
        var line = new StringBuilder(256);
        foreach (MetricFamily family in families)
        {
            if (family.Series.Count == 0) continue;
            line.Clear();
            line.Append("# HELP ").Append(family.Name).Append(' ');
            AppendEscapedHelp(line, family.Help);
            line.Append('\n');
            line.Append("# TYPE ").Append(family.Name).Append(' ').Append(TypeName(family.Type)).Append('\n');
            writer.Write(line);
            foreach (MetricSeries series in family.Series)
            {
                line.Clear();
                if (family.Type == MetricType.Histogram) AppendHistogram(line, family.Name, series);
                else AppendSample(line, family.Name, series.Labels, null, series.Value);
                writer.Write(line);
            }
        }
    }

    /// <summary>The text of all families, as served on /metrics.</summary>
    public static string Write(IEnumerable<MetricFamily> families)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        Write(writer, families);
        return writer.ToString();
    }

    private static string TypeName(MetricType type) => type switch
    {
        MetricType.Counter => "counter",
        MetricType.Gauge => "gauge",
        MetricType.Histogram => "histogram",
        _ => "untyped",
    };

    private static void AppendHistogram(StringBuilder line, string name, MetricSeries series)
    {
        HistogramData h = series.Histogram ?? new HistogramData([], [0], 0);
        long cumulative = 0;
        for (int i = 0; i < h.Counts.Count; i++)
        {
            cumulative += h.Counts[i];
            string le = i < h.Bounds.Count ? FormatValue(h.Bounds[i]) : "+Inf";
            AppendSample(line, name + "_bucket", series.Labels, le, cumulative);
        }
        AppendSample(line, name + "_sum", series.Labels, null, h.Sum);
        AppendSample(line, name + "_count", series.Labels, null, cumulative);
    }

    private static void AppendSample(StringBuilder line, string name, IReadOnlyList<KeyValuePair<string, string>> labels, string? le, double value)
    {
        line.Append(name);
        if (labels.Count > 0 || le is not null)
        {
            line.Append('{');
            bool first = true;
            foreach (var (k, v) in labels)
            {
                if (!first) line.Append(',');
                first = false;
                line.Append(k).Append("=\"");
                AppendEscapedLabelValue(line, v);
                line.Append('"');
            }
            if (le is not null)
            {
                if (!first) line.Append(',');
                line.Append("le=\"").Append(le).Append('"');
            }
            line.Append('}');
        }
        line.Append(' ').Append(FormatValue(value)).Append('\n');
    }

    /// <summary>A sample value or bucket bound: shortest round-trip form, <c>+Inf</c>, <c>-Inf</c> or <c>NaN</c>.</summary>
    public static string FormatValue(double value)
    {
        if (double.IsPositiveInfinity(value)) return "+Inf";
        if (double.IsNegativeInfinity(value)) return "-Inf";
        if (double.IsNaN(value)) return "NaN";
        return value.ToString("R", CultureInfo.InvariantCulture);
    }

    /// <summary>A label value as it appears between the quotes.</summary>
    public static string EscapeLabelValue(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var sb = new StringBuilder(value.Length + 8);
        AppendEscapedLabelValue(sb, value);
        return sb.ToString();
    }

    /// <summary>A HELP text as it appears after the metric name.</summary>
    public static string EscapeHelp(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var sb = new StringBuilder(value.Length + 8);
        AppendEscapedHelp(sb, value);
        return sb.ToString();
    }

    private static void AppendEscapedLabelValue(StringBuilder sb, string value)
    {
        foreach (char c in value)
        {
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '"': sb.Append("\\\""); break;
                case '\n': sb.Append("\\n"); break;
                default: sb.Append(c); break;
            }
        }
    }

    private static void AppendEscapedHelp(StringBuilder sb, string value)
    {
        foreach (char c in value)
        {
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                default: sb.Append(c); break;
            }
        }
    }
}

/// <summary>
/// Maps instrument names, units and tag keys to Prometheus names: characters outside <c>[a-zA-Z0-9_:]</c> (labels:
/// <c>[a-zA-Z0-9_]</c>) become '_', a leading digit gets a '_' prefix; base units are appended as a suffix (s →
/// <c>_seconds</c>, ms → <c>_milliseconds</c>, By → <c>_bytes</c>) unless the name already ends with it; counters end
/// in <c>_total</c>. Annotation units (<c>{request}</c>) and other units are not appended.
/// </summary>
public static class PrometheusNaming
{
    public static string MetricName(string name, string? unit, MetricType type)
    {
        ArgumentNullException.ThrowIfNull(name);
        string n = Sanitize(name, allowColon: true);
        string? suffix = unit switch
        {
            "s" => "seconds",
            "ms" => "milliseconds",
            "us" => "microseconds",
            "By" => "bytes",
            _ => null,
        };
        if (type == MetricType.Counter && n.EndsWith("_total", StringComparison.Ordinal)) n = n[..^"_total".Length];
        if (suffix is not null && !n.EndsWith("_" + suffix, StringComparison.Ordinal)) n += "_" + suffix;
        if (type == MetricType.Counter) n += "_total";
        return n;
    }

    public static string LabelName(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Sanitize(key, allowColon: false);
    }

    private static string Sanitize(string s, bool allowColon)
    {
        if (s.Length == 0) return "_";
        var sb = new StringBuilder(s.Length + 1);
        if (char.IsAsciiDigit(s[0])) sb.Append('_');
        foreach (char c in s) sb.Append(char.IsAsciiLetterOrDigit(c) || c == '_' || (allowColon && c == ':') ? c : '_');
        return sb.ToString();
    }
}
