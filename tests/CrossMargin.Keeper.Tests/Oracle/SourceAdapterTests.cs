using System.Net;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Oracle;
using CrossMargin.Keeper.Oracle.Sources;
using Polly.CircuitBreaker;

namespace CrossMargin.Keeper.Tests.Oracle;

public class SourceAdapterTests
{
    internal const string EthFeed = "0xff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace";
    internal const string BtcFeed = "0xe62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43";
    private static readonly string[] EthBtc = ["ETH", "BTC"];
    private static readonly string[] Eth = ["ETH"];

    private readonly ManualTimeProvider _time = new();

    internal static PriceSourceResilienceOptions FastResilience() => new()
    {
        AttemptTimeout = TimeSpan.FromSeconds(5),
        MaxRetryAttempts = 2,
        RetryBaseDelay = TimeSpan.Zero,
        CircuitMinimumThroughput = 100, // effectively closed unless a test opts in
    };

    internal static Dictionary<string, string> PythFeeds() => new() { ["ETH"] = EthFeed, ["BTC"] = BtcFeed };

    private static StubHandler Data(string file, HttpStatusCode status = HttpStatusCode.OK) =>
        StubHandler.Always(status, TestFiles.ReadOracleData(file), file.EndsWith(".html", StringComparison.Ordinal) ? "text/html" : "application/json");

    private static StubHandler Body(string body, HttpStatusCode status = HttpStatusCode.OK) => StubHandler.Always(status, body);

    private BinancePriceSource Binance(StubHandler h, PriceSourceResilienceOptions? r = null) => new(h.Client(), resilience: r ?? FastResilience(), timeProvider: _time);

    private CoinbasePriceSource Coinbase(StubHandler h) => new(h.Client(), resilience: FastResilience(), timeProvider: _time);

    private KrakenPriceSource Kraken(StubHandler h) => new(h.Client(), resilience: FastResilience(), timeProvider: _time);

    private PythHermesPriceSource Pyth(StubHandler h) => new(h.Client(), PythFeeds(), FastResilience(), _time);

    private static async Task<PriceSourceException> Fails(IPriceSource source, string[] assets, PriceSourceError reason)
    {
        var e = await Assert.ThrowsAsync<PriceSourceException>(async () => await source.FetchAsync(assets, CancellationToken.None));
        Assert.Equal(reason, e.Reason);
        Assert.Equal(source.Id, e.Source);
        Assert.False(source.Health.IsHealthy);
        Assert.Same(e, source.Health.LastError);
        return e;
    }

    // ------------------------------------------------------------------ Binance

    [Fact]
    public async Task Binance_reads_documented_response()
    {
        StubHandler h = Data("binance_ticker_price_symbols.json");
        var src = Binance(h);
        IReadOnlyList<PriceSample> s = await src.FetchAsync(EthBtc, CancellationToken.None);
        Assert.Equal(2, s.Count);
        PriceSample eth = s.Single(x => x.Asset == "ETH");
        Assert.Equal(WadDecimal.Parse("3521.45"), eth.PriceWad);
        Assert.Equal(WadDecimal.Parse("67012.34"), s.Single(x => x.Asset == "BTC").PriceWad);
        Assert.Equal("binance", eth.Source);
        Assert.Equal(_time.GetUtcNow(), eth.PublishTime);
        Assert.True(eth.ConfidenceWad.IsZero);
        Assert.True(src.Health.IsHealthy);
        Uri req = Assert.Single(h.Requests);
        Assert.Equal("/api/v3/ticker/price", req.AbsolutePath);
        Assert.Equal("[\"ETHUSDT\",\"BTCUSDT\"]", Uri.UnescapeDataString(req.Query["?symbols=".Length..]));
    }

