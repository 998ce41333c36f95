using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CrossMargin.Keeper.Monitoring;

/// <summary>
/// The operator endpoint: a Kestrel server of its own on <see cref="MonitoringSettings.BindAddress"/>:<see cref="MonitoringSettings.Port"/>
/// serving <c>/metrics</c> (Prometheus text format 0.0.4 from a <see cref="MetricsCollector"/>), <c>/healthz</c>
/// (liveness checks) and <c>/readyz</c> (readiness checks), both as JSON naming every check with its status (200
/// when all are healthy, 503 otherwise). A port that cannot be bound is logged as an error and the keeper runs on
/// without the endpoint (<see cref="Started"/> faults). <see cref="Url"/> is the bound address (port 0 picks one).
/// </summary>
public sealed partial class MonitoringServer : IHostedService, IAsyncDisposable
{
    private readonly MonitoringSettings _settings;
    private readonly MetricsCollector _collector;
    private readonly IReadOnlyList<HealthCheckRegistration> _checks;
    private readonly ILogger _logger;
    private readonly TaskCompletionSource<Uri> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WebApplication? _app;

    /// <param name="checks">Health checks; tag them <see cref="KeeperHealthChecks.LiveTag"/> and/or <see cref="KeeperHealthChecks.ReadyTag"/>.</param>
    public MonitoringServer(MonitoringSettings settings, MetricsCollector collector, IEnumerable<HealthCheckRegistration> checks, ILogger<MonitoringServer>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(collector);
        ArgumentNullException.ThrowIfNull(checks);
        _settings = settings;
        _collector = collector;
        _checks = [.. checks];
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>The bound base address (null until started, or when disabled or the bind failed).</summary>
    public Uri? Url { get; private set; }

    /// <summary>Completes with <see cref="Url"/> once the server listens; faults when it could not start; cancelled when disabled.</summary>
    public Task<Uri> Started => _started.Task;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_settings.Enabled)
        {
            _started.TrySetCanceled(CancellationToken.None);
            return;
        }
        WebApplication? app = null;
        try
        {
            WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "crossmargin-monitoring" });
            builder.WebHost.UseKestrelCore();
            builder.WebHost.ConfigureKestrel(k =>
            {
                k.AddServerHeader = false;
                k.Listen(_settings.BindAddress, _settings.Port);
            });
            builder.Services.AddRoutingCore();
            var health = builder.Services.AddHealthChecks();
            foreach (HealthCheckRegistration r in _checks) health.Add(r);
            app = builder.Build();
            app.MapGet("/metrics", (RequestDelegate)ServeMetricsAsync);
            app.MapHealthChecks("/healthz", Options(KeeperHealthChecks.LiveTag));
            app.MapHealthChecks("/readyz", Options(KeeperHealthChecks.ReadyTag));
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
                ?? throw new InvalidOperationException("Kestrel reported no address.");
            Url = new Uri(address);
            _app = app;
            LogListening(_logger, Url);
            _started.TrySetResult(Url);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogStartFailed(_logger, _settings.BindAddress.ToString(), _settings.Port, ex.Message);
            if (app is not null) await app.DisposeAsync().ConfigureAwait(false);
            _started.TrySetException(ex);
        }
    }

    private async Task ServeMetricsAsync(HttpContext context)
    {
        string body = _collector.Scrape();
        context.Response.ContentType = PrometheusTextFormat.ContentType;
        await context.Response.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }

    private static HealthCheckOptions Options(string tag) => new()
    {
        Predicate = r => r.Tags.Contains(tag),
        ResponseWriter = WriteReportAsync,
        AllowCachingResponses = false,
    };

    /// <summary>
    /// The JSON body: <c>{"status":"Healthy|Degraded|Unhealthy","failed":[names],"checks":[{"name","status",
    /// "description","durationMs","error"?}]}</c>, checks in registration order.
    /// </summary>
    public static async Task WriteReportAsync(HttpContext context, HealthReport report)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(report);
        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.WriteAsync(ReportJson(report), context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>The JSON of <see cref="WriteReportAsync"/>.</summary>
    public static string ReportJson(HealthReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("status", report.Status.ToString());
            w.WriteStartArray("failed");
            foreach (var (name, entry) in report.Entries) if (entry.Status != HealthStatus.Healthy) w.WriteStringValue(name);
            w.WriteEndArray();
            w.WriteStartArray("checks");
            foreach (var (name, entry) in report.Entries)
            {
                w.WriteStartObject();
                w.WriteString("name", name);
                w.WriteString("status", entry.Status.ToString());
                w.WriteString("description", entry.Description ?? "");
                w.WriteNumber("durationMs", Math.Round(entry.Duration.TotalMilliseconds, 3));
                if (entry.Exception is { } ex) w.WriteString("error", ex.Message);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is { } app) await app.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        WebApplication? app = Interlocked.Exchange(ref _app, null);
        if (app is not null) await app.DisposeAsync().ConfigureAwait(false);
        _started.TrySetCanceled(CancellationToken.None);
    }

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Monitoring endpoint listening on {Url} (/metrics, /healthz, /readyz)")]
    private static partial void LogListening(ILogger logger, Uri url);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Error, Message = "Monitoring endpoint could not start on {Address}:{Port}; the keeper runs without it: {Reason}")]
    private static partial void LogStartFailed(ILogger logger, string address, int port, string reason);
}
