using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Rpc;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CrossMargin.Keeper.Execution;

/// <summary>A nonce whose transactions are still pending after reconciliation.</summary>
public sealed record PendingNonce(ulong Nonce, string? IntentId, IReadOnlyList<TxAttempt> Attempts);

/// <summary>What reconciliation found and did.</summary>
public sealed record ReconcileReport(
    int Mined,
    int Dropped,
    int Rebroadcast,
    int InterruptedIntents,
    IReadOnlyList<PendingNonce> StillPending,
    IReadOnlyList<ExecutionOutcome> Outcomes,
    ulong NextNonce);

/// <summary>
/// Brings the journal in line with the chain at start: for each nonce with open (Signed/Sent) attempts, a receipt for
/// any of our hashes settles it (Included/Reverted, siblings Replaced/Cancelled); a nonce below the account's latest
/// count with no receipt for any of our hashes was taken by a transaction we do not know (Dropped); otherwise the
/// newest attempt is re-broadcast (same bytes, same hash: never a duplicate) and stays tracked. Intents recorded but
/// never signed are closed as interrupted. Finally the nonce manager is synchronised above every pending nonce.
/// </summary>
public sealed partial class JournalReconciler
{
    private readonly IEthClient _eth;
    private readonly TxJournal _journal;
    private readonly NonceManager _nonces;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public JournalReconciler(IEthClient eth, TxJournal journal, NonceManager nonces, TimeProvider? timeProvider = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(eth);
        ArgumentNullException.ThrowIfNull(journal);
        ArgumentNullException.ThrowIfNull(nonces);
        _eth = eth;
        _journal = journal;
        _nonces = nonces;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
    }

    public async Task<ReconcileReport> ReconcileAsync(Address sender, CancellationToken cancellationToken = default)
    {
        ulong latest = await _eth.GetTransactionCountAsync(sender, BlockTag.Latest, cancellationToken).ConfigureAwait(false);
        var outcomes = new List<ExecutionOutcome>();
        var pending = new List<PendingNonce>();
        int mined = 0, dropped = 0, rebroadcast = 0;

        foreach (var group in _journal.GetOpenAttempts(sender).GroupBy(a => a.Nonce).OrderBy(g => g.Key))
        {
            ulong nonce = group.Key;
            // Every attempt of the nonce: a receipt may belong to one we already marked Replaced.
            var all = _journal.GetAttemptsByNonce(sender, nonce).Where(a => a.IsOpen || a.State == AttemptState.Replaced).ToList();
            TransactionReceipt? receipt = null;
            foreach (var a in all)
            {
                receipt = await _eth.GetTransactionReceiptAsync(a.Hash, cancellationToken).ConfigureAwait(false);
                if (receipt is not null) break;
            }
            if (receipt is not null)
            {
                outcomes.Add(Settlement.Mined(_journal, all, receipt, _time.GetUtcNow()));
                mined++;
                LogSettled(_logger, nonce, receipt.TransactionHash, receipt.Succeeded);
                continue;
            }
            var open = all.Where(a => a.IsOpen).ToList();
            if (nonce < latest)
            {
                outcomes.Add(Settlement.Dropped(_journal, open, _time.GetUtcNow()));
                dropped++;
                LogDropped(_logger, nonce);
                continue;
            }
            // Still pending: make sure a node has the newest bytes (it may never have been sent before the crash).
            var newest = open[^1];
            try
            {
                await _eth.SendRawTransactionAsync(newest.Raw, cancellationToken).ConfigureAwait(false);
                rebroadcast++;
                if (newest.State == AttemptState.Signed) _journal.MarkSent(newest.Hash, newest.SentBlock ?? 0);
                newest = newest with { State = AttemptState.Sent };
                open[^1] = newest;
            }
            catch (RpcException ex) when (SendErrors.Classify(ex) == SendErrorKind.AlreadyKnown)
            {
                if (newest.State == AttemptState.Signed) _journal.MarkSent(newest.Hash, newest.SentBlock ?? 0);
                open[^1] = newest with { State = AttemptState.Sent };
            }
            catch (RpcException ex) when (SendErrors.Classify(ex) == SendErrorKind.NonceTooLow)
            {
                // Mined between our reads: the executor's next block settles it.
                LogRebroadcastFailed(_logger, nonce, ex.RpcMessage);
            }
            catch (RpcException ex)
            {
                // e.g. underpriced against an older attempt the node still holds: that one keeps the nonce.
                if (newest.State == AttemptState.Signed && open.Count > 1)
                {
                    _journal.UpdateAttempt(newest.Hash, AttemptState.Dropped, error: ex.RpcMessage);
                    open.RemoveAt(open.Count - 1);
                }
                LogRebroadcastFailed(_logger, nonce, ex.RpcMessage);
            }
            pending.Add(new PendingNonce(nonce, open.Select(a => a.IntentId).FirstOrDefault(i => i is not null), open));
        }

        int interrupted = 0;
        var pendingIntents = new HashSet<string>(pending.Select(p => p.IntentId).OfType<string>(), StringComparer.Ordinal);
        foreach (var intent in _journal.GetIntents(IntentState.Pending, IntentState.Sent))
        {
            if (pendingIntents.Contains(intent.Intent.Id)) continue;
            var attempts = _journal.GetAttempts(intent.Intent.Id);
            if (attempts.Any(a => a.IsOpen)) continue; // another sender's
            _journal.UpdateIntent(intent.Intent.Id, IntentState.Failed, "interrupted before a transaction was sent");
            outcomes.Add(new ExecutionOutcome(ExecutionOutcomeKind.Failed, intent.Intent.Id, null, null, _time.GetUtcNow(), Reason: "interrupted"));
            interrupted++;
        }

        ulong next = await _nonces.SyncAsync(sender, pending.Select(p => p.Nonce), cancellationToken).ConfigureAwait(false);
        LogReconciled(_logger, sender, mined, dropped, pending.Count, interrupted, next);
        return new ReconcileReport(mined, dropped, rebroadcast, interrupted, pending, outcomes, next);
    }

    [LoggerMessage(EventId = 1400, Level = LogLevel.Information, Message = "Reconcile: nonce {Nonce} settled by {Hash} (success {Succeeded})")]
    private static partial void LogSettled(ILogger logger, ulong nonce, Hash32 hash, bool succeeded);

    [LoggerMessage(EventId = 1401, Level = LogLevel.Warning, Message = "Reconcile: nonce {Nonce} used by a transaction we did not send")]
    private static partial void LogDropped(ILogger logger, ulong nonce);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Warning, Message = "Reconcile: re-broadcast of nonce {Nonce} refused: {Error}")]
    private static partial void LogRebroadcastFailed(ILogger logger, ulong nonce, string error);

    [LoggerMessage(EventId = 1403, Level = LogLevel.Information, Message = "Reconciled journal of {Sender}: {Mined} mined, {Dropped} dropped, {Pending} pending, {Interrupted} interrupted intents; next nonce {Next}")]
    private static partial void LogReconciled(ILogger logger, Address sender, int mined, int dropped, int pending, int interrupted, ulong next);
}
