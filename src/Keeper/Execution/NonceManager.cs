using System.Collections.Concurrent;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Rpc;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CrossMargin.Keeper.Execution;

/// <summary>What a failed eth_sendRawTransaction means for nonce handling.</summary>
public enum SendErrorKind
{
    /// <summary>Any other error: the transaction was not accepted.</summary>
    Other,

    /// <summary>"nonce too low": the nonce is already used on chain; resync.</summary>
    NonceTooLow,

    /// <summary>"already known": the node has this exact transaction; it counts as sent.</summary>
    AlreadyKnown,

    /// <summary>"replacement transaction underpriced": another transaction holds the nonce in the pool.</summary>
    ReplacementUnderpriced,

    /// <summary>The sender cannot pay value + gasLimit * maxFee.</summary>
    InsufficientFunds,

    /// <summary>The fee cap is below the current base fee, or the tip above the fee cap.</summary>
    FeeTooLow,
}

/// <summary>Classifies node errors of eth_sendRawTransaction (geth, reth, anvil, erigon, nethermind wordings).</summary>
public static class SendErrors
{
    public static SendErrorKind Classify(Exception exception)
    {
        if (exception is not RpcException rpc) return SendErrorKind.Other;
        string m = rpc.RpcMessage;
        if (Has(m, "nonce too low") || Has(m, "nonce is too low") || Has(m, "OldNonce") || Has(m, "nonce has already been used")) return SendErrorKind.NonceTooLow;
        if (Has(m, "already known") || Has(m, "already imported") || Has(m, "AlreadyKnown") || Has(m, "known transaction")) return SendErrorKind.AlreadyKnown;
        if (Has(m, "replacement transaction underpriced") || Has(m, "replacement underpriced") || Has(m, "ReplacementUnderpriced")) return SendErrorKind.ReplacementUnderpriced;
        if (Has(m, "insufficient funds")) return SendErrorKind.InsufficientFunds;
        if (Has(m, "max fee per gas less than block base fee") || Has(m, "fee cap less than block base fee") || Has(m, "FeeTooLow")
            || Has(m, "max priority fee per gas higher than max fee per gas") || Has(m, "transaction underpriced")) return SendErrorKind.FeeTooLow;
        return SendErrorKind.Other;
    }

    private static bool Has(string text, string part) => text.Contains(part, StringComparison.OrdinalIgnoreCase);
}

/// <summary>A nonce handed out by <see cref="NonceManager.Reserve"/>: commit it once sent, otherwise release it.</summary>
public sealed class NonceLease : IDisposable
{
    private readonly NonceManager _owner;
    private int _done;

    internal NonceLease(NonceManager owner, Address account, ulong nonce)
    {
        _owner = owner;
        Account = account;
        Nonce = nonce;
    }

    public Address Account { get; }

    public ulong Nonce { get; }

    /// <summary>The transaction with this nonce was accepted by a node (or is journaled for certain re-broadcast).</summary>
    public void Commit()
    {
        if (Interlocked.Exchange(ref _done, 1) == 0) _owner.Committed(Account, Nonce);
    }

    /// <summary>Nothing with this nonce was sent: it is reused by the next reservation or filled later.</summary>
    public void Release()
    {
        if (Interlocked.Exchange(ref _done, 1) == 0) _owner.Release(Account, Nonce);
    }

    /// <summary>Releases the nonce unless it was committed.</summary>
    public void Dispose() => Release();
}

/// <summary>
/// Hands out nonces per sending account without gaps. State is per address so a pool of signers can share one
/// manager. The next nonce is tracked locally and resynchronised from the node (pending and latest counts) at start
/// and after nonce errors. A reserved nonce that is not sent is released: the next reservation reuses the lowest
/// released nonce first; released nonces that stay below the next nonce are <see cref="Gaps"/> that the executor
/// fills with 0-value self-transfers.
/// </summary>
public sealed partial class NonceManager
{
    private readonly IEthClient _eth;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<Address, AccountState> _accounts = new();

