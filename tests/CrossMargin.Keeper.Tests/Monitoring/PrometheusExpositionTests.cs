using System.Diagnostics.Metrics;
using CrossMargin.Keeper.Monitoring;

namespace CrossMargin.Keeper.Tests.Monitoring;

public sealed class PrometheusExpositionTests : IDisposable
{
    private readonly KeeperMeterFactory _factory = new();
    private readonly Meter _meter;
    private readonly MetricsCollector _collector;

    public PrometheusExpositionTests()
    {
        _meter = _factory.Create(new MeterOptions("Test.Exposition"));
        _collector = MetricsCollector.ForFactory(_factory);
    }

    public void Dispose()
    {
        _collector.Dispose();
        _factory.Dispose();
    }

    private static KeyValuePair<string, object?> Tag(string k, object? v) => new(k, v);

    [Fact]
    public void Instruments_scrape_and_parse_back_exactly()
    {
        var counter = _meter.CreateCounter<long>("app.requests", description: "Requests served");
        var fcounter = _meter.CreateCounter<double>("app_paid_total", description: "Paid");
        var updown = _meter.CreateUpDownCounter<int>("app.queue", description: "Queued items");
        var gauge = _meter.CreateGauge<double>("app.temperature", description: "Last temperature");
        int observed = 7;
        _meter.CreateObservableGauge("app.observed", () => new Measurement<int>(observed, Tag("shard", 3)), description: "Observed");
        long total = 40;
        _meter.CreateObservableCounter("app.cumulative", () => total, description: "Cumulative");

        counter.Add(2, Tag("method", "get"), Tag("code", 200));
        counter.Add(3, Tag("code", 200), Tag("method", "get")); // tag order does not matter
        counter.Add(1, Tag("method", "post"), Tag("code", 500));
        fcounter.Add(0.25);
        fcounter.Add(0.5);
        updown.Add(5);
        updown.Add(-2);
        gauge.Record(21.5);
        gauge.Record(-3.25);

        var s = PrometheusText.Parse(_collector.Scrape());
        Assert.Equal("counter", s.Types["app_requests_total"]);
        Assert.Equal("Requests served", s.Help["app_requests_total"]);
        Assert.Equal(5, s.Value("app_requests_total", ("method", "get"), ("code", "200")));
        Assert.Equal(1, s.Value("app_requests_total", ("method", "post"), ("code", "500")));
        Assert.Equal(2, s.Series("app_requests_total").Count());
        Assert.Equal("counter", s.Types["app_paid_total"]);
        Assert.Equal(0.75, s.Value("app_paid_total"));
        Assert.Equal("gauge", s.Types["app_queue"]);
        Assert.Equal(3, s.Value("app_queue"));
        Assert.Equal("gauge", s.Types["app_temperature"]);
        Assert.Equal(-3.25, s.Value("app_temperature"));
        Assert.Equal(7, s.Value("app_observed", ("shard", "3")));
        Assert.Equal("counter", s.Types["app_cumulative_total"]);
        Assert.Equal(40, s.Value("app_cumulative_total"));

        observed = 9;
        total = 45;
        counter.Add(10, Tag("method", "post"), Tag("code", 500));
        s = PrometheusText.Parse(_collector.Scrape());
        Assert.Equal(9, s.Value("app_observed", ("shard", "3")));
        Assert.Equal(45, s.Value("app_cumulative_total"));
        Assert.Equal(11, s.Value("app_requests_total", ("method", "post"), ("code", "500")));
    }

    [Fact]
    public void Text_layout_is_exact()
    {
        var c = _meter.CreateCounter<long>("layout.hits", description: "Hits\nper \\ path");
        c.Add(3, Tag("path", "/a"));
        c.Add(1, Tag("path", "/b"), Tag("zone", "eu"));
        string text = _collector.Scrape();
        Assert.Equal(
            "# HELP layout_hits_total Hits\\nper \\\\ path\n" +
            "# TYPE layout_hits_total counter\n" +
            "layout_hits_total{path=\"/a\"} 3\n" +
            "layout_hits_total{path=\"/b\",zone=\"eu\"} 1\n",
            text);
        Assert.Equal("Hits\nper \\ path", PrometheusText.Parse(text).Help["layout_hits_total"]);
    }

