using System.Collections.Concurrent;
using CrossMargin.Ethereum.Rpc;

namespace CrossMargin.Keeper.Rpc;

/// <summary>
/// Counts what goes through an <see cref="IRpcClient"/>: <see cref="Count"/> round trips (a JSON-RPC batch counts once)
/// and <see cref="ByMethod"/> calls per method, batched or not. With <see cref="RecordRoundTrips"/> on, it also keeps the
/// methods of every round trip until <see cref="TakeRoundTrips"/> (which calls travelled together). For the end-to-end
/// harness and tests.
/// </summary>
public sealed class CountingRpcClient(IRpcClient inner) : IBatchingRpcClient
{
    private readonly ConcurrentQueue<string[]> _trips = new();
    private long _count;

    public long Count => Interlocked.Read(ref _count);

    public ConcurrentDictionary<string, long> ByMethod { get; } = new(StringComparer.Ordinal);

    /// <summary>Keep the methods of every round trip (off by default: the list grows until taken).</summary>
    public bool RecordRoundTrips { get; set; }

    /// <summary>The round trips recorded since the last call, oldest first, each as the methods it carried.</summary>
    public IReadOnlyList<string[]> TakeRoundTrips()
    {
        var list = new List<string[]>();
        while (_trips.TryDequeue(out string[]? trip)) list.Add(trip);
        return list;
    }

    /// <summary>A round trip as text: its methods in order, repeats folded ("eth_call, eth_getTransactionReceipt x3").</summary>
    public static string Describe(IReadOnlyList<string> methods)
    {
        ArgumentNullException.ThrowIfNull(methods);
        var parts = new List<string>();
        for (int i = 0; i < methods.Count;)
        {
            int j = i;
            while (j < methods.Count && methods[j] == methods[i]) j++;
            parts.Add(j - i > 1 ? $"{methods[i]} x{j - i}" : methods[i]);
            i = j;
        }
        return "[" + string.Join(", ", parts) + "]";
    }

    public Task<T> RequestAsync<T>(RpcRequest<T> request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        Interlocked.Increment(ref _count);
        ByMethod.AddOrUpdate(request.Method, 1, (_, n) => n + 1);
        if (RecordRoundTrips) _trips.Enqueue([request.Method]);
        return inner.RequestAsync(request, cancellationToken);
    }

    public IRpcBatch StartBatch() => new Batch(this, inner.StartBatch());

    private sealed class Batch(CountingRpcClient owner, IRpcBatch batch) : IRpcBatch
    {
        private readonly List<string> _methods = [];

        public int Count => batch.Count;

        public Task<T> Add<T>(RpcRequest<T> request)
        {
            ArgumentNullException.ThrowIfNull(request);
            owner.ByMethod.AddOrUpdate(request.Method, 1, (_, n) => n + 1);
            _methods.Add(request.Method);
            return batch.Add(request);
        }

        public Task SendAsync(CancellationToken cancellationToken = default)
        {
            if (batch.Count > 0)
            {
                Interlocked.Increment(ref owner._count);
                if (owner.RecordRoundTrips) owner._trips.Enqueue([.. _methods]);
            }
            return batch.SendAsync(cancellationToken);
        }
    }
}
