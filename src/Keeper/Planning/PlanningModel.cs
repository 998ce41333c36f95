using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Risk;

namespace CrossMargin.Keeper.Planning;

/// <summary>Options of <see cref="LiquidationPlanner"/>. Money is WAD USD; gas is in gas units.</summary>
public sealed class PlannerOptions
{
    /// <summary>Minimum expected profit (keeper reward − gas cost) of an account and of a whole batch, WAD USD. Default $1.</summary>
    public UInt256 MinProfit { get; set; } = RiskMath.Wad;

    /// <summary>Gas per request inside batchLiquidate (measured ~61–74k). Default 75,000.</summary>
    public ulong GasPerRequest { get; set; } = 65_000;

    /// <summary>
    /// Fixed gas of one batchLiquidate transaction: intrinsic 21k, calldata, cold oracle and market reads, funding
    /// accrual writes. Measured on the devnet: a 1-request batch needs more than 270k, 6 requests use ~646k, 38 requests
    /// ~1.9–2.2M. Default 200,000.
    /// </summary>
    public ulong BatchBaseGas { get; set; } = 200_000;

    /// <summary>Gas of a single liquidate call (measured ~173k); informational for single-request costs. Default 173,000.</summary>
    public ulong SingleLiquidateGas { get; set; } = 173_000;

    /// <summary>Headroom added to the estimate for the gas limit, in basis points (full closes with bad-debt settlement cost more than the average). Default 10,000 (+100%).</summary>
    public int GasLimitMarginBps { get; set; } = 10_000;

    /// <summary>Largest gas limit of one batch; keep it well below the block gas limit. Default 6,000,000.</summary>
    public ulong BatchGasBudget { get; set; } = 6_000_000;

    /// <summary>Most batches sent per block. Default 4.</summary>
    public int MaxBatchesPerBlock { get; set; } = 16;

    /// <summary>
    /// Estimated gas of everything the keeper sends in one block (batches and collateral sales): a share of the block gas
    /// limit, since blocks are packed by gas limit and others' transactions need room too.
    /// </summary>
    public ulong BlockGasBudget { get; set; } = 24_000_000;

    /// <summary>Most requests (markets) per account in one batch. Default 4.</summary>
    public int MaxRequestsPerAccount { get; set; } = 4;

    /// <summary>Cap each request at the size the mirror predicts (otherwise 0 = let the contract size it at inclusion). Default false.</summary>
    public bool CapRequestSize { get; set; }

    /// <summary>Gas limit of a batch with <paramref name="requests"/> requests, margin included.</summary>
    /// <summary>Gas of one <c>liquidateCollateral</c> call (measured on the devnet: 157k including the 21k base).</summary>
    public ulong CollateralLiquidateGas { get; set; } = 160_000;

    /// <summary>Gas limit of a <c>liquidateCollateral</c> transaction (the estimate plus the margin).</summary>
    public ulong CollateralGasLimit() => checked(CollateralLiquidateGas * (10_000UL + (ulong)GasLimitMarginBps) / 10_000UL);

    public ulong GasLimitFor(int requests) => checked((BatchBaseGas + GasPerRequest * (ulong)requests) * (10_000UL + (ulong)GasLimitMarginBps) / 10_000UL);

    public void Validate(List<string> failures)
    {
        ArgumentNullException.ThrowIfNull(failures);
        if (GasPerRequest == 0) failures.Add("Planner:GasPerRequest must be at least 1.");
        if (CollateralLiquidateGas < 21_000) failures.Add("Planner:CollateralLiquidateGas must be at least 21000.");
        if (GasLimitMarginBps is < 0 or > 50_000) failures.Add("Planner:GasLimitMarginBps must be between 0 and 50000.");
        if (MaxBatchesPerBlock < 1) failures.Add("Planner:MaxBatchesPerBlock must be at least 1.");
        if (BlockGasBudget < BatchGasBudget) failures.Add($"Planner:BlockGasBudget {BlockGasBudget} is below Planner:BatchGasBudget {BatchGasBudget}.");
        if (MaxRequestsPerAccount is < 1 or > 64) failures.Add("Planner:MaxRequestsPerAccount must be between 1 and 64.");
        if (GasPerRequest > 0 && GasLimitMarginBps is >= 0 and <= 50_000 && BatchGasBudget < GasLimitFor(1))
            failures.Add($"Planner:BatchGasBudget {BatchGasBudget} is below the gas limit of a one-request batch ({GasLimitFor(1)}).");
    }
}

