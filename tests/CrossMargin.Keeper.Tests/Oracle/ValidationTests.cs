using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Oracle;

namespace CrossMargin.Keeper.Tests.Oracle;

public class ValidationTests
{
    private readonly ManualTimeProvider _time = new();
    private readonly OracleOptions _options = new();

    private DateTimeOffset Now => _time.GetUtcNow();

    internal static PriceSample Sample(string source, string price, DateTimeOffset publish, string asset = "ETH", string conf = "0") =>
        new(asset, WadDecimal.Parse(price), WadDecimal.Parse(conf), publish, publish, source);

    private PriceSample S(string source, string price, string asset = "ETH", string conf = "0", TimeSpan? age = null) =>
        Sample(source, price, Now - (age ?? TimeSpan.Zero), asset, conf);

    private SampleValidator Validator() => new(_options, _time);

    private static SampleRejection Rejected(ValidationResult r, RejectionReason reason) => Assert.Single(r.Rejected, x => x.Reason == reason);

    [Fact]
    public void Accepts_a_plain_sample()
    {
        ValidationResult r = Validator().ValidateRound([S("binance", "3500")]);
        Assert.Single(r.Accepted);
        Assert.Empty(r.Rejected);
    }

    [Fact]
    public void Rejects_zero_price()
    {
        ValidationResult r = Validator().ValidateRound([S("binance", "0")]);
        Assert.Empty(r.Accepted);
        Rejected(r, RejectionReason.NonPositive);
    }

    [Fact]
    public void Future_limit_is_60_seconds_inclusive()
    {
        SampleValidator v = Validator();
        Assert.Single(v.ValidateRound([Sample("a", "1", Now + TimeSpan.FromSeconds(60))]).Accepted);
        ValidationResult r = v.ValidateRound([Sample("a", "1", Now + TimeSpan.FromSeconds(61))]);
        Assert.Empty(r.Accepted);
        Assert.Contains("future", Rejected(r, RejectionReason.FromFuture).Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Staleness_uses_the_source_max_age()
    {
        _options.SourceMaxAge["chainlink"] = TimeSpan.FromHours(1);
        SampleValidator v = Validator();
        Assert.Single(v.ValidateRound([S("binance", "1", age: TimeSpan.FromSeconds(120))]).Accepted);
        Rejected(v.ValidateRound([S("binance", "1", age: TimeSpan.FromSeconds(121))]), RejectionReason.Stale);
        Assert.Single(v.ValidateRound([S("chainlink", "1", age: TimeSpan.FromMinutes(59))]).Accepted);
        Rejected(v.ValidateRound([S("chainlink", "1", age: TimeSpan.FromMinutes(61))]), RejectionReason.Stale);
    }

    [Fact]
    public void A_sample_goes_stale_as_the_clock_advances()
    {
        SampleValidator v = Validator();
        PriceSample s = S("pyth", "3500");
        Assert.Single(v.ValidateRound([s]).Accepted);
        _time.Advance(TimeSpan.FromSeconds(121));
        Rejected(v.ValidateRound([s]), RejectionReason.Stale);
    }

    [Fact]
    public void Confidence_cap_is_exact()
    {
        SampleValidator v = Validator(); // cap 200 bps = 2 %
        Assert.Single(v.ValidateRound([S("pyth", "100", conf: "2")]).Accepted);
        Rejected(v.ValidateRound([S("pyth", "100", conf: "2.000000000000000001")]), RejectionReason.ConfidenceTooWide);
    }

    [Fact]
    public void Jump_over_50_percent_needs_confirmation()
    {
        SampleValidator v = Validator();
        Assert.Single(v.ValidateRound([S("binance", "100")]).Accepted);
        Assert.Single(v.ValidateRound([S("binance", "150")]).Accepted); // exactly 50 %: allowed
        ValidationResult r = v.ValidateRound([S("binance", "226")]); // +50.67 %
        Assert.Empty(r.Accepted);
        Rejected(r, RejectionReason.UnconfirmedJump);
        Assert.Equal(WadDecimal.Parse("150"), v.LastAccepted("binance", "ETH")); // rejected sample does not move history
    }

    [Fact]
    public void Jump_confirmed_by_another_source_in_the_same_round_is_accepted()
    {
        SampleValidator v = Validator();
        v.ValidateRound([S("binance", "100"), S("kraken", "100")]);
        ValidationResult r = v.ValidateRound([S("binance", "40"), S("kraken", "40.3")]); // crash, both agree within 1 %
        Assert.Equal(2, r.Accepted.Count);
        Assert.Empty(r.Rejected);
    }

    [Fact]
    public void Jump_confirmation_requires_agreement_within_max_deviation()
    {
        SampleValidator v = Validator();
        v.ValidateRound([S("binance", "100")]);
        ValidationResult r = v.ValidateRound([S("binance", "40"), S("kraken", "41")]); // 2.5 % apart
        Rejected(r, RejectionReason.UnconfirmedJump);
        Assert.Equal("kraken", Assert.Single(r.Accepted).Source); // no history for kraken: nothing to jump from
    }

    [Fact]
    public void Confirmation_must_come_from_the_same_asset()
    {
        SampleValidator v = Validator();
        v.ValidateRound([S("binance", "100")]);
        ValidationResult r = v.ValidateRound([S("binance", "300"), S("kraken", "300", asset: "BTC")]);
        Rejected(r, RejectionReason.UnconfirmedJump);
    }

    [Fact]
    public void Duplicates_keep_the_newest_sample()
    {
        PriceSample older = S("binance", "100", age: TimeSpan.FromSeconds(10));
        PriceSample newer = S("binance", "101");
        ValidationResult r = Validator().ValidateRound([older, newer]);
        Assert.Same(newer, Assert.Single(r.Accepted));
        Assert.Same(older, Rejected(r, RejectionReason.Duplicate).Sample);
    }

    [Fact]
    public void Options_are_validated()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SampleValidator(new OracleOptions { RecoveryRounds = 0 }, _time));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SampleValidator(new OracleOptions { MaxJumpBps = 0 }, _time));
    }
}

