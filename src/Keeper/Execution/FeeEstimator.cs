using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;

namespace CrossMargin.Keeper.Execution;

/// <summary>EIP-1559 fees for the next block: predicted base fee, priority fee (tip) and fee cap.</summary>
public readonly record struct FeeEstimate(UInt256 NextBaseFee, UInt256 MaxPriorityFeePerGas, UInt256 MaxFeePerGas)
{
    public override string ToString() => $"base {NextBaseFee} tip {MaxPriorityFeePerGas} max {MaxFeePerGas}";
}

/// <summary>
/// Estimates EIP-1559 fees from eth_feeHistory: the next block's base fee is predicted from the newest block's base fee
/// and gas-used ratio by the EIP-1559 update rule; the tip is the median over recent blocks of the configured reward
/// percentile, clamped to [min, max]; maxFee = min(cap, 2 * nextBase + tip).
/// </summary>
public sealed class FeeEstimator
{
    /// <summary>EIP-1559 BASE_FEE_MAX_CHANGE_DENOMINATOR.</summary>
    public const ulong BaseFeeChangeDenominator = 8;

    /// <summary>EIP-1559 ELASTICITY_MULTIPLIER (gas target = gas limit / 2).</summary>
    public const ulong ElasticityMultiplier = 2;

    private const ulong RatioScale = 1_000_000_000; // gas-used ratios are read at 1e-9 resolution

    private readonly IEthClient _eth;
    private readonly FeeOptions _options;

    public FeeEstimator(IEthClient eth, FeeOptions options)
    {
        ArgumentNullException.ThrowIfNull(eth);
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        options.Validate(failures);
        if (failures.Count > 0) throw new Microsoft.Extensions.Options.OptionsValidationException(nameof(FeeOptions), typeof(FeeOptions), failures);
        _eth = eth;
        _options = options;
    }

    public FeeOptions Options => _options;

    /// <summary>Fetches fee history for the configured window and derives the fees.</summary>
    private readonly Lock _cacheLock = new();
    private (ulong Head, FeeEstimate Estimate)? _cached;

    /// <summary>
    /// The estimate for the block after <paramref name="head"/>: computed once per head (eth_feeHistory at most once per
    /// block, or never when <see cref="Prime"/> was given the history read with the block's other reads).
    /// </summary>
    public async Task<FeeEstimate> EstimateAtAsync(ulong head, CancellationToken cancellationToken = default)
    {
        lock (_cacheLock)
        {
            if (_cached is { } c && c.Head == head) return c.Estimate;
        }
        FeeEstimate estimate = await EstimateAsync(cancellationToken).ConfigureAwait(false);
        lock (_cacheLock)
        {
            if (_cached is not { } c || c.Head <= head) _cached = (head, estimate);
        }
        return estimate;
    }

    /// <summary>Caches the estimate from a fee history read at <paramref name="head"/> (for <see cref="EstimateAtAsync"/>).</summary>
    public FeeEstimate Prime(ulong head, FeeHistory history)
    {
        FeeEstimate estimate = FromHistory(history, _options);
        lock (_cacheLock)
        {
            if (_cached is not { } c || c.Head <= head) _cached = (head, estimate);
        }
        return estimate;
    }

    /// <summary>The eth_feeHistory request <see cref="EstimateAsync"/> sends (to batch it with other reads).</summary>
    public RpcRequest<FeeHistory> HistoryRequest() =>
        EthRequests.FeeHistory((ulong)_options.HistoryBlocks, BlockTag.Latest, [_options.PriorityFeePercentile]);

    public async Task<FeeEstimate> EstimateAsync(CancellationToken cancellationToken = default)
    {
        var history = await _eth.FeeHistoryAsync((ulong)_options.HistoryBlocks, BlockTag.Latest, [_options.PriorityFeePercentile], cancellationToken)
            .ConfigureAwait(false);
        return FromHistory(history, _options);
    }

