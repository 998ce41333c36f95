using System.Diagnostics.Metrics;
using System.Globalization;

namespace CrossMargin.Keeper.Monitoring;

/// <summary>
/// Collects <see cref="System.Diagnostics.Metrics"/> instruments with a <see cref="MeterListener"/> and keeps the
/// aggregates a Prometheus scrape needs: counters as running sums (observable counters: the observed total),
/// up-down counters as sums (exposed as gauges), gauges and observable gauges as last values, and histograms as
/// per-bucket counts, sum and count. Series are keyed by their tags. Bucket bounds come from the histogram's advice
/// (<see cref="InstrumentAdvice{T}.HistogramBucketBoundaries"/>) or, without it, from <see cref="HistogramBuckets.For"/>.
/// Observable instruments are observed on every <see cref="Collect"/>. Thread-safe.
/// </summary>
public sealed class MetricsCollector : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly Func<Instrument, bool> _include;
    private readonly Dictionary<Instrument, InstrumentState> _states = [];
    private readonly Lock _statesLock = new();
    private readonly Lock _collectLock = new();
    private bool _disposed;

    /// <param name="include">Which instruments to collect (e.g. those of one meter factory's meters).</param>
    public MetricsCollector(Func<Instrument, bool> include)
    {
        ArgumentNullException.ThrowIfNull(include);
        _include = include;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (!_include(instrument)) return;
            InstrumentState? state = InstrumentState.Create(instrument);
            if (state is null) return;
            lock (_statesLock) _states[instrument] = state;
            listener.EnableMeasurementEvents(instrument, state);
        };
        _listener.MeasurementsCompleted = (instrument, _) =>
        {
            lock (_statesLock) _states.Remove(instrument);
        };
        _listener.SetMeasurementEventCallback<byte>((i, v, tags, s) => Record(s, v, tags));
        _listener.SetMeasurementEventCallback<short>((i, v, tags, s) => Record(s, v, tags));
        _listener.SetMeasurementEventCallback<int>((i, v, tags, s) => Record(s, v, tags));
        _listener.SetMeasurementEventCallback<long>((i, v, tags, s) => Record(s, v, tags));
        _listener.SetMeasurementEventCallback<float>((i, v, tags, s) => Record(s, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, s) => Record(s, v, tags));
        _listener.SetMeasurementEventCallback<decimal>((i, v, tags, s) => Record(s, (double)v, tags));
        _listener.Start();
    }

    /// <summary>Collects the instruments of meters created by <paramref name="factory"/>.</summary>
    public static MetricsCollector ForFactory(IMeterFactory factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return new MetricsCollector(i => ReferenceEquals(i.Meter.Scope, factory));
    }

    /// <summary>Collects the instruments of meters with one of these names.</summary>
    public static MetricsCollector ForMeters(params string[] meterNames)
    {
        var names = new HashSet<string>(meterNames, StringComparer.Ordinal);
        return new MetricsCollector(i => names.Contains(i.Meter.Name));
    }

    private static void Record(object? state, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (state is InstrumentState s) s.Record(value, tags);
    }

    /// <summary>Observes the observable instruments and returns every family, sorted by name, series sorted by labels.</summary>
    public IReadOnlyList<MetricFamily> Collect()
    {
        lock (_collectLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            InstrumentState[] states;
            lock (_statesLock) states = [.. _states.Values];
            foreach (InstrumentState s in states) if (s.Observable) s.BeginObservation();
            _listener.RecordObservableInstruments();

            var families = new List<MetricFamily>();
            foreach (var group in states.GroupBy(s => s.FamilyName, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                InstrumentState first = group.First();
                var merged = new SortedDictionary<string, MetricSeries>(StringComparer.Ordinal);
                foreach (InstrumentState s in group)
                {
                    if (s.Type != first.Type) continue; // same name, different type: the first one wins
                    foreach (var (key, series) in s.Snapshot())
                        merged[key] = merged.TryGetValue(key, out MetricSeries? existing) ? Merge(first.Type, existing, series) : series;
                }
                string help = group.Select(s => s.Help).FirstOrDefault(h => h.Length > 0) ?? "";
                families.Add(new MetricFamily(group.Key, help, first.Type, [.. merged.Values]));
            }
            return families;
        }
    }

    /// <summary>The scrape body: <see cref="Collect"/> in the text format.</summary>
    public string Scrape() => PrometheusTextFormat.Write(Collect());

    private static MetricSeries Merge(MetricType type, MetricSeries a, MetricSeries b)
    {
        switch (type)
        {
            case MetricType.Counter:
                return a with { Value = a.Value + b.Value };
            case MetricType.Histogram when a.Histogram is { } ha && b.Histogram is { } hb && ha.Bounds.SequenceEqual(hb.Bounds):
                return a with { Histogram = new HistogramData(ha.Bounds, [.. ha.Counts.Zip(hb.Counts, (x, y) => x + y)], ha.Sum + hb.Sum) };
            default:
                return b;
        }
    }

    public void Dispose()
    {
        lock (_collectLock)
        {
            if (_disposed) return;
            _disposed = true;
            _listener.Dispose();
        }
    }

    /// <summary>Aggregation state of one instrument.</summary>
    private abstract class InstrumentState
    {
        private readonly Dictionary<string, Series> _series = new(StringComparer.Ordinal);
        private readonly Lock _lock = new();

        protected InstrumentState(Instrument instrument, MetricType type)
        {
            Type = type;
            Observable = instrument.IsObservable;
            FamilyName = PrometheusNaming.MetricName(instrument.Name, instrument.Unit, type);
            Help = instrument.Description ?? "";
        }

        public MetricType Type { get; }
        public bool Observable { get; }
        public string FamilyName { get; }
        public string Help { get; }

        public static InstrumentState? Create(Instrument instrument)
        {
            Type t = instrument.GetType();
            if (!t.IsGenericType) return null;
            Type def = t.GetGenericTypeDefinition();
            if (def == typeof(Counter<>)) return new SumState(instrument, MetricType.Counter, set: false);
            if (def == typeof(ObservableCounter<>)) return new SumState(instrument, MetricType.Counter, set: true);
            if (def == typeof(UpDownCounter<>)) return new SumState(instrument, MetricType.Gauge, set: false);
            if (def == typeof(ObservableUpDownCounter<>)) return new SumState(instrument, MetricType.Gauge, set: true);
            if (def == typeof(Gauge<>) || def == typeof(ObservableGauge<>)) return new SumState(instrument, MetricType.Gauge, set: true);
            if (def == typeof(Histogram<>)) return new HistogramState(instrument);
            return null;
        }

        public void BeginObservation()
        {
            lock (_lock) _series.Clear();
        }

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var labels = Labels(tags);
            string key = Key(labels);
            Series series;
            lock (_lock)
            {
                if (!_series.TryGetValue(key, out series!)) _series[key] = series = NewSeries(labels);
            }
            series.Add(value);
        }

        public IEnumerable<(string Key, MetricSeries Series)> Snapshot()
        {
            KeyValuePair<string, Series>[] all;
            lock (_lock) all = [.. _series];
            foreach (var (key, s) in all) yield return (key, s.ToSeries());
        }

        protected abstract Series NewSeries(KeyValuePair<string, string>[] labels);

        private KeyValuePair<string, string>[] Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var labels = new KeyValuePair<string, string>[tags.Length];
            for (int i = 0; i < tags.Length; i++)
            {
                string name = PrometheusNaming.LabelName(tags[i].Key);
                if (Type == MetricType.Histogram && name == "le") name = "tag_le";
                labels[i] = new(name, LabelValue(tags[i].Value));
            }
            Array.Sort(labels, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
            return labels;
        }

        private static string LabelValue(object? value) => value switch
        {
            null => "",
            string s => s,
            bool b => b ? "true" : "false",
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? "",
        };

        private static string Key(KeyValuePair<string, string>[] labels)
        {
            if (labels.Length == 0) return "";
            return string.Join('\u0001', labels.Select(l => l.Key + "\u0002" + l.Value));
        }
    }

    private abstract class Series(KeyValuePair<string, string>[] labels)
    {
        protected readonly Lock Gate = new();

        public KeyValuePair<string, string>[] Labels { get; } = labels;

        public abstract void Add(double value);

        public abstract MetricSeries ToSeries();
    }

    private sealed class SumState(Instrument instrument, MetricType type, bool set) : InstrumentState(instrument, type)
    {
        protected override Series NewSeries(KeyValuePair<string, string>[] labels) => new ValueSeries(labels, set);

        private sealed class ValueSeries(KeyValuePair<string, string>[] labels, bool set) : Series(labels)
        {
            private double _value;

            public override void Add(double value)
            {
                lock (Gate) _value = set ? value : _value + value;
            }

            public override MetricSeries ToSeries()
            {
                lock (Gate) return new MetricSeries(Labels, _value);
            }
        }
    }

    private sealed class HistogramState : InstrumentState
    {
        private readonly double[] _bounds;

        public HistogramState(Instrument instrument) : base(instrument, MetricType.Histogram) =>
            _bounds = AdviceBounds(instrument) ?? HistogramBuckets.For(instrument.Name, instrument.Unit);

        private static double[]? AdviceBounds(Instrument instrument)
        {
            double[]? b = instrument switch
            {
                Histogram<double> h => h.Advice?.HistogramBucketBoundaries?.ToArray(),
                Histogram<float> h => h.Advice?.HistogramBucketBoundaries?.Select(x => (double)x).ToArray(),
                Histogram<long> h => h.Advice?.HistogramBucketBoundaries?.Select(x => (double)x).ToArray(),
                Histogram<int> h => h.Advice?.HistogramBucketBoundaries?.Select(x => (double)x).ToArray(),
                _ => null,
            };
            return b is { Length: > 0 } ? HistogramBuckets.Normalize(b) : null;
        }

        protected override Series NewSeries(KeyValuePair<string, string>[] labels) => new BucketSeries(labels, _bounds);

        private sealed class BucketSeries(KeyValuePair<string, string>[] labels, double[] bounds) : Series(labels)
        {
            private readonly long[] _counts = new long[bounds.Length + 1];
            private double _sum;

            public override void Add(double value)
            {
                // bucket i holds bounds[i-1] < v <= bounds[i] (the "le" semantics); NaN goes to +Inf
                int i = Array.BinarySearch(bounds, value);
                if (i < 0) i = ~i;
                if (double.IsNaN(value)) i = bounds.Length;
                lock (Gate)
                {
                    _counts[i]++;
                    _sum += value;
                }
            }

            public override MetricSeries ToSeries()
            {
                lock (Gate) return new MetricSeries(Labels, 0, new HistogramData(bounds, [.. _counts], _sum));
            }
        }
    }
}