public class AggregationTests
{
    private readonly ManualTimeProvider _time = new();
    private readonly OracleOptions _options = new();
    private static readonly string[] Eth = ["ETH"];

    private PriceSample S(string source, string price) => ValidationTests.Sample(source, price, _time.GetUtcNow());

    private PriceAggregator Aggregator() => new(_options, _time);

    private AggregatePrice Round(PriceAggregator a, params PriceSample[] samples)
    {
        AggregatePrice r = a.ProcessRound(Eth, samples)["ETH"];
        _time.Advance(TimeSpan.FromSeconds(5));
        return r;
    }

    private static UInt256 W(string s) => WadDecimal.Parse(s);

    [Fact]
    public void Three_sources_median_and_band()
    {
        AggregatePrice r = Round(Aggregator(), S("a", "101"), S("b", "100"), S("c", "100.5"));
        Assert.Equal(W("100.5"), r.PriceWad);
        Assert.Equal(W("100"), r.LowWad);
        Assert.Equal(W("101"), r.HighWad);
        Assert.Equal(["b", "c", "a"], r.ValidSources);
        Assert.Equal(1, r.AgreeingRounds);
    }

    [Fact]
    public void Even_count_median_is_floor_of_middle_mean()
    {
        AggregatePrice r = Round(Aggregator(), S("a", "100"), S("b", "100.000000000000000001"), S("c", "100.000000000000000002"), S("d", "200"));
        // middle values …01 and …02: their mean rounded down is …01
        Assert.Equal(W("100.000000000000000001"), r.PriceWad);
    }

    [Fact]
    public void Three_sources_with_one_outlier_still_agree()
    {
        PriceAggregator a = Aggregator();
        AggregatePrice r = Round(a, S("a", "100"), S("b", "100.2"), S("c", "130"));
        Assert.Equal(W("100.2"), r.PriceWad);
        Assert.Equal(W("130"), r.HighWad);
        Assert.Equal(1, r.AgreeingRounds);
    }

    [Fact]
    public void Three_sources_all_disagreeing_degrade()
    {
        PriceAggregator a = Aggregator();
        for (int i = 0; i < 3; i++) Round(a, S("a", "100"), S("b", "100"), S("c", "100"));
        Assert.Equal(OracleState.Healthy, a.StateOf("ETH"));
        AggregatePrice r = Round(a, S("a", "100"), S("b", "110"), S("c", "120"));
        Assert.Equal(OracleState.Degraded, r.State);
        Assert.Equal(W("110"), r.PriceWad);
    }

