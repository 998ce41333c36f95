using System.Buffers;
using System.Text.Json;

namespace CrossMargin.Ethereum.Rpc;

/// <summary>JSON-RPC 2.0 framing shared by the HTTP and WebSocket clients.</summary>
internal static class RpcEnvelope
{
    internal static readonly JsonDocumentOptions DocumentOptions = new()
    {
        AllowTrailingCommas = false,
        CommentHandling = JsonCommentHandling.Disallow,
        MaxDepth = 64,
        AllowDuplicateProperties = false,
    };

    internal static readonly JsonWriterOptions WriterOptions = new() { Indented = false, SkipValidation = false };

    internal static void WriteRequest(Utf8JsonWriter writer, long id, string method, RpcParamsWriter? writeParams)
    {
        writer.WriteStartObject();
        writer.WriteString("jsonrpc"u8, "2.0"u8);
        writer.WriteNumber("id"u8, id);
        writer.WriteString("method"u8, method);
        writer.WritePropertyName("params"u8);
        writer.WriteStartArray();
        writeParams?.Invoke(writer);
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    internal static JsonDocument Parse(ReadOnlyMemory<byte> body)
    {
        try
        {
            return JsonDocument.Parse(body, DocumentOptions);
        }
        catch (JsonException ex)
        {
            throw new RpcResponseFormatException(RpcFormatError.InvalidJson, "The answer is not valid JSON: " + ex.Message, ex);
        }
    }

    /// <summary>Reads the id of a response object: a JSON integer, or null (JSON null / absent / unusable).</summary>
    internal static long? ReadId(JsonElement response)
    {
        if (response.ValueKind == JsonValueKind.Object && response.TryGetProperty("id"u8, out var id)
            && id.ValueKind == JsonValueKind.Number && id.TryGetInt64(out long v))
            return v;
        return null;
    }

    /// <summary>
    /// Validates a response object. Returns the id (null for an error answer with "id": null) and either the
    /// result element or the error as an exception.
    /// </summary>
    internal static long? Validate(JsonElement response, out JsonElement result, out RpcException? error)
    {
        result = default;
        error = null;
        if (response.ValueKind != JsonValueKind.Object) throw Envelope($"a response must be an object, got {response.ValueKind}");
        if (!response.TryGetProperty("jsonrpc"u8, out var version) || version.ValueKind != JsonValueKind.String || !version.ValueEquals("2.0"u8))
            throw Envelope("\"jsonrpc\" must be \"2.0\"");
        if (!response.TryGetProperty("id"u8, out var idElement)) throw Envelope("missing \"id\"");
        long? id;
        if (idElement.ValueKind == JsonValueKind.Null) id = null;
        else if (idElement.ValueKind == JsonValueKind.Number && idElement.TryGetInt64(out long v)) id = v;
        else throw Envelope($"\"id\" must be an integer, got {idElement.GetRawText()}");

        bool hasResult = response.TryGetProperty("result"u8, out result);
        bool hasError = response.TryGetProperty("error"u8, out var errorElement);
        if (hasResult == hasError) throw Envelope("a response carries exactly one of \"result\" and \"error\"");
        if (hasError)
        {
            error = ReadError(errorElement);
        }
        else if (id is null)
        {
            throw Envelope("a successful response must have an id");
        }
        return id;
    }

    internal static RpcException ReadError(JsonElement error)
    {
        if (error.ValueKind != JsonValueKind.Object) throw Envelope("\"error\" must be an object");
        if (!error.TryGetProperty("code"u8, out var codeElement) || codeElement.ValueKind != JsonValueKind.Number || !codeElement.TryGetInt64(out long code))
            throw Envelope("\"error.code\" must be an integer");
        if (!error.TryGetProperty("message"u8, out var messageElement) || messageElement.ValueKind != JsonValueKind.String)
            throw Envelope("\"error.message\" must be a string");
        string? raw = null;
        byte[]? revert = null;
        if (error.TryGetProperty("data"u8, out var data) && data.ValueKind != JsonValueKind.Null)
        {
            raw = data.GetRawText();
            revert = FindRevertData(data, 0);
        }
        return new RpcException(code, messageElement.GetString()!, raw, revert);
    }

    /// <summary>Hex revert data in error.data: a hex string, or nested under "data" / "originalError" (depth-limited).</summary>
    private static byte[]? FindRevertData(JsonElement data, int depth)
    {
        if (data.ValueKind == JsonValueKind.String)
        {
            string s = data.GetString()!;
            if (s.Length < 2 || (s.Length & 1) != 0 || s[0] != '0' || s[1] != 'x') return null;
            try { return Hex.Decode(s); }
            catch (HexFormatException) { return null; }
        }
        if (data.ValueKind != JsonValueKind.Object || depth >= 4) return null;
        if (data.TryGetProperty("data"u8, out var inner) && FindRevertData(inner, depth + 1) is { } a) return a;
        if (data.TryGetProperty("originalError"u8, out var original) && FindRevertData(original, depth + 1) is { } b) return b;
        return null;
    }

    /// <summary>Runs a result parser, turning any parser failure into <see cref="RpcResponseFormatException"/>.</summary>
    internal static T ParseResult<T>(RpcResultParser<T> parser, JsonElement result, string method)
    {
        try
        {
            return parser(result);
        }
        catch (RpcClientException ex)
        {
            ex.Method ??= method;
            throw;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new RpcResponseFormatException(RpcFormatError.InvalidResult, $"Invalid result for {method}: {ex.Message}", ex) { Method = method };
        }
    }

    internal static RpcResponseFormatException Envelope(string problem) =>
        new(RpcFormatError.InvalidEnvelope, "Not a JSON-RPC 2.0 response: " + problem + ".");

    /// <summary>A pooled buffer writer for request bodies.</summary>
    internal static ReadOnlyMemory<byte> Serialize(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            write(writer);
        }
        return buffer.WrittenMemory;
    }
}
