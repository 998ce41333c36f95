using System.Buffers;
using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text.Json;

namespace CrossMargin.Ethereum.Rpc;

public sealed class WebSocketRpcClientOptions
{
    /// <summary>ws:// or wss:// endpoint.</summary>
    public required Uri Endpoint { get; init; }

    /// <summary>Time allowed for one request's answer (not counting the wait for a connection). Default 30 s.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Time allowed for one connection attempt. Default 10 s.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>First reconnect delay; doubles per failed attempt up to <see cref="MaxReconnectDelay"/>. Default 250 ms.</summary>
    public TimeSpan InitialReconnectDelay { get; init; } = TimeSpan.FromMilliseconds(250);

    public TimeSpan MaxReconnectDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Largest accepted message. Default 64 MiB.</summary>
    public int MaxMessageBytes { get; init; } = 64 * 1024 * 1024;

    /// <summary>Buffered notifications per subscription before overflow (then a gap item). Default 10 000.</summary>
    public int SubscriptionCapacity { get; init; } = 10_000;

    /// <summary>Optional socket configuration (headers, proxy, keep-alive).</summary>
    public Action<ClientWebSocketOptions>? ConfigureSocket { get; init; }
}

/// <summary>
/// JSON-RPC over one WebSocket: requests and eth_subscribe subscriptions. Reconnects automatically with
/// exponential backoff and re-creates every subscription on the new connection, putting a
/// <see cref="SubscriptionGap"/> into each stream so the consumer can backfill. Requests in flight when the
/// connection drops fail with <see cref="RpcConnectionException"/> (they may or may not have executed).
/// </summary>
public sealed class WebSocketRpcClient : IRpcClient, IAsyncDisposable
{
    private readonly WebSocketRpcClientOptions _options;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<RpcSubscription, byte> _subscriptions = new();
    private readonly Lock _startLock = new();
    private TaskCompletionSource<Connection> _connected = NewConnectedSource();
    private Task? _loop;
    private long _nextId;
    private long _generation;
    private int _disposed;

