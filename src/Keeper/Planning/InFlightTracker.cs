using CrossMargin.Ethereum;
using CrossMargin.Keeper.Execution;

namespace CrossMargin.Keeper.Planning;

/// <summary>
/// Accounts with a liquidation in flight, by intent. An account stays in flight from submission until the executor
/// reports a final outcome for its intent (included, reverted, cancelled, dropped, failed, skipped). Thread-safe.
/// </summary>
public sealed class InFlightTracker
{
    private readonly Lock _lock = new();
    private readonly Dictionary<Address, string> _byAccount = [];
    private readonly Dictionary<string, Address[]> _byIntent = new(StringComparer.Ordinal);

    /// <summary>Accounts in flight.</summary>
    public int Count { get { lock (_lock) return _byAccount.Count; } }

    /// <summary>Intents in flight.</summary>
    public int IntentCount { get { lock (_lock) return _byIntent.Count; } }

    public bool Contains(Address account) { lock (_lock) return _byAccount.ContainsKey(account); }

    /// <summary>Marks the accounts of an intent as in flight (call before submitting).</summary>
    public void Add(string intentId, IEnumerable<Address> accounts)
    {
        ArgumentNullException.ThrowIfNull(intentId);
        ArgumentNullException.ThrowIfNull(accounts);
        Address[] list = [.. accounts.Distinct()];
        lock (_lock)
        {
            foreach (Address a in list)
            {
                if (_byAccount.TryGetValue(a, out string? other)) throw new InvalidOperationException($"{a} is already in flight in intent {other}");
            }
            _byIntent[intentId] = list;
            foreach (Address a in list) _byAccount[a] = intentId;
        }
    }

    /// <summary>Releases an intent's accounts. Returns false when the intent was not tracked.</summary>
    public bool Release(string intentId)
    {
        ArgumentNullException.ThrowIfNull(intentId);
        lock (_lock)
        {
            if (!_byIntent.Remove(intentId, out Address[]? list)) return false;
            foreach (Address a in list) _byAccount.Remove(a);
            return true;
        }
    }

    /// <summary>Every intent in flight with its accounts.</summary>
    public IReadOnlyList<(string IntentId, IReadOnlyList<Address> Accounts)> Intents()
    {
        lock (_lock) return [.. _byIntent.Select(p => (p.Key, (IReadOnlyList<Address>)p.Value))];
    }

    /// <summary>True for outcomes after which nothing of the intent is in flight any more.</summary>
    public static bool IsFinal(ExecutionOutcomeKind kind) => kind is not (ExecutionOutcomeKind.Sent or ExecutionOutcomeKind.Replaced or ExecutionOutcomeKind.GapFilled);

    /// <summary>Applies an executor outcome; returns true when it released an intent.</summary>
    public bool Observe(ExecutionOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        return outcome.IntentId is { } id && IsFinal(outcome.Kind) && Release(id);
    }
}
