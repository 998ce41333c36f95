using System.Net;
using System.Text;
using System.Text.Json;

namespace CrossMargin.Ethereum.Tests.Rpc;

/// <summary>An HttpMessageHandler that answers from a function of the request body (parsed JSON).</summary>
internal sealed class FakeHttpHandler(Func<JsonElement, CancellationToken, Task<HttpResponseMessage>> respond) : HttpMessageHandler
{
    public List<string> RequestBodies { get; } = [];

    public static FakeHttpHandler Json(Func<JsonElement, string> body) =>
        new((request, _) => Task.FromResult(Ok(body(request))));

    public static HttpResponseMessage Ok(string json) => new(HttpStatusCode.OK)
    {
        Content = new StringContent(json, Encoding.UTF8, "application/json"),
    };

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal("application/json", request.Content!.Headers.ContentType!.MediaType);
        string text = await request.Content.ReadAsStringAsync(cancellationToken);
        lock (RequestBodies) RequestBodies.Add(text);
        using var doc = JsonDocument.Parse(text);
        return await respond(doc.RootElement.Clone(), cancellationToken);
    }
}

internal static class FakeJson
{
    /// <summary>A success response echoing the request id.</summary>
    public static string Result(JsonElement request, string resultJson) =>
        $"{{\"jsonrpc\":\"2.0\",\"id\":{request.GetProperty("id").GetRawText()},\"result\":{resultJson}}}";

    public static string Error(JsonElement request, string errorJson) =>
        $"{{\"jsonrpc\":\"2.0\",\"id\":{request.GetProperty("id").GetRawText()},\"error\":{errorJson}}}";
}