    /// <summary>The estimate from a fee history (pure).</summary>
    public static FeeEstimate FromHistory(FeeHistory history, FeeOptions options)
    {
        ArgumentNullException.ThrowIfNull(history);
        ArgumentNullException.ThrowIfNull(options);
        if (history.GasUsedRatio.Count == 0 || history.BaseFeePerGas.Count < 2)
            throw new InvalidOperationException("eth_feeHistory returned no blocks.");
        int newest = history.GasUsedRatio.Count - 1;
        UInt256 predicted = PredictNextBaseFee(history.BaseFeePerGas[newest], history.GasUsedRatio[newest]);
        // The node's own next-block figure (last entry) is exact; prefer the higher of the two.
        UInt256 reported = history.BaseFeePerGas[^1];
        UInt256 nextBase = reported > predicted ? reported : predicted;
        UInt256 tip = Clamp(SampleTip(history), options.MinPriorityFee, options.MaxPriorityFee);
        return Compose(nextBase, tip, options.MaxFeeCap);
    }

    /// <summary>maxFee = min(cap, 2 * nextBase + tip), with the tip never above maxFee.</summary>
    public static FeeEstimate Compose(UInt256 nextBaseFee, UInt256 tip, UInt256 cap)
    {
        UInt256 maxFee = UInt256.SaturatingAdd(UInt256.SaturatingAdd(nextBaseFee, nextBaseFee), tip);
        if (maxFee > cap) maxFee = cap;
        if (tip > maxFee) tip = maxFee;
        return new FeeEstimate(nextBaseFee, tip, maxFee);
    }

    /// <summary>
    /// The EIP-1559 base fee of a child block, exactly: parent gas target = gasLimit / 2; above target the fee rises by
    /// max(1, base * (used - target) / target / 8), below it falls by base * (target - used) / target / 8.
    /// </summary>
    public static UInt256 PredictNextBaseFee(UInt256 parentBaseFee, ulong parentGasUsed, ulong parentGasLimit)
    {
        ulong target = parentGasLimit / ElasticityMultiplier;
        if (target == 0 || parentGasUsed == target) return parentBaseFee;
        if (parentGasUsed > target)
        {
            UInt256 delta = parentBaseFee * (UInt256)(parentGasUsed - target) / target / BaseFeeChangeDenominator;
            if (delta.IsZero) delta = UInt256.One;
            return UInt256.SaturatingAdd(parentBaseFee, delta);
        }
        UInt256 down = parentBaseFee * (UInt256)(target - parentGasUsed) / target / BaseFeeChangeDenominator;
        return UInt256.SaturatingSub(parentBaseFee, down);
    }

    /// <summary>
    /// The same rule from eth_feeHistory's gasUsedRatio (gasUsed / gasLimit): the ratio is read at 1e-9 resolution,
    /// i.e. as a block with a gas limit of 1e9.
    /// </summary>
    public static UInt256 PredictNextBaseFee(UInt256 parentBaseFee, double gasUsedRatio)
    {
        if (!(gasUsedRatio >= 0 && gasUsedRatio <= 1)) throw new ArgumentOutOfRangeException(nameof(gasUsedRatio), gasUsedRatio, "must be within [0, 1]");
        ulong used = (ulong)Math.Round(gasUsedRatio * RatioScale, MidpointRounding.AwayFromZero);
        return PredictNextBaseFee(parentBaseFee, used, RatioScale);
    }

    /// <summary>Median over blocks of the sampled percentile; blocks without transactions (all-zero rewards) are skipped.</summary>
    public static UInt256 SampleTip(FeeHistory history)
    {
        ArgumentNullException.ThrowIfNull(history);
        if (history.Reward is null) return UInt256.Zero;
        var samples = new List<UInt256>();
        for (int i = 0; i < history.Reward.Count; i++)
        {
            var row = history.Reward[i];
            if (row.Count == 0) continue;
            bool empty = i < history.GasUsedRatio.Count && history.GasUsedRatio[i] == 0;
            if (empty) continue;
            samples.Add(row[0]);
        }
        if (samples.Count == 0) return UInt256.Zero;
        samples.Sort();
        return samples[(samples.Count - 1) / 2];
    }

    private static UInt256 Clamp(UInt256 v, UInt256 min, UInt256 max) => v < min ? min : v > max ? max : v;
}
