using System.Net;
using System.Text.Json;
using CrossMargin.Ethereum.Numerics;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;

namespace CrossMargin.Keeper.Oracle.Sources;

/// <summary>Timeout, retry and circuit-breaker settings of one source.</summary>
public sealed class PriceSourceResilienceOptions
{
    /// <summary>Per-attempt timeout.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Retries after the first attempt, for transient failures only (transport, 5xx, 429, timeout).</summary>
    public int MaxRetryAttempts { get; set; } = 2;

    /// <summary>Base delay of the exponential, jittered retry back-off (zero allowed, e.g. in tests).</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Failure ratio within the sampling window that opens the circuit.</summary>
    public double CircuitFailureRatio { get; set; } = 0.5;

    /// <summary>Minimum attempts in the window before the circuit may open (Polly requires at least 2).</summary>
    public int CircuitMinimumThroughput { get; set; } = 4;

    /// <summary>Sampling window of the circuit breaker.</summary>
    public TimeSpan CircuitSamplingDuration { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long the circuit stays open before a trial request.</summary>
    public TimeSpan CircuitBreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Largest accepted response body.</summary>
    public int MaxResponseBytes { get; set; } = 1 << 20;
}

/// <summary>
/// Base of all sources: per-attempt timeout, Polly retry with jitter (transient failures only) and a circuit breaker
/// (any failure, including malformed answers), health tracking, and mapping of every failure to
/// <see cref="PriceSourceException"/>.
/// </summary>
public abstract class ResilientPriceSource : IPriceSource
{
    private readonly ResiliencePipeline _pipeline;
    private readonly CircuitBreakerStateProvider _circuit = new();
    private volatile PriceSourceHealth _health = new(true, 0, null, null);

    protected ResilientPriceSource(string id, PriceSourceResilienceOptions? resilience, TimeProvider? timeProvider)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        Id = id;
        Resilience = resilience ?? new PriceSourceResilienceOptions();
        Time = timeProvider ?? TimeProvider.System;
        _pipeline = BuildPipeline(Resilience, _circuit, Time);
    }

    /// <inheritdoc />
    public string Id { get; }

    /// <inheritdoc />
    public PriceSourceHealth Health => _health;

    /// <summary>State of this source's circuit breaker.</summary>
    public CircuitState CircuitState => _circuit.CircuitState;

    protected PriceSourceResilienceOptions Resilience { get; }

    protected TimeProvider Time { get; }

