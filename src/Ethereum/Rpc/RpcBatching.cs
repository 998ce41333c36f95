namespace CrossMargin.Ethereum.Rpc;

/// <summary>
/// Calls sent together: one round trip where the transport supports JSON-RPC batches. <see cref="Add{T}"/> returns
/// each call's own task, completed with its result or its own error after <see cref="SendAsync"/>. Not thread-safe;
/// send once.
/// </summary>
public interface IRpcBatch
{
    int Count { get; }

    Task<T> Add<T>(RpcRequest<T> request);

    /// <summary>Sends every call. Throws only when the batch as a whole failed (every call then fails the same way).</summary>
    Task SendAsync(CancellationToken cancellationToken = default);
}

/// <summary>An <see cref="IRpcClient"/> that can send JSON-RPC batches.</summary>
public interface IBatchingRpcClient : IRpcClient
{
    IRpcBatch StartBatch();
}

/// <summary>The batch of a client that cannot batch: the calls go one after the other, in order, when sent.</summary>
public sealed class SequentialRpcBatch(IRpcClient client) : IRpcBatch
{
    private readonly List<Func<CancellationToken, Task>> _calls = [];
    private bool _sent;

    public int Count => _calls.Count;

    public Task<T> Add<T>(RpcRequest<T> request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (_sent) throw new InvalidOperationException("The batch was already sent.");
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _calls.Add(async ct =>
        {
            try
            {
                done.TrySetResult(await client.RequestAsync(request, ct).ConfigureAwait(false));
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                done.TrySetCanceled(ct);
                throw;
            }
            catch (Exception e)
            {
                done.TrySetException(e);
            }
        });
        return done.Task;
    }

    public async Task SendAsync(CancellationToken cancellationToken = default)
    {
        if (_sent) throw new InvalidOperationException("The batch was already sent.");
        _sent = true;
        foreach (var call in _calls) await call(cancellationToken).ConfigureAwait(false);
    }
}

public static class RpcBatching
{
    /// <summary>A batch of <paramref name="client"/>: one round trip when it can batch, sequential calls otherwise.</summary>
    public static IRpcBatch StartBatch(this IRpcClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        return client is IBatchingRpcClient b ? b.StartBatch() : new SequentialRpcBatch(client);
    }
}
