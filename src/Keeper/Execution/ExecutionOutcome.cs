using System.Diagnostics.Metrics;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;

namespace CrossMargin.Keeper.Execution;

/// <summary>What happened to an intent or one of its transactions.</summary>
public enum ExecutionOutcomeKind
{
    /// <summary>Not sent (simulation reverted, unaffordable, or journaled as interrupted).</summary>
    Skipped,
    /// <summary>A transaction was sent.</summary>
    Sent,
    /// <summary>A transaction was replaced by one with bumped fees.</summary>
    Replaced,
    /// <summary>Mined and succeeded.</summary>
    Included,
    /// <summary>Mined and reverted.</summary>
    Reverted,
    /// <summary>The cancellation took the nonce.</summary>
    Cancelled,
    /// <summary>The nonce was used by a transaction we do not know.</summary>
    Dropped,
    /// <summary>A node refused the transaction for good.</summary>
    Failed,
    /// <summary>A nonce gap was filled with a 0-value self-transfer.</summary>
    GapFilled,
}

/// <summary>An outcome for metrics and logs. Gas fields (and the receipt's logs) are set for mined transactions.</summary>
public sealed record ExecutionOutcome(
    ExecutionOutcomeKind Kind,
    string? IntentId,
    Hash32? TxHash,
    ulong? Nonce,
    DateTimeOffset At,
    ulong? BlockNumber = null,
    ulong? GasUsed = null,
    UInt256? EffectiveGasPrice = null,
    string? Reason = null,
    IReadOnlyList<LogEntry>? Logs = null)
{
    /// <summary>gasUsed * effectiveGasPrice, when mined.</summary>
    public UInt256? FeePaid => GasUsed is { } g && EffectiveGasPrice is { } p ? (UInt256)g * p : null;
}

/// <summary>Shared journal updates for a nonce whose fate is known (executor and reconciler).</summary>
internal static class Settlement
{
    /// <summary>One of <paramref name="attempts"/> (same nonce) was mined with <paramref name="receipt"/>.</summary>
    public static ExecutionOutcome Mined(TxJournal journal, IReadOnlyList<TxAttempt> attempts, TransactionReceipt receipt, DateTimeOffset now)
    {
        var winner = attempts.First(a => a.Hash == receipt.TransactionHash);
        journal.UpdateAttempt(winner.Hash, receipt.Succeeded ? AttemptState.Included : AttemptState.Reverted,
            receipt.BlockNumber, receipt.GasUsed, receipt.EffectiveGasPrice);
        foreach (var other in attempts)
        {
            if (other.Hash == winner.Hash || !other.IsOpen && other.State != AttemptState.Replaced) continue;
            journal.UpdateAttempt(other.Hash, winner.Kind == AttemptKind.Cancel ? AttemptState.Cancelled : AttemptState.Replaced);
        }
        ExecutionOutcomeKind kind;
        if (winner.Kind == AttemptKind.Cancel) kind = ExecutionOutcomeKind.Cancelled;
        else if (winner.Kind == AttemptKind.GapFill) kind = ExecutionOutcomeKind.GapFilled;
        else kind = receipt.Succeeded ? ExecutionOutcomeKind.Included : ExecutionOutcomeKind.Reverted;
        if (winner.IntentId is { } id)
        {
            journal.UpdateIntent(id, kind switch
            {
                ExecutionOutcomeKind.Cancelled => IntentState.Cancelled,
                ExecutionOutcomeKind.Included => IntentState.Included,
                _ => IntentState.Reverted,
            }, kind == ExecutionOutcomeKind.Reverted ? "transaction reverted on chain" : null);
        }
        return new ExecutionOutcome(kind, winner.IntentId, winner.Hash, winner.Nonce, now, receipt.BlockNumber, receipt.GasUsed, receipt.EffectiveGasPrice,
            Logs: receipt.Logs);
    }

    /// <summary>None of <paramref name="attempts"/> was mined, yet the nonce is used on chain.</summary>
    public static ExecutionOutcome Dropped(TxJournal journal, IReadOnlyList<TxAttempt> attempts, DateTimeOffset now)
    {
        foreach (var a in attempts.Where(a => a.IsOpen)) journal.UpdateAttempt(a.Hash, AttemptState.Dropped, error: "nonce used by an unknown transaction");
        string? intent = attempts.Select(a => a.IntentId).FirstOrDefault(i => i is not null);
        if (intent is not null) journal.UpdateIntent(intent, IntentState.Dropped, "nonce used by an unknown transaction");
        var last = attempts[^1];
        return new ExecutionOutcome(ExecutionOutcomeKind.Dropped, intent, last.Hash, last.Nonce, now, Reason: "nonce used by an unknown transaction");
    }
}

/// <summary>Instruments of the execution layer on the "CrossMargin.Keeper" meter.</summary>
public sealed class ExecutionMetrics : IDisposable
{
    public const string OutcomesName = "crossmargin_tx_outcomes_total";
    public const string ErrorsName = "crossmargin_executor_errors_total";
    public const string GasUsedName = "crossmargin_tx_gas_used";

    private readonly Meter _meter;
    private readonly bool _owns;
    private readonly Counter<long> _outcomes;
    private readonly Counter<long> _errors;
    private readonly Histogram<long> _gas;

    public ExecutionMetrics(IMeterFactory? meterFactory = null)
    {
        _owns = meterFactory is null;
        _meter = meterFactory?.Create(Rpc.RpcMetrics.MeterName) ?? new Meter(Rpc.RpcMetrics.MeterName);
        _outcomes = _meter.CreateCounter<long>(OutcomesName, description: "Execution outcomes by kind");
        _errors = _meter.CreateCounter<long>(ErrorsName, description: "Errors the executor survived, by stage");
        _gas = _meter.CreateHistogram<long>(GasUsedName, unit: "gas", description: "Gas used by mined keeper transactions");
    }

    public void Outcome(ExecutionOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        _outcomes.Add(1, new KeyValuePair<string, object?>("outcome", outcome.Kind.ToString()));
        if (outcome.GasUsed is { } g) _gas.Record((long)Math.Min(g, long.MaxValue), new KeyValuePair<string, object?>("outcome", outcome.Kind.ToString()));
    }

    public void Error(string stage) => _errors.Add(1, new KeyValuePair<string, object?>("stage", stage));

    public void Dispose()
    {
        if (_owns) _meter.Dispose();
    }
}