    private static ResiliencePipeline BuildPipeline(PriceSourceResilienceOptions o, CircuitBreakerStateProvider state, TimeProvider time)
    {
        var builder = new ResiliencePipelineBuilder { TimeProvider = time };
        if (o.MaxRetryAttempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<PriceSourceException>(e => e.IsTransient),
                MaxRetryAttempts = o.MaxRetryAttempts,
                Delay = o.RetryBaseDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
            });
        }
        builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<PriceSourceException>(),
            FailureRatio = o.CircuitFailureRatio,
            MinimumThroughput = o.CircuitMinimumThroughput,
            SamplingDuration = o.CircuitSamplingDuration,
            BreakDuration = o.CircuitBreakDuration,
            StateProvider = state,
        });
        return builder.Build();
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<PriceSample>> FetchAsync(IReadOnlyList<string> assets, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(assets);
        try
        {
            IReadOnlyList<PriceSample> samples = await _pipeline.ExecuteAsync(
                static async (state, token) => await state.self.AttemptAsync(state.assets, token).ConfigureAwait(false),
                (self: this, assets),
                cancellationToken).ConfigureAwait(false);
            _health = new PriceSourceHealth(true, 0, null, Time.GetUtcNow());
            return samples;
        }
        catch (BrokenCircuitException e)
        {
            throw Fail(new PriceSourceException(Id, PriceSourceError.CircuitOpen, "circuit open after repeated failures", e));
        }
        catch (PriceSourceException e)
        {
            throw Fail(e);
        }
    }

    private PriceSourceException Fail(PriceSourceException e)
    {
        PriceSourceHealth h = _health;
        _health = new PriceSourceHealth(false, h.ConsecutiveFailures + 1, e, h.LastSuccess);
        return e;
    }

    private async ValueTask<IReadOnlyList<PriceSample>> AttemptAsync(IReadOnlyList<string> assets, CancellationToken token)
    {
        using CancellationTokenSource timeout = new(Resilience.AttemptTimeout, Time);
        using CancellationTokenSource linked = CancellationTokenSource.CreateLinkedTokenSource(token, timeout.Token);
        try
        {
            return await FetchOnceAsync(assets, linked.Token).ConfigureAwait(false);
        }
        catch (PriceSourceException)
        {
            throw;
        }
        catch (OperationCanceledException e) when (!token.IsCancellationRequested)
        {
            throw new PriceSourceException(Id, PriceSourceError.Timeout, $"no answer within {Resilience.AttemptTimeout.TotalMilliseconds:0} ms", e);
        }
        catch (HttpRequestException e)
        {
            throw new PriceSourceException(Id, PriceSourceError.Http, e.Message, e);
        }
        catch (JsonException e)
        {
            throw new PriceSourceException(Id, PriceSourceError.Malformed, "body is not valid JSON: " + e.Message, e);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Wrong JSON value kinds (InvalidOperationException), bad formats, overflow...: a broken answer.
            throw new PriceSourceException(Id, PriceSourceError.Malformed, e.GetType().Name + ": " + e.Message, e);
        }
    }

    /// <summary>One attempt: fetch and parse. Throw <see cref="PriceSourceException"/> for classified failures.</summary>
    protected abstract ValueTask<IReadOnlyList<PriceSample>> FetchOnceAsync(IReadOnlyList<string> assets, CancellationToken cancellationToken);

    // ------------------------------------------------------------------ helpers for adapters

    protected PriceSourceException Malformed(string message) => new(Id, PriceSourceError.Malformed, message);

    protected PriceSourceException Invalid(string message) => new(Id, PriceSourceError.InvalidValue, message);

    /// <summary>Required property of a JSON object.</summary>
    protected JsonElement Property(JsonElement obj, string name, string where)
    {
        if (obj.ValueKind != JsonValueKind.Object) throw Malformed($"{where}: expected an object, got {obj.ValueKind}");
        if (!obj.TryGetProperty(name, out JsonElement v)) throw Malformed($"{where}: missing \"{name}\"");
        return v;
    }

    /// <summary>Required string property.</summary>
    protected string StringProperty(JsonElement obj, string name, string where)
    {
        JsonElement v = Property(obj, name, where);
        if (v.ValueKind != JsonValueKind.String) throw Malformed($"{where}: \"{name}\" must be a string, got {v.ValueKind}");
        return v.GetString()!;
    }

    /// <summary>A decimal price string to a strictly positive WAD.</summary>
    protected UInt256 PositivePrice(string text, string where)
    {
        if (!WadDecimal.TryParse(text, out UInt256 wad, out DecimalFormatError error))
        {
            throw error is DecimalFormatError.Negative or DecimalFormatError.Overflow
                ? Invalid($"{where}: price '{Clip(text)}' is {error}")
                : Malformed($"{where}: price '{Clip(text)}' is not a plain decimal ({error})");
        }
        if (wad.IsZero) throw Invalid($"{where}: price is zero");
        return wad;
    }

    protected static string Clip(string s) => s.Length > 64 ? s[..64] + "..." : s;
}

/// <summary>A <see cref="ResilientPriceSource"/> over an injected <see cref="HttpClient"/> (BaseAddress set by the caller).</summary>
public abstract class HttpPriceSource : ResilientPriceSource
{
    protected HttpPriceSource(string id, HttpClient http, PriceSourceResilienceOptions? resilience, TimeProvider? timeProvider)
        : base(id, resilience, timeProvider)
    {
        ArgumentNullException.ThrowIfNull(http);
        Http = http;
    }

    protected HttpClient Http { get; }

    /// <summary>GET a relative URI and parse the body as JSON; non-success statuses become typed errors.</summary>
    protected async Task<JsonDocument> GetJsonAsync(string relativeUri, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(relativeUri, UriKind.Relative));
        request.Headers.Accept.ParseAdd("application/json");
        using HttpResponseMessage response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        byte[] body = await ReadLimitedAsync(response.Content, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.TooManyRequests)
            throw new PriceSourceException(Id, PriceSourceError.RateLimited, "HTTP 429 Too Many Requests");
        if (!response.IsSuccessStatusCode)
        {
            OnErrorStatus(response.StatusCode, body);
            throw new PriceSourceException(Id, PriceSourceError.Http, $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
        }
        try
        {
            return JsonDocument.Parse(body);
        }
        catch (JsonException e)
        {
            string head = System.Text.Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 40)).Trim();
            throw new PriceSourceException(Id, PriceSourceError.Malformed, $"body is not JSON (starts with '{head}')", e);
        }
    }

    /// <summary>Hook for sources whose error statuses carry a documented JSON error (may throw a more specific error).</summary>
    protected virtual void OnErrorStatus(HttpStatusCode status, byte[] body) { }

    private async Task<byte[]> ReadLimitedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        int max = Resilience.MaxResponseBytes;
        if (content.Headers.ContentLength is long declared && declared > max)
            throw Malformed($"response of {declared} bytes exceeds the {max}-byte limit");
        Stream stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var buffer = new MemoryStream();
            byte[] chunk = new byte[16 * 1024];
            int read;
            while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > max) throw Malformed($"response exceeds the {max}-byte limit");
                buffer.Write(chunk, 0, read);
            }
            return buffer.ToArray();
        }
    }
}
