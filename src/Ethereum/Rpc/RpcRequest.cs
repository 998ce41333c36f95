using System.Text.Json;

namespace CrossMargin.Ethereum.Rpc;

/// <summary>Writes the elements of a request's positional <c>params</c> array (the client writes the brackets).</summary>
public delegate void RpcParamsWriter(Utf8JsonWriter writer);

/// <summary>
/// Turns a <c>result</c> value into a typed value. The element is only valid during the call (its document is
/// disposed afterwards): copy what you need, or <see cref="JsonElement.Clone"/> it. Throwing any exception
/// marks the answer as malformed (<see cref="RpcResponseFormatException"/>).
/// </summary>
public delegate T RpcResultParser<out T>(JsonElement result);

/// <summary>A typed JSON-RPC call: method, parameters and result parser. Reusable and immutable.</summary>
public sealed class RpcRequest<T>
{
    public RpcRequest(string method, RpcParamsWriter? writeParams, RpcResultParser<T> parseResult)
    {
        ArgumentException.ThrowIfNullOrEmpty(method);
        ArgumentNullException.ThrowIfNull(parseResult);
        Method = method;
        WriteParams = writeParams;
        ParseResult = parseResult;
    }

    public string Method { get; }

    public RpcParamsWriter? WriteParams { get; }

    public RpcResultParser<T> ParseResult { get; }

    public override string ToString() => Method;
}

/// <summary>Something that executes JSON-RPC calls (HTTP or WebSocket).</summary>
public interface IRpcClient
{
    /// <summary>Sends one call and returns its typed result.</summary>
    /// <exception cref="RpcException">The node answered with an error object.</exception>
    /// <exception cref="RpcTransportException">No answer (connection, HTTP status, timeout).</exception>
    /// <exception cref="RpcResponseFormatException">The answer is malformed.</exception>
    /// <exception cref="OperationCanceledException">The caller cancelled.</exception>
    Task<T> RequestAsync<T>(RpcRequest<T> request, CancellationToken cancellationToken = default);
}

public static class RpcClientExtensions
{
    /// <summary>Escape hatch for methods without a typed wrapper (node-specific methods).</summary>
    public static Task<T> RequestAsync<T>(this IRpcClient client, string method, RpcParamsWriter? writeParams,
        RpcResultParser<T> parseResult, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        return client.RequestAsync(new RpcRequest<T>(method, writeParams, parseResult), cancellationToken);
    }
}
