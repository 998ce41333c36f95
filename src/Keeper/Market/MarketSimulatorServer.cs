using System.Buffers;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Oracle;
using CrossMargin.Keeper.Oracle.Sources;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CrossMargin.Keeper.Market;

/// <summary>
/// Loopback HTTP server (Kestrel on 127.0.0.1) serving a <see cref="MarketSimulation"/> in the public formats of
/// Binance (<c>/binance/api/v3/ticker/price</c>), Coinbase (<c>/coinbase/products/{id}/ticker</c>), Kraken
/// (<c>/kraken/0/public/Ticker</c>) and Pyth Hermes (<c>/pyth/v2/updates/price/latest</c>, binary data in MockPyth
/// format, see <see cref="MockPythUpdate"/>). Point each adapter's HttpClient at <see cref="SourceBaseUri"/>.
/// </summary>
public sealed class MarketSimulatorServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private MarketSimulatorServer(WebApplication app, MarketSimulation simulation, int port)
    {
        _app = app;
        Simulation = simulation;
        Port = port;
    }

    /// <summary>The simulation served.</summary>
    public MarketSimulation Simulation { get; }

    /// <summary>The bound port.</summary>
    public int Port { get; }

    /// <summary>http://127.0.0.1:port/</summary>
    public Uri BaseUri => new($"http://127.0.0.1:{Port}/");

    /// <summary>Base address for one source's adapter, e.g. http://127.0.0.1:port/binance/.</summary>
    public Uri SourceBaseUri(string source) => new(BaseUri, source + "/");

    /// <summary>Starts the server on 127.0.0.1:<paramref name="port"/> (0 = any free port; see <see cref="Port"/>).</summary>
    public static async Task<MarketSimulatorServer> StartAsync(MarketSimulation simulation, int port = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(simulation);
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(MarketSimulatorServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        WebApplication app = builder.Build();

        var handlers = new Handlers(simulation);
        app.MapGet("/binance/api/v3/ticker/price", new RequestDelegate(handlers.Binance));
        app.MapGet("/coinbase/products/{product}/ticker", new RequestDelegate(handlers.Coinbase));
        app.MapGet("/kraken/0/public/Ticker", new RequestDelegate(handlers.Kraken));
        app.MapGet("/pyth/v2/updates/price/latest", new RequestDelegate(handlers.Hermes));
        app.MapGet("/scenario", new RequestDelegate(handlers.Status));

        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        int bound = new Uri(address).Port;
        return new MarketSimulatorServer(app, simulation, bound);
    }

    /// <summary>Stops the server.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private sealed class Handlers(MarketSimulation sim)
    {
        private static Task Json(HttpContext ctx, int status, Action<Utf8JsonWriter> write)
        {
            var buffer = new ArrayBufferWriter<byte>(512);
            using (var w = new Utf8JsonWriter(buffer)) write(w);
            ctx.Response.StatusCode = status;
            ctx.Response.ContentType = "application/json";
            return ctx.Response.Body.WriteAsync(buffer.WrittenMemory).AsTask();
        }

        private static Task Down(HttpContext ctx, int status)
        {
            ctx.Response.StatusCode = status;
            ctx.Response.ContentType = "text/html";
            byte[] body = Encoding.UTF8.GetBytes($"<html><head><title>{status}</title></head><body><h1>{status} Service Unavailable</h1></body></html>");
            return ctx.Response.Body.WriteAsync(body).AsTask();
        }

        public Task Status(HttpContext ctx) => Json(ctx, 200, w =>
        {
            int step = sim.CurrentStep;
            w.WriteStartObject();
            w.WriteString("name", sim.Scenario.Name);
            w.WriteNumber("step", step);
            w.WriteString("time", sim.Now.ToString("O", CultureInfo.InvariantCulture));
            w.WriteStartObject("prices");
            foreach (ScenarioAsset a in sim.Scenario.Assets) w.WriteString(a.Symbol, WadDecimal.Format(sim.TruePrice(a.Symbol, step), 8));
            w.WriteEndObject();
            w.WriteEndObject();
        });

        // Binance: ?symbol=ETHUSDT -> object; ?symbols=["ETHUSDT","BTCUSDT"] -> array. Unknown -> 400 {"code":-1121,...}.
        public Task Binance(HttpContext ctx)
        {
            if (sim.DownStatus("binance") is int down) return Down(ctx, down);
            string? single = ctx.Request.Query["symbol"];
            string? many = ctx.Request.Query["symbols"];
            List<string> symbols;
            if (single is not null) symbols = [single];
            else if (many is not null)
            {
                try { symbols = JsonSerializer.Deserialize(many, ScenarioJson.Default.ListString) ?? []; }
                catch (JsonException) { return BinanceError(ctx, -1100, "Illegal characters found in parameter 'symbols'."); }
            }
            else
            {
                symbols = [.. sim.Scenario.Assets.Select(a => a.Symbol + "USDT")];
            }
            var quotes = new List<(string Symbol, SourceQuote Quote)>();
            foreach (string s in symbols)
            {
                string asset = s.EndsWith("USDT", StringComparison.Ordinal) ? s[..^4] : "";
                if (!sim.HasAsset(asset)) return BinanceError(ctx, -1121, "Invalid symbol.");
                SourceQuote q = sim.Quote("binance", asset);
                if (q.DownStatus is int d) return Down(ctx, d);
                quotes.Add((s, q));
            }
            return Json(ctx, 200, w =>
            {
                if (single is null) w.WriteStartArray();
                foreach ((string symbol, SourceQuote q) in quotes)
                {
                    w.WriteStartObject();
                    w.WriteString("symbol", symbol);
                    w.WriteString("price", WadDecimal.Format(q.PriceWad, 8));
                    w.WriteEndObject();
                }
                if (single is null) w.WriteEndArray();
            });
        }

        private static Task BinanceError(HttpContext ctx, int code, string msg) => Json(ctx, 400, w =>
        {
            w.WriteStartObject();
            w.WriteNumber("code", code);
            w.WriteString("msg", msg);
            w.WriteEndObject();
        });

        // Coinbase Exchange: /products/ETH-USD/ticker. Unknown -> 404 {"message":"NotFound"}.
        public Task Coinbase(HttpContext ctx)
        {
            if (sim.DownStatus("coinbase") is int down) return Down(ctx, down);
            string product = (string?)ctx.Request.RouteValues["product"] ?? "";
            string asset = product.EndsWith("-USD", StringComparison.Ordinal) ? product[..^4] : "";
            if (!sim.HasAsset(asset))
                return Json(ctx, 404, w => { w.WriteStartObject(); w.WriteString("message", "NotFound"); w.WriteEndObject(); });
            SourceQuote q = sim.Quote("coinbase", asset);
            if (q.DownStatus is int d) return Down(ctx, d);
            return Json(ctx, 200, w =>
            {
                UInt256 spread = Bps.Fraction(q.PriceWad, 1);
                w.WriteStartObject();
                w.WriteString("ask", WadDecimal.Format(q.PriceWad + spread, 2));
                w.WriteString("bid", WadDecimal.Format(q.PriceWad - spread, 2));
                w.WriteString("volume", "123456.78901234");
                w.WriteNumber("trade_id", 100_000 + q.Step);
                w.WriteString("price", WadDecimal.Format(q.PriceWad, 2));
                w.WriteString("size", "0.01000000");
                w.WriteString("time", q.PublishTime.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture));
                w.WriteNumber("rfq_volume", 0);
                w.WriteEndObject();
            });
        }

        // Kraken: /0/public/Ticker?pair=XETHZUSD,XXBTZUSD. Answers with canonical keys; unknown -> 200 {"error":["EQuery:Unknown asset pair"]}.
        public Task Kraken(HttpContext ctx)
        {
            if (sim.DownStatus("kraken") is int down) return Down(ctx, down);
            string pairs = ctx.Request.Query["pair"].ToString();
            var found = new List<(string Key, SourceQuote Quote)>();
            foreach (string pair in pairs.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                (string Asset, string Key)? m = ResolveKraken(pair);
                if (m is not { } match)
                    return Json(ctx, 200, w => { w.WriteStartObject(); w.WriteStartArray("error"); w.WriteStringValue("EQuery:Unknown asset pair"); w.WriteEndArray(); w.WriteEndObject(); });
                SourceQuote q = sim.Quote("kraken", match.Asset);
                if (q.DownStatus is int d) return Down(ctx, d);
                found.Add((match.Key, q));
            }
            return Json(ctx, 200, w =>
            {
                w.WriteStartObject();
                w.WriteStartArray("error");
                w.WriteEndArray();
                w.WriteStartObject("result");
                foreach ((string key, SourceQuote q) in found)
                {
                    string p = WadDecimal.Format(q.PriceWad, 5);
                    string ask = WadDecimal.Format(Bps.Apply(q.PriceWad, 1), 5), bid = WadDecimal.Format(Bps.Apply(q.PriceWad, -1), 5);
                    w.WriteStartObject(key);
                    WriteArray(w, "a", ask, "1", "1.000");
                    WriteArray(w, "b", bid, "1", "1.000");
                    WriteArray(w, "c", p, "0.01000000");
                    WriteArray(w, "v", "1000.00000000", "2000.00000000");
                    WriteArray(w, "p", p, p);
                    w.WriteStartArray("t"); w.WriteNumberValue(100); w.WriteNumberValue(200); w.WriteEndArray();
                    WriteArray(w, "l", bid, bid);
                    WriteArray(w, "h", ask, ask);
                    w.WriteString("o", p);
                    w.WriteEndObject();
                }
                w.WriteEndObject();
                w.WriteEndObject();
            });
        }

        private static void WriteArray(Utf8JsonWriter w, string name, params string[] values)
        {
            w.WriteStartArray(name);
            foreach (string v in values) w.WriteStringValue(v);
            w.WriteEndArray();
        }

        private (string Asset, string Key)? ResolveKraken(string pair)
        {
            foreach ((string asset, KrakenPair kp) in KrakenPriceSource.DefaultPairs)
                if (sim.HasAsset(asset) && (kp.RequestPair == pair || kp.ResultKeys.Contains(pair))) return (asset, kp.ResultKeys[0]);
            foreach (ScenarioAsset a in sim.Scenario.Assets)
                if (pair == a.Symbol + "USD") return (a.Symbol, pair);
            return null;
        }

        // Hermes: /v2/updates/price/latest?ids[]=0x..&ids[]=..  Unknown id -> 404 text.
        public Task Hermes(HttpContext ctx)
        {
            if (sim.DownStatus("pyth") is int down) return Down(ctx, down);
            var requested = new List<ScenarioAsset>();
            foreach (string? id in ctx.Request.Query["ids[]"])
            {
                string? norm = id is null ? null : PythHermesPriceSource.NormalizeId(id);
                ScenarioAsset? a = norm is null ? null : sim.Scenario.Assets.FirstOrDefault(x => Convert.ToHexStringLower(x.PythFeedId) == norm);
                if (a is null)
                {
                    ctx.Response.StatusCode = 404;
                    return ctx.Response.WriteAsync($"Price ids not found: {id}");
                }
                requested.Add(a);
            }
            if (requested.Count == 0)
            {
                ctx.Response.StatusCode = 400;
                return ctx.Response.WriteAsync("Missing ids[] parameter");
            }
            bool hex = ctx.Request.Query["encoding"].ToString() is "" or "hex";
            var entries = new List<(ScenarioAsset Asset, PythPrice Price, PythPrice Ema, ulong Prev)>();
            foreach (ScenarioAsset a in requested)
            {
                SourceQuote q = sim.Quote("pyth", a.Symbol);
                if (q.DownStatus is int d) return Down(ctx, d);
                const int expo = -8;
                long mantissa = checked((long)(ulong)WadDecimal.ToDecimals(q.PriceWad, -expo));
                ulong conf = (ulong)WadDecimal.ToDecimals(Bps.Fraction(q.PriceWad, a.ConfidenceBps), -expo);
                ulong publish = (ulong)q.PublishTime.ToUnixTimeSeconds();
                ulong prev = q.Step > 0 ? (ulong)sim.StepTime(q.Step - 1).ToUnixTimeSeconds() : publish;
                var price = new PythPrice(mantissa, conf, expo, publish);
                entries.Add((a, price, price, prev));
            }
            return Json(ctx, 200, w =>
            {
                w.WriteStartObject();
                w.WriteStartObject("binary");
                w.WriteString("encoding", hex ? "hex" : "base64");
                w.WriteStartArray("data");
                foreach (var e in entries)
                {
                    byte[] blob = MockPythUpdate.Encode(e.Asset.PythFeedId, e.Price, e.Ema, e.Prev);
                    w.WriteStringValue(hex ? Convert.ToHexStringLower(blob) : Convert.ToBase64String(blob));
                }
                w.WriteEndArray();
                w.WriteEndObject();
                w.WriteStartArray("parsed");
                foreach (var e in entries)
                {
                    w.WriteStartObject();
                    w.WriteString("id", Convert.ToHexStringLower(e.Asset.PythFeedId));
                    WritePythPrice(w, "price", e.Price);
                    WritePythPrice(w, "ema_price", e.Ema);
                    w.WriteStartObject("metadata");
                    w.WriteNumber("slot", 100_000_000 + (long)e.Price.PublishTime % 1_000_000);
                    w.WriteNumber("proof_available_time", e.Price.PublishTime + 1);
                    w.WriteNumber("prev_publish_time", e.Prev);
                    w.WriteEndObject();
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            });
        }

        private static void WritePythPrice(Utf8JsonWriter w, string name, PythPrice p)
        {
            w.WriteStartObject(name);
            w.WriteString("price", p.Price.ToString(CultureInfo.InvariantCulture));
            w.WriteString("conf", p.Conf.ToString(CultureInfo.InvariantCulture));
            w.WriteNumber("expo", p.Expo);
            w.WriteNumber("publish_time", p.PublishTime);
            w.WriteEndObject();
        }
    }
}

/// <summary>Source-generated JSON metadata for the few typed reads of the simulator.</summary>
[System.Text.Json.Serialization.JsonSerializable(typeof(List<string>))]
internal sealed partial class ScenarioJson : System.Text.Json.Serialization.JsonSerializerContext;
