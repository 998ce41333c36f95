using System.Net;

namespace CrossMargin.Ethereum.Rpc;

/// <summary>
/// Base of every error the RPC clients raise (besides <see cref="OperationCanceledException"/> for caller
/// cancellation). A caller that catches this type catches every failure of a call.
/// </summary>
public abstract class RpcClientException : Exception
{
    protected RpcClientException(string message) : base(message) { }

    protected RpcClientException(string message, Exception? inner) : base(message, inner) { }

    /// <summary>The JSON-RPC method of the failed call, when known.</summary>
    public string? Method { get; internal set; }
}

/// <summary>The node answered the call with a JSON-RPC error object.</summary>
public sealed class RpcException : RpcClientException
{
    /// <summary>JSON-RPC code of execution reverts on geth-style nodes and anvil.</summary>
    public const int ExecutionRevertedCode = 3;

    public RpcException(long code, string rpcMessage, string? rawData, byte[]? revertData)
        : base($"JSON-RPC error {code}: {rpcMessage}")
    {
        Code = code;
        RpcMessage = rpcMessage;
        RawData = rawData;
        RevertData = revertData;
    }

    public long Code { get; }

    /// <summary>The error object's <c>message</c>.</summary>
    public string RpcMessage { get; }

    /// <summary>The error object's <c>data</c> as raw JSON text, if present.</summary>
    public string? RawData { get; }

    /// <summary>
    /// Revert data (selector + ABI-encoded arguments) when <c>error.data</c> carries strict hex, directly
    /// or nested (<c>{"data":"0x.."}</c>, <c>{"originalError":{"data":"0x.."}}</c>); null otherwise.
    /// Decode with the ABI layer.
    /// </summary>
    public byte[]? RevertData { get; }

    /// <summary>True when the node reports an EVM revert (code 3 or an "execution reverted" message).</summary>
    public bool IsExecutionReverted =>
        Code == ExecutionRevertedCode || RpcMessage.StartsWith("execution reverted", StringComparison.OrdinalIgnoreCase);
}

/// <summary>The request did not produce a JSON-RPC answer: network, HTTP or socket failure.</summary>
public class RpcTransportException : RpcClientException
{
    public RpcTransportException(string message) : base(message) { }

    public RpcTransportException(string message, Exception? inner) : base(message, inner) { }
}

/// <summary>The endpoint could not be reached or the connection broke (refused, reset, DNS, socket closed).</summary>
public sealed class RpcConnectionException : RpcTransportException
{
    public RpcConnectionException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>The per-endpoint timeout elapsed before the answer arrived (the caller did not cancel).</summary>
public sealed class RpcTimeoutException : RpcTransportException
{
    public RpcTimeoutException(TimeSpan timeout, Exception? inner = null)
        : base($"No answer within {timeout.TotalMilliseconds:0} ms.", inner)
    {
        Timeout = timeout;
    }

    public TimeSpan Timeout { get; }
}

/// <summary>The endpoint answered with a non-success HTTP status and no JSON-RPC error body.</summary>
public class RpcHttpStatusException : RpcTransportException
{
    public RpcHttpStatusException(HttpStatusCode statusCode, string? reasonPhrase, TimeSpan? retryAfter = null)
        : base($"HTTP {(int)statusCode} {reasonPhrase}".TrimEnd())
    {
        StatusCode = statusCode;
        RetryAfter = retryAfter;
    }

    public HttpStatusCode StatusCode { get; }

    /// <summary>The Retry-After header, when the server sent one.</summary>
    public TimeSpan? RetryAfter { get; }
}

/// <summary>HTTP 429: the provider rate-limits this client.</summary>
public sealed class RpcRateLimitedException : RpcHttpStatusException
{
    public RpcRateLimitedException(string? reasonPhrase, TimeSpan? retryAfter)
        : base(HttpStatusCode.TooManyRequests, reasonPhrase, retryAfter) { }
}

/// <summary>What was wrong with a malformed answer.</summary>
public enum RpcFormatError
{
    /// <summary>The body is not valid JSON.</summary>
    InvalidJson,
    /// <summary>The answer exceeds the client's size limit (asking for less may succeed; the node is not at fault).</summary>
    ResponseTooLarge,
    /// <summary>The envelope is not a JSON-RPC 2.0 response (jsonrpc, id, result/error shape).</summary>
    InvalidEnvelope,
    /// <summary>The response id does not belong to any request sent.</summary>
    UnexpectedId,
    /// <summary>A batch answer lacks the response for this call.</summary>
    MissingResponse,
    /// <summary>A batch answer holds two responses with this call's id.</summary>
    DuplicateResponse,
    /// <summary>The result does not have the shape of the method's result (non-canonical hex, wrong length, missing field...).</summary>
    InvalidResult,
}

/// <summary>The node's answer is malformed; the call's outcome is unknown.</summary>
public sealed class RpcResponseFormatException : RpcClientException
{
    public RpcResponseFormatException(RpcFormatError error, string message, Exception? inner = null)
        : base(message, inner)
    {
        Error = error;
    }

    public RpcFormatError Error { get; }
}
