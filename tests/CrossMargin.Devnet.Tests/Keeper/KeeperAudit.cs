using System.Globalization;
using System.Text.Json;
using CrossMargin.Contracts;
using CrossMargin.Ethereum;
using CrossMargin.Ethereum.Contracts;
using CrossMargin.Ethereum.Numerics;
using CrossMargin.Ethereum.Rpc;
using CrossMargin.Keeper.Execution;
using CrossMargin.Risk;
using Microsoft.Data.Sqlite;

namespace CrossMargin.Devnet.Tests.Keeper;

/// <summary>One mined transaction of a sender, with the engine's liquidation events it emitted.</summary>
internal sealed record MinedTx(
    Hash32 Hash,
    ulong Nonce,
    ulong Block,
    ulong Index,
    TransactionReceipt Receipt,
    IReadOnlyList<CrossMarginEngine.LiquidatedEvent> Liquidated,
    IReadOnlyList<CrossMarginEngine.LiquidationSkippedEvent> Skipped)
{
    public override string ToString() => $"{Hash} (nonce {Nonce}, block {Block}#{Index}, status {(Receipt.Succeeded ? 1 : 0)}, {Liquidated.Count} liquidated, {Skipped.Count} skipped)";
}

/// <summary>An attempt row as read (read-only) from a journal another process may be writing.</summary>
internal sealed record JournalRow(Hash32 Hash, string? IntentId, ulong Nonce, AttemptKind Kind, AttemptState State, UInt256 MaxFeePerGas);

/// <summary>An intent row as read (read-only) from a journal another process may be writing.</summary>
internal sealed record JournalIntentRow(string Id, string Kind, IntentState State, IReadOnlyList<LiquidationTarget> Targets, ulong DetectedBlock);

/// <summary>Chain and journal checks shared by the keeper's process-level devnet tests.</summary>
internal static class KeeperAudit
{
    public const byte SkipNotLiquidatable = 1;
    public const byte SkipNoPosition = 2;

    /// <summary>Every transaction <paramref name="sender"/> got mined in blocks <paramref name="fromBlock"/>..<paramref name="toBlock"/>, in chain order.</summary>
    public static async Task<List<MinedTx>> MinedTransactionsAsync(IRpcClient rpc, IEthClient eth, Address sender, Address engine, ulong fromBlock, ulong toBlock)
    {
        var list = new List<MinedTx>();
        for (ulong b = fromBlock; b <= toBlock; b++)
        {
            var block = await eth.GetBlockByNumberAsync(BlockTag.Number(b)) ?? throw new InvalidOperationException($"block {b} missing");
            foreach (var hash in block.TransactionHashes)
            {
                var receipt = await eth.GetTransactionReceiptAsync(hash) ?? throw new InvalidOperationException($"receipt of {hash} missing");
                if (receipt.From != sender) continue;
                var tx = await TransactionAsync(rpc, hash) ?? throw new InvalidOperationException($"transaction {hash} missing");
                var liquidated = new List<CrossMarginEngine.LiquidatedEvent>();
                var skipped = new List<CrossMarginEngine.LiquidationSkippedEvent>();
                foreach (var log in receipt.Logs.Where(l => l.Address == engine))
                {
                    if (CrossMarginEngine.LiquidatedEvent.TryDecode(log.Topics, log.Data, out var l)) liquidated.Add(l);
                    else if (CrossMarginEngine.LiquidationSkippedEvent.TryDecode(log.Topics, log.Data, out var s)) skipped.Add(s);
                }
                list.Add(new MinedTx(hash, tx.Nonce, b, receipt.TransactionIndex, receipt, liquidated, skipped));
            }
        }
        return list;
    }

    /// <summary>eth_getTransactionByHash: nonce, sender and block (null while pending); null when the node does not know it.</summary>
    public static Task<(ulong Nonce, Address From, ulong? Block)?> TransactionAsync(IRpcClient rpc, Hash32 hash) =>
        rpc.RequestAsync<(ulong, Address, ulong?)?>("eth_getTransactionByHash", w => w.WriteStringValue(hash.ToString()), r =>
        {
            if (r.ValueKind == JsonValueKind.Null) return null;
            var block = r.GetProperty("blockNumber");
            return (Quantity(r.GetProperty("nonce")), Address.Parse(r.GetProperty("from").GetString()!),
                block.ValueKind == JsonValueKind.Null ? null : Quantity(block));
        });

