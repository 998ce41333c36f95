using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace CrossMargin.Ethereum.Tests.Rpc;

/// <summary>
/// A tiny ws:// server on 127.0.0.1: a TcpListener, the RFC 6455 opening handshake by hand, then
/// <see cref="WebSocket.CreateFromStream(Stream, bool, string?, TimeSpan)"/>. Tests script each accepted connection;
/// <see cref="ServerConnection.Drop"/> closes the TCP connection abruptly.
/// </summary>
internal sealed class LoopbackWebSocketServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Channel<ServerConnection> _connections = Channel.CreateUnbounded<ServerConnection>();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;

    public LoopbackWebSocketServer()
    {
        _listener.Start();
        Uri = new Uri($"ws://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");
        _accept = AcceptLoopAsync();
    }

    public Uri Uri { get; }

    /// <summary>Answer new connections with HTTP 503 while true.</summary>
    public volatile bool Refuse;

    public async Task<ServerConnection> NextConnectionAsync(CancellationToken ct) => await _connections.Reader.ReadAsync(ct);

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient tcp;
            try { tcp = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception) { return; }
            try
            {
                var connection = await HandshakeAsync(tcp);
                if (connection is not null) await _connections.Writer.WriteAsync(connection);
            }
            catch (IOException)
            {
                tcp.Dispose();
            }
        }
    }

    private async Task<ServerConnection?> HandshakeAsync(TcpClient tcp)
    {
        var stream = tcp.GetStream();
        var header = new StringBuilder();
        var one = new byte[1];
        while (!header.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await stream.ReadAsync(one, _stop.Token) == 0) { tcp.Dispose(); return null; }
            header.Append((char)one[0]);
        }
        string? key = header.ToString().Split("\r\n")
            .Where(l => l.StartsWith("Sec-WebSocket-Key:", StringComparison.OrdinalIgnoreCase))
            .Select(l => l["Sec-WebSocket-Key:".Length..].Trim()).FirstOrDefault();
        if (Refuse || key is null)
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), _stop.Token);
            tcp.Dispose();
            return null;
        }
#pragma warning disable CA5350 // RFC 6455 prescribes SHA-1 for Sec-WebSocket-Accept; not a security use
        string accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
#pragma warning restore CA5350
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"), _stop.Token);
        return new ServerConnection(WebSocket.CreateFromStream(stream, isServer: true, subProtocol: null, keepAliveInterval: Timeout.InfiniteTimeSpan), tcp);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try { await _accept; } catch (Exception) { /* stopped */ }
        while (_connections.Reader.TryRead(out var c)) c.Drop();
        _stop.Dispose();
    }
}

internal sealed class ServerConnection(WebSocket socket, TcpClient tcp)
{
    public WebSocket Socket { get; } = socket;

    /// <summary>Next text message as JSON (null when the client closed).</summary>
    public async Task<JsonElement?> ReceiveAsync(CancellationToken ct)
    {
        var buffer = new byte[64 * 1024];
        using var ms = new MemoryStream();
        while (true)
        {
            var r = await Socket.ReceiveAsync(buffer, ct);
            if (r.MessageType == WebSocketMessageType.Close) return null;
            ms.Write(buffer, 0, r.Count);
            if (r.EndOfMessage) break;
        }
        using var doc = JsonDocument.Parse(ms.ToArray());
        return doc.RootElement.Clone();
    }

    /// <summary>Receives the next request and checks its method.</summary>
    public async Task<JsonElement> ExpectRequestAsync(string method, CancellationToken ct)
    {
        var msg = await ReceiveAsync(ct) ?? throw new InvalidOperationException($"connection closed while expecting {method}");
        Assert.Equal("2.0", msg.GetProperty("jsonrpc").GetString());
        Assert.Equal(method, msg.GetProperty("method").GetString());
        return msg;
    }

    public Task SendAsync(string json, CancellationToken ct) =>
        Socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, ct);

    public Task ReplyAsync(JsonElement request, string resultJson, CancellationToken ct) =>
        SendAsync(FakeJson.Result(request, resultJson), ct);

    public Task NotifyAsync(string subscriptionId, string resultJson, CancellationToken ct) =>
        SendAsync($"{{\"jsonrpc\":\"2.0\",\"method\":\"eth_subscription\",\"params\":{{\"subscription\":\"{subscriptionId}\",\"result\":{resultJson}}}}}", ct);

    /// <summary>Drops the connection without a close handshake.</summary>
    public void Drop()
    {
        tcp.Client.LingerState = new LingerOption(true, 0); // RST, like a crashed node or a cut network
        tcp.Dispose();
        Socket.Abort();
    }
}
