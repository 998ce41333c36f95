using CrossMargin.Ethereum.Numerics;
using CrossMargin.Keeper.Execution;

namespace CrossMargin.Keeper.Reporting;

/// <summary>
/// Reads a transaction journal and computes the <see cref="KeeperReport"/>: counts, exact integer sums of gas, fees and
/// rewards, latency distributions, per-block liquidations and the oracle deviation series.
/// </summary>
public static class ReportBuilder
{
    /// <summary>The intent kind of position liquidations (<see cref="ExecutionIntent.Liquidation"/>).</summary>
    public const string LiquidationKind = "liquidation";

    /// <summary>The intent kind of collateral sales of insolvent accounts without positions.</summary>
    public const string CollateralKind = "collateral";

    /// <summary>
    /// Whether intents of <paramref name="kind"/> are liquidations (position liquidations and collateral sales): their
    /// expected reward is a reward, and they count in latencies, won and lost. Other kinds (oracle-push, approve) carry a
    /// fee budget instead.
    /// </summary>
    public static bool IsLiquidation(string kind) => kind is LiquidationKind or CollateralKind;

    /// <summary>Opens <paramref name="journalPath"/> read-only (no migration, no change) and builds the report.</summary>
    /// <exception cref="TxJournalException">The journal is missing, not a journal, newer than this code, or unreadable.</exception>
    public static KeeperReport BuildFromFile(string journalPath, DateTimeOffset generatedAt)
    {
        using var journal = TxJournal.OpenReadOnly(journalPath);
        return Build(journal, generatedAt);
    }