    /// <summary>Nonces of the sender's transactions in the node's pool (txpool_content: pending and queued).</summary>
    public static Task<List<ulong>> PoolNoncesAsync(IRpcClient rpc, Address sender) =>
        rpc.RequestAsync("txpool_content", null, r =>
        {
            var nonces = new List<ulong>();
            foreach (string part in (string[])["pending", "queued"])
            {
                if (!r.TryGetProperty(part, out var byAccount)) continue;
                foreach (var account in byAccount.EnumerateObject())
                {
                    if (Address.Parse(account.Name) != sender) continue;
                    foreach (var tx in account.Value.EnumerateObject()) nonces.Add(ulong.Parse(tx.Name, CultureInfo.InvariantCulture));
                }
            }
            nonces.Sort();
            return nonces;
        });

    /// <summary>Accounts with positions (MM &gt; 0) below maintenance at <paramref name="block"/>: what batchLiquidate can fix.</summary>
    public static async Task<List<Address>> BelowMaintenanceAsync(IEthClient eth, CrossMarginEngine engine, IReadOnlyList<Address> accounts, ulong block)
    {
        var below = new List<Address>();
        for (int from = 0; from < accounts.Count; from += 250)
        {
            Address[] part = [.. accounts.Skip(from).Take(250)];
            var health = await eth.CallAsync(engine.HealthBatch(part), BlockTag.Number(block));
            for (int i = 0; i < part.Length; i++)
            {
                if (!health[i].MaintenanceMargin.IsZero && health[i].Equity < RiskMath.ToInt256(health[i].MaintenanceMargin)) below.Add(part[i]);
            }
        }
        return below;
    }

    /// <summary>Attempts of the journal at <paramref name="path"/>, read through a read-only connection (the keeper may be writing).</summary>
    public static List<JournalRow> ReadAttempts(string path) =>
        ReadTable(path, "attempts", "SELECT hash, intent_id, nonce, kind, state, max_fee FROM attempts ORDER BY nonce, rowid;", r =>
            new JournalRow(Hash32.Parse(r.GetString(0)), r.IsDBNull(1) ? null : r.GetString(1), checked((ulong)r.GetInt64(2)),
                Enum.Parse<AttemptKind>(r.GetString(3)), Enum.Parse<AttemptState>(r.GetString(4)), UInt256.Parse(r.GetString(5))));

    /// <summary>Intents of the journal at <paramref name="path"/> in the order recorded, read through a read-only connection.</summary>
    public static List<JournalIntentRow> ReadIntents(string path) =>
        ReadTable(path, "intents", "SELECT id, kind, state, targets, detected_block FROM intents ORDER BY created_at, rowid;", r =>
        {
            using var doc = JsonDocument.Parse(r.GetString(3));
            var targets = doc.RootElement.EnumerateArray().Select(e => new LiquidationTarget(Address.Parse(e.GetProperty("account").GetString()!),
                ulong.Parse(e.GetProperty("market").GetString()!, CultureInfo.InvariantCulture), UInt256.Parse(e.GetProperty("size").GetString()!))).ToList();
            return new JournalIntentRow(r.GetString(0), r.GetString(1), Enum.Parse<IntentState>(r.GetString(2)), targets, checked((ulong)r.GetInt64(4)));
        });

    private static List<T> ReadTable<T>(string path, string table, string sql, Func<SqliteDataReader, T> read)
    {
        var rows = new List<T>();
        if (!File.Exists(path)) return rows;
        var cs = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString();
        using var db = new SqliteConnection(cs);
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "PRAGMA busy_timeout=5000;";
        cmd.ExecuteNonQuery();
        cmd.CommandText = "SELECT name FROM sqlite_master WHERE type='table' AND name=$name;";
        cmd.Parameters.AddWithValue("$name", table);
        if (cmd.ExecuteScalar() is null) return rows;
        cmd.Parameters.Clear();
        cmd.CommandText = sql;
        using var reader = cmd.ExecuteReader();
        while (reader.Read()) rows.Add(read(reader));
        return rows;
    }

