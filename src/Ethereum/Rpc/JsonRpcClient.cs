using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace CrossMargin.Ethereum.Rpc;

public sealed class JsonRpcClientOptions
{
    /// <summary>The endpoint URL. Required unless the injected HttpClient has a BaseAddress.</summary>
    public Uri? Endpoint { get; init; }

    /// <summary>Time allowed for one POST (request and whole response body). Default 30 s.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Largest accepted response body. Default 64 MiB.</summary>
    public int MaxResponseBytes { get; init; } = 64 * 1024 * 1024;
}

/// <summary>
/// JSON-RPC 2.0 over HTTP POST, single calls and batches. Thread-safe. Requests are written with
/// <see cref="Utf8JsonWriter"/>; answers are validated strictly (see <see cref="RpcResponseFormatException"/>).
/// </summary>
public sealed class JsonRpcClient : IBatchingRpcClient, IDisposable
{
    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json");

    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly Uri? _endpoint;
    private readonly TimeSpan _timeout;
    private readonly int _maxResponseBytes;
    private long _nextId;

    /// <summary>Uses an injected HttpClient (not disposed by this client).</summary>
    public JsonRpcClient(HttpClient httpClient, JsonRpcClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Endpoint is null && httpClient.BaseAddress is null)
            throw new ArgumentException("An endpoint is required (options.Endpoint or HttpClient.BaseAddress).", nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.Timeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxResponseBytes, 1);
        _http = httpClient;
        _endpoint = options.Endpoint;
        _timeout = options.Timeout;
        _maxResponseBytes = options.MaxResponseBytes;
    }

    /// <summary>Creates its own HttpClient over <paramref name="handler"/> (or a default handler).</summary>
    public JsonRpcClient(Uri endpoint, HttpMessageHandler? handler = null, TimeSpan? timeout = null)
        : this(CreateHttpClient(handler), new JsonRpcClientOptions { Endpoint = endpoint, Timeout = timeout ?? TimeSpan.FromSeconds(30) })
    {
        _ownsHttp = true;
    }

    private static HttpClient CreateHttpClient(HttpMessageHandler? handler) =>
        // Our own timeout applies; the HttpClient one is disabled so the two cannot race.
        new(handler ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }, disposeHandler: true)
        {
            Timeout = System.Threading.Timeout.InfiniteTimeSpan,
        };

    public TimeSpan Timeout => _timeout;

    public async Task<T> RequestAsync<T>(RpcRequest<T> request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        long id = Interlocked.Increment(ref _nextId);
        var body = RpcEnvelope.Serialize(w => RpcEnvelope.WriteRequest(w, id, request.Method, request.WriteParams));
        try
        {
            var answer = await PostAsync(body, cancellationToken).ConfigureAwait(false);
            if (!answer.Success) throw StatusError(answer);
            using var doc = RpcEnvelope.Parse(answer.Body);
            long? responseId = RpcEnvelope.Validate(doc.RootElement, out var result, out var error);
            if (error is not null)
            {
                // An error with "id": null is the server failing to read our request: still this call's error.
                if (responseId is not null && responseId != id) throw UnexpectedId(responseId.Value, id);
                throw error;
            }
            if (responseId != id) throw UnexpectedId(responseId!.Value, id);
            return RpcEnvelope.ParseResult(request.ParseResult, result, request.Method);
        }
        catch (RpcClientException ex)
        {
            ex.Method ??= request.Method;
            throw;
        }
    }

    /// <summary>Starts a batch: add calls, then <see cref="RpcBatch.SendAsync"/> once.</summary>
    public RpcBatch CreateBatch() => new(this);

    IRpcBatch IBatchingRpcClient.StartBatch() => CreateBatch();

    internal long NextId() => Interlocked.Increment(ref _nextId);

    internal readonly record struct HttpAnswer(bool Success, HttpStatusCode Status, string? Reason, TimeSpan? RetryAfter, ReadOnlyMemory<byte> Body);

    /// <summary>POSTs a body; maps every transport failure to an <see cref="RpcTransportException"/>.</summary>
    internal async Task<HttpAnswer> PostAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        try
        {
            using var message = new HttpRequestMessage(HttpMethod.Post, _endpoint) { Content = new ReadOnlyMemoryContent(body) };
            message.Content.Headers.ContentType = JsonContentType;
            using var response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            TimeSpan? retryAfter = RetryAfter(response);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
                throw new RpcRateLimitedException(response.ReasonPhrase, retryAfter);
            var bytes = await ReadBodyAsync(response.Content, timeout.Token).ConfigureAwait(false);
            return new HttpAnswer(response.IsSuccessStatusCode, response.StatusCode, response.ReasonPhrase, retryAfter, bytes);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        catch (OperationCanceledException ex)
        {
            // Our timeout or the HttpClient's own: either way the caller did not cancel.
            throw new RpcTimeoutException(_timeout, ex);
        }
        catch (HttpRequestException ex)
        {
            throw new RpcConnectionException("HTTP request failed: " + ex.Message, ex);
        }
        catch (IOException ex)
        {
            throw new RpcConnectionException("Connection failed while reading the answer: " + ex.Message, ex);
        }
    }

    /// <summary>Bytes of one socket read.</summary>
    private const int ReadChunkBytes = 64 * 1024;

    /// <summary>
    /// The answer's body, exactly sized. The socket reads into a small pooled buffer, never into the body: a pooled
    /// connection's socket keeps the last buffer it read into until its next read, which kept a multi-megabyte answer
    /// alive for as long as the connection idled. Without a declared length the body is collected in segments and
    /// copied once (no doubling array and its discarded halves).
    /// </summary>
    private async Task<ReadOnlyMemory<byte>> ReadBodyAsync(HttpContent content, CancellationToken cancellationToken)
    {
        long? declared = content.Headers.ContentLength;
        if (declared > _maxResponseBytes) throw TooLarge();
        var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            byte[] chunk = System.Buffers.ArrayPool<byte>.Shared.Rent(ReadChunkBytes);
            try
            {
                var body = new BodyBuffer(declared is > 0 ? (int)declared.Value : 0);
                while (true)
                {
                    int n = await stream.ReadAsync(chunk.AsMemory(0, ReadChunkBytes), cancellationToken).ConfigureAwait(false);
                    if (n == 0) break;
                    if (body.Length + (long)n > _maxResponseBytes) throw TooLarge();
                    body.Append(chunk.AsSpan(0, n));
                }
                return body.ToMemory();
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(chunk);
            }
        }
    }

    /// <summary>
    /// Collects a body: into one array of the declared length, or (unknown length, or more than declared) into segments
    /// of growing size joined once at the end.
    /// </summary>
    private sealed class BodyBuffer(int declared)
    {
        private readonly byte[]? _exact = declared > 0 ? new byte[declared] : null;
        private List<byte[]>? _segments;
        private byte[]? _current;
        private int _currentLength;

        public int Length { get; private set; }

        public void Append(ReadOnlySpan<byte> data)
        {
            if (_segments is null && _exact is not null && Length + data.Length <= _exact.Length)
            {
                data.CopyTo(_exact.AsSpan(Length));
                Length += data.Length;
                return;
            }
            if (_segments is null)
            {
                _segments = [];
                if (_exact is not null && Length > 0) { _current = _exact; _currentLength = Length; }
            }
            while (!data.IsEmpty)
            {
                if (_current is null || _currentLength == _current.Length)
                {
                    if (_current is not null) _segments.Add(_current);
                    _current = new byte[Math.Clamp(Length, 4096, 4 * 1024 * 1024)];
                    _currentLength = 0;
                }
                int n = Math.Min(data.Length, _current.Length - _currentLength);
                data[..n].CopyTo(_current.AsSpan(_currentLength));
                _currentLength += n;
                Length += n;
                data = data[n..];
            }
        }

        public ReadOnlyMemory<byte> ToMemory()
        {
            if (_segments is null) return _exact is null ? ReadOnlyMemory<byte>.Empty : _exact.AsMemory(0, Length);
            if (_segments.Count == 0 && _current is not null) return _current.AsMemory(0, _currentLength);
            var all = new byte[Length];
            int at = 0;
            foreach (byte[] s in _segments)
            {
                s.CopyTo(all, at);
                at += s.Length;
            }
            if (_current is not null) _current.AsSpan(0, _currentLength).CopyTo(all.AsSpan(at));
            return all;
        }
    }

    private RpcResponseFormatException TooLarge() =>
        new(RpcFormatError.ResponseTooLarge, $"The answer exceeds the {_maxResponseBytes}-byte limit.");

    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header is null) return null;
        if (header.Delta is { } delta) return delta;
        if (header.Date is { } date)
        {
            var d = date - DateTimeOffset.UtcNow;
            return d > TimeSpan.Zero ? d : TimeSpan.Zero;
        }
        return null;
    }

    /// <summary>For a non-2xx answer: the JSON-RPC error it carries, else the HTTP status as the error.</summary>
    internal static Exception StatusError(in HttpAnswer answer)
    {
        try
        {
            using var doc = RpcEnvelope.Parse(answer.Body);
            if (doc.RootElement.ValueKind == JsonValueKind.Object)
            {
                RpcEnvelope.Validate(doc.RootElement, out _, out var error);
                if (error is not null) return error;
            }
        }
        catch (RpcResponseFormatException)
        {
            // not a JSON-RPC error body: report the status
        }
        return new RpcHttpStatusException(answer.Status, answer.Reason, answer.RetryAfter);
    }

    private static RpcResponseFormatException UnexpectedId(long got, long expected) =>
        new(RpcFormatError.UnexpectedId, $"The answer has id {got}, the request had id {expected}.");

    public void Dispose()
    {
        if (_ownsHttp) _http.Dispose();
    }
}