    [Fact]
    public void Label_values_are_escaped_and_round_trip()
    {
        const string nasty = "a\\b \"quoted\"\nnext line, {braces}=x";
        var c = _meter.CreateCounter<long>("esc.events");
        c.Add(4, Tag("value", nasty), Tag("bad-key.name", "k"));
        string text = _collector.Scrape();
        Assert.Contains("value=\"a\\\\b \\\"quoted\\\"\\nnext line, {braces}=x\"", text, StringComparison.Ordinal);
        Assert.Contains("bad_key_name=\"k\"", text, StringComparison.Ordinal);
        Assert.Single(text.Split('\n'), l => l.StartsWith("esc_events_total{", StringComparison.Ordinal));
        var s = PrometheusText.Parse(text);
        Assert.Equal(4, s.Value("esc_events_total", ("value", nasty), ("bad_key_name", "k")));
        Assert.Equal("a\\\\b", PrometheusTextFormat.EscapeLabelValue("a\\b"));
        Assert.Equal("\\\"\\n", PrometheusTextFormat.EscapeLabelValue("\"\n"));
        Assert.Equal("say \"hi\"\\n", PrometheusTextFormat.EscapeHelp("say \"hi\"\n"));
    }

    [Fact]
    public void Histogram_buckets_are_cumulative_with_sum_and_count()
    {
        var h = _meter.CreateHistogram("lat.wait", "s", "Wait time",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.1, 1] });
        double[] values = [0.005, 0.01, 0.05, 0.1, 0.5, 0.7, 3, 42];
        foreach (double v in values) h.Record(v, Tag("step", "x"));
        string text = _collector.Scrape();
        Assert.Equal(
            "# HELP lat_wait_seconds Wait time\n" +
            "# TYPE lat_wait_seconds histogram\n" +
            "lat_wait_seconds_bucket{step=\"x\",le=\"0.01\"} 2\n" +
            "lat_wait_seconds_bucket{step=\"x\",le=\"0.1\"} 4\n" +
            "lat_wait_seconds_bucket{step=\"x\",le=\"1\"} 6\n" +
            "lat_wait_seconds_bucket{step=\"x\",le=\"+Inf\"} 8\n" +
            $"lat_wait_seconds_sum{{step=\"x\"}} {PrometheusTextFormat.FormatValue(values.Sum())}\n" +
            "lat_wait_seconds_count{step=\"x\"} 8\n",
            text);
        var s = PrometheusText.Parse(text);
        var buckets = s.Series("lat_wait_seconds_bucket").ToList();
        for (int i = 1; i < buckets.Count; i++) Assert.True(buckets[i].Value >= buckets[i - 1].Value);
        Assert.Equal("+Inf", buckets[^1].Label("le"));
        Assert.Equal(s.Value("lat_wait_seconds_count"), buckets[^1].Value);
        Assert.Equal(values.Sum(), s.Value("lat_wait_seconds_sum"), 12);
    }

    [Fact]
    public void Histograms_without_advice_get_buckets_by_unit()
    {
        var seconds = _meter.CreateHistogram<double>("rpc.latency", "s");
        var ms = _meter.CreateHistogram<double>("push.latency", "ms");
        var gas = _meter.CreateHistogram<long>("tx.gas_used", "gas");
        seconds.Record(0.2);
        ms.Record(200);
        gas.Record(250_000);
        var s = PrometheusText.Parse(_collector.Scrape());
        Assert.Equal(HistogramBuckets.Seconds.Select(PrometheusTextFormat.FormatValue).Append("+Inf"),
            s.Series("rpc_latency_seconds_bucket").Select(x => x.Label("le")));
        Assert.Equal(1, s.Value("rpc_latency_seconds_bucket", ("le", "0.25")));
        Assert.Equal(0, s.Value("rpc_latency_seconds_bucket", ("le", "0.1")));
        Assert.Equal(1, s.Value("push_latency_milliseconds_bucket", ("le", "250")));
        Assert.Equal(0, s.Value("push_latency_milliseconds_bucket", ("le", "100")));
        Assert.Equal(1, s.Value("tx_gas_used_bucket", ("le", "300000")));
        Assert.Equal(0, s.Value("tx_gas_used_bucket", ("le", "200000")));
    }

    [Fact]
    public void Observable_gauges_report_only_current_observations()
    {
        var assets = new List<string> { "ETH", "BTC" };
        _meter.CreateObservableGauge("obs.state", () => assets.Select(a => new Measurement<int>(a.Length, Tag("asset", a))));
        Assert.Equal(2, PrometheusText.Parse(_collector.Scrape()).Series("obs_state").Count());
        assets.Remove("BTC");
        var s = PrometheusText.Parse(_collector.Scrape());
        Assert.Equal(3, s.Value("obs_state", ("asset", "ETH")));
        Assert.Null(s.ValueOrNull("obs_state", ("asset", "BTC")));
    }

    [Fact]
    public void Only_the_factorys_meters_are_collected_and_same_names_merge()
    {
        using var otherFactory = new KeeperMeterFactory();
        var other = otherFactory.Create(new MeterOptions("Test.Exposition"));
        other.CreateCounter<long>("scope.hits").Add(100);
        using var plain = new Meter("Test.Exposition");
        plain.CreateCounter<long>("scope.hits").Add(1000);
        // meters of another factory and unscoped meters are not collected; two of this factory's meters with an
        // instrument of the same name make one family (counters add up)
        var second = _factory.Create(new MeterOptions("Test.Exposition.Second"));
        _meter.CreateCounter<long>("scope.hits").Add(1);
        second.CreateCounter<long>("scope.hits").Add(2);
        Assert.Same(_meter, _factory.Create(new MeterOptions("Test.Exposition")));
        Assert.Equal(3, PrometheusText.Parse(_collector.Scrape()).Value("scope_hits_total"));
    }

    [Fact]
    public void Names_units_and_values_follow_the_format()
    {
        Assert.Equal("crossmargin_oracle_pushes_total", PrometheusNaming.MetricName("crossmargin.oracle.pushes", "{transaction}", MetricType.Counter));
        Assert.Equal("crossmargin_rpc_calls_total", PrometheusNaming.MetricName("crossmargin_rpc_calls_total", null, MetricType.Counter));
        Assert.Equal("crossmargin_rpc_latency_seconds", PrometheusNaming.MetricName("crossmargin_rpc_latency_seconds", "s", MetricType.Histogram));
        Assert.Equal("crossmargin_oracle_push_latency_milliseconds", PrometheusNaming.MetricName("crossmargin.oracle.push_latency", "ms", MetricType.Histogram));
        Assert.Equal("wait_seconds_total", PrometheusNaming.MetricName("wait", "s", MetricType.Counter));
        Assert.Equal("_9lives", PrometheusNaming.MetricName("9lives", null, MetricType.Gauge));
        Assert.Equal("a:b_c", PrometheusNaming.MetricName("a:b-c", null, MetricType.Gauge));
        Assert.Equal("a_b", PrometheusNaming.LabelName("a:b"));
        Assert.Equal("+Inf", PrometheusTextFormat.FormatValue(double.PositiveInfinity));
        Assert.Equal("-Inf", PrometheusTextFormat.FormatValue(double.NegativeInfinity));
        Assert.Equal("NaN", PrometheusTextFormat.FormatValue(double.NaN));
        Assert.Equal("0.1", PrometheusTextFormat.FormatValue(0.1));
        Assert.Equal("12345678901", PrometheusTextFormat.FormatValue(12345678901));
        Assert.Equal(1e-7, double.Parse(PrometheusTextFormat.FormatValue(1e-7), System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Special_values_and_empty_families()
    {
        var g = _meter.CreateGauge<double>("special.value");
        _meter.CreateCounter<long>("never.used");
        g.Record(double.NaN, Tag("k", "nan"));
        g.Record(double.PositiveInfinity, Tag("k", "inf"));
        string text = _collector.Scrape();
        Assert.DoesNotContain("never_used", text, StringComparison.Ordinal);
        var s = PrometheusText.Parse(text);
        Assert.True(double.IsNaN(s.Value("special_value", ("k", "nan"))));
        Assert.Equal(double.PositiveInfinity, s.Value("special_value", ("k", "inf")));
    }
}