    [Fact]
    public async Task Binance_error_body_is_reported()
    {
        PriceSourceException e = await Fails(Binance(Data("binance_error_invalid_symbol.json", HttpStatusCode.BadRequest)), Eth, PriceSourceError.SourceReported);
        Assert.Contains("-1121", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Binance_missing_symbol_is_missing_asset()
    {
        await Fails(Binance(Body("[{\"symbol\":\"ETHUSDT\",\"price\":\"1.0\"}]")), EthBtc, PriceSourceError.MissingAsset);
        await Fails(Binance(Body("[]")), Eth, PriceSourceError.MissingAsset);
    }

    [Theory]
    [InlineData("{\"symbol\":\"ETHUSDT\",\"price\":\"1.0\"}", PriceSourceError.Malformed)] // object instead of array
    [InlineData("[{\"symbol\":\"ETHUSDT\"}]", PriceSourceError.Malformed)]
    [InlineData("[{\"symbol\":\"ETHUSDT\",\"price\":3521.45}]", PriceSourceError.Malformed)] // number, not string
    [InlineData("[{\"symbol\":\"ETHUSDT\",\"price\":null}]", PriceSourceError.Malformed)]
    [InlineData("[{\"symbol\":\"ETHUSDT\",\"price\":\"abc\"}]", PriceSourceError.Malformed)]
    [InlineData("[{\"symbol\":\"ETHUSDT\",\"price\":\"1e3\"}]", PriceSourceError.Malformed)]
    [InlineData("[{\"symbol\":\"ETHUSDT\",\"price\":\"-3521.45\"}]", PriceSourceError.InvalidValue)]
    [InlineData("[{\"symbol\":\"ETHUSDT\",\"price\":\"0.00000000\"}]", PriceSourceError.InvalidValue)]
    [InlineData("[{\"symbol\":\"ETHUSDT\",\"price\":\"99999999999999999999999999999999999999999999999999999999999999999999999999999\"}]", PriceSourceError.InvalidValue)]
    [InlineData("[{\"symbol\":\"ETHUSDT\",\"price\":\"1\"},{\"symbol\":\"ETHUSDT\",\"price\":\"2\"}]", PriceSourceError.Malformed)]
    [InlineData("", PriceSourceError.Malformed)]
    [InlineData("[{\"symbol\":\"ETHUSDT\",", PriceSourceError.Malformed)]
    public async Task Binance_malformed_answers(string body, PriceSourceError reason) => await Fails(Binance(Body(body)), Eth, reason);

    [Fact]
    public async Task Html_error_page_is_malformed_and_not_retried()
    {
        StubHandler h = Data("html_error.html");
        PriceSourceException e = await Fails(Binance(h), Eth, PriceSourceError.Malformed);
        Assert.Contains("not JSON", e.Message, StringComparison.Ordinal);
        Assert.Single(h.Requests);
    }

    [Theory]
    [InlineData(HttpStatusCode.InternalServerError, PriceSourceError.Http)]
    [InlineData(HttpStatusCode.BadGateway, PriceSourceError.Http)]
    [InlineData(HttpStatusCode.ServiceUnavailable, PriceSourceError.Http)]
    [InlineData(HttpStatusCode.TooManyRequests, PriceSourceError.RateLimited)]
    public async Task Transient_statuses_are_retried_then_typed(HttpStatusCode status, PriceSourceError reason)
    {
        StubHandler h = Data("html_error.html", status);
        await Fails(Binance(h), Eth, reason);
        Assert.Equal(3, h.Requests.Count); // first attempt + 2 retries
    }

    [Fact]
    public async Task Retry_recovers_after_a_transient_failure_and_health_returns()
    {
        int calls = 0;
        string ok = TestFiles.ReadOracleData("binance_ticker_price_symbols.json");
        var h = new StubHandler((_, _) => Task.FromResult(++calls == 1
            ? StubHandler.Response(HttpStatusCode.ServiceUnavailable, "down")
            : StubHandler.Response(HttpStatusCode.OK, ok)));
        var src = Binance(h);
        Assert.Equal(2, (await src.FetchAsync(EthBtc, CancellationToken.None)).Count);
        Assert.Equal(2, calls);
        Assert.True(src.Health.IsHealthy);
    }

    [Fact]
    public async Task Timeout_is_typed_and_retried()
    {
        StubHandler h = StubHandler.Hang();
        var r = FastResilience();
        r.AttemptTimeout = TimeSpan.FromSeconds(2);
        var src = Binance(h, r);
        ValueTask<IReadOnlyList<PriceSample>> pending = src.FetchAsync(Eth, CancellationToken.None);
        for (int i = 0; i < 3 && !pending.IsCompleted; i++)
        {
            // Each attempt registers its timeout timer before awaiting the hung request.
            await WaitUntil(() => h.Requests.Count == i + 1);
            _time.Advance(TimeSpan.FromSeconds(2));
        }
        var e = await Assert.ThrowsAsync<PriceSourceException>(async () => await pending);
        Assert.Equal(PriceSourceError.Timeout, e.Reason);
        Assert.Equal(3, h.Requests.Count);
        Assert.False(src.Health.IsHealthy);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (int i = 0; i < 2000 && !condition(); i++) await Task.Delay(5);
        Assert.True(condition());
    }

    [Fact]
    public async Task Caller_cancellation_is_not_a_source_failure()
    {
        using var cts = new CancellationTokenSource();
        var src = Binance(StubHandler.Hang());
        ValueTask<IReadOnlyList<PriceSample>> pending = src.FetchAsync(Eth, cts.Token);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await pending);
        Assert.True(src.Health.IsHealthy);
    }

    [Fact]
    public async Task Circuit_opens_after_repeated_failures_and_stops_calling()
    {
        var r = FastResilience();
        r.MaxRetryAttempts = 0;
        r.CircuitMinimumThroughput = 3;
        r.CircuitFailureRatio = 0.5;
        StubHandler h = Data("html_error.html", HttpStatusCode.InternalServerError);
        var src = Binance(h, r);
        for (int i = 0; i < 3; i++) await Fails(src, Eth, PriceSourceError.Http);
        Assert.Equal(CircuitState.Open, src.CircuitState);
        PriceSourceException e = await Fails(src, Eth, PriceSourceError.CircuitOpen);
        Assert.Equal(3, h.Requests.Count); // no request while open
        Assert.Equal(4, src.Health.ConsecutiveFailures);
        Assert.IsType<BrokenCircuitException>(e.InnerException);
    }

    [Fact]
    public async Task Unconfigured_assets_are_skipped_without_a_request()
    {
        StubHandler h = Data("binance_ticker_price_symbols.json");
        Assert.Empty(await Binance(h).FetchAsync(["DOGE"], CancellationToken.None));
        Assert.Empty(h.Requests);
    }

    // ------------------------------------------------------------------ Coinbase

    [Fact]
    public async Task Coinbase_reads_documented_response()
    {
        StubHandler h = Data("coinbase_ticker_eth_usd.json");
        PriceSample s = Assert.Single(await Coinbase(h).FetchAsync(Eth, CancellationToken.None));
        Assert.Equal(WadDecimal.Parse("3521.45"), s.PriceWad);
        Assert.Equal(new DateTimeOffset(2024, 6, 6, 0, 22, 57, TimeSpan.Zero).AddTicks(8338970), s.PublishTime);
        Assert.Equal(_time.GetUtcNow(), s.ReceivedTime);
        Assert.Equal("/products/ETH-USD/ticker", Assert.Single(h.Requests).AbsolutePath);
    }

    [Theory]
    [InlineData("{\"price\":\"3521.45\"}", PriceSourceError.Malformed)] // no time
    [InlineData("{\"price\":\"3521.45\",\"time\":\"yesterday\"}", PriceSourceError.Malformed)]
    [InlineData("{\"price\":\"3521.45\",\"time\":\"2024-06-06T00:22:57\"}", PriceSourceError.Malformed)] // no zone
    [InlineData("{\"price\":[],\"time\":\"2024-06-06T00:22:57Z\"}", PriceSourceError.Malformed)]
    [InlineData("{\"price\":\"-1\",\"time\":\"2024-06-06T00:22:57Z\"}", PriceSourceError.InvalidValue)]
    [InlineData("{\"price\":\"0\",\"time\":\"2024-06-06T00:22:57Z\"}", PriceSourceError.InvalidValue)]
    [InlineData("[]", PriceSourceError.Malformed)]
    public async Task Coinbase_malformed_answers(string body, PriceSourceError reason) => await Fails(Coinbase(Body(body)), Eth, reason);

    [Fact]
    public async Task Coinbase_not_found_is_http_error() =>
        await Fails(Coinbase(Data("coinbase_not_found.json", HttpStatusCode.NotFound)), Eth, PriceSourceError.Http);

    // ------------------------------------------------------------------ Kraken

    [Fact]
    public async Task Kraken_reads_documented_response_using_last_trade()
    {
        StubHandler h = Data("kraken_ticker.json");
        IReadOnlyList<PriceSample> s = await Kraken(h).FetchAsync(EthBtc, CancellationToken.None);
        Assert.Equal(WadDecimal.Parse("3521.45"), s.Single(x => x.Asset == "ETH").PriceWad);
        Assert.Equal(WadDecimal.Parse("67012.34"), s.Single(x => x.Asset == "BTC").PriceWad);
        Uri req = Assert.Single(h.Requests);
        Assert.Equal("/0/public/Ticker", req.AbsolutePath);
        Assert.Equal("?pair=XETHZUSD,XXBTZUSD", Uri.UnescapeDataString(req.Query));
    }

    [Fact]
    public async Task Kraken_accepts_result_key_alias()
    {
        PriceSample s = Assert.Single(await Kraken(Data("kraken_ticker_alias.json")).FetchAsync(Eth, CancellationToken.None));
        Assert.Equal(WadDecimal.Parse("3521.45"), s.PriceWad);
    }

    [Fact]
    public async Task Kraken_error_array_is_reported()
    {
        PriceSourceException e = await Fails(Kraken(Data("kraken_error_unknown_pair.json")), Eth, PriceSourceError.SourceReported);
        Assert.Contains("Unknown asset pair", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"error\":[],\"result\":{}}", PriceSourceError.MissingAsset)]
    [InlineData("{\"result\":{}}", PriceSourceError.Malformed)]
    [InlineData("{\"error\":[],\"result\":[]}", PriceSourceError.Malformed)]
    [InlineData("{\"error\":[],\"result\":{\"XETHZUSD\":{\"c\":[]}}}", PriceSourceError.Malformed)]
    [InlineData("{\"error\":[],\"result\":{\"XETHZUSD\":{\"c\":[3521.45,\"1\"]}}}", PriceSourceError.Malformed)]
    [InlineData("{\"error\":[],\"result\":{\"XETHZUSD\":{\"a\":[\"1\"]}}}", PriceSourceError.Malformed)]
    [InlineData("{\"error\":[],\"result\":{\"XETHZUSD\":{\"c\":[\"0.00000\",\"1\"]}}}", PriceSourceError.InvalidValue)]
    [InlineData("{\"error\":[],\"result\":{\"XETHZUSD\":{\"c\":[\"1\",\"1\"]},\"ETHUSD\":{\"c\":[\"2\",\"1\"]}}}", PriceSourceError.Malformed)]
    [InlineData("{\"error\":\"oops\",\"result\":{}}", PriceSourceError.Malformed)]
    public async Task Kraken_malformed_answers(string body, PriceSourceError reason) => await Fails(Kraken(Body(body)), Eth, reason);

    // ------------------------------------------------------------------ Pyth Hermes

    [Fact]
    public async Task Hermes_reads_documented_response_and_keeps_update_data()
    {
        StubHandler h = Data("hermes_latest.json");
        PythHermesPriceSource src = Pyth(h);
        PythPriceBatch batch = await src.FetchBatchAsync(EthBtc, CancellationToken.None);
        PriceSample eth = batch.Samples.Single(x => x.Asset == "ETH");
        Assert.Equal(WadDecimal.Parse("3521.45"), eth.PriceWad);
        Assert.Equal(UInt256.Parse("123450000000000"), eth.ConfidenceWad); // 12345 x 10^10
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1700000000), eth.PublishTime);
        Assert.Equal(WadDecimal.Parse("67012.34"), batch.Samples.Single(x => x.Asset == "BTC").PriceWad);
        Assert.Equal(2, batch.UpdateData.Count);
        Assert.Equal(Convert.FromHexString("504e41550100000003b801000000040d00a0bb18e08d1f0a6b5c"), batch.UpdateData[0]);
        Assert.Same(batch, src.LastBatch);
        string q = Uri.UnescapeDataString(Assert.Single(h.Requests).Query);
        Assert.Contains("ids[]=" + EthFeed, q, StringComparison.Ordinal);
        Assert.Contains("ids[]=" + BtcFeed, q, StringComparison.Ordinal);
    }

    private static string Hermes(string price = "\"352145000000\"", string conf = "\"12345\"", string expo = "-8", string publish = "1700000000",
        string id = "\"ff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace\"", string data = "[\"00ff\"]", string encoding = "\"hex\"") =>
        $"{{\"binary\":{{\"encoding\":{encoding},\"data\":{data}}},\"parsed\":[{{\"id\":{id},\"price\":{{\"price\":{price},\"conf\":{conf},\"expo\":{expo},\"publish_time\":{publish}}}}}]}}";

    [Fact]
    public async Task Hermes_minimal_synthetic_answer_parses() =>
        Assert.Single(await Pyth(Body(Hermes())).FetchAsync(Eth, CancellationToken.None));

    [Theory]
    [InlineData("\"-352145000000\"", "\"1\"", "-8", "1700000000", PriceSourceError.InvalidValue)]
    [InlineData("\"0\"", "\"1\"", "-8", "1700000000", PriceSourceError.InvalidValue)]
    [InlineData("352145000000", "\"1\"", "-8", "1700000000", PriceSourceError.Malformed)] // number instead of string
    [InlineData("\"99999999999999999999999\"", "\"1\"", "-8", "1700000000", PriceSourceError.Malformed)] // beyond int64
    [InlineData("\"3521.45\"", "\"1\"", "-8", "1700000000", PriceSourceError.Malformed)]
    [InlineData("\"352145000000\"", "\"-5\"", "-8", "1700000000", PriceSourceError.InvalidValue)]
    [InlineData("\"352145000000\"", "\"1\"", "\"-8\"", "1700000000", PriceSourceError.Malformed)]
    [InlineData("\"352145000000\"", "\"1\"", "-99", "1700000000", PriceSourceError.InvalidValue)]
    [InlineData("\"352145000000\"", "\"1\"", "-8", "0", PriceSourceError.InvalidValue)]
    [InlineData("\"352145000000\"", "\"1\"", "-8", "1.5", PriceSourceError.Malformed)]
    public async Task Hermes_bad_values(string price, string conf, string expo, string publish, PriceSourceError reason) =>
        await Fails(Pyth(Body(Hermes(price, conf, expo, publish))), Eth, reason);

    [Theory]
    [InlineData("[]", "\"hex\"", PriceSourceError.Malformed)] // no update data
    [InlineData("[\"zz\"]", "\"hex\"", PriceSourceError.Malformed)]
    [InlineData("[12]", "\"hex\"", PriceSourceError.Malformed)]
    [InlineData("[\"00ff\"]", "\"rot13\"", PriceSourceError.Malformed)]
    [InlineData("{}", "\"hex\"", PriceSourceError.Malformed)]
    public async Task Hermes_bad_binary(string data, string encoding, PriceSourceError reason) =>
        await Fails(Pyth(Body(Hermes(data: data, encoding: encoding))), Eth, reason);

    [Fact]
    public async Task Hermes_missing_or_foreign_feed_is_missing_asset()
    {
        await Fails(Pyth(Body(Hermes(id: "\"" + BtcFeed[2..] + "\""))), Eth, PriceSourceError.MissingAsset);
        await Fails(Pyth(Body("{\"binary\":{\"encoding\":\"hex\",\"data\":[\"00\"]},\"parsed\":[]}")), Eth, PriceSourceError.MissingAsset);
        await Fails(Pyth(Body(Hermes(id: "\"abc\""))), Eth, PriceSourceError.Malformed);
    }

    [Fact]
    public void Hermes_rejects_bad_configured_feed_id() =>
        Assert.Throws<ArgumentException>(() => new PythHermesPriceSource(new HttpClient(), new Dictionary<string, string> { ["ETH"] = "0x1234" }));

    // ------------------------------------------------------------------ AggregatorV3

    private sealed class FakeReader(Func<(ulong, Int256, ulong)> answer, byte decimals) : IAggregatorV3Reader
    {
        public int DecimalsCalls;

        public ValueTask<(ulong roundId, Int256 answer, ulong updatedAt)> LatestRoundDataAsync(Address feed, CancellationToken cancellationToken) =>
            ValueTask.FromResult(answer());

        public ValueTask<byte> DecimalsAsync(Address feed, CancellationToken cancellationToken)
        {
            DecimalsCalls++;
            return ValueTask.FromResult(decimals);
        }
    }

    private static readonly Address Feed = Address.Parse("0x5f4eC3Df9cbd43714FE2740f5E3616155c5b8419");

    private AggregatorV3PriceSource Chainlink(FakeReader r) =>
        new(r, new Dictionary<string, Address> { ["ETH"] = Feed }, FastResilience(), _time);

    [Theory]
    [InlineData(8, 352145000000L, "3521.45")]
    [InlineData(18, 3521450000000000000L, "3.52145")]
    [InlineData(0, 3521L, "3521")]
    public async Task AggregatorV3_scales_answer_to_wad(byte decimals, long answer, string expected)
    {
        var reader = new FakeReader(() => (42UL, answer, 1700000000UL), decimals);
        var src = Chainlink(reader);
        PriceSample s = Assert.Single(await src.FetchAsync(Eth, CancellationToken.None));
        Assert.Equal(WadDecimal.Parse(expected), s.PriceWad);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1700000000), s.PublishTime);
        await src.FetchAsync(Eth, CancellationToken.None);
        Assert.Equal(1, reader.DecimalsCalls); // cached
    }

    [Fact]
    public async Task AggregatorV3_more_than_18_decimals_truncates() =>
        Assert.Equal(UInt256.Parse("3521450000000000000000"),
            Assert.Single(await Chainlink(new FakeReader(() => (1UL, Int256.Parse("35214500000000000000009"), 1700000000UL), 19)).FetchAsync(Eth, CancellationToken.None)).PriceWad);

    [Theory]
    [InlineData("0", 1700000000UL)]
    [InlineData("-352145000000", 1700000000UL)]
    [InlineData("352145000000", 0UL)]
    public async Task AggregatorV3_invalid_rounds(string answer, ulong updatedAt) =>
        await Fails(Chainlink(new FakeReader(() => (1UL, Int256.Parse(answer), updatedAt), 8)), Eth, PriceSourceError.InvalidValue);

    [Fact]
    public async Task AggregatorV3_huge_answer_overflows_to_invalid() =>
        await Fails(Chainlink(new FakeReader(() => (1UL, Int256.MaxValue, 1700000000UL), 0)), Eth, PriceSourceError.InvalidValue);

    [Fact]
    public async Task AggregatorV3_reader_exceptions_are_typed()
    {
        await Fails(Chainlink(new FakeReader(() => throw new HttpRequestException("connection refused"), 8)), Eth, PriceSourceError.Http);
        await Fails(Chainlink(new FakeReader(() => throw new InvalidOperationException("execution reverted"), 8)), Eth, PriceSourceError.Malformed);
    }
}