    /// <summary>Builds the report from an open journal.</summary>
    /// <exception cref="TxJournalException">The journal cannot be read or a row is malformed.</exception>
    public static KeeperReport Build(TxJournal journal, DateTimeOffset generatedAt)
    {
        ArgumentNullException.ThrowIfNull(journal);
        IReadOnlyList<IntentRecord> intents = journal.GetIntents();
        IReadOnlyList<TxAttempt> attempts = journal.GetAllAttempts();
        IReadOnlyList<JournalObservation> deviations = journal.GetObservations(ObservationKinds.OracleDeviationBps);
        IReadOnlyList<JournalObservation> won = journal.GetObservations(ObservationKinds.LiquidationWon);
        IReadOnlyList<JournalObservation> lost = journal.GetObservations(ObservationKinds.LiquidationLost);
        IReadOnlyList<JournalObservation> rewards = journal.GetObservations(ObservationKinds.RewardWei);

        var intentById = intents.ToDictionary(i => i.Intent.Id, StringComparer.Ordinal);
        var attemptsByIntent = attempts.Where(a => a.IntentId is not null).ToLookup(a => a.IntentId!, StringComparer.Ordinal);

        // mined transactions: every attempt with a receipt (included or reverted), whatever its kind
        var mined = attempts
            .Where(a => a.State is AttemptState.Included or AttemptState.Reverted && a.BlockNumber is not null)
            .Select(a => new MinedTransaction(a.Hash, a.IntentId,
                a.IntentId is { } id && intentById.TryGetValue(id, out var rec) ? rec.Intent.Kind : null,
                a.Kind, a.State, a.BlockNumber!.Value, a.UpdatedAt, a.GasUsed ?? 0, a.EffectiveGasPrice ?? UInt256.Zero))
            .OrderBy(m => m.Block).ThenBy(m => m.RecordedAt).ToList();
        UInt256 gasTotal = UInt256.Zero, feeTotal = UInt256.Zero;
        foreach (var m in mined)
        {
            gasTotal = checked(gasTotal + m.GasUsed);
            feeTotal = checked(feeTotal + m.FeeWei);
        }

        // latencies and won accounts of liquidation intents
        var detectionToSend = new List<long>();
        var sendToInclusion = new List<long>();
        var blocksToInclusion = new List<long>();
        var wonByBlock = new Dictionary<ulong, int>();
        UInt256 expected = UInt256.Zero, expectedIncluded = UInt256.Zero;
        int accountsWon = 0;
        var liquidations = intents.Where(i => IsLiquidation(i.Intent.Kind)).ToList();
        foreach (var intent in liquidations)
        {
            expected = checked(expected + intent.Intent.ExpectedReward);
            var own = attemptsByIntent[intent.Intent.Id].ToList();
            DateTimeOffset? firstSent = own.Where(a => a.SentAt is not null).Select(a => a.SentAt).Min();
            if (firstSent is { } sent) detectionToSend.Add(Ms(sent - intent.Intent.DetectedAt));
            var winner = own.Where(a => a.State is AttemptState.Included or AttemptState.Reverted && a.BlockNumber is not null && a.Kind != AttemptKind.Cancel)
                .OrderBy(a => a.BlockNumber).FirstOrDefault();
            if (winner is not null && intent.State is IntentState.Included or IntentState.Reverted)
            {
                if (firstSent is { } s) sendToInclusion.Add(Ms(winner.UpdatedAt - s));
                blocksToInclusion.Add(checked((long)winner.BlockNumber!.Value - (long)intent.Intent.DetectedBlock));
            }
            if (intent.State == IntentState.Included)
            {
                expectedIncluded = checked(expectedIncluded + intent.Intent.ExpectedReward);
                // targets are one per account and market: count accounts
                int accounts = intent.Intent.Targets.Select(t => t.Account).Distinct().Count();
                accountsWon += accounts;
                if (winner is not null) Add(wonByBlock, winner.BlockNumber!.Value, accounts);
            }
        }

        var lostByBlock = new Dictionary<ulong, int>();
        foreach (var o in lost)
            if (o.Block is { } b) Add(lostByBlock, b, 1);
        var rewardByBlock = new Dictionary<ulong, UInt256>();
        UInt256 realised = UInt256.Zero;
        foreach (var o in rewards)
        {
            UInt256 v = ParseAmount(o);
            realised = checked(realised + v);
            if (o.Block is { } b) rewardByBlock[b] = checked(rewardByBlock.GetValueOrDefault(b) + v);
        }
        var blocks = wonByBlock.Keys.Concat(lostByBlock.Keys).Concat(rewardByBlock.Keys).Distinct().Order()
            .Select(b => new BlockActivity(b, wonByBlock.GetValueOrDefault(b), lostByBlock.GetValueOrDefault(b), rewardByBlock.GetValueOrDefault(b)))
            .ToList();

        var byKind = intents.GroupBy(i => i.Intent.Kind, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new KeyValuePair<string, IReadOnlyDictionary<IntentState, int>>(g.Key,
                Enum.GetValues<IntentState>().ToDictionary(s => s, s => g.Count(i => i.State == s))))
            .ToList();
        int Count(IntentState s) => liquidations.Count(i => i.State == s);
        var outcomes = new OutcomeBreakdown
        {
            ByKind = byKind,
            Won = Count(IntentState.Included),
            Reverted = Count(IntentState.Reverted),
            Cancelled = Count(IntentState.Cancelled),
            Dropped = Count(IntentState.Dropped),
            Skipped = Count(IntentState.Skipped),
            Failed = Count(IntentState.Failed),
            Open = Count(IntentState.Pending) + Count(IntentState.Sent),
            LostToOthers = lost.Count,
        };

        var oracle = deviations.GroupBy(o => o.Key, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new OracleDeviationSeries(g.Key, [.. g.Select(o => new OracleDeviationPoint(o.At, o.Block, ParseNumber(o)))]))
            .ToList();

        var times = intents.SelectMany(i => new[] { i.Intent.DetectedAt, i.CreatedAt, i.UpdatedAt })
            .Concat(attempts.SelectMany(a => new[] { a.CreatedAt, a.UpdatedAt }))
            .Concat(deviations.Concat(won).Concat(lost).Concat(rewards).Select(o => o.At)).ToList();
        var blockNumbers = intents.Select(i => i.Intent.DetectedBlock).Concat(mined.Select(m => m.Block)).Concat(blocks.Select(b => b.Block))
            .Concat(deviations.Where(o => o.Block is not null).Select(o => o.Block!.Value)).ToList();

        var summary = new ReportSummary
        {
            Intents = intents.Count,
            LiquidationIntents = liquidations.Count,
            Included = intents.Count(i => i.State == IntentState.Included),
            Reverted = intents.Count(i => i.State == IntentState.Reverted),
            Attempts = attempts.Count,
            MinedTransactions = mined.Count,
            GasUsedTotal = gasTotal,
            FeesPaidTotalWei = feeTotal,
            RewardsExpectedWei = expected,
            RewardsExpectedIncludedWei = expectedIncluded,
            RewardsRealisedWei = realised,
            AccountsWon = accountsWon,
            AccountsWonObserved = won.Count,
            AccountsLost = lost.Count,
            From = times.Count == 0 ? null : times.Min(),
            To = times.Count == 0 ? null : times.Max(),
            FirstBlock = blockNumbers.Count == 0 ? null : blockNumbers.Min(),
            LastBlock = blockNumbers.Count == 0 ? null : blockNumbers.Max(),
        };

        return new KeeperReport
        {
            JournalPath = journal.Path,
            SchemaVersion = journal.StoredSchemaVersion,
            GeneratedAt = generatedAt,
            Summary = summary,
            DetectionToSend = new LatencyDistribution(detectionToSend),
            SendToInclusion = new LatencyDistribution(sendToInclusion),
            BlocksToInclusion = new LatencyDistribution(blocksToInclusion),
            MinedTransactions = mined,
            Blocks = blocks,
            Outcomes = outcomes,
            OracleDeviation = oracle,
            ObservationCounts = journal.CountObservationsByKind(),
        };
    }

    private static long Ms(TimeSpan span) => (long)Math.Floor(span.TotalMilliseconds);

    private static void Add(Dictionary<ulong, int> counts, ulong block, int n) => counts[block] = counts.GetValueOrDefault(block) + n;

    private static UInt256 ParseAmount(JournalObservation o)
    {
        if (UInt256.TryParse(o.Value, out UInt256 v)) return v;
        throw new TxJournalException(TxJournalError.Corrupt, $"Observation {o.Kind}/{o.Key} has value '{o.Value}', not a decimal integer.");
    }

    private static double ParseNumber(JournalObservation o)
    {
        try
        {
            double v = o.AsDouble();
            if (double.IsFinite(v)) return v;
        }
        catch (FormatException)
        {
        }
        throw new TxJournalException(TxJournalError.Corrupt, $"Observation {o.Kind}/{o.Key} has value '{o.Value}', not a finite number.");
    }
}