/// <summary>Gas price and gas token price used to value a plan's gas.</summary>
/// <param name="GasPriceWei">Expected effective gas price (next base fee + tip, capped by the max fee).</param>
/// <param name="NativePrice">WAD USD price of the gas token.</param>
public readonly record struct GasQuote(UInt256 GasPriceWei, UInt256 NativePrice)
{
    /// <summary>USD WAD cost of <paramref name="gas"/> units.</summary>
    public UInt256 CostUsd(ulong gas) => RiskMath.MulDivUp(checked(GasPriceWei * new UInt256(gas)), NativePrice, RiskMath.Wad);

    /// <summary>A USD WAD amount in wei of the gas token (0 without a price).</summary>
    public UInt256 ToWei(UInt256 usd) => NativePrice.IsZero ? UInt256.Zero : RiskMath.MulDivDown(usd, RiskMath.Wad, NativePrice);
}

/// <summary>One account's liquidation steps within a batch, as the mirror predicts them.</summary>
/// <param name="Steps">Executed requests in the order they are sent (each sees the effects of the previous ones).</param>
/// <param name="Reward">Sum of the keeper rewards, WAD USD.</param>
/// <param name="GasCost">Gas cost of the account's requests, WAD USD.</param>
public sealed record PlannedLiquidation(Address Account, UInt256 Shortfall, IReadOnlyList<LiquidationOutcome> Steps, UInt256 Reward, UInt256 GasCost)
{
    /// <summary>Reward − gas cost (may be "negative": then 0 and <see cref="Profitable"/> is false).</summary>
    public UInt256 Profit => Reward > GasCost ? Reward - GasCost : UInt256.Zero;

    public bool Profitable => Reward > GasCost;
}

/// <summary>One batchLiquidate call.</summary>
public sealed record LiquidationBatch(
    IReadOnlyList<PlannedLiquidation> Accounts,
    IReadOnlyList<LiquidationRequest> Requests,
    ulong EstimatedGas,
    ulong GasLimit,
    UInt256 Reward,
    UInt256 GasCost,
    UInt256 RewardWei);

/// <summary>Why an account was not planned.</summary>
public enum PlanSkipReason
{
    InFlight,
    Unprofitable,
    NothingToLiquidate,
    PriceGated,
    WouldRevert,
    SelfLiquidation,
    OverBatchLimit,
    NoGasPrice,
    /// <summary>A collateral sale would pay more settlement token than the keeper holds.</summary>
    NoInventory,
}

/// <summary>An account left out of the plan.</summary>
public sealed record PlanSkip(Address Account, PlanSkipReason Reason, string? Detail = null);

/// <summary>The batches to send for one block.</summary>
public sealed record LiquidationPlan(ulong Block, IReadOnlyList<LiquidationBatch> Batches, IReadOnlyList<PlanSkip> Skipped)
{
    public int RequestCount => Batches.Sum(b => b.Requests.Count);

    /// <summary>Estimated gas of all batches.</summary>
    public ulong EstimatedGas => Batches.Aggregate(0UL, (g, b) => g + b.EstimatedGas);
}

/// <summary>
/// Hook for the oracle part: may veto liquidations at an on-chain price (for example when the pushed price lags the
/// aggregated market price). The default allows everything.
/// </summary>
public interface ILiquidationPriceGate
{
    /// <summary>True when liquidations in a market priced by <paramref name="oracleId"/> at <paramref name="price"/> may proceed.</summary>
    bool Allows(Hash32 oracleId, UInt256 price, ulong block);
}

/// <summary>The gate used when the oracle part is switched off.</summary>
public sealed class AlwaysAllowPriceGate : ILiquidationPriceGate
{
    public static AlwaysAllowPriceGate Instance { get; } = new();

    public bool Allows(Hash32 oracleId, UInt256 price, ulong block) => true;
}
