using System.Diagnostics.Metrics;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Contracts;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Keeper.Oracle;
using CrossMargin.Keeper.Oracle.OnChain;
using CrossMargin.Keeper.Oracle.Push;
using CrossMargin.Keeper.Oracle.Sources;
using Xunit;

namespace CrossMargin.Keeper.Tests.Oracle.Push;

public sealed class OraclePusherTests
{
    private static readonly Address Hub = new([.. Enumerable.Repeat((byte)0xAA, 20)]);
    private static readonly Address EthFeed = new([.. Enumerable.Repeat((byte)1, 20)]);

    private sealed class FixedSource(string id, ManualTimeProvider time) : IPriceSource
    {
        public string Id => id;
        public string? Price { get; set; } = "3000";
        public PriceSourceHealth Health => new(true, 0, null, null);

        public ValueTask<IReadOnlyList<PriceSample>> FetchAsync(IReadOnlyList<string> assets, CancellationToken cancellationToken)
        {
            if (Price is null) throw new PriceSourceException(id, PriceSourceError.Http, "down");
            DateTimeOffset now = time.GetUtcNow();
            return ValueTask.FromResult<IReadOnlyList<PriceSample>>([new PriceSample("ETH", WadDecimal.Parse(Price), UInt256.Zero, now, now, id)]);
        }
    }

    /// <summary>Holds the ETH feed's round; pushes set it from the calldata's answer (decoded by position).</summary>
    private sealed class FakeChain(ManualTimeProvider time) : IOracleChain
    {
        public FeedRound? Round;
        public Queue<byte[]> SimulationReverts { get; } = new();
        public List<ContractTx> Sent { get; } = [];
        public Address Hub => OraclePusherTests.Hub;
        public Address? Pyth => null;

        public Task<OnChainOracleState> ReadAsync(IReadOnlyList<(string Asset, Address Feed, Hash32? PythId)> assets, CancellationToken cancellationToken) =>
            Task.FromResult(new OnChainOracleState(100, (ulong)time.GetUtcNow().ToUnixTimeSeconds(),
                new Dictionary<string, FeedRound?> { ["ETH"] = Round }, new Dictionary<string, PythOnChainPrice?>()));

        public Task<UInt256> PythUpdateFeeAsync(byte[][] updateData, CancellationToken cancellationToken) => throw new InvalidOperationException("no pyth");

        public Task<Simulation> SimulateAsync(ContractTx tx, CancellationToken cancellationToken) =>
            Task.FromResult(SimulationReverts.TryDequeue(out byte[]? data) ? new Simulation(true, data) : new Simulation(false, null));

        public Task<TransactionReceipt> SendAsync(ContractTx tx, CancellationToken cancellationToken)
        {
            Sent.Add(tx);
            // pushPrices(address[],int256[],uint256[]) with one feed: head (3 offsets), then feeds [len, addr], answers [len, a], times [len, t]
            var answer = Int256.ReadBigEndian(tx.Data.AsSpan(4 + (32 * 6), 32));
            var updatedAt = UInt256.ReadBigEndian(tx.Data.AsSpan(4 + (32 * 8), 32));
            Round = new FeedRound((Round?.RoundId ?? 0) + 1, answer, (ulong)updatedAt);
            return Task.FromResult(new TransactionReceipt(Hash32.Zero, 0, Hash32.Zero, 101, Address.Zero, Hub, true, 50_000, 50_000, UInt256.One, null, [], 2));
        }
    }

    private sealed class Harness : IDisposable
    {
        public ManualTimeProvider Time { get; } = new();
        public FixedSource A { get; }
        public FixedSource B { get; }
        public FakeChain Chain { get; }
        public OraclePusher Pusher { get; }
        public OracleMetrics Metrics { get; } = new();
        private readonly MeterListener _listener = new();
        private readonly Dictionary<string, long> _counts = [];

        public Harness()
        {
            A = new FixedSource("a", Time);
            B = new FixedSource("b", Time);
            Chain = new FakeChain(Time);
            var options = new OraclePusherOptions { Interval = TimeSpan.FromSeconds(5) };
            options.Assets.Add(new AssetPushConfig { Asset = "ETH", Feed = EthFeed });
            Pusher = new OraclePusher(options, new PriceAggregator(new OracleOptions(), Time), [A, B], Chain, Time, Metrics);
            _listener.InstrumentPublished = (i, l) =>
            {
                if (ReferenceEquals(i.Meter, Metrics.Meter)) l.EnableMeasurementEvents(i);
            };
            _listener.SetMeasurementEventCallback<long>((i, v, _, _) =>
            {
                lock (_counts) _counts[i.Name] = Count(i.Name) + v;
            });
            _listener.Start();
        }

