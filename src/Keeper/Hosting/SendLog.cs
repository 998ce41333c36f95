using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Execution;

namespace CrossMargin.Keeper.Hosting;

/// <summary>One transaction the keeper sent for an opportunity, with what became of it.</summary>
/// <param name="Kind">"liquidation" (batchLiquidate) or "collateral" (liquidateCollateral).</param>
/// <param name="DetectedBlock">Block whose state the plan was made on.</param>
/// <param name="ExpectedReward">The mirror's predicted keeper reward (WAD USD).</param>
/// <param name="Latency">Detection to send: from the block's data in hand to the node accepting the transaction.</param>
public sealed record SentTransaction(string IntentId, string Kind, Hash32? TxHash, ulong DetectedBlock, IReadOnlyList<Address> Accounts, int Requests,
    UInt256 ExpectedReward, TimeSpan Latency)
{
    /// <summary>When the node accepted it.</summary>
    public DateTimeOffset SentAt { get; init; }

    /// <summary>When its receipt was processed (included only).</summary>
    public DateTimeOffset? IncludedAt { get; init; }

    /// <summary>The final outcome (Included, Reverted, Cancelled, Dropped...), null while in flight.</summary>
    public ExecutionOutcomeKind? Outcome { get; init; }

    public ulong? IncludedBlock { get; init; }

    public ulong? GasUsed { get; init; }

    /// <summary>gasUsed × effective gas price (wei).</summary>
    public UInt256? FeePaid { get; init; }

    /// <summary>Blocks from the first block any of its accounts was seen liquidatable to inclusion.</summary>
    public ulong? BlocksToInclusion { get; init; }
}

/// <summary>
/// What the keeper sent and what became of it, for the demo's live table and summary and for operators' tools.
/// Thread-safe; bounded (the oldest entries go first).
/// </summary>
public sealed class SendLog(int capacity = 100_000)
{
    private readonly Lock _lock = new();
    private readonly List<SentTransaction> _sent = [];
    private readonly Dictionary<string, int> _byIntent = new(StringComparer.Ordinal);
    private readonly Dictionary<Address, ulong> _firstLiquidatable = [];

    /// <summary>Blocks a first-seen note is kept without a liquidation of ours (another keeper's, or a recovery, ends it unseen).</summary>
    public const ulong FirstSeenKeptBlocks = 10_000;

    /// <summary>Notes the block an account was first seen liquidatable (kept until we liquidate it, or for <see cref="FirstSeenKeptBlocks"/>).</summary>
    public void SeenLiquidatable(Address account, ulong block)
    {
        lock (_lock)
        {
            _firstLiquidatable.TryAdd(account, block);
            // notes of accounts someone else liquidated, or that recovered, would otherwise stay for the life of the process
            if (block >= _nextPrune)
            {
                _nextPrune = block + (FirstSeenKeptBlocks / 4);
                if (block > FirstSeenKeptBlocks)
                {
                    foreach (var (a, seen) in _firstLiquidatable)
                        if (seen < block - FirstSeenKeptBlocks) _firstLiquidatable.Remove(a);
                }
            }
        }
    }

    private ulong _nextPrune;

    /// <summary>Accounts with a first-seen note (for tests and diagnostics).</summary>
    public int FirstSeenCount { get { lock (_lock) return _firstLiquidatable.Count; } }

    public void Sent(SentTransaction sent)
    {
        ArgumentNullException.ThrowIfNull(sent);
        lock (_lock)
        {
            if (_sent.Count >= capacity)
            {
                // the oldest quarter at once: re-indexing after every single removal cost a pass over the whole log per send
                _sent.RemoveRange(0, Math.Max(1, Math.Min(_sent.Count, capacity / 4)));
                _byIntent.Clear();
                for (int i = 0; i < _sent.Count; i++) _byIntent[_sent[i].IntentId] = i;
            }
            _byIntent[sent.IntentId] = _sent.Count;
            _sent.Add(sent);
        }
    }

    /// <summary>Applies a final executor outcome to its transaction (others are ignored).</summary>
    public void Observe(ExecutionOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        if (outcome.IntentId is not { } id || outcome.Kind is ExecutionOutcomeKind.Sent or ExecutionOutcomeKind.Replaced or ExecutionOutcomeKind.GapFilled) return;
        lock (_lock)
        {
            if (!_byIntent.TryGetValue(id, out int i)) return;
            SentTransaction s = _sent[i];
            ulong? blocks = null;
            if (outcome.Kind == ExecutionOutcomeKind.Included && outcome.BlockNumber is { } included)
            {
                ulong first = included;
                foreach (Address a in s.Accounts)
                {
                    if (_firstLiquidatable.Remove(a, out ulong seen) && seen < first) first = seen;
                }
                blocks = included - first;
            }
            _sent[i] = s with
            {
                Outcome = outcome.Kind,
                IncludedBlock = outcome.Kind == ExecutionOutcomeKind.Included ? outcome.BlockNumber : null,
                IncludedAt = outcome.Kind == ExecutionOutcomeKind.Included ? outcome.At : null,
                GasUsed = outcome.GasUsed,
                FeePaid = outcome.FeePaid,
                BlocksToInclusion = blocks,
            };
        }
    }

    /// <summary>The transaction sent for an intent, or null.</summary>
    public SentTransaction? Find(string intentId)
    {
        lock (_lock) return _byIntent.TryGetValue(intentId, out int i) ? _sent[i] : null;
    }

    public IReadOnlyList<SentTransaction> Snapshot()
    {
        lock (_lock) return [.. _sent];
    }
}
