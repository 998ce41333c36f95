using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;

namespace CrossMargin.Keeper.Execution;

/// <summary>Lifecycle of an intent (one opportunity the keeper decided to act on).</summary>
public enum IntentState
{
    /// <summary>Recorded; nothing sent yet.</summary>
    Pending,
    /// <summary>A transaction is in flight.</summary>
    Sent,
    /// <summary>Our transaction was mined and succeeded.</summary>
    Included,
    /// <summary>Our transaction was mined and reverted (gas paid).</summary>
    Reverted,
    /// <summary>Not sent: the simulation reverted or it did not pay.</summary>
    Skipped,
    /// <summary>The opportunity went away; a cancellation took the nonce.</summary>
    Cancelled,
    /// <summary>The nonce was used by a transaction we do not know (dropped or replaced outside this keeper).</summary>
    Dropped,
    /// <summary>Sending failed for good (the node refused the transaction).</summary>
    Failed,
}

/// <summary>Lifecycle of one signed transaction.</summary>
public enum AttemptState
{
    /// <summary>Signed and journaled, not yet acknowledged by a node.</summary>
    Signed,
    /// <summary>Accepted by a node.</summary>
    Sent,
    /// <summary>Mined, status 1.</summary>
    Included,
    /// <summary>Mined, status 0.</summary>
    Reverted,
    /// <summary>Another of our transactions with the same nonce was mined or superseded it.</summary>
    Replaced,
    /// <summary>Superseded by a cancellation (a 0-value self-transfer with the same nonce).</summary>
    Cancelled,
    /// <summary>Never mined and its nonce is used: dropped by the pool or replaced by someone else.</summary>
    Dropped,
}

/// <summary>Why a transaction was sent.</summary>
public enum AttemptKind
{
    Original,
    Replacement,
    Cancel,
    GapFill,
}

/// <summary>One account to liquidate within an intent.</summary>
public sealed record LiquidationTarget(Address Account, ulong MarketId, UInt256 Size);

/// <summary>What the keeper decided to do, recorded before anything is sent.</summary>
public sealed record ExecutionIntent(
    string Id,
    string Kind,
    IReadOnlyList<LiquidationTarget> Targets,
    UInt256 ExpectedReward,
    DateTimeOffset DetectedAt,
    ulong DetectedBlock)
{
    /// <summary>A liquidation request set with a fresh id.</summary>
    public static ExecutionIntent Liquidation(IReadOnlyList<LiquidationTarget> targets, UInt256 expectedReward, DateTimeOffset detectedAt, ulong detectedBlock) =>
        new(Guid.NewGuid().ToString("N"), "liquidation", targets, expectedReward, detectedAt, detectedBlock);
}

/// <summary>An intent as stored, with its state.</summary>
public sealed record IntentRecord(
    ExecutionIntent Intent,
    IntentState State,
    string? Reason,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

/// <summary>One signed transaction as stored.</summary>
public sealed record TxAttempt
{
    public required Hash32 Hash { get; init; }
    public string? IntentId { get; init; }
    public required Address Sender { get; init; }
    public required ulong Nonce { get; init; }
    public required AttemptKind Kind { get; init; }
    public required byte[] Raw { get; init; }
    public required UInt256 MaxFeePerGas { get; init; }
    public required UInt256 MaxPriorityFeePerGas { get; init; }
    public required ulong GasLimit { get; init; }
    public UInt256 Value { get; init; }
    public AttemptState State { get; init; } = AttemptState.Signed;
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? SentAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
    /// <summary>Chain head when the attempt was sent (replacement timing).</summary>
    public ulong? SentBlock { get; init; }
    public ulong? BlockNumber { get; init; }
    public ulong? GasUsed { get; init; }
    public UInt256? EffectiveGasPrice { get; init; }
    public string? Error { get; init; }

    public bool IsOpen => State is AttemptState.Signed or AttemptState.Sent;
}