        public long Count(string name)
        {
            lock (_counts) return _counts.TryGetValue(name, out long v) ? v : 0;
        }

        public void Dispose()
        {
            _listener.Dispose();
            Metrics.Dispose();
        }
    }

    [Fact]
    public async Task Timer_rounds_push_first_then_on_deviation_and_heartbeat_only()
    {
        using var h = new Harness();
        h.Pusher.Start();
        h.Time.Advance(TimeSpan.FromSeconds(5));
        await h.Pusher.WaitForTickAsync();
        Assert.Equal(1, h.Pusher.Rounds);
        Assert.Single(h.Chain.Sent); // no round yet: pushed
        Assert.Equal(PushReason.NoRound, h.Pusher.LastReport!.Decisions[0].Reason);
        Assert.Equal((Int256)300_000_000_000L, h.Chain.Round!.Value.Answer);

        // 0.2 % move: below the threshold
        h.A.Price = h.B.Price = "3006";
        h.Time.Advance(TimeSpan.FromSeconds(5));
        await h.Pusher.WaitForTickAsync();
        Assert.Single(h.Chain.Sent);

        // 0.5 % from on-chain: deviation push
        h.A.Price = h.B.Price = "3015";
        h.Time.Advance(TimeSpan.FromSeconds(5));
        await h.Pusher.WaitForTickAsync();
        Assert.Equal(2, h.Chain.Sent.Count);
        Assert.Equal(PushReason.Deviation, h.Pusher.LastReport!.Decisions[0].Reason);

        // unchanged price: quiet until the heartbeat (60 s after the last push)
        for (int i = 0; i < 11; i++)
        {
            h.Time.Advance(TimeSpan.FromSeconds(5));
            await h.Pusher.WaitForTickAsync();
        }
        Assert.Equal(2, h.Chain.Sent.Count);
        h.Time.Advance(TimeSpan.FromSeconds(5));
        await h.Pusher.WaitForTickAsync();
        Assert.Equal(3, h.Chain.Sent.Count);
        Assert.Equal(PushReason.Heartbeat, h.Pusher.LastReport!.Decisions[0].Reason);
        Assert.Equal(15, h.Pusher.Rounds);
        Assert.Equal(3, h.Count("crossmargin.oracle.pushes"));
        await h.Pusher.DisposeAsync();
    }

    [Fact]
    public async Task Halted_asset_is_not_pushed_and_is_counted()
    {
        using var h = new Harness();
        await h.Pusher.RunRoundAsync();
        Assert.Single(h.Chain.Sent);
        h.A.Price = h.B.Price = null; // all sources down: Halted
        h.Time.Advance(TimeSpan.FromSeconds(120));
        OracleRoundReport r = await h.Pusher.RunRoundAsync();
        Assert.Equal(["ETH"], r.HaltedAssets);
        Assert.Equal(["a", "b"], r.FailedSources);
        Assert.Equal(PushReason.Halted, r.Decisions[0].Reason);
        Assert.Equal(PushStatus.NotNeeded, r.Feeds.Status);
        Assert.Single(h.Chain.Sent);
        Assert.Equal(1, h.Count("crossmargin.oracle.halted_skips"));
    }

    [Fact]
    public async Task Newer_round_in_simulation_is_a_benign_race_not_an_error()
    {
        using var h = new Harness();
        h.Chain.SimulationReverts.Enqueue(PushPolicyTests.ErrorData("OutOfOrderRound(uint256,uint256)", 5, 6));
        OracleRoundReport r = await h.Pusher.RunRoundAsync();
        Assert.Equal(PushStatus.BenignRace, r.Feeds.Status);
        Assert.Equal(PushRejection.OutOfOrderRound, r.Feeds.Rejection);
        Assert.Empty(h.Chain.Sent);
        Assert.Equal(1, h.Count("crossmargin.oracle.benign_races"));
        Assert.Equal(0, h.Count("crossmargin.oracle.push_errors"));

        h.Chain.SimulationReverts.Enqueue(PushPolicyTests.ErrorData("FutureTimestamp(uint256,uint256)", 5, 6));
        h.Time.Advance(TimeSpan.FromSeconds(1));
        r = await h.Pusher.RunRoundAsync();
        Assert.Equal(PushStatus.Failed, r.Feeds.Status);
        Assert.Empty(h.Chain.Sent);
        Assert.Equal(1, h.Count("crossmargin.oracle.push_errors"));

        h.Time.Advance(TimeSpan.FromSeconds(1));
        r = await h.Pusher.RunRoundAsync();
        Assert.Equal(PushStatus.Sent, r.Feeds.Status);
        Assert.Single(h.Chain.Sent);
    }
}
