using System.Collections.Concurrent;
using CrossMargin.Ethereum.Rpc;

namespace CrossMargin.Keeper.Rpc;

/// <summary>
/// Counts what goes through an <see cref="IRpcClient"/>: <see cref="Count"/> round trips (a JSON-RPC batch counts once)
/// and <see cref="ByMethod"/> calls per method, batched or not. For the end-to-end harness and tests.
/// </summary>
public sealed class CountingRpcClient(IRpcClient inner) : IBatchingRpcClient
{
    private long _count;

    public long Count => Interlocked.Read(ref _count);

    public ConcurrentDictionary<string, long> ByMethod { get; } = new(StringComparer.Ordinal);

    public Task<T> RequestAsync<T>(RpcRequest<T> request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        Interlocked.Increment(ref _count);
        ByMethod.AddOrUpdate(request.Method, 1, (_, n) => n + 1);
        return inner.RequestAsync(request, cancellationToken);
    }

    public IRpcBatch StartBatch() => new Batch(this, inner.StartBatch());

    private sealed class Batch(CountingRpcClient owner, IRpcBatch batch) : IRpcBatch
    {
        public int Count => batch.Count;

        public Task<T> Add<T>(RpcRequest<T> request)
        {
            ArgumentNullException.ThrowIfNull(request);
            owner.ByMethod.AddOrUpdate(request.Method, 1, (_, n) => n + 1);
            return batch.Add(request);
        }

        public Task SendAsync(CancellationToken cancellationToken = default)
        {
            if (batch.Count > 0) Interlocked.Increment(ref owner._count);
            return batch.SendAsync(cancellationToken);
        }
    }
}
