using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;

namespace CrossMargin.Devnet.Tests;

/// <summary>A minimal raw JSON-RPC caller for the tests (the real client lives elsewhere).</summary>
internal static class TestRpc
{
    private static readonly HttpClient s_http = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };
    private static int s_id;

    public static async Task<JsonElement> CallAsync(Uri url, string method, string paramsJson = "[]")
    {
        int id = Interlocked.Increment(ref s_id);
        string body = $$"""{"jsonrpc":"2.0","id":{{id}},"method":"{{method}}","params":{{paramsJson}}}""";
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using HttpResponseMessage response = await s_http.PostAsync(url, content);
        response.EnsureSuccessStatusCode();
        using JsonDocument doc = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync());
        if (doc.RootElement.TryGetProperty("error", out JsonElement error))
        {
            throw new InvalidOperationException($"{method} failed: {error.GetRawText()}");
        }

        return doc.RootElement.GetProperty("result").Clone();
    }

    public static BigInteger ParseBig(JsonElement quantity)
    {
        string s = quantity.GetString()!;
        Assert.StartsWith("0x", s);
        return BigInteger.Parse("0" + s[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
    }
}
