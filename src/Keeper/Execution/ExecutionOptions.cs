using CrossMargin.Ethereum.Numerics;
using Microsoft.Extensions.Options;

namespace CrossMargin.Keeper.Execution;

/// <summary>Fee estimation settings (EIP-1559).</summary>
public sealed class FeeOptions
{
    /// <summary>Blocks of eth_feeHistory sampled for the priority fee.</summary>
    public int HistoryBlocks { get; set; } = 10;

    /// <summary>Percentile (0..100) of each block's effective tips that is sampled; the median over blocks is used.</summary>
    public double PriorityFeePercentile { get; set; } = 60;

    /// <summary>Lowest priority fee offered (wei per gas).</summary>
    public UInt256 MinPriorityFee { get; set; } = 1_000_000; // 0.001 gwei

    /// <summary>Highest priority fee offered (wei per gas).</summary>
    public UInt256 MaxPriorityFee { get; set; } = 5_000_000_000; // 5 gwei

    /// <summary>Absolute cap of maxFeePerGas (wei per gas), replacements included.</summary>
    public UInt256 MaxFeeCap { get; set; } = 500_000_000_000; // 500 gwei

    public void Validate(List<string> failures)
    {
        ArgumentNullException.ThrowIfNull(failures);
        if (HistoryBlocks is < 1 or > 1024) failures.Add("Fees.HistoryBlocks must be within 1..1024");
        if (!(PriorityFeePercentile >= 0 && PriorityFeePercentile <= 100)) failures.Add("Fees.PriorityFeePercentile must be within 0..100");
        if (MinPriorityFee > MaxPriorityFee) failures.Add("Fees.MinPriorityFee must not exceed Fees.MaxPriorityFee");
        if (MaxFeeCap.IsZero || MaxFeeCap < MaxPriorityFee) failures.Add("Fees.MaxFeeCap must be positive and at least Fees.MaxPriorityFee");
    }
}

/// <summary>Settings of the <see cref="TxExecutor"/>.</summary>
public sealed class ExecutionOptions
{
    /// <summary>The geth/anvil replacement rule needs at least +10 %; both fee fields are bumped by this many basis points.</summary>
    public const int MinimumBumpBps = 1_000;

    public FeeOptions Fees { get; set; } = new();

    /// <summary>A transaction not included after this many blocks is replaced with bumped fees.</summary>
    public int ReplaceAfterBlocks { get; set; } = 3;

    /// <summary>Fee bump of a replacement, in basis points of the previous fees (12.5 % by default).</summary>
    public int FeeBumpBps { get; set; } = 1_250;

    /// <summary>
    /// Most of an opportunity's value that gas may cost, in basis points: gasLimit * maxFeePerGas never exceeds it,
    /// replacements included.
    /// </summary>
    public int MaxFeeShareOfValueBps { get; set; } = 5_000;

    /// <summary>Gas limit of cancellations and gap fills (0-value self-transfers).</summary>
    public ulong SelfTransferGas { get; set; } = 21_000;

    /// <summary>Whether a transaction is simulated with eth_call against latest state before it is sent.</summary>
    public bool SimulateBeforeSend { get; set; } = true;

    /// <summary>
    /// Batched submissions simulate in order with eth_simulateV1 (falling back to eth_call where the node lacks it) and
    /// lower each gas limit to the gas used plus <see cref="GasEstimateMarginBps"/> and 20,000 (never above the planned
    /// limit): blocks are packed by gas limit, so tight limits fit more liquidations per block.
    /// </summary>
    public bool EstimateGasLimit { get; set; } = true;

    /// <summary>
    /// Margin over the simulated gas used, in basis points: refunds (at most a fifth of the gas before them, so 25%) and
    /// state that moves between simulation and inclusion.
    /// </summary>
    public int GasEstimateMarginBps { get; set; } = 3_500;

    public void Validate()
    {
        var f = new List<string>();
        (Fees ?? throw new OptionsValidationException(nameof(ExecutionOptions), typeof(ExecutionOptions), ["Fees is required"])).Validate(f);
        if (GasEstimateMarginBps is < 0 or > 50_000) f.Add("GasEstimateMarginBps must be within 0..50000");
        if (ReplaceAfterBlocks < 1) f.Add("ReplaceAfterBlocks must be at least 1");
        if (FeeBumpBps is < MinimumBumpBps or > 100_000) f.Add($"FeeBumpBps must be within {MinimumBumpBps}..100000 (nodes refuse replacements below +10 %)");
        if (MaxFeeShareOfValueBps is < 1 or > 10_000) f.Add("MaxFeeShareOfValueBps must be within 1..10000");
        if (SelfTransferGas < 21_000) f.Add("SelfTransferGas must be at least 21000");
        if (f.Count > 0) throw new OptionsValidationException(nameof(ExecutionOptions), typeof(ExecutionOptions), f);
    }
}
