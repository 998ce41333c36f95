using System.Text.Json;
using System.Threading.Channels;

namespace CrossMargin.Ethereum.Rpc;

public enum SubscriptionGapReason
{
    /// <summary>The connection dropped; the subscription was re-created on a new connection.</summary>
    Reconnected,
    /// <summary>The consumer fell behind and notifications were dropped from the full buffer.</summary>
    BufferOverflow,
    /// <summary>A malformed notification was dropped.</summary>
    MalformedNotification,
}

/// <summary>
/// Notifications may have been missed before this point. Backfill from <see cref="LastSeenBlock"/> + 1
/// (or from scratch when null) with eth_getBlockByNumber / eth_getLogs; expect overlap with what follows.
/// </summary>
public sealed record SubscriptionGap(ulong? LastSeenBlock, SubscriptionGapReason Reason);

/// <summary>An item of a subscription stream: a notification value or a <see cref="SubscriptionGap"/>.</summary>
public readonly record struct SubscriptionEvent<T>
{
    internal SubscriptionEvent(T? value, SubscriptionGap? gap)
    {
        Value = value;
        Gap = gap;
    }

    /// <summary>The notification (default when this item is a gap).</summary>
    public T? Value { get; }

    public SubscriptionGap? Gap { get; }

    public bool IsGap => Gap is not null;
}

/// <summary>Non-generic part of a subscription, driven by <see cref="WebSocketRpcClient"/>.</summary>
public abstract class RpcSubscription : IAsyncDisposable
{
    private readonly WebSocketRpcClient _client;
    private int _disposed;

    private protected RpcSubscription(WebSocketRpcClient client, string kind, RpcParamsWriter? extraParams)
    {
        _client = client;
        Kind = kind;
        ExtraParams = extraParams;
    }

    /// <summary>The eth_subscribe kind ("newHeads", "logs", ...).</summary>
    public string Kind { get; }

    internal RpcParamsWriter? ExtraParams { get; }

    /// <summary>The node's id for this subscription on the current connection (changes on reconnect).</summary>
    public string? ServerId { get; internal set; }

    /// <summary>Connection generation this subscription is active on (0 = never subscribed).</summary>
    internal long Generation { get; set; }

    /// <summary>Highest block number seen in a notification, if any.</summary>
    public ulong? LastSeenBlock { get; private protected set; }

    internal abstract void Deliver(JsonElement result);

    internal abstract void EmitGap(SubscriptionGapReason reason);

    internal abstract void Complete(Exception? error);

    internal void WriteSubscribeParams(Utf8JsonWriter writer)
    {
        writer.WriteStringValue(Kind);
        ExtraParams?.Invoke(writer);
    }

    /// <summary>Unsubscribes (eth_unsubscribe, best effort) and ends the stream.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        GC.SuppressFinalize(this);
        await _client.UnsubscribeAsync(this).ConfigureAwait(false);
        Complete(null);
    }
}

/// <summary>
/// A live eth_subscribe subscription. Read <see cref="Events"/> (or <see cref="ReadAllAsync"/>): notifications
/// in arrival order, with a gap item after every reconnect, buffer overflow or dropped malformed notification.
/// The stream ends when the subscription or the client is disposed.
/// </summary>
public sealed class RpcSubscription<T> : RpcSubscription
{
    private readonly Channel<SubscriptionEvent<T>> _channel;
    private readonly RpcResultParser<T> _parse;
    private readonly Func<T, ulong?> _blockOf;
    private readonly Lock _deliverLock = new();
    private SubscriptionGapReason? _pendingGap;

    internal RpcSubscription(WebSocketRpcClient client, string kind, RpcParamsWriter? extraParams,
        RpcResultParser<T> parse, Func<T, ulong?> blockOf, int capacity)
        : base(client, kind, extraParams)
    {
        _parse = parse;
        _blockOf = blockOf;
        _channel = Channel.CreateBounded<SubscriptionEvent<T>>(new BoundedChannelOptions(capacity)
        {
            SingleReader = false,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite fails when full; we then record a gap
        });
    }

    public ChannelReader<SubscriptionEvent<T>> Events => _channel.Reader;

    public IAsyncEnumerable<SubscriptionEvent<T>> ReadAllAsync(CancellationToken cancellationToken = default) =>
        _channel.Reader.ReadAllAsync(cancellationToken);

    internal override void Deliver(JsonElement result)
    {
        T value;
        try
        {
            value = _parse(result);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            EmitGap(SubscriptionGapReason.MalformedNotification);
            return;
        }
        lock (_deliverLock)
        {
            if (!FlushPendingGap()) return;
            if (!_channel.Writer.TryWrite(new SubscriptionEvent<T>(value, null)))
            {
                _pendingGap = SubscriptionGapReason.BufferOverflow;
                return;
            }
            if (_blockOf(value) is { } block && (LastSeenBlock is null || block > LastSeenBlock)) LastSeenBlock = block;
        }
    }

    internal override void EmitGap(SubscriptionGapReason reason)
    {
        lock (_deliverLock)
        {
            // A gap already waiting for buffer space covers this one too.
            _pendingGap ??= reason;
            FlushPendingGap();
        }
    }

    private bool FlushPendingGap()
    {
        if (_pendingGap is not { } reason) return true;
        if (!_channel.Writer.TryWrite(new SubscriptionEvent<T>(default, new SubscriptionGap(LastSeenBlock, reason)))) return false;
        _pendingGap = null;
        return true;
    }

    internal override void Complete(Exception? error) => _channel.Writer.TryComplete(error);
}