    public NonceManager(IEthClient eth, ILogger<NonceManager>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(eth);
        _eth = eth;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>
    /// Reads the account's latest and pending transaction counts and sets the next nonce to the highest of: pending
    /// count, latest count, and one past our highest unconfirmed commitment (<paramref name="inFlight"/> and earlier
    /// commits still above the latest count). Released nonces below the latest count are forgotten.
    /// </summary>
    public async Task<ulong> SyncAsync(Address account, IEnumerable<ulong>? inFlight = null, CancellationToken cancellationToken = default)
    {
        ulong latest = await _eth.GetTransactionCountAsync(account, BlockTag.Latest, cancellationToken).ConfigureAwait(false);
        ulong pending = await _eth.GetTransactionCountAsync(account, BlockTag.Pending, cancellationToken).ConfigureAwait(false);
        var state = _accounts.GetOrAdd(account, static _ => new AccountState());
        lock (state)
        {
            if (inFlight is not null) foreach (ulong n in inFlight) state.Open.Add(n);
            state.Open.RemoveWhere(n => n < latest);
            state.Free.RemoveWhere(n => n < latest);
            ulong next = Math.Max(latest, pending);
            if (state.Open.Count > 0) next = Math.Max(next, state.Open.Max + 1);
            if (state.Reserved.Count > 0) next = Math.Max(next, state.Reserved.Max + 1);
            // Released nonces at or above the new next are no longer gaps.
            state.Free.RemoveWhere(n => n >= next);
            ulong before = state.Next;
            state.Next = next;
            state.Latest = latest;
            state.Synced = true;
            LogSynced(_logger, account, latest, pending, before, next);
            return next;
        }
    }

    /// <summary>Whether <see cref="SyncAsync"/> ran for the account.</summary>
    public bool IsSynced(Address account) => _accounts.TryGetValue(account, out var s) && s.Synced;

    /// <summary>The next fresh nonce (released nonces below it are reused first).</summary>
    public ulong PeekNext(Address account) => State(account).Next;

    /// <summary>Reserves a nonce: the lowest released one, else the next fresh one.</summary>
    public NonceLease Reserve(Address account)
    {
        var state = State(account);
        lock (state)
        {
            ulong nonce;
            if (state.Free.Count > 0)
            {
                nonce = state.Free.Min;
                state.Free.Remove(nonce);
            }
            else
            {
                nonce = state.Next++;
            }
            state.Reserved.Add(nonce);
            return new NonceLease(this, account, nonce);
        }
    }

    /// <summary>Records a transaction sent outside a lease (replacements of an in-flight nonce need no lease).</summary>
    public void MarkInFlight(Address account, ulong nonce)
    {
        var state = State(account);
        lock (state)
        {
            state.Open.Add(nonce);
            state.Free.Remove(nonce);
            if (nonce >= state.Next) state.Next = nonce + 1;
        }
    }

    /// <summary>The account's latest (mined) transaction count moved: nonces below it are settled.</summary>
    public void MarkMined(Address account, ulong latestCount)
    {
        var state = State(account);
        lock (state)
        {
            state.Latest = Math.Max(state.Latest, latestCount);
            state.Open.RemoveWhere(n => n < latestCount);
            state.Free.RemoveWhere(n => n < latestCount);
            if (state.Next < latestCount) state.Next = latestCount;
        }
    }

    /// <summary>Released nonces below the next nonce and not reserved: holes that block every later transaction.</summary>
    public IReadOnlyList<ulong> Gaps(Address account)
    {
        var state = State(account);
        lock (state) return state.Free.Where(n => n < state.Next).ToArray();
    }

    /// <summary>Nonces committed and not yet known mined.</summary>
    public IReadOnlyList<ulong> InFlight(Address account)
    {
        var state = State(account);
        lock (state) return state.Open.ToArray();
    }

    internal void Committed(Address account, ulong nonce)
    {
        var state = State(account);
        lock (state)
        {
            state.Reserved.Remove(nonce);
            state.Open.Add(nonce);
        }
    }

    internal void Release(Address account, ulong nonce)
    {
        var state = State(account);
        lock (state)
        {
            state.Reserved.Remove(nonce);
            state.Open.Remove(nonce);
            if (nonce < state.Latest) return; // already used on chain (resync happened meanwhile)
            if (nonce + 1 == state.Next)
            {
                // The newest nonce: give it back, and any released nonces just below it.
                state.Next = nonce;
                while (state.Next > state.Latest && state.Free.Contains(state.Next - 1))
                {
                    state.Free.Remove(state.Next - 1);
                    state.Next--;
                }
            }
            else if (nonce < state.Next)
            {
                state.Free.Add(nonce);
            }
            LogReleased(_logger, account, nonce, state.Next);
        }
    }

    private AccountState State(Address account) =>
        _accounts.TryGetValue(account, out var s) && s.Synced
            ? s
            : throw new InvalidOperationException($"Nonces of {account} are not synchronised: call SyncAsync first.");

    private sealed class AccountState
    {
        public ulong Next;
        public ulong Latest;
        public bool Synced;
        public readonly SortedSet<ulong> Free = [];
        public readonly SortedSet<ulong> Reserved = [];
        public readonly SortedSet<ulong> Open = [];
    }

    [LoggerMessage(EventId = 1200, Level = LogLevel.Information, Message = "Nonces of {Account} synchronised: latest {Latest}, pending {Pending}, next {Before} -> {Next}")]
    private static partial void LogSynced(ILogger logger, Address account, ulong latest, ulong pending, ulong before, ulong next);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Debug, Message = "Nonce {Nonce} of {Account} released unused; next is {Next}")]
    private static partial void LogReleased(ILogger logger, Address account, ulong nonce, ulong next);
}