/// <summary>Default histogram bucket upper bounds by unit (or name), for histograms without bucket advice.</summary>
public static class HistogramBuckets
{
    /// <summary>Latency in seconds: 1 ms to 5 min (RPC calls, detection, detection-to-send, send-to-inclusion).</summary>
    public static IReadOnlyList<double> Seconds { get; } =
        [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 300];

    /// <summary>Gas per transaction: a transfer to a large batch.</summary>
    public static IReadOnlyList<double> Gas { get; } =
        [21_000, 50_000, 100_000, 200_000, 300_000, 500_000, 750_000, 1_000_000, 2_000_000, 5_000_000, 10_000_000, 30_000_000];

    /// <summary>Basis points: 1 bp to 100%.</summary>
    public static IReadOnlyList<double> BasisPoints { get; } = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000];

    /// <summary>Anything else: 1-2-5 steps from 1 to 1,000,000.</summary>
    public static IReadOnlyList<double> Default { get; } =
        [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000];

    /// <summary>The bounds for an instrument without advice.</summary>
    public static double[] For(string name, string? unit)
    {
        ArgumentNullException.ThrowIfNull(name);
        IEnumerable<double> b = unit switch
        {
            "s" => Seconds,
            "ms" => Seconds.Select(x => x * 1000),
            "bps" => BasisPoints,
            _ when unit is "gas" or "{gas}" || name.Contains("gas", StringComparison.OrdinalIgnoreCase) => Gas,
            _ when name.EndsWith("_seconds", StringComparison.Ordinal) => Seconds,
            _ => Default,
        };
        return Normalize(b);
    }

    /// <summary>Sorted, distinct, finite bounds.</summary>
    public static double[] Normalize(IEnumerable<double> bounds)
    {
        ArgumentNullException.ThrowIfNull(bounds);
        return [.. bounds.Where(double.IsFinite).Distinct().Order()];
    }
}
