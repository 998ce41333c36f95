using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Risk;

namespace CrossMargin.Keeper.Detection;

/// <summary>Options of <see cref="LiquidationDetector"/>.</summary>
public sealed class DetectionOptions
{
    /// <summary>Block interval assumed for the next block's timestamp until two consecutive blocks were seen. Default 12 s.</summary>
    public ulong DefaultBlockTimeSeconds { get; set; } = 12;

    /// <summary>Largest interval accepted from observation (clamps odd timestamps). Default 60 s.</summary>
    public ulong MaxBlockTimeSeconds { get; set; } = 60;

    /// <summary>
    /// Oracle id of the native gas token's USD price (ETH/USD), used to value gas. Read in the same getPrices call as
    /// the protocol's oracles. Default keccak256("ETH/USD"), the devnet id.
    /// </summary>
    public Hash32 NativeOracleId { get; set; } = CrossMargin.Ethereum.Crypto.Keccak256.ComputeUtf8("ETH/USD");

    public void Validate(List<string> failures)
    {
        ArgumentNullException.ThrowIfNull(failures);
        if (DefaultBlockTimeSeconds == 0) failures.Add("Detection:DefaultBlockTimeSeconds must be at least 1.");
        if (MaxBlockTimeSeconds < DefaultBlockTimeSeconds) failures.Add("Detection:MaxBlockTimeSeconds must be at least DefaultBlockTimeSeconds.");
    }
}

/// <summary>One liquidatable account: its health at the next block's estimated timestamp and its shortfall MM − equity.</summary>
public sealed record LiquidationCandidate(Address Account, int Id, Health Health, UInt256 Shortfall, AccountStatus Status);

/// <summary>What detection produced for one block.</summary>
/// <param name="Block">Block number the prices and accounts are read at.</param>
/// <param name="Timestamp">The block's timestamp.</param>
/// <param name="NextTimestamp">Estimated timestamp of the block that would include a liquidation (funding accrues to it).</param>
/// <param name="Context">Prices and funding indices at <paramref name="NextTimestamp"/>.</param>
/// <param name="NativePrice">WAD USD price of the gas token (0 = unavailable).</param>
/// <param name="Liquidatable">Liquidatable accounts, largest shortfall first.</param>
/// <param name="Recomputed">Accounts recomputed for this block.</param>
/// <param name="MovedSlots">Price slots whose price changed.</param>
/// <param name="FullResync">The whole book was reloaded (start, reorg, funding under accrual).</param>
public sealed record DetectionResult(
    ulong Block,
    ulong Timestamp,
    ulong NextTimestamp,
    RiskContext Context,
    UInt256 NativePrice,
    IReadOnlyList<LiquidationCandidate> Liquidatable,
    int Recomputed,
    int MovedSlots,
    bool FullResync);
