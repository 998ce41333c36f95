using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Crypto;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Oracle;
using CrossMargin.Keeper.Oracle.OnChain;
using CrossMargin.Keeper.Oracle.Push;
using Xunit;

namespace CrossMargin.Keeper.Tests.Oracle.Push;

public sealed class PushPolicyTests
{
    private static readonly DateTimeOffset Now = new(2024, 6, 1, 12, 0, 0, TimeSpan.Zero);
    private static ulong NowTs => (ulong)Now.ToUnixTimeSeconds();

    private static AssetPushConfig Cfg(string asset, byte n) => new()
    {
        Asset = asset,
        Feed = new Address([.. Enumerable.Repeat((byte)0, 19), n]),
    };

    private static AggregatePrice Agg(string asset, string price, OracleState state = OracleState.Healthy) =>
        new(asset, WadDecimal.Parse(price), WadDecimal.Parse(price), WadDecimal.Parse(price), state, ["a", "b"], Now, [], 3, "test");

    private static FeedRound Round(string price, ulong age) =>
        new(1, (Int256)WadDecimal.ToDecimals(WadDecimal.Parse(price), 8), NowTs - age);

    private static IReadOnlyList<PushDecision> Plan(IReadOnlyList<AssetPushConfig> cfgs, IEnumerable<AggregatePrice> aggs, Dictionary<string, FeedRound?> rounds) =>
        PushPolicy.Plan(cfgs, aggs.ToDictionary(a => a.Asset), rounds, Now, NowTs);

    [Theory]
    [InlineData("100.5", true)]        // exactly 50 bps: push (>=)
    [InlineData("99.5", true)]         // exactly 50 bps down
    [InlineData("100.4999", false)]    // 49.99 bps floors to 49
    [InlineData("100.2", false)]
    [InlineData("150", true)]
    public void Deviation_threshold_is_inclusive_and_floored(string aggregate, bool push)
    {
        var d = Plan([Cfg("ETH", 1)], [Agg("ETH", aggregate)], new() { ["ETH"] = Round("100", 5) })[0];
        Assert.Equal(push, d.Push);
        Assert.Equal(push ? PushReason.Deviation : PushReason.None, d.Reason);
    }

    [Fact]
    public void Deviation_is_relative_to_the_on_chain_price()
    {
        // |100 - 99.5| / 99.5 = 50.25 bps (push); relative to the aggregate it would be exactly 50 as well, so use a
        // case where the two differ: on-chain 100.5, aggregate 100 -> 49.75 bps of on-chain (no push), 50 bps of aggregate
        var d = Plan([Cfg("ETH", 1)], [Agg("ETH", "100")], new() { ["ETH"] = Round("100.5", 5) })[0];
        Assert.Equal(49, d.DeviationBps);
        Assert.False(d.Push);
    }

    [Theory]
    [InlineData(59, false)]
    [InlineData(60, true)]
    [InlineData(3600, true)]
    public void Heartbeat_pushes_an_unchanged_price_once_the_round_is_old_enough(ulong age, bool push)
    {
        var d = Plan([Cfg("ETH", 1)], [Agg("ETH", "100")], new() { ["ETH"] = Round("100", age) })[0];
        Assert.Equal(push ? PushReason.Heartbeat : PushReason.None, d.Reason);
        Assert.Equal(0, d.DeviationBps);
    }

    [Fact]
    public void Per_asset_thresholds_apply()
    {
        var cfg = new AssetPushConfig { Asset = "BTC", Feed = Cfg("BTC", 2).Feed, DeviationBps = 10, EarlyBps = 5, Heartbeat = TimeSpan.FromSeconds(10) };
        Assert.Equal(PushReason.Deviation, Plan([cfg], [Agg("BTC", "100.1")], new() { ["BTC"] = Round("100", 1) })[0].Reason);
        Assert.Equal(PushReason.Heartbeat, Plan([cfg], [Agg("BTC", "100")], new() { ["BTC"] = Round("100", 10) })[0].Reason);
    }

    [Fact]
    public void Early_assets_ride_along_only_when_another_push_goes_out()
    {
        AssetPushConfig[] cfgs = [Cfg("ETH", 1), Cfg("BTC", 2), Cfg("SOL", 3)];
        var rounds = new Dictionary<string, FeedRound?> { ["ETH"] = Round("100", 5), ["BTC"] = Round("100", 5), ["SOL"] = Round("100", 5) };

        // ETH due (60 bps), BTC early (30 bps), SOL quiet (10 bps)
        var ds = Plan(cfgs, [Agg("ETH", "100.6"), Agg("BTC", "100.3"), Agg("SOL", "100.1")], rounds);
        Assert.Equal([PushReason.Deviation, PushReason.RideAlong, PushReason.None], ds.Select(d => d.Reason));
        Assert.Equal((Int256)10_030_000_000L, ds[1].Answer);
        Assert.Equal(Int256.Zero, ds[2].Answer);

        // nothing due: the early asset stays put
        ds = Plan(cfgs, [Agg("ETH", "100.2"), Agg("BTC", "100.3"), Agg("SOL", "100.1")], rounds);
        Assert.All(ds, d => Assert.False(d.Push));

        // exactly at the early threshold (25 bps) rides along; just below does not
        ds = Plan(cfgs, [Agg("ETH", "101"), Agg("BTC", "100.25"), Agg("SOL", "100.2499")], rounds);
        Assert.Equal([PushReason.Deviation, PushReason.RideAlong, PushReason.None], ds.Select(d => d.Reason));
    }

