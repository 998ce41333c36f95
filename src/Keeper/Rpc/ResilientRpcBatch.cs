using CrossMargin.Ethereum.Rpc;

namespace CrossMargin.Keeper.Rpc;

/// <summary>
/// Calls sent together through a <see cref="ResilientRpcClient"/>. The batch goes to one endpoint as a unit (one HTTP
/// POST when the endpoint is a <see cref="JsonRpcClient"/>, sequential calls otherwise); when that endpoint fails
/// transiently the whole batch is retried and fails over together, so all answers come from the same node.
/// Per-call JSON-RPC errors complete only their own call. Not thread-safe; send once.
/// </summary>
public sealed class ResilientRpcBatch : IRpcBatch
{
    private readonly ResilientRpcClient _client;
    private readonly List<Item> _items = [];
    private bool _sent;

    internal ResilientRpcBatch(ResilientRpcClient client) => _client = client;

    public int Count => _items.Count;

    /// <summary>Adds a call; its task completes when <see cref="SendAsync"/> finishes.</summary>
    public Task<T> Add<T>(RpcRequest<T> request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (_sent) throw new InvalidOperationException("The batch was already sent.");
        var item = new Item<T>(request);
        _items.Add(item);
        return item.Completion.Task;
    }

    /// <summary>
    /// Sends every call. Throws (after failing every call with the same exception) when no endpoint could answer
    /// the batch; individual call errors do not make it throw.
    /// </summary>
    public async Task SendAsync(CancellationToken cancellationToken = default)
    {
        if (_sent) throw new InvalidOperationException("The batch was already sent.");
        _sent = true;
        if (_items.Count == 0) return;
        try
        {
            await _client.ExecuteAsync("batch", _items, static async (endpoint, items, ct) =>
            {
                await SendToAsync(endpoint, items, ct).ConfigureAwait(false);
                return true;
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            foreach (var item in _items) item.Cancel(cancellationToken);
            throw;
        }
        catch (Exception ex)
        {
            foreach (var item in _items) item.Fail(ex);
            throw;
        }
        foreach (var item in _items) item.Publish();
    }

    /// <summary>One attempt on one endpoint: throws for a batch-level (endpoint) failure, records per-call outcomes otherwise.</summary>
    private static async Task SendToAsync(IRpcClient endpoint, List<Item> items, CancellationToken ct)
    {
        if (endpoint is JsonRpcClient http)
        {
            var batch = http.CreateBatch();
            var tasks = items.Select(i => i.AddTo(batch)).ToArray();
            await batch.SendAsync(ct).ConfigureAwait(false);
            for (int i = 0; i < items.Count; i++)
            {
                try
                {
                    await tasks[i].ConfigureAwait(false);
                    items[i].TakeResult(tasks[i]);
                }
                catch (RpcClientException ex) when (!RpcErrorClassifier.IsEndpointFailure(ex))
                {
                    items[i].SetError(ex);
                }
            }
            return;
        }
        foreach (var item in items)
        {
            try
            {
                await item.RunAsync(endpoint, ct).ConfigureAwait(false);
            }
            catch (RpcClientException ex) when (!RpcErrorClassifier.IsEndpointFailure(ex))
            {
                item.SetError(ex);
            }
        }
    }

    private abstract class Item
    {
        public abstract Task AddTo(RpcBatch batch);
        public abstract void TakeResult(Task completed);
        public abstract Task RunAsync(IRpcClient client, CancellationToken ct);
        public abstract void SetError(Exception error);
        public abstract void Publish();
        public abstract void Fail(Exception error);
        public abstract void Cancel(CancellationToken token);
    }

    private sealed class Item<T>(RpcRequest<T> request) : Item
    {
        private T? _result;
        private Exception? _error;

        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override Task AddTo(RpcBatch batch)
        {
            _error = null;
            return batch.Add(request);
        }

        public override void TakeResult(Task completed) => _result = ((Task<T>)completed).Result;

        public override async Task RunAsync(IRpcClient client, CancellationToken ct)
        {
            _error = null;
            _result = await client.RequestAsync(request, ct).ConfigureAwait(false);
        }

        public override void SetError(Exception error) => _error = error;

        public override void Publish()
        {
            if (_error is not null) Completion.TrySetException(_error);
            else Completion.TrySetResult(_result!);
        }

        public override void Fail(Exception error) => Completion.TrySetException(error);

        public override void Cancel(CancellationToken token) => Completion.TrySetCanceled(token);
    }
}