    public WebSocketRpcClient(WebSocketRpcClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.RequestTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.ConnectTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.InitialReconnectDelay, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.SubscriptionCapacity, 1);
        _options = options;
    }

    /// <summary>Number of connections established so far (1 after the first connect, +1 per reconnect).</summary>
    public long ConnectionCount => Interlocked.Read(ref _generation);

    /// <summary>Raised (on the connection loop) when a connection drops; the argument is the cause, if any.</summary>
    public event EventHandler<Exception?>? Disconnected;

    /// <summary>Starts the connection loop (idempotent) and waits until connected.</summary>
    public async Task ConnectAsync(CancellationToken cancellationToken = default) =>
        _ = await WaitConnectedAsync(cancellationToken).ConfigureAwait(false);

    public async Task<T> RequestAsync<T>(RpcRequest<T> request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var connection = await WaitConnectedAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await connection.RequestAsync(request, NextId(), inline: null, _options.RequestTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (RpcClientException ex)
        {
            ex.Method ??= request.Method;
            throw;
        }
    }

    /// <summary>eth_subscribe("newHeads"): block headers (without transaction hashes).</summary>
    public Task<RpcSubscription<BlockHeader>> SubscribeNewHeadsAsync(CancellationToken cancellationToken = default) =>
        SubscribeAsync("newHeads", null, static r => EthRequests.ParseBlockHeader(r, requireTransactions: false), static h => h.Number, cancellationToken);

    /// <summary>eth_subscribe("logs", filter): the filter's addresses and topics (no block range).</summary>
    public Task<RpcSubscription<LogEntry>> SubscribeLogsAsync(LogFilter filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        EthRequests.ValidateFilter(filter, allowRange: false);
        return SubscribeAsync("logs", w => EthRequests.WriteFilter(w, filter), static r => EthRequests.ParseLog(r), static l => l.BlockNumber, cancellationToken);
    }

    /// <summary>
    /// Generic eth_subscribe. <paramref name="blockOf"/> extracts a notification's block number for
    /// <see cref="SubscriptionGap.LastSeenBlock"/>. Retries on new connections until subscribed or cancelled;
    /// a node error (<see cref="RpcException"/>) is thrown.
    /// </summary>
    public async Task<RpcSubscription<T>> SubscribeAsync<T>(string kind, RpcParamsWriter? extraParams,
        RpcResultParser<T> parseNotification, Func<T, ulong?> blockOf, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var subscription = new RpcSubscription<T>(this, kind, extraParams, parseNotification, blockOf, _options.SubscriptionCapacity);
        _subscriptions[subscription] = 0;
        try
        {
            while (true)
            {
                var connection = await WaitConnectedAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    await connection.EnsureSubscribedAsync(subscription, cancellationToken).ConfigureAwait(false);
                    return subscription;
                }
                catch (RpcConnectionException)
                {
                    // the connection dropped mid-subscribe: the next one will do (the loop may already have done it)
                    if (subscription.Generation != 0) return subscription;
                }
            }
        }
        catch
        {
            _subscriptions.TryRemove(subscription, out _);
            subscription.Complete(null);
            throw;
        }
    }

    /// <summary>
    /// Stops routing the subscription and sends eth_unsubscribe without waiting for the answer: the node drops
    /// subscriptions with the connection anyway, and a disposer should not wait on a slow node.
    /// </summary>
    internal ValueTask UnsubscribeAsync(RpcSubscription subscription)
    {
        _subscriptions.TryRemove(subscription, out _);
        var task = _connected.Task;
        if (!task.IsCompletedSuccessfully) return ValueTask.CompletedTask;
        var connection = task.Result;
        string? serverId = connection.Forget(subscription);
        if (serverId is null || subscription.Generation != connection.Generation) return ValueTask.CompletedTask;
        var answer = connection.RequestAsync(new RpcRequest<bool>("eth_unsubscribe", w => w.WriteStringValue(serverId), static r => r.ReadBool()),
            NextId(), null, _options.RequestTimeout, CancellationToken.None);
        // best effort: observe the outcome so a failure is not an unobserved task exception
        _ = answer.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return ValueTask.CompletedTask;
    }

    private long NextId() => Interlocked.Increment(ref _nextId);

    private static TaskCompletionSource<Connection> NewConnectedSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private Task<Connection> WaitConnectedAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        lock (_startLock)
        {
            _loop ??= Task.Run(() => RunAsync(_stop.Token), CancellationToken.None);
        }
        return Volatile.Read(ref _connected).Task.WaitAsync(cancellationToken);
    }

    private async Task RunAsync(CancellationToken stop)
    {
        int failures = 0;
        while (!stop.IsCancellationRequested)
        {
            ClientWebSocket? socket = null;
            try
            {
                socket = new ClientWebSocket();
                _options.ConfigureSocket?.Invoke(socket.Options);
                using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(stop))
                {
                    connectTimeout.CancelAfter(_options.ConnectTimeout);
                    await socket.ConnectAsync(_options.Endpoint, connectTimeout.Token).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is WebSocketException or HttpRequestException or OperationCanceledException or IOException)
            {
                socket?.Dispose();
                if (stop.IsCancellationRequested) break;
                failures++;
                if (!await DelayAsync(failures, stop).ConfigureAwait(false)) break;
                continue;
            }

            long generation = Interlocked.Increment(ref _generation);
            using var connection = new Connection(this, socket, generation, stop);
            var receive = connection.ReceiveLoopAsync();
            Exception? cause = null;
            bool aborted = false;
            try
            {
                // Re-create every subscription before anyone else can use the connection.
                foreach (var subscription in _subscriptions.Keys)
                {
                    try
                    {
                        await connection.EnsureSubscribedAsync(subscription, stop).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is RpcException or RpcResponseFormatException)
                    {
                        // the node refuses this subscription now: end its stream with the error
                        _subscriptions.TryRemove(subscription, out _);
                        subscription.Complete(ex);
                    }
                    catch (RpcTimeoutException ex)
                    {
                        // the socket is not working: drop it and reconnect
                        connection.Abort(ex);
                        aborted = true;
                        break;
                    }
                }
                if (!aborted && !receive.IsCompleted)
                {
                    failures = 0;
                    _connected.TrySetResult(connection);
                }
                cause = await receive.ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // RpcConnectionException / cancellation while resubscribing, or anything unexpected: the loop must survive
                connection.Abort(ex);
                cause = await receive.ConfigureAwait(false) ?? ex;
            }

            // Replace the completed source first so new callers wait for the next connection.
            Volatile.Write(ref _connected, NewConnectedSource());
            connection.FailPending(new RpcConnectionException("The WebSocket connection closed.", cause));
            if (stop.IsCancellationRequested) break;
            Disconnected?.Invoke(this, cause);
            failures++;
            if (!await DelayAsync(failures, stop).ConfigureAwait(false)) break;
        }
        Volatile.Read(ref _connected).TrySetException(new ObjectDisposedException(nameof(WebSocketRpcClient)));
    }

    private async Task<bool> DelayAsync(int failures, CancellationToken stop)
    {
        double baseMs = _options.InitialReconnectDelay.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 20));
        double ms = Math.Min(baseMs, _options.MaxReconnectDelay.TotalMilliseconds);
        ms *= 0.8 + (0.4 * Random.Shared.NextDouble()); // jitter so many clients do not reconnect in lockstep
        try
        {
            await Task.Delay(TimeSpan.FromMilliseconds(ms), stop).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Closes the socket, fails requests in flight and ends every subscription stream.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        var task = _connected.Task;
        if (task.IsCompletedSuccessfully) await task.Result.CloseAsync().ConfigureAwait(false);
        await _stop.CancelAsync().ConfigureAwait(false);
        Task? loop;
        lock (_startLock) loop = _loop;
        if (loop is not null) await loop.ConfigureAwait(false);
        foreach (var subscription in _subscriptions.Keys) subscription.Complete(null);
        _subscriptions.Clear();
        _connected.TrySetException(new ObjectDisposedException(nameof(WebSocketRpcClient)));
        _stop.Dispose();
    }

    /// <summary>One socket: its pending requests, its server subscription ids, its send lock.</summary>
    private sealed class Connection : IDisposable
    {
        private readonly WebSocketRpcClient _owner;
        private readonly ClientWebSocket _socket;
        private readonly CancellationTokenSource _life = new();
        private readonly CancellationTokenRegistration _stopRegistration;
        private volatile bool _closed;
        private readonly SemaphoreSlim _sendLock = new(1, 1);
        private readonly SemaphoreSlim _subscribeLock = new(1, 1);
        private readonly ConcurrentDictionary<long, Pending> _pending = new();
        private readonly ConcurrentDictionary<string, RpcSubscription> _byServerId = new(StringComparer.Ordinal);

        public Connection(WebSocketRpcClient owner, ClientWebSocket socket, long generation, CancellationToken stop)
        {
            _owner = owner;
            _socket = socket;
            Generation = generation;
            _stopRegistration = stop.Register(static s => ((CancellationTokenSource)s!).Cancel(), _life);
        }

        public long Generation { get; }

        public async Task EnsureSubscribedAsync(RpcSubscription subscription, CancellationToken cancellationToken)
        {
            await _subscribeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (subscription.Generation == Generation) return;
                if (subscription.Generation != 0) subscription.EmitGap(SubscriptionGapReason.Reconnected);
                var request = new RpcRequest<string>("eth_subscribe", subscription.WriteSubscribeParams, static r => r.ReadString());
                // The id is registered inside the receive loop, before any later message is read, so no
                // notification that follows the answer can miss its subscription.
                string serverId = await RequestAsync(request, _owner.NextId(), id =>
                {
                    _byServerId[id] = subscription;
                    subscription.ServerId = id;
                    subscription.Generation = Generation;
                }, _owner._options.RequestTimeout, cancellationToken).ConfigureAwait(false);
                _ = serverId;
            }
            finally
            {
                _subscribeLock.Release();
            }
        }

        public string? Forget(RpcSubscription subscription)
        {
            string? id = subscription.ServerId;
            if (id is not null && _byServerId.TryGetValue(id, out var s) && ReferenceEquals(s, subscription))
            {
                _byServerId.TryRemove(id, out _);
                return id;
            }
            return null;
        }

        public async Task<T> RequestAsync<T>(RpcRequest<T> request, long id, Action<T>? inline, TimeSpan timeout, CancellationToken cancellationToken)
        {
            var pending = new Pending<T>(request, inline);
            _pending[id] = pending;
            try
            {
                // Checked after registering: either this sees the close or FailPending sees this request.
                if (_closed) throw new RpcConnectionException("The WebSocket connection is closed.");
                var body = RpcEnvelope.Serialize(w => RpcEnvelope.WriteRequest(w, id, request.Method, request.WriteParams));
                await SendAsync(body).ConfigureAwait(false);
                using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timer.CancelAfter(timeout);
                try
                {
                    return await pending.Completion.Task.WaitAsync(timer.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested && timer.IsCancellationRequested)
                {
                    throw new RpcTimeoutException(timeout, ex);
                }
            }
            finally
            {
                _pending.TryRemove(id, out _);
            }
        }

        private async Task SendAsync(ReadOnlyMemory<byte> body)
        {
            // Sends are not cancelled by callers: cancelling a ClientWebSocket send aborts the socket.
            await _sendLock.WaitAsync(_life.Token).ConfigureAwait(false);
            try
            {
                await _socket.SendAsync(body, WebSocketMessageType.Text, endOfMessage: true, _life.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException || (ex is OperationCanceledException && _life.IsCancellationRequested))
            {
                throw new RpcConnectionException("Sending on the WebSocket failed: " + ex.Message, ex);
            }
            finally
            {
                _sendLock.Release();
            }
        }

        /// <summary>Reads messages until the socket closes or fails; returns the cause (null for a clean close).</summary>
        public async Task<Exception?> ReceiveLoopAsync()
        {
            var cause = await ReceiveCoreAsync().ConfigureAwait(false);
            _closed = true;
            FailPending(new RpcConnectionException("The WebSocket connection closed.", cause));
            return cause;
        }

        private async Task<Exception?> ReceiveCoreAsync()
        {
            await Task.Yield();
            byte[] buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
            int length = 0;
            try
            {
                while (true)
                {
                    if (length == buffer.Length)
                    {
                        if (length >= _owner._options.MaxMessageBytes)
                            return Abort(new RpcResponseFormatException(RpcFormatError.ResponseTooLarge, $"A WebSocket message exceeds {_owner._options.MaxMessageBytes} bytes."));
                        byte[] bigger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, _owner._options.MaxMessageBytes));
                        buffer.AsSpan(0, length).CopyTo(bigger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = bigger;
                    }
                    var result = await _socket.ReceiveAsync(buffer.AsMemory(length), _life.Token).ConfigureAwait(false);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        return new RpcConnectionException($"The server closed the WebSocket ({_socket.CloseStatus} {_socket.CloseStatusDescription}).");
                    }
                    length += result.Count;
                    if (!result.EndOfMessage) continue;
                    if (result.MessageType == WebSocketMessageType.Text) HandleMessage(buffer.AsMemory(0, length));
                    length = 0;
                }
            }
            catch (OperationCanceledException) when (_life.IsCancellationRequested)
            {
                return null;
            }
            catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException)
            {
                return ex;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        private void HandleMessage(ReadOnlyMemory<byte> message)
        {
            JsonDocument doc;
            try
            {
                doc = RpcEnvelope.Parse(message);
            }
            catch (RpcResponseFormatException)
            {
                return; // unattributable garbage; requests waiting for an answer time out
            }
            using (doc)
            {
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object) return;
                if (root.TryGetProperty("method"u8, out var method) && method.ValueKind == JsonValueKind.String)
                {
                    if (method.ValueEquals("eth_subscription"u8)) HandleNotification(root);
                    return;
                }
                long? id = RpcEnvelope.ReadId(root);
                if (id is null || !_pending.TryRemove(id.Value, out var pending)) return;
                try
                {
                    RpcEnvelope.Validate(root, out var result, out var error);
                    if (error is not null) pending.Fail(error);
                    else pending.Complete(result);
                }
                catch (RpcResponseFormatException ex)
                {
                    pending.Fail(ex);
                }
            }
        }

        private void HandleNotification(JsonElement root)
        {
            if (!root.TryGetProperty("params"u8, out var p) || p.ValueKind != JsonValueKind.Object) return;
            if (!p.TryGetProperty("subscription"u8, out var sid) || sid.ValueKind != JsonValueKind.String) return;
            if (!_byServerId.TryGetValue(sid.GetString()!, out var subscription)) return;
            if (!p.TryGetProperty("result"u8, out var result))
            {
                subscription.EmitGap(SubscriptionGapReason.MalformedNotification);
                return;
            }
            subscription.Deliver(result);
        }

        public Exception Abort(Exception cause)
        {
            _socket.Abort();
            _life.Cancel();
            return cause;
        }

        public void FailPending(Exception error)
        {
            foreach (var id in _pending.Keys)
            {
                if (_pending.TryRemove(id, out var p)) p.Fail(error);
            }
        }

        public async Task CloseAsync()
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "client closing", timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
            {
                // closing anyway
            }
        }

        public void Dispose()
        {
            // The semaphores and the token source stay undisposed: late callers may still touch them, and
            // they hold no unmanaged resources in this usage (no wait handles, no timers).
            _stopRegistration.Dispose();
            _life.Cancel();
            _socket.Dispose();
        }
    }

    private abstract class Pending
    {
        public abstract void Complete(JsonElement result);
        public abstract void Fail(Exception error);
    }

    private sealed class Pending<T>(RpcRequest<T> request, Action<T>? inline) : Pending
    {
        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void Complete(JsonElement result)
        {
            try
            {
                T value = RpcEnvelope.ParseResult(request.ParseResult, result, request.Method);
                inline?.Invoke(value);
                Completion.TrySetResult(value);
            }
            catch (RpcClientException ex)
            {
                Completion.TrySetException(ex);
            }
        }

        public override void Fail(Exception error) => Completion.TrySetException(error);
    }
}
