namespace CrossMargin.Keeper.Monitoring;

/// <summary>Prometheus metric types written by <see cref="PrometheusTextFormat"/>.</summary>
public enum MetricType
{
    Counter,
    Gauge,
    Histogram,
}

/// <summary>One label set of a family and its value(s).</summary>
/// <param name="Labels">Label names and values, sorted by name.</param>
/// <param name="Value">Counter or gauge value (histograms: unused).</param>
/// <param name="Histogram">Bucket counts of a histogram series, otherwise null.</param>
public sealed record MetricSeries(IReadOnlyList<KeyValuePair<string, string>> Labels, double Value, HistogramData? Histogram = null);

/// <summary>
/// A histogram series: <see cref="Counts"/> has one entry per upper bound in <see cref="Bounds"/> plus one for
/// +Inf; each count is of its own bucket only (the text format makes them cumulative).
/// </summary>
public sealed record HistogramData(IReadOnlyList<double> Bounds, IReadOnlyList<long> Counts, double Sum)
{
    public long Count => Counts.Sum();
}

/// <summary>A metric family: name (already in Prometheus form), help text, type, and its series.</summary>
public sealed record MetricFamily(string Name, string Help, MetricType Type, IReadOnlyList<MetricSeries> Series);