    [Fact]
    public void Two_agreeing_sources_give_their_midpoint()
    {
        AggregatePrice r = Round(Aggregator(), S("a", "100"), S("b", "100.5"));
        Assert.Equal(W("100.25"), r.PriceWad);
        Assert.Equal(1, r.AgreeingRounds);
    }

    [Fact]
    public void Two_diverging_sources_pick_the_one_closer_to_the_last_good_price()
    {
        PriceAggregator a = Aggregator();
        for (int i = 0; i < 3; i++) Round(a, S("a", "100"), S("b", "100"));
        AggregatePrice r = Round(a, S("a", "101"), S("b", "130"));
        Assert.Equal(W("101"), r.PriceWad);
        Assert.Equal(OracleState.Degraded, r.State);
        Assert.Contains("closer", r.Note, StringComparison.Ordinal);
        r = Round(a, S("a", "70"), S("b", "100.5"));
        Assert.Equal(W("100.5"), r.PriceWad); // last good is now 101
    }

    [Fact]
    public void Two_diverging_sources_tie_picks_the_lower()
    {
        PriceAggregator a = Aggregator();
        Round(a, S("a", "100"));
        AggregatePrice r = Round(a, S("a", "90"), S("b", "110"));
        Assert.Equal(W("90"), r.PriceWad);
    }

    [Fact]
    public void Two_diverging_sources_without_history_halt()
    {
        AggregatePrice r = Round(Aggregator(), S("a", "100"), S("b", "110"));
        Assert.Equal(OracleState.Halted, r.State);
        Assert.False(r.HasPrice);
        Assert.Equal(W("110"), r.HighWad);
    }

    [Fact]
    public void One_source_is_degraded()
    {
        PriceAggregator a = Aggregator();
        for (int i = 0; i < 3; i++) Round(a, S("a", "100"), S("b", "100"), S("c", "100"));
        AggregatePrice r = Round(a, S("a", "99"));
        Assert.Equal(OracleState.Degraded, r.State);
        Assert.Equal(W("99"), r.PriceWad);
        Assert.Equal(0, r.AgreeingRounds);
    }

    [Fact]
    public void No_source_halts_and_keeps_the_last_good_price()
    {
        PriceAggregator a = Aggregator();
        for (int i = 0; i < 3; i++) Round(a, S("a", "100"), S("b", "100.4"));
        AggregatePrice r = Round(a);
        Assert.Equal(OracleState.Halted, r.State);
        Assert.Equal(W("100.2"), r.PriceWad);
        Assert.Equal(r.PriceWad, r.LowWad);
        Assert.Equal(r.PriceWad, r.HighWad);
        Assert.Empty(r.ValidSources);
    }

    [Fact]
    public void Rejections_are_reported_with_the_asset_and_rejected_samples_do_not_count()
    {
        PriceAggregator a = Aggregator();
        PriceSample stale = ValidationTests.Sample("c", "100", _time.GetUtcNow() - TimeSpan.FromMinutes(10));
        AggregatePrice r = Round(a, S("a", "100"), stale);
        Assert.Equal(OracleState.Degraded, r.State);
        Assert.Equal(RejectionReason.Stale, Assert.Single(r.Rejections).Reason);
    }

    [Fact]
    public void Starts_halted_and_needs_recovery_rounds_to_become_healthy()
    {
        PriceAggregator a = Aggregator();
        Assert.Equal(OracleState.Halted, a.StateOf("ETH"));
        Assert.Equal(OracleState.Degraded, Round(a, S("a", "100"), S("b", "100")).State);
        Assert.Equal(OracleState.Degraded, Round(a, S("a", "100"), S("b", "100")).State);
        Assert.Equal(OracleState.Healthy, Round(a, S("a", "100"), S("b", "100")).State);
    }

    [Fact]
    public void Hysteresis_after_halt_requires_consecutive_agreement()
    {
        _options.RecoveryRounds = 4;
        PriceAggregator a = Aggregator();
        for (int i = 0; i < 4; i++) Round(a, S("a", "100"), S("b", "100"));
        Assert.Equal(OracleState.Healthy, a.StateOf("ETH"));
        Assert.Equal(OracleState.Halted, Round(a).State);
        Assert.Equal(OracleState.Degraded, Round(a, S("a", "100"), S("b", "100")).State);
        Assert.Equal(OracleState.Degraded, Round(a, S("a", "100"), S("b", "100")).State);
        Assert.Equal(OracleState.Degraded, Round(a, S("a", "100")).State); // single source resets the count
        for (int i = 1; i <= 3; i++)
        {
            AggregatePrice r = Round(a, S("a", "100"), S("b", "100"));
            Assert.Equal(OracleState.Degraded, r.State);
            Assert.Equal(i, r.AgreeingRounds);
        }
        Assert.Equal(OracleState.Healthy, Round(a, S("a", "100"), S("b", "100")).State);
        Assert.Equal(OracleState.Healthy, Round(a, S("a", "100"), S("b", "100"), S("c", "100")).State); // stays
    }