    [Fact]
    public void A_heartbeat_push_also_takes_early_assets_along()
    {
        var rounds = new Dictionary<string, FeedRound?> { ["ETH"] = Round("100", 61), ["BTC"] = Round("100", 5) };
        var ds = Plan([Cfg("ETH", 1), Cfg("BTC", 2)], [Agg("ETH", "100"), Agg("BTC", "99.7")], rounds);
        Assert.Equal([PushReason.Heartbeat, PushReason.RideAlong], ds.Select(d => d.Reason));
    }

    [Fact]
    public void Halted_assets_never_push_and_never_ride_along()
    {
        var rounds = new Dictionary<string, FeedRound?> { ["ETH"] = Round("100", 5), ["BTC"] = Round("100", 3600) };
        var ds = Plan([Cfg("ETH", 1), Cfg("BTC", 2)], [Agg("ETH", "120"), Agg("BTC", "150", OracleState.Halted)], rounds);
        Assert.Equal(PushReason.Deviation, ds[0].Reason);
        Assert.Equal(PushReason.Halted, ds[1].Reason);
        Assert.False(ds[1].Push);
        Assert.Equal(5000, ds[1].DeviationBps); // still measured
    }

    [Fact]
    public void Degraded_assets_push()
    {
        var d = Plan([Cfg("ETH", 1)], [Agg("ETH", "120", OracleState.Degraded)], new() { ["ETH"] = Round("100", 5) })[0];
        Assert.Equal(PushReason.Deviation, d.Reason);
    }

    [Fact]
    public void Missing_round_pushes_missing_price_does_not()
    {
        var ds = Plan([Cfg("ETH", 1), Cfg("BTC", 2)], [Agg("ETH", "100")], new() { ["ETH"] = null, ["BTC"] = null });
        Assert.Equal(PushReason.NoRound, ds[0].Reason);
        Assert.Equal(PushReason.NoPrice, ds[1].Reason);
        Assert.Equal((Int256)10_000_000_000L, ds[0].Answer);
    }

    [Fact]
    public void A_round_as_new_as_the_push_time_is_not_overwritten()
    {
        var d = Plan([Cfg("ETH", 1)], [Agg("ETH", "200")], new() { ["ETH"] = Round("100", 0) })[0];
        Assert.Equal(PushReason.NotNewer, d.Reason);
        Assert.False(d.Push);
    }

    [Fact]
    public void Prices_below_one_feed_unit_are_not_pushed()
    {
        var d = Plan([Cfg("ETH", 1)], [Agg("ETH", "0.000000001")], new() { ["ETH"] = Round("100", 5) })[0];
        Assert.Equal(PushReason.Unrepresentable, d.Reason);
    }

    [Fact]
    public void Answer_is_the_aggregate_truncated_to_feed_decimals()
    {
        var d = Plan([Cfg("ETH", 1)], [Agg("ETH", "3456.789012345678901234")], new() { ["ETH"] = Round("100", 5) })[0];
        Assert.Equal((Int256)345_678_901_234L, d.Answer);
    }

    [Fact]
    public void Bps_edges()
    {
        Assert.Equal(0, PushPolicy.DeviationBps(UInt256.Zero, UInt256.Zero));
        Assert.Equal(long.MaxValue, PushPolicy.DeviationBps(WadDecimal.One, UInt256.Zero));
        Assert.Equal(10_000, PushPolicy.DeviationBps(UInt256.Zero, WadDecimal.One));
        Assert.Equal(long.MaxValue, PushPolicy.DeviationBps(UInt256.MaxValue, UInt256.One));
        // one wei on a WAD of 1 is below one bps
        Assert.Equal(0, PushPolicy.DeviationBps(WadDecimal.One + UInt256.One, WadDecimal.One));
        Assert.Equal(UInt256.Zero, PushPolicy.AnswerToWad(-5, 8));
        Assert.Equal(WadDecimal.Parse("1.5"), PushPolicy.AnswerToWad(150_000_000, 8));
    }

