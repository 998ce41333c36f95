using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace CrossMargin.Keeper.Monitoring;

/// <summary>
/// OTLP export of the keeper's traces (<see cref="KeeperTracing.SourceName"/>) and metrics (meter
/// <see cref="KeeperMetrics.MeterName"/>), switched on by the standard environment variable
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>; <c>OTEL_EXPORTER_OTLP_PROTOCOL</c> (<c>grpc</c>, the default, or
/// <c>http/protobuf</c>) and <c>OTEL_SERVICE_NAME</c> (default "crossmargin-keeper") are honoured. With
/// http/protobuf the signal paths <c>/v1/traces</c> and <c>/v1/metrics</c> are appended to the endpoint, as the
/// OTLP specification says for the base endpoint variable. Disposing flushes and stops both exporters.
/// </summary>
public sealed class KeeperTelemetry : IDisposable
{
    public const string EndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";
    public const string ProtocolVariable = "OTEL_EXPORTER_OTLP_PROTOCOL";
    public const string ServiceNameVariable = "OTEL_SERVICE_NAME";
    public const string DefaultServiceName = "crossmargin-keeper";

    private KeeperTelemetry(TracerProvider tracer, MeterProvider meter, Uri endpoint, OtlpExportProtocol protocol)
    {
        Tracer = tracer;
        Meter = meter;
        Endpoint = endpoint;
        Protocol = protocol;
    }

    public TracerProvider Tracer { get; }

    public MeterProvider Meter { get; }

    public Uri Endpoint { get; }

    public OtlpExportProtocol Protocol { get; }

    /// <summary>Null when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is not set; throws <see cref="FormatException"/> for bad values.</summary>
    public static KeeperTelemetry? FromEnvironment(Func<string, string?> environment, TimeSpan? metricExportInterval = null)
    {
        ArgumentNullException.ThrowIfNull(environment);
        string? endpoint = environment(EndpointVariable);
        if (string.IsNullOrWhiteSpace(endpoint)) return null;
        if (!Uri.TryCreate(endpoint.Trim(), UriKind.Absolute, out Uri? uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            throw new FormatException($"{EndpointVariable}: '{endpoint}' is not an http(s) URL.");
        OtlpExportProtocol protocol = environment(ProtocolVariable)?.Trim() switch
        {
            null or "" or "grpc" => OtlpExportProtocol.Grpc,
            "http/protobuf" => OtlpExportProtocol.HttpProtobuf,
            var other => throw new FormatException($"{ProtocolVariable}: '{other}' is not supported (grpc or http/protobuf)."),
        };
        string service = environment(ServiceNameVariable) is { Length: > 0 } s ? s : DefaultServiceName;
        return Create(uri, protocol, service, metricExportInterval);
    }

    /// <summary>Starts both exporters towards <paramref name="endpoint"/> (the base endpoint).</summary>
    public static KeeperTelemetry Create(Uri endpoint, OtlpExportProtocol protocol, string serviceName = DefaultServiceName, TimeSpan? metricExportInterval = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ResourceBuilder resource = ResourceBuilder.CreateDefault().AddService(serviceName);
        TracerProvider tracer = Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(resource)
            .AddSource(KeeperTracing.SourceName)
            .AddOtlpExporter(o => Configure(o, endpoint, protocol, "v1/traces"))
            .Build();
        MeterProvider meter = Sdk.CreateMeterProviderBuilder()
            .SetResourceBuilder(resource)
            .AddMeter(KeeperMetrics.MeterName)
            .AddOtlpExporter((o, reader) =>
            {
                Configure(o, endpoint, protocol, "v1/metrics");
                if (metricExportInterval is { } i) reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)Math.Max(1, i.TotalMilliseconds);
            })
            .Build();
        return new KeeperTelemetry(tracer, meter, endpoint, protocol);
    }

    private static void Configure(OtlpExporterOptions o, Uri endpoint, OtlpExportProtocol protocol, string signalPath)
    {
        o.Protocol = protocol;
        o.Endpoint = protocol == OtlpExportProtocol.HttpProtobuf ? Append(endpoint, signalPath) : endpoint;
    }

    private static Uri Append(Uri endpoint, string path)
    {
        string b = endpoint.AbsoluteUri;
        return new Uri(b.EndsWith('/') ? b + path : b + "/" + path);
    }

    /// <summary>Exports what is buffered now.</summary>
    public bool Flush(int timeoutMilliseconds = 5000) => Tracer.ForceFlush(timeoutMilliseconds) & Meter.ForceFlush(timeoutMilliseconds);

    public void Dispose()
    {
        Tracer.Dispose();
        Meter.Dispose();
    }
}

/// <summary>Runs <see cref="KeeperTelemetry"/> for the host's lifetime when the OTLP environment variable is set.</summary>
public sealed class KeeperTelemetryService(Func<string, string?> environment) : IHostedService, IDisposable
{
    private KeeperTelemetry? _telemetry;

    public KeeperTelemetry? Telemetry => _telemetry;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _telemetry = KeeperTelemetry.FromEnvironment(environment);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Interlocked.Exchange(ref _telemetry, null)?.Dispose();
        return Task.CompletedTask;
    }

    public void Dispose() => Interlocked.Exchange(ref _telemetry, null)?.Dispose();
}