    [Fact]
    public void Assets_are_independent_and_listed_assets_always_get_a_result()
    {
        PriceAggregator a = Aggregator();
        IReadOnlyDictionary<string, AggregatePrice> r = a.ProcessRound(["ETH", "BTC"],
            [S("a", "100"), S("b", "100"), ValidationTests.Sample("a", "60000", _time.GetUtcNow(), "BTC"), ValidationTests.Sample("x", "1", _time.GetUtcNow(), "DOGE")]);
        Assert.Equal(2, r.Count);
        Assert.Equal(W("100"), r["ETH"].PriceWad);
        Assert.Equal(OracleState.Degraded, r["BTC"].State);
        Assert.Null(a.Latest("DOGE"));
    }

    [Fact]
    public void Deviation_bps_against_aggregate()
    {
        PriceAggregator a = Aggregator();
        Assert.Null(a.DeviationBps("ETH", W("100")));
        Round(a, S("a", "100"), S("b", "100"));
        Assert.Equal(0, a.DeviationBps("ETH", W("100")));
        Assert.Equal(250, a.DeviationBps("ETH", W("102.5")));
        Assert.Equal(249, a.DeviationBps("ETH", W("97.51"))); // floor
    }
}

public class SanityGateTests
{
    private readonly ManualTimeProvider _time = new();
    private readonly OracleOptions _options = new() { SanityBandBps = 200 };
    private static readonly string[] Eth = ["ETH"];

    private (PriceAggregator, SanityGate) Make() { var a = new PriceAggregator(_options, _time); return (a, new SanityGate(a, _time)); }

    private void Round(PriceAggregator a, params string[] prices) =>
        a.ProcessRound(Eth, [.. prices.Select((p, i) => ValidationTests.Sample("s" + i, p, _time.GetUtcNow()))]);

    private static UInt256 W(string s) => WadDecimal.Parse(s);

    [Fact]
    public void Allows_within_band_and_blocks_outside()
    {
        (PriceAggregator a, SanityGate g) = Make();
        Round(a, "100", "100", "100");
        var ok = Assert.IsType<SanityDecision.Allowed>(g.Check("ETH", W("102")));
        Assert.Equal(200, ok.DeviationBps);
        var blocked = Assert.IsType<SanityDecision.Blocked>(g.Check("ETH", W("102.01")));
        Assert.Equal(SanityBlockReason.Deviation, blocked.Reason);
        Assert.Equal(201, blocked.DeviationBps);
        Assert.Equal(SanityBlockReason.Deviation, Assert.IsType<SanityDecision.Blocked>(g.Check("ETH", W("97.99"))).Reason);
    }

    [Fact]
    public void Blocks_unknown_and_halted_assets()
    {
        (PriceAggregator a, SanityGate g) = Make();
        Assert.Equal(SanityBlockReason.NoPrice, Assert.IsType<SanityDecision.Blocked>(g.Check("ETH", W("100"))).Reason);
        Round(a, "100", "100");
        Assert.True(g.Check("ETH", W("100")).IsAllowed); // Degraded (recovering) passes within band
        Round(a);
        var b = Assert.IsType<SanityDecision.Blocked>(g.Check("ETH", W("100")));
        Assert.Equal(SanityBlockReason.Halted, b.Reason);
        Assert.Equal(0, b.DeviationBps);
    }

    [Fact]
    public void Blocks_when_the_aggregate_is_old()
    {
        (PriceAggregator a, SanityGate g) = Make();
        Round(a, "100", "100");
        _time.Advance(TimeSpan.FromSeconds(121));
        Assert.Equal(SanityBlockReason.StaleAggregate, Assert.IsType<SanityDecision.Blocked>(g.Check("ETH", W("100"))).Reason);
    }
}