    [Fact]
    public void Pyth_due_needs_a_newer_hermes_sample_and_a_trigger()
    {
        PriceSample S(string price, long ageSeconds) => new("ETH", WadDecimal.Parse(price), UInt256.Zero, Now.AddSeconds(-ageSeconds), Now, "pyth");
        PythOnChainPrice On(string price, ulong age) => new(WadDecimal.Parse(price), NowTs - age);
        TimeSpan hb = TimeSpan.FromSeconds(60);

        Assert.Equal(PushReason.Deviation, PushPolicy.PythDue(OracleState.Healthy, S("101", 1), On("100", 10), Now, 50, hb));
        Assert.Equal(PushReason.None, PushPolicy.PythDue(OracleState.Healthy, S("100.1", 1), On("100", 10), Now, 50, hb));
        Assert.Equal(PushReason.Heartbeat, PushPolicy.PythDue(OracleState.Healthy, S("100", 1), On("100", 60), Now, 50, hb));
        Assert.Equal(PushReason.NotNewer, PushPolicy.PythDue(OracleState.Healthy, S("150", 10), On("100", 10), Now, 50, hb));
        Assert.Equal(PushReason.NoRound, PushPolicy.PythDue(OracleState.Healthy, S("100", 1), null, Now, 50, hb));
        Assert.Equal(PushReason.Halted, PushPolicy.PythDue(OracleState.Halted, S("150", 1), On("100", 600), Now, 50, hb));
        Assert.Equal(PushReason.NoPrice, PushPolicy.PythDue(OracleState.Healthy, null, On("100", 600), Now, 50, hb));
    }

    [Fact]
    public void Options_validation_rejects_inconsistent_thresholds()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new AssetPushConfig { Asset = "ETH", Feed = Cfg("ETH", 1).Feed, EarlyBps = 60 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new AssetPushConfig { Asset = "ETH", Feed = Cfg("ETH", 1).Feed, DeviationBps = 0 }.Validate());
        Assert.Throws<ArgumentException>(() => new AssetPushConfig { Asset = "ETH", Feed = Address.Zero }.Validate());
        var o = new OraclePusherOptions();
        Assert.Throws<ArgumentException>(o.Validate);
        o.Assets.Add(Cfg("ETH", 1));
        o.Assets.Add(Cfg("ETH", 2));
        Assert.Throws<ArgumentException>(o.Validate);
    }

    internal static byte[] ErrorData(string signature, params UInt256[] args)
    {
        byte[] data = new byte[4 + (32 * args.Length)];
        Keccak256.ComputeUtf8(signature).ToArray().AsSpan(0, 4).CopyTo(data);
        for (int i = 0; i < args.Length; i++) args[i].WriteBigEndian(data.AsSpan(4 + (32 * i), 32));
        return data;
    }

    [Fact]
    public void Benign_races_are_told_apart_from_errors()
    {
        Assert.Equal(PushRejection.OutOfOrderRound, RaceClassifier.Classify(ErrorData("OutOfOrderRound(uint256,uint256)", 5, 6)));
        Assert.Equal(PushRejection.NoFreshUpdate, RaceClassifier.Classify(ErrorData("NoFreshUpdate()")));
        Assert.Equal(PushRejection.StalePrice, RaceClassifier.Classify(ErrorData("StalePrice()")));
        Assert.Equal(PushRejection.Error, RaceClassifier.Classify(ErrorData("FutureTimestamp(uint256,uint256)", 5, 6)));
        Assert.Equal(PushRejection.Error, RaceClassifier.Classify(ErrorData("AnswerOutOfBounds(int256,int256,int256)", 1, 2, 3)));
        Assert.Equal(PushRejection.Error, RaceClassifier.Classify(ErrorData("InsufficientFee()")));
        Assert.Equal(PushRejection.Error, RaceClassifier.Classify([]));
        Assert.Equal(PushRejection.Error, RaceClassifier.Classify(ErrorData("Error(string)")));
        // truncated OutOfOrderRound data does not decode: an error, not a race
        Assert.Equal(PushRejection.Error, RaceClassifier.Classify(ErrorData("OutOfOrderRound(uint256,uint256)", 5)));
        Assert.True(RaceClassifier.IsBenign(PushRejection.OutOfOrderRound));
        Assert.False(RaceClassifier.IsBenign(PushRejection.Error));
        Assert.Equal(PushRejection.OutOfOrderRound, RaceClassifier.ClassifyReason("simulation reverted: OutOfOrderRoundError { UpdatedAt = 5 }"));
        Assert.Equal(PushRejection.Error, RaceClassifier.ClassifyReason("simulation reverted: 0x12345678"));
        Assert.Contains("OutOfOrderRound", RaceClassifier.Describe(ErrorData("OutOfOrderRound(uint256,uint256)", 5, 6)), StringComparison.Ordinal);
    }
}
