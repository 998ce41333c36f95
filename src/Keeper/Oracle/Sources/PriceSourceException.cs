namespace CrossMargin.Keeper.Oracle.Sources;

/// <summary>Why a source could not deliver prices.</summary>
public enum PriceSourceError
{
    /// <summary>HTTP error status (not 429), or a transport failure.</summary>
    Http,
    /// <summary>HTTP 429 (or an equivalent "slow down" answer).</summary>
    RateLimited,
    /// <summary>No answer within the per-request timeout.</summary>
    Timeout,
    /// <summary>The source's circuit breaker is open after repeated failures; no request was made.</summary>
    CircuitOpen,
    /// <summary>The body is not the documented format: not JSON, missing fields, wrong types, unknown shape.</summary>
    Malformed,
    /// <summary>Well-formed but unusable values: zero or negative price, overflow, bad timestamp.</summary>
    InvalidValue,
    /// <summary>The source answered with an explicit error (e.g. Kraken's "error" array, Binance's code/msg).</summary>
    SourceReported,
    /// <summary>A requested asset (that the source is configured for) is absent from the answer.</summary>
    MissingAsset,
}

/// <summary>A price source failed; the fetch produced no samples.</summary>
public sealed class PriceSourceException : Exception
{
    public PriceSourceException(string source, PriceSourceError reason, string message, Exception? inner = null)
        : base($"[{source}] {reason}: {message}", inner)
    {
        Source = source;
        Reason = reason;
        Detail = message;
    }

    public PriceSourceException() { Source = ""; Detail = ""; }

    public PriceSourceException(string message) : base(message) { Source = ""; Detail = message; }

    public PriceSourceException(string message, Exception inner) : base(message, inner) { Source = ""; Detail = message; }

    /// <summary>Id of the failing source.</summary>
    public new string Source { get; }

    /// <summary>Failure class.</summary>
    public PriceSourceError Reason { get; }

    /// <summary>Human-readable detail without the source/reason prefix.</summary>
    public string Detail { get; }

    /// <summary>Worth retrying (transport, 5xx, 429, timeout) as opposed to a broken answer.</summary>
    public bool IsTransient => Reason is PriceSourceError.Http or PriceSourceError.RateLimited or PriceSourceError.Timeout;
}

/// <summary>A snapshot of a source's health.</summary>
/// <param name="IsHealthy">False after a failed fetch until the next successful one.</param>
/// <param name="ConsecutiveFailures">Failed fetches since the last success.</param>
/// <param name="LastError">The most recent failure, if the last fetch failed.</param>
/// <param name="LastSuccess">Time of the last successful fetch.</param>
public sealed record PriceSourceHealth(bool IsHealthy, int ConsecutiveFailures, PriceSourceException? LastError, DateTimeOffset? LastSuccess);

/// <summary>A price source: returns samples for the requested assets it supports, or throws <see cref="PriceSourceException"/>.</summary>
public interface IPriceSource
{
    /// <summary>Stable id used in samples, options and logs (e.g. "binance").</summary>
    string Id { get; }

    /// <summary>Health after the most recent fetch.</summary>
    PriceSourceHealth Health { get; }

    /// <summary>
    /// Fetches the latest prices. Assets the source is not configured for are skipped; any failure or malformed
    /// answer throws <see cref="PriceSourceException"/> (a partially broken answer yields nothing: a source that
    /// garbles one asset is not trusted for the others in the same answer).
    /// </summary>
    ValueTask<IReadOnlyList<PriceSample>> FetchAsync(IReadOnlyList<string> assets, CancellationToken cancellationToken);
}