    /// <summary>
    /// Pairs (later transaction, account, market) where a later transaction of ours had a liquidation request skipped as
    /// not liquidatable / no position, while an earlier transaction of ours had already liquidated that account: the
    /// second request was planned on stale state (a duplicate). Partial liquidations that find the account still
    /// liquidatable emit Liquidated again and are not duplicates.
    /// </summary>
    public static List<string> Duplicates(IReadOnlyList<MinedTx> ours)
    {
        var found = new List<string>();
        var liquidatedBy = new Dictionary<Address, MinedTx>();
        foreach (var tx in ours.OrderBy(t => t.Block).ThenBy(t => t.Index))
        {
            foreach (var s in tx.Skipped)
            {
                if (s.Reason is not (SkipNotLiquidatable or SkipNoPosition)) continue;
                if (liquidatedBy.TryGetValue(s.Account, out var earlier))
                    found.Add($"{s.Account} market {s.MarketId}: skipped (reason {s.Reason}) in {tx.Hash} after {earlier.Hash} liquidated it");
            }
            foreach (var l in tx.Liquidated) liquidatedBy[l.Account] = tx;
        }
        return found;
    }

    /// <summary>
    /// The journal agrees with the chain for <paramref name="sender"/>: every mined transaction of the sender is a journaled
    /// attempt marked Included in its block; every attempt marked Included has a successful receipt in that block; the
    /// sender's nonces from <paramref name="firstNonce"/> up to the chain nonce are each used by exactly one journaled,
    /// included attempt; no attempt is left Signed/Sent; every intent is in a final state. Returns the failures.
    /// </summary>
    public static async Task<List<string>> JournalVersusChainAsync(IEthClient eth, TxJournal journal, Address sender, ulong firstNonce,
        IReadOnlyList<MinedTx> ours)
    {
        var failures = new List<string>();
        var attempts = journal.GetAllAttempts(sender);
        var byHash = attempts.ToDictionary(a => a.Hash);
        ulong chainNonce = await eth.GetTransactionCountAsync(sender, BlockTag.Latest);

        foreach (var tx in ours)
        {
            if (!byHash.TryGetValue(tx.Hash, out var a)) failures.Add($"mined {tx} is not in the journal");
            else if (a.State != AttemptState.Included || a.BlockNumber != tx.Block) failures.Add($"mined {tx} is journaled as {a.State} in block {a.BlockNumber}");
        }
        foreach (var a in attempts.Where(a => a.State == AttemptState.Included))
        {
            var receipt = await eth.GetTransactionReceiptAsync(a.Hash);
            if (receipt is null || !receipt.Succeeded || receipt.BlockNumber != a.BlockNumber)
                failures.Add($"attempt {a.Hash} (nonce {a.Nonce}) is Included in block {a.BlockNumber} but the chain has {(receipt is null ? "no receipt" : $"status {(receipt.Succeeded ? 1 : 0)} in block {receipt.BlockNumber}")}");
        }
        foreach (var a in attempts.Where(a => a.State == AttemptState.Reverted)) failures.Add($"attempt {a.Hash} (nonce {a.Nonce}) reverted");
        foreach (var a in attempts.Where(a => a.IsOpen))
            failures.Add($"attempt {a.Hash} (nonce {a.Nonce}) left {a.State}{(a.Nonce < chainNonce ? " although its nonce is used" : "")}");

        var minedNonces = ours.Select(t => t.Nonce).Order().ToList();
        var expected = Enumerable.Range(0, checked((int)(chainNonce - firstNonce))).Select(i => firstNonce + (ulong)i).ToList();
        if (!minedNonces.SequenceEqual(expected))
            failures.Add($"mined nonces [{string.Join(',', minedNonces)}] are not exactly {firstNonce}..{chainNonce - 1}");
        foreach (var group in attempts.GroupBy(a => a.Nonce).Where(g => g.Key < chainNonce))
        {
            int included = group.Count(a => a.State == AttemptState.Included);
            if (included != 1) failures.Add($"nonce {group.Key}: {included} journaled attempts are Included ({string.Join(", ", group.Select(a => $"{a.Kind} {a.State}"))})");
        }
        foreach (var a in attempts.Where(a => a.State == AttemptState.Dropped && a.Error?.Contains("unknown transaction", StringComparison.Ordinal) == true))
            failures.Add($"attempt {a.Hash} (nonce {a.Nonce}) dropped: {a.Error}");

        foreach (var intent in journal.GetIntents(IntentState.Pending, IntentState.Sent))
            failures.Add($"intent {intent.Intent.Id} left {intent.State}");
        foreach (var intent in journal.GetIntents(IntentState.Included))
        {
            if (!journal.GetAttempts(intent.Intent.Id).Any(a => a.State == AttemptState.Included))
                failures.Add($"intent {intent.Intent.Id} is Included without an included attempt");
        }
        return failures;
    }

    private static ulong Quantity(JsonElement e) => ulong.Parse(e.GetString()!.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
}
