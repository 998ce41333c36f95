using System.Text.Json;

namespace CrossMargin.Ethereum.Rpc;

/// <summary>
/// Several calls sent in one HTTP POST. <see cref="Add{T}"/> returns each call's own task, which completes with
/// its typed result or its own error after <see cref="SendAsync"/>. Responses are matched by id in any order;
/// a call without a response fails with <see cref="RpcFormatError.MissingResponse"/>, one answered twice with
/// <see cref="RpcFormatError.DuplicateResponse"/>. Not thread-safe; send once.
/// </summary>
public sealed class RpcBatch : IRpcBatch
{
    private readonly JsonRpcClient _client;
    private readonly List<Entry> _entries = [];
    private bool _sent;

    internal RpcBatch(JsonRpcClient client) => _client = client;

    public int Count => _entries.Count;

    public Task<T> Add<T>(RpcRequest<T> request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (_sent) throw new InvalidOperationException("The batch was already sent.");
        var entry = new Entry<T>(_client.NextId(), request);
        _entries.Add(entry);
        return entry.Completion.Task;
    }

    /// <summary>Escape hatch for untyped-wrapper methods.</summary>
    public Task<T> Add<T>(string method, RpcParamsWriter? writeParams, RpcResultParser<T> parseResult) =>
        Add(new RpcRequest<T>(method, writeParams, parseResult));

    /// <summary>
    /// Sends all calls in one POST and completes every call's task. Throws (after failing every call with the
    /// same exception) when the batch as a whole fails: transport, invalid JSON, a non-array answer.
    /// Individual call errors do not make this throw.
    /// </summary>
    public async Task SendAsync(CancellationToken cancellationToken = default)
    {
        if (_sent) throw new InvalidOperationException("The batch was already sent.");
        _sent = true;
        if (_entries.Count == 0) return;
        var body = RpcEnvelope.Serialize(w =>
        {
            w.WriteStartArray();
            foreach (var e in _entries) RpcEnvelope.WriteRequest(w, e.Id, e.Method, e.WriteParams);
            w.WriteEndArray();
        });
        try
        {
            var answer = await _client.PostAsync(body, cancellationToken).ConfigureAwait(false);
            if (!answer.Success) throw JsonRpcClient.StatusError(answer);
            using var doc = RpcEnvelope.Parse(answer.Body);
            Dispatch(doc.RootElement);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            foreach (var e in _entries) e.Cancel(cancellationToken);
            throw;
        }
        catch (Exception ex) when (ex is RpcClientException)
        {
            foreach (var e in _entries) e.Fail(ex, shared: true);
            throw;
        }
    }

    private void Dispatch(JsonElement root)
    {
        if (root.ValueKind == JsonValueKind.Object)
        {
            // A single object answers a batch only when the node rejects the whole batch.
            RpcEnvelope.Validate(root, out _, out var error);
            throw (RpcClientException?)error ?? RpcEnvelope.Envelope("a batch answer must be an array");
        }
        if (root.ValueKind != JsonValueKind.Array) throw RpcEnvelope.Envelope($"a batch answer must be an array, got {root.ValueKind}");

        var byId = new Dictionary<long, Entry>(_entries.Count);
        foreach (var e in _entries) byId[e.Id] = e;
        var answered = new Dictionary<long, JsonElement>(_entries.Count);
        var failures = new Dictionary<long, Exception>();
        var duplicates = new HashSet<long>();
        int unattributed = 0;

        foreach (var item in root.EnumerateArray())
        {
            long? id = RpcEnvelope.ReadId(item);
            if (id is null || !byId.ContainsKey(id.Value))
            {
                unattributed++;
                continue;
            }
            if (answered.ContainsKey(id.Value) || failures.ContainsKey(id.Value))
            {
                duplicates.Add(id.Value);
                continue;
            }
            try
            {
                RpcEnvelope.Validate(item, out var result, out var error);
                if (error is not null) failures[id.Value] = error;
                else answered[id.Value] = result;
            }
            catch (RpcResponseFormatException ex)
            {
                failures[id.Value] = ex;
            }
        }

        foreach (var e in _entries)
        {
            if (duplicates.Contains(e.Id))
                e.Fail(new RpcResponseFormatException(RpcFormatError.DuplicateResponse, $"The batch answer holds more than one response with id {e.Id}."));
            else if (failures.TryGetValue(e.Id, out var failure))
                e.Fail(failure);
            else if (answered.TryGetValue(e.Id, out var result))
                e.Complete(result);
            else
                e.Fail(new RpcResponseFormatException(RpcFormatError.MissingResponse,
                    $"The batch answer has no response with id {e.Id}" + (unattributed > 0 ? $" ({unattributed} response(s) had unknown or no ids)." : ".")));
        }
    }

    private abstract class Entry(long id)
    {
        public long Id { get; } = id;
        public abstract string Method { get; }
        public abstract RpcParamsWriter? WriteParams { get; }
        public abstract void Complete(JsonElement result);
        public abstract void Fail(Exception error, bool shared = false);
        public abstract void Cancel(CancellationToken token);
    }

    private sealed class Entry<T>(long id, RpcRequest<T> request) : Entry(id)
    {
        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public override string Method => request.Method;
        public override RpcParamsWriter? WriteParams => request.WriteParams;

        public override void Complete(JsonElement result)
        {
            try
            {
                Completion.TrySetResult(RpcEnvelope.ParseResult(request.ParseResult, result, request.Method));
            }
            catch (RpcClientException ex)
            {
                Completion.TrySetException(ex);
            }
        }

        public override void Fail(Exception error, bool shared = false)
        {
            if (!shared && error is RpcClientException rpc) rpc.Method ??= request.Method;
            Completion.TrySetException(error);
        }

        public override void Cancel(CancellationToken token) => Completion.TrySetCanceled(token);
    }
}
