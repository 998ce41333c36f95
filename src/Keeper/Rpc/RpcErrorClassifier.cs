using System.Net;
using CrossMargin.Ethereum.Rpc;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace CrossMargin.Keeper.Rpc;

/// <summary>How the resilience layer treats a failed call.</summary>
public enum RpcFailureKind
{
    /// <summary>Not a failure of the endpoint (execution revert, invalid params, nonce errors...): returned to the caller as is.</summary>
    Permanent,

    /// <summary>Connection, timeout, HTTP 5xx: retried with back-off, then fails over.</summary>
    Transient,

    /// <summary>HTTP 429 or a JSON-RPC "limit exceeded" error: retried (honouring Retry-After), then fails over.</summary>
    RateLimited,

    /// <summary>The answer was malformed: not retried on the same endpoint, but the call fails over.</summary>
    Malformed,

    /// <summary>The endpoint's circuit is open: the call fails over without touching it.</summary>
    CircuitOpen,
}

/// <summary>Classifies RPC failures for retry, circuit breaking and failover.</summary>
public static class RpcErrorClassifier
{
    /// <summary>JSON-RPC code used by many providers for "limit exceeded" (EIP-1474).</summary>
    public const long LimitExceededCode = -32005;

    public static RpcFailureKind Classify(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        switch (exception)
        {
            case RpcRateLimitedException:
                return RpcFailureKind.RateLimited;
            case RpcHttpStatusException http:
                int status = (int)http.StatusCode;
                return status >= 500 || http.StatusCode == HttpStatusCode.RequestTimeout ? RpcFailureKind.Transient : RpcFailureKind.Permanent;
            case RpcTransportException:
            case TimeoutRejectedException:
                return RpcFailureKind.Transient;
            case RpcException rpc:
                return IsRateLimit(rpc) ? RpcFailureKind.RateLimited : RpcFailureKind.Permanent;
            case RpcResponseFormatException { Error: RpcFormatError.ResponseTooLarge }:
                // the answer is too big for us: the same call fails on every endpoint and counts against none (callers
                // that can ask for less, like the log backfill, do)
                return RpcFailureKind.Permanent;
            case RpcResponseFormatException:
                return RpcFailureKind.Malformed;
            case BrokenCircuitException:
                return RpcFailureKind.CircuitOpen;
            default:
                return RpcFailureKind.Permanent;
        }
    }

    /// <summary>Whether retrying the same call on the same endpoint may succeed.</summary>
    public static bool IsRetryable(Exception exception) =>
        Classify(exception) is RpcFailureKind.Transient or RpcFailureKind.RateLimited;

    /// <summary>Whether the failure counts against the endpoint (circuit breaker) and makes the call fail over.</summary>
    public static bool IsEndpointFailure(Exception exception) =>
        Classify(exception) is RpcFailureKind.Transient or RpcFailureKind.RateLimited or RpcFailureKind.Malformed;

    private static bool IsRateLimit(RpcException e) =>
        !e.IsExecutionReverted &&
        (e.Code == LimitExceededCode
         || e.RpcMessage.Contains("rate limit", StringComparison.OrdinalIgnoreCase)
         || e.RpcMessage.Contains("limit exceeded", StringComparison.OrdinalIgnoreCase)
         || e.RpcMessage.Contains("too many requests", StringComparison.OrdinalIgnoreCase));

    /// <summary>The server's Retry-After, when it sent one.</summary>
    public static TimeSpan? RetryAfter(Exception exception) => exception is RpcHttpStatusException http ? http.RetryAfter : null;
}
