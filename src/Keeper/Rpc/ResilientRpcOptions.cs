using Microsoft.Extensions.Options;

namespace CrossMargin.Keeper.Rpc;

/// <summary>One JSON-RPC endpoint, in priority order (the first is the primary).</summary>
public sealed class RpcEndpointOptions
{
    /// <summary>Short name used in logs and metric tags (never the URL: it may carry an API key).</summary>
    public string Name { get; set; } = "";

    /// <summary>The endpoint URL.</summary>
    public Uri? Url { get; set; }
}

/// <summary>Resilience settings shared by every endpoint of a <see cref="ResilientRpcClient"/>.</summary>
public sealed class ResilientRpcOptions
{
    /// <summary>Endpoints in priority order.</summary>
    public List<RpcEndpointOptions> Endpoints { get; } = [];

    /// <summary>Timeout of one attempt on one endpoint.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Retries on the same endpoint after the first attempt, for transient failures only.</summary>
    public int MaxRetryAttempts { get; set; } = 2;

    /// <summary>Base delay of the exponential, jittered back-off.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Largest delay between two attempts; a Retry-After beyond it fails over instead of waiting.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Failure ratio within the sampling window that opens an endpoint's circuit.</summary>
    public double CircuitFailureRatio { get; set; } = 0.5;

    /// <summary>Minimum attempts in the window before the circuit may open (at least 2).</summary>
    public int CircuitMinimumThroughput { get; set; } = 6;

    /// <summary>Sampling window of the circuit breaker.</summary>
    public TimeSpan CircuitSamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an open circuit rejects calls before one trial call (recovery to the primary).</summary>
    public TimeSpan CircuitBreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Throws <see cref="OptionsValidationException"/> listing every inconsistent setting (called at start).</summary>
    public void Validate(bool requireEndpoints = true)
    {
        var f = new List<string>();
        if (requireEndpoints && Endpoints.Count == 0) f.Add("at least one RPC endpoint is required");
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in Endpoints)
        {
            if (string.IsNullOrWhiteSpace(e.Name)) f.Add("every RPC endpoint needs a name");
            else if (!names.Add(e.Name)) f.Add($"duplicate RPC endpoint name '{e.Name}'");
            if (e.Url is null || !e.Url.IsAbsoluteUri || (e.Url.Scheme != Uri.UriSchemeHttp && e.Url.Scheme != Uri.UriSchemeHttps))
                f.Add($"RPC endpoint '{e.Name}' needs an absolute http(s) URL");
        }
        if (AttemptTimeout <= TimeSpan.Zero) f.Add("AttemptTimeout must be positive");
        if (MaxRetryAttempts is < 0 or > 10) f.Add("MaxRetryAttempts must be within 0..10");
        if (RetryBaseDelay < TimeSpan.Zero) f.Add("RetryBaseDelay must not be negative");
        if (MaxRetryDelay < RetryBaseDelay) f.Add("MaxRetryDelay must be at least RetryBaseDelay");
        if (!(CircuitFailureRatio > 0 && CircuitFailureRatio <= 1)) f.Add("CircuitFailureRatio must be within (0, 1]");
        if (CircuitMinimumThroughput < 2) f.Add("CircuitMinimumThroughput must be at least 2");
        if (CircuitSamplingDuration < TimeSpan.FromMilliseconds(500)) f.Add("CircuitSamplingDuration must be at least 500 ms");
        if (CircuitBreakDuration < TimeSpan.FromMilliseconds(500)) f.Add("CircuitBreakDuration must be at least 500 ms");
        if (f.Count > 0) throw new OptionsValidationException(nameof(ResilientRpcOptions), typeof(ResilientRpcOptions), f);
    }
}
